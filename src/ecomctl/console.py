"""The CLI's two consoles: results on stdout, diagnostics and errors on stderr."""

from rich.console import Console

out = Console()
err = Console(stderr=True)
