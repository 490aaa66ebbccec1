"""What one invocation of the CLI runs with, built once in the app's callback.

A command takes the context, parses its own options, calls one service function and
renders the result. Nothing below the commands reads global options from the
environment on its own: the AWS session, the home directory, the consoles and the clock
all come from here, so a test can build a context of its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from ecomctl.state import home as state_home


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None  # AWS_ENDPOINT_URL: an AWS-compatible endpoint (a moto server)
    home: Path = field(default_factory=state_home)
    out: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True))
    clock: Callable[[], datetime] = _now

    @staticmethod
    def from_environment(profile: str | None = None, region: str | None = None, **kw: Any) -> Context:
        """``--profile``/``--region`` win over ``AWS_PROFILE``/``AWS_REGION``/``AWS_DEFAULT_REGION``."""
        env = os.environ
        return Context(
            profile=profile or env.get("AWS_PROFILE") or None,
            region=region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            **kw,
        )

    def session(self, region: str | None = None, credentials: dict[str, str] | None = None) -> Any:
        """A boto3 session for the operator's own credentials (the aws target), or for given ones."""
        import boto3

        if credentials:
            return boto3.Session(region_name=region or self.region, **credentials)  # type: ignore[arg-type]
        return boto3.Session(profile_name=self.profile, region_name=region or self.region)
