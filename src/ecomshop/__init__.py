"""ecomshop: the event-driven order platform that ecomctl deploys, breaks and watches.

This package is what Lambda ships; it never imports the CLI (ecomctl)."""
