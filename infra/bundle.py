"""The Lambda bundle recipe, built without Docker: `ecomshop` plus its non-provided dependencies.

The recipe lives in infra, next to the stack that uses it as the functions' asset, so the
CDK app is complete on its own: `python infra/app.py` under the cdk CLI builds it, and
infra never imports ecomctl (the dependency runs one way: ecomctl -> infra -> ecomshop).
`ecomctl synth` calls this recipe through `ecomctl.bundle`, which only chooses where the
build goes, and passes the result to the app as the `lambda_asset` context.

What ships: the installed `ecomshop` package (found, not imported) and the base
requirements of the distribution infra travels in (`importlib.metadata.requires`, extras
left out), minus what AWS already provides: boto3 is in the Lambda runtime, Powertools and
pydantic come from the public Powertools layer (infra/config.py). Wheels are fetched for the
Lambda platform (`manylinux2014_x86_64`, the runtime's CPython), not for this machine, so a
compiled dependency would still be the right build. The CLI (ecomctl, Typer, Rich, Locust,
moto) is never copied. The pip step is cached by a hash of the requirement list and the
target platform; the copy of `ecomshop` is redone on every build (it is small and is what
changes).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .config import LAMBDA_PLATFORM, LAMBDA_PYTHON

# The distribution infra is shipped in: its base requirements are the platform's.
DISTRIBUTION = "ecomctl"
# Provided on AWS: boto3/botocore by the runtime, the rest by the Powertools layer.
PROVIDED = frozenset({"boto3", "botocore", "aws-lambda-powertools", "pydantic"})
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")
_EXTRA = re.compile(r"\bextra\s*==")


class BundleError(RuntimeError):
    """The bundle cannot be built; the message is one line for the operator."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    requirements: tuple[str, ...]
    deps_cached: bool


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)", requirement)
    if not match:
        raise BundleError(f"cannot read requirement {requirement!r} of the {DISTRIBUTION} distribution")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def lambda_requirements(distribution: str = DISTRIBUTION) -> list[str]:
    """The platform dependencies that must be vendored into the bundle (installed metadata, no extras)."""
    try:
        requires = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        raise BundleError(f"the {distribution} distribution is not installed "
                          "(in the source checkout: python -m pip install -e .)") from None
    base = [r for r in requires if not _EXTRA.search(r.partition(";")[2])]
    return sorted(r for r in base if _name(r) not in PROVIDED)


def ecomshop_dir() -> Path:
    """The installed platform package (located, not imported)."""
    spec = importlib.util.find_spec("ecomshop")
    if spec is None or spec.origin is None:
        raise BundleError("the ecomshop package is not installed")
    return Path(spec.origin).parent


def default_build_dir() -> Path:
    """`.build/` of the source checkout this file is in (the cdk CLI case), else of the current directory."""
    root = Path(__file__).resolve().parents[1]
    return root / ".build" if (root / "pyproject.toml").is_file() else Path.cwd() / ".build"


def _deps_key(requirements: list[str]) -> str:
    text = "\n".join([LAMBDA_PLATFORM, LAMBDA_PYTHON, *requirements])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _install_deps(requirements: list[str], target: Path) -> None:
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if requirements:
        if importlib.util.find_spec("pip") is None:
            shutil.rmtree(tmp, ignore_errors=True)
            raise BundleError(f"pip is not available to {sys.executable}: it fetches the Lambda dependencies "
                              f"{requirements}")
        cmd = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", str(tmp), "--platform", LAMBDA_PLATFORM, "--only-binary=:all:",
            "--implementation", "cp", "--python-version", LAMBDA_PYTHON, *requirements,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise BundleError(f"pip could not fetch the Lambda dependencies {requirements}: {last}")
    # pip's bookkeeping is not code; dropping it keeps the asset hash stable across pip versions.
    for junk in tmp.glob("bin"):
        shutil.rmtree(junk, ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:  # another process won the race: its copy is identical
        shutil.rmtree(tmp, ignore_errors=True)


def build_bundle(build: Path | None = None, out: Path | None = None, *, ecomshop: Path | None = None,
                 requirements: list[str] | None = None) -> Bundle:
    """Write `<build>/lambda/` (or `out`): vendored dependencies + `ecomshop`; return it.

    `build` holds the bundle and the pip cache (`<build>/lambda-deps/<hash>/`); it defaults to
    `default_build_dir()`. `ecomshop` and `requirements` default to the installed ones.
    """
    build = build or default_build_dir()
    out = out or build / "lambda"
    ecomshop = ecomshop or ecomshop_dir()
    requirements = lambda_requirements() if requirements is None else sorted(requirements)
    deps = build / "lambda-deps" / _deps_key(requirements)
    cached = deps.is_dir()
    if not cached:
        deps.parent.mkdir(parents=True, exist_ok=True)
        _install_deps(requirements, deps)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(deps, staging, ignore=_IGNORE)
    shutil.copytree(ecomshop, staging / "ecomshop", ignore=_IGNORE)
    old = out.with_name(out.name + f".old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return Bundle(path=out, requirements=tuple(requirements), deps_cached=cached)
