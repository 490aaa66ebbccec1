"""The Lambda bundle, built without Docker: `ecomshop` plus its non-provided dependencies.

What ships is read from pyproject.toml: the platform's own dependencies (the
`[project] dependencies` list), minus what AWS already provides: boto3 is in the Lambda
runtime, Powertools and pydantic come from the public Powertools layer. Wheels are
fetched for the Lambda platform (`manylinux2014_x86_64`, the runtime's CPython), not for
this machine, so a compiled dependency would still be the right build. The CLI (ecomctl,
Typer, Rich, Locust, moto) is never copied.

The pip step is cached by a hash of the requirement list and the target platform; the
copy of `src/ecomshop` is redone on every build (it is small and is what changes).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ecomctl.errors import UserError

# The Lambda runtime the CDK app deploys (infra reads these too: one place).
LAMBDA_PYTHON = "3.13"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
# Provided on AWS: boto3/botocore by the runtime, the rest by the Powertools layer.
PROVIDED = frozenset({"boto3", "botocore", "aws-lambda-powertools", "pydantic"})
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")


def repo_root() -> Path:
    """The source checkout: synth renders infra/ and src/ecomshop from it."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "infra").is_dir():
        raise UserError(f"ecomctl synth needs the source checkout (pyproject.toml and infra/ under {root})")
    return root


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)", requirement)
    if not match:
        raise UserError(f"cannot read requirement {requirement!r} in pyproject.toml")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def lambda_requirements(root: Path) -> list[str]:
    """The platform dependencies that must be vendored into the bundle."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return sorted(r for r in project.get("dependencies", []) if _name(r) not in PROVIDED)


@dataclass(frozen=True)
class Bundle:
    path: Path
    requirements: tuple[str, ...]
    deps_cached: bool


def _deps_key(requirements: list[str]) -> str:
    text = "\n".join([LAMBDA_PLATFORM, LAMBDA_PYTHON, *requirements])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _install_deps(requirements: list[str], target: Path) -> None:
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if requirements:
        cmd = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", str(tmp), "--platform", LAMBDA_PLATFORM, "--only-binary=:all:",
            "--implementation", "cp", "--python-version", LAMBDA_PYTHON, *requirements,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"pip could not fetch the Lambda dependencies {requirements}: {last}")
    # pip's bookkeeping is not code; dropping it keeps the asset hash stable across pip versions.
    for junk in tmp.glob("bin"):
        shutil.rmtree(junk, ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:  # another process won the race: its copy is identical
        shutil.rmtree(tmp, ignore_errors=True)


def build_bundle(root: Path | None = None, out: Path | None = None) -> Bundle:
    """Write `.build/lambda/` (or `out`): vendored dependencies + `ecomshop`; return it."""
    root = root or repo_root()
    out = out or root / ".build" / "lambda"
    requirements = lambda_requirements(root)
    deps = root / ".build" / "lambda-deps" / _deps_key(requirements)
    cached = deps.is_dir()
    if not cached:
        deps.parent.mkdir(parents=True, exist_ok=True)
        _install_deps(requirements, deps)
    staging = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(deps, staging, ignore=_IGNORE)
    shutil.copytree(root / "src" / "ecomshop", staging / "ecomshop", ignore=_IGNORE)
    old = out.with_name(out.name + f".old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return Bundle(path=out, requirements=tuple(requirements), deps_cached=cached)
