"""Runtime settings: every resource a handler touches comes from its environment.

The renderers (CDK, local target) set these from the topology's references, so the
handlers never know which target they run on; boto3 itself reads AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config


class ConfigurationError(RuntimeError):
    """A variable the handler needs is not set: a deployment bug, not bad input."""


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


@dataclass(frozen=True)
class Settings:
    stage: str
    orders_table: str
    event_bus: str

    @staticmethod
    def load() -> Settings:
        return Settings(
            stage=_env("ECOMSHOP_STAGE", "dev"),
            orders_table=_env("ORDERS_TABLE"),
            event_bus=_env("EVENT_BUS_NAME"),
        )


@cache
def settings() -> Settings:
    return Settings.load()


def env(name: str, default: str | None = None) -> str:
    """A handler-specific variable (IDEMPOTENCY_TABLE, SHIPPING_DLQ_URL, ...)."""
    return _env(name, default)


def env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError as exc:
        raise ConfigurationError(f"environment variable {name} is not a number") from exc


# Short client timeouts: a provider-side hang must surface as a retryable error well
# inside the Lambda timeout, not as a timed-out invocation.
_BOTO_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})


@cache
def client(service: str) -> Any:
    """One client per service per process (Lambda reuses them across invocations)."""
    return boto3.client(service, config=_BOTO_CONFIG)  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    return boto3.resource("dynamodb", config=_BOTO_CONFIG).Table(name)


def reset_clients() -> None:
    """Forget cached clients and settings (tests and the local target switch endpoints)."""
    client.cache_clear()
    table.cache_clear()
    settings.cache_clear()
