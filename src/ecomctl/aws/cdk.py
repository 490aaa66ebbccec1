"""The pinned aws-cdk CLI: installed on demand from npm into a cache, then run from there.

``cdk deploy --app <assembly dir>`` deploys the assembly ``ecomctl synth`` wrote, so the
toolkit never runs the app (no Python CDK in the CLI's process tree). The version is
pinned here: ``ensure()`` runs ``npm install aws-cdk@<PINNED>`` into
``ECOMCTL_TOOLS`` (default ``ECOMCTL_HOME/tools``) the first time and checks
``cdk --version`` after; CI needs nothing but Node.js and the npm registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ecomctl import state
from ecomctl.errors import PreconditionFailed

PINNED = "2.1148.1"
INSTALL_TIMEOUT_S = 300


def tools_dir() -> Path:
    return Path(os.environ.get("ECOMCTL_TOOLS") or state.home() / "tools")


def prefix() -> Path:
    return tools_dir() / f"aws-cdk-{PINNED}"


def binary() -> Path:
    return prefix() / "node_modules" / ".bin" / "cdk"


def installed_version() -> str | None:
    """The cached CLI's version, or None when it is not installed (or does not run)."""
    if not binary().exists():
        return None
    try:
        done = subprocess.run([str(binary()), "--version"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "CDK_DISABLE_VERSION_CHECK": "1"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.split()[0] if done.returncode == 0 and done.stdout.strip() else None


def ensure() -> Path:
    """The pinned cdk CLI, installed from npm if it is not cached yet."""
    if installed_version() == PINNED:
        return binary()
    npm = shutil.which("npm")
    if npm is None:
        raise PreconditionFailed("npm not found: install Node.js 20 (https://nodejs.org), then run `ecomctl doctor`")
    prefix().mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(prefix()), "--no-audit", "--no-fund", "--loglevel=error",
                           f"aws-cdk@{PINNED}"], capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    if done.returncode != 0 or installed_version() != PINNED:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise PreconditionFailed(f"could not install aws-cdk@{PINNED} into {prefix()}: {last}")
    return binary()
