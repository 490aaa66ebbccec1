"""Locustfiles and load profiles; shipped in the wheel as `ecomctl._repo.loadtests` (see ecomctl.assets)."""
