"""`python -m ecomctl` runs the CLI."""

from ecomctl.cli import main

main()
