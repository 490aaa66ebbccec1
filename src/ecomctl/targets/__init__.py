"""The targets a window can run on; ``get(name)`` is the only way in."""

from __future__ import annotations

from ecomctl.errors import UsageError
from ecomctl.targets.base import Target

NAMES = ("local", "aws")


def get(name: str) -> Target:
    if name == "local":
        from ecomctl.targets.local import LocalTarget

        return LocalTarget()
    if name == "aws":
        from ecomctl.targets.aws import AwsTarget

        return AwsTarget()
    raise UsageError(f"unknown target {name!r}: use {' or '.join(NAMES)}")
