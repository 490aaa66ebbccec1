"""Synth options: what may vary between two renderings of the same topology.

Every option comes from CDK context (`-c stage=prod`, or `ecomctl synth --stage prod`),
so the app needs no AWS call and no credentials to synthesize.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# The Lambda runtime the stack deploys, and the platform the bundle's wheels are fetched for
# (infra/bundle.py). Here, in a module that imports nothing of ours, so that the CDK app,
# its bundle recipe and ecomctl all read one definition.
LAMBDA_PYTHON = "3.13"
LAMBDA_PLATFORM = "manylinux2014_x86_64"

# Public Powertools for AWS Lambda (Python) v3 layer, published by AWS in every commercial
# region; the version is pinned here and overridable with `-c powertools_layer_version=N`.
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27
LOG_RETENTION_DAYS = 7
NO_EXPIRY = "none"

_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
# Tag values allow letters, digits, spaces and _ . : / = + - @ ; an ISO-8601 instant fits.
_EXPIRES = re.compile(r"^(none|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z)$")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class InfraOptions:
    stage: str = "dev"
    expires_at: str = NO_EXPIRY  # ISO-8601 UTC deadline of the window, tagged on every resource
    with_opensearch: bool = False
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    lambda_asset: str = ""  # the pre-built bundle directory (infra/bundle.py)

    def __post_init__(self) -> None:
        if not _STAGE.match(self.stage):
            raise ValueError(f"stage {self.stage!r} must be lowercase letters, digits or '-' (max 16)")
        if not _EXPIRES.match(self.expires_at):
            raise ValueError(f"expires_at {self.expires_at!r} must be 'none' or like 2030-01-01T12:00:00Z")

    @property
    def stack_name(self) -> str:
        return f"ecom-{self.stage}"

    @property
    def python_version(self) -> str:
        return LAMBDA_PYTHON

    def context(self) -> dict[str, Any]:
        """The CDK context that reproduces these options (ecomctl synth passes it)."""
        return {k: v for k, v in asdict(self).items()}

    @staticmethod
    def from_context(get: Any, lambda_asset: Path) -> InfraOptions:
        """Read options with `get(key)` (node.try_get_context); defaults for missing keys."""

        def value(key: str, default: Any) -> Any:
            v = get(key)
            return default if v is None or v == "" else v

        return InfraOptions(
            stage=str(value("stage", "dev")),
            expires_at=str(value("expires_at", NO_EXPIRY)),
            with_opensearch=_flag(value("with_opensearch", False)),
            powertools_layer_version=int(value("powertools_layer_version", POWERTOOLS_LAYER_VERSION)),
            lambda_asset=str(value("lambda_asset", str(lambda_asset))),
        )
