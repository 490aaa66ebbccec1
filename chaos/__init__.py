"""The chaos experiments as data files; shipped in the wheel as `ecomctl._repo.chaos` (see ecomctl.assets)."""
