"""ecomctl: the operator CLI for game days on the ecomshop platform."""

__version__ = "0.1.0"
