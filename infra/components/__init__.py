"""One construct per concern of the platform, each rendered from the topology."""
