"""Named fault-injection points around every provider call.

A flag is a JSON SSM parameter under the topology's prefix, named after a point
(``payment.charge``) or a whole provider (``payment``)::

    {"effect": "error", "rate": 0.5, "expires_at": "2026-11-27T16:00:00Z"}

Effects: ``error`` (the provider is down), ``timeout`` (it hangs, then fails),
``latency`` (it is slow but answers), and data effects the provider interprets:
``inconsistent`` (contradictory inventory answers), ``contract`` (shipping answers
in another response schema, ``"version": "v2"`` or anything unknown) and ``throttle``
(the shipping partner's API answers 429, with an optional ``retry_after_s``).

Safety first: a missing, expired, malformed or unreadable flag injects nothing, the
flags are read through Powertools Parameters with a cache of at most 5 s (one
GetParametersByPath per process per 5 s, not one call per provider call), and both the
``halt`` flag and the ECOMSHOP_CHAOS_DISABLED=1 kill switch turn every injection off.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ecomshop.config import env
from ecomshop.observability import MetricUnit, logger, metrics

FLAG_CACHE_SECONDS = 5
HALT_FLAG = "halt"
KILL_SWITCH = "ECOMSHOP_CHAOS_DISABLED"

Effect = Literal["error", "timeout", "latency", "inconsistent", "contract", "throttle"]


class ProviderUnavailable(Exception):
    """The provider failed or timed out: transient, worth a retry."""


class Flag(BaseModel):
    model_config = ConfigDict(extra="allow")

    effect: Effect
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    expires_at: datetime
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    timeout_s: float = Field(default=2.0, ge=0.0, le=60.0)
    version: str | None = None

    @field_validator("expires_at", mode="before")
    @classmethod
    def _epoch_or_iso(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        return value

    def active(self, now: datetime) -> bool:
        expires = self.expires_at if self.expires_at.tzinfo else self.expires_at.replace(tzinfo=UTC)
        return expires > now


def _flags() -> dict[str, Any]:
    """Every flag under the prefix, keyed by the name after the prefix."""
    prefix = env("CHAOS_SSM_PREFIX", "")
    if not prefix:
        return {}
    try:
        values = parameters.get_parameters(
            prefix, max_age=FLAG_CACHE_SECONDS, transform="json", raise_on_transform_error=False
        )
    except Exception as exc:  # unreadable flags mean no fault, never a broken handler
        logger.warning("chaos flags unreadable; injecting nothing", extra={"error": str(exc)})
        return {}
    return dict(values or {})


def active_flag(point: str, now: datetime | None = None) -> Flag | None:
    """The flag in force for ``point`` (``provider.operation``), if any."""
    if os.environ.get(KILL_SWITCH) == "1":
        return None
    flags = _flags()
    if not flags:
        return None
    now = now or datetime.now(UTC)
    if _halted(flags.get(HALT_FLAG), now):
        return None
    provider = point.split(".", 1)[0]
    for name in (point, provider):
        flag = _valid(flags.get(name), name, now)
        if flag is not None:
            return flag
    return None


def _halted(raw: Any, now: datetime) -> bool:
    """The halt flag errs on the side of safety: anything but an expired halt halts."""
    if raw is None:
        return False
    if isinstance(raw, dict) and "expires_at" in raw:
        try:
            return Flag.model_validate({"effect": "error", "expires_at": raw["expires_at"]}).active(now)
        except ValidationError:
            return True
    return True


def _valid(raw: Any, name: str, now: datetime) -> Flag | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        logger.warning("chaos flag is not a JSON object; ignored", extra={"flag": name})
        return None
    try:
        flag = Flag.model_validate(raw)
    except ValidationError as exc:
        logger.warning("malformed chaos flag ignored", extra={"flag": name, "error": exc.errors()[0]["msg"]})
        return None
    return flag if flag.active(now) else None


def inject(point: str) -> Flag | None:
    """Apply the flag for ``point``; return it when the provider must act on a data effect.

    ``error`` and ``timeout`` raise ProviderUnavailable; ``latency`` sleeps and lets the
    call go on; data effects are returned for the provider to interpret.
    """
    flag = active_flag(point)
    if flag is None or random.random() >= flag.rate:
        return None
    metrics.add_metric(name="ChaosInjected", unit=MetricUnit.Count, value=1)
    logger.info("chaos injected", extra={"point": point, "effect": flag.effect})
    if flag.effect == "error":
        raise ProviderUnavailable(f"{point}: injected provider error")
    if flag.effect == "timeout":
        time.sleep(flag.timeout_s)
        raise ProviderUnavailable(f"{point}: injected timeout after {flag.timeout_s}s")
    if flag.effect == "latency":
        time.sleep(flag.latency_ms / 1000)
        return None
    return flag
