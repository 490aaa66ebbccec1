"""Where the trees ecomctl works with are: the CDK app, the chaos experiments, the locustfiles, the platform.

In the source checkout (the editable install) they are the checkout's top-level `infra/`,
`chaos/` and `loadtests/` directories. In an installed wheel (pip, pipx) the same
directories travel inside ecomctl's namespace as the packages `ecomctl._repo.infra`,
`ecomctl._repo.chaos` and `ecomctl._repo.loadtests` (pyproject.toml maps them). The
platform is the installed `ecomshop` package either way. Nothing here imports what it
locates, so asking for a path costs a few stat calls.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SHIPPED = "ecomctl._repo"  # the wheel's parent package of infra, chaos and loadtests
_HERE = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The source checkout this ecomctl runs from (an editable install), or None when installed."""
    root = _HERE.parents[1]
    if (root / "pyproject.toml").is_file() and (root / "infra" / "app.py").is_file() and (root / "src").is_dir():
        return root
    return None


def _tree(name: str) -> Path:
    root = checkout_root()
    return root / name if root is not None else _HERE / "_repo" / name


def infra_dir() -> Path:
    """The CDK app (`app.py`, `cdk.json`, `components/`)."""
    return _tree("infra")


def chaos_dir() -> Path:
    """The chaos experiment files."""
    return _tree("chaos")


def loadtests_dir() -> Path:
    """The locustfiles and load profiles."""
    return _tree("loadtests")


def ecomshop_dir() -> Path:
    """The installed platform package (what the Lambda bundle ships)."""
    spec = importlib.util.find_spec("ecomshop")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the ecomshop package is not installed")
    return Path(spec.origin).parent


def infra_module(name: str) -> ModuleType:
    """Import `infra.<name>` (e.g. "app"): the checkout's top-level `infra` package, or the wheel's copy.

    In the checkout the package is imported as `infra`, the name the tests and the cdk CLI
    use, so one process never holds two copies of it.
    """
    root = checkout_root()
    if root is None:
        return importlib.import_module(f"{SHIPPED}.infra.{name}")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module(f"infra.{name}")
