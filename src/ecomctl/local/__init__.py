"""The local target: the real handlers and the real topology on an embedded moto server."""
