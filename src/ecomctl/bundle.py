"""The Lambda bundle for `ecomctl synth`: infra's recipe (infra/bundle.py), built where ecomctl may write.

The recipe belongs to the CDK app (so `python infra/app.py` under the cdk CLI needs no
ecomctl); this module only decides where the build goes and turns a failure into one line.
What ships is the installed `ecomshop` package (ecomctl.assets) plus the distribution's
non-provided base requirements (its installed metadata, not pyproject.toml), so an
installed tool needs no source checkout:

- in the source checkout: `.build/lambda/` and `.build/lambda-deps/<hash>/` at its root
  (where the cdk CLI's build goes too);
- installed (pip, pipx): `$ECOMCTL_HOME/cache/` (default `~/.ecomctl/cache/`).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Protocol

from ecomctl import assets
from ecomctl.errors import UserError
from ecomctl.state import home


class Bundle(Protocol):
    path: Path
    requirements: tuple[str, ...]
    deps_cached: bool


def recipe() -> ModuleType:
    """infra's bundle module (imports only the standard library and infra.config)."""
    return assets.infra_module("bundle")


def build_dir() -> Path:
    root = assets.checkout_root()
    if root is not None:
        return root / ".build"
    return home() / "cache"


def lambda_requirements() -> list[str]:
    """The platform dependencies vendored into the bundle (installed metadata, without extras)."""
    r = recipe()
    try:
        return list(r.lambda_requirements())
    except r.BundleError as exc:
        raise UserError(str(exc)) from None


def build_bundle(build: Path | None = None, out: Path | None = None) -> Bundle:
    """Write `<build>/lambda/` (or `out`): vendored dependencies + `ecomshop`; return it."""
    r = recipe()
    build = build or build_dir()
    try:
        bundle: Bundle = r.build_bundle(build, out, ecomshop=assets.ecomshop_dir(),
                                        requirements=r.lambda_requirements())
    except r.BundleError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write the Lambda bundle under {build}: {exc}") from None
    return bundle
