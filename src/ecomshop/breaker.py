"""A circuit breaker whose state lives in DynamoDB, one item per provider.

Written by hand on purpose: the maintained Python breakers (pybreaker, circuitbreaker)
keep state in process memory or Redis, and a Lambda fleet needs state shared by every
concurrent environment and surviving cold starts (the AWS circuit-breaker sample keeps
it in DynamoDB for the same reason). Transitions are conditional updates, so two
environments cannot both take the single half-open probe.

CLOSED --(failure_threshold consecutive failures)--> OPEN
OPEN --(reset_timeout_s elapsed; one caller wins the probe)--> HALF_OPEN
HALF_OPEN --success--> CLOSED;  HALF_OPEN --failure--> OPEN
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from ecomshop.config import env, env_float, table
from ecomshop.observability import MetricUnit, logger, metrics

# A deliberately weakened platform for the chaos tests (the hypothesis must be able to
# fail): with this set to 1 the breaker never opens. Never set it in a real deployment.
WEAKENED_NO_BREAKER = "ECOMSHOP_WEAKENED_NO_BREAKER"


def _disabled() -> bool:
    return os.environ.get(WEAKENED_NO_BREAKER) == "1"


class State(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class BreakerOpen(Exception):
    """The call was not attempted: the provider is considered down."""


@dataclass(frozen=True)
class Thresholds:
    failure_threshold: int = 5
    reset_timeout_s: float = 10.0

    @staticmethod
    def from_env() -> Thresholds:
        return Thresholds(
            failure_threshold=int(env_float("BREAKER_FAILURE_THRESHOLD", 5)),
            reset_timeout_s=env_float("BREAKER_RESET_TIMEOUT_S", 10.0),
        )


def _conditional(fn: Any, **kwargs: Any) -> bool:
    try:
        fn(**kwargs)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


class CircuitBreaker:
    def __init__(self, provider: str, thresholds: Thresholds | None = None) -> None:
        self.provider = provider
        self.thresholds = thresholds or Thresholds.from_env()

    def _table(self) -> Any:
        return table(env("BREAKER_TABLE"))

    def snapshot(self) -> dict[str, Any]:
        item = self._table().get_item(Key={"provider": self.provider}, ConsistentRead=True).get("Item")
        return dict(item) if item else {"provider": self.provider, "state": State.CLOSED.value, "failures": 0}

    def state(self) -> State:
        return State(self.snapshot()["state"])

    def before_call(self) -> dict[str, Any]:
        """Raise BreakerOpen unless a call may go through now; returns the state it saw."""
        if _disabled():
            return {"provider": self.provider, "state": State.CLOSED.value, "failures": 0}
        snap = self.snapshot()
        state = State(snap["state"])
        if state is State.CLOSED:
            return snap
        now = time.time()
        since = float(snap.get("changedAt", 0))
        if now - since < self.thresholds.reset_timeout_s:
            raise BreakerOpen(f"{self.provider} circuit is {state.value}")
        # Reset timeout elapsed (or a half-open probe went silent): take the probe.
        won = _conditional(
            self._table().update_item,
            Key={"provider": self.provider},
            UpdateExpression="SET #s = :half, changedAt = :now",
            ConditionExpression="#s = :seen AND changedAt = :since",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":half": State.HALF_OPEN.value, ":now": str(now),
                                       ":seen": state.value, ":since": snap.get("changedAt", "0")},
        )
        if not won:
            raise BreakerOpen(f"{self.provider} circuit is probing")
        logger.info("breaker half-open: probing", extra={"provider": self.provider})
        return {**snap, "state": State.HALF_OPEN.value}

    def record_success(self, seen: dict[str, Any] | None = None) -> None:
        """Close the circuit and reset the count; ``seen`` (what before_call returned)
        skips the write in the common case of a closed circuit with no failures."""
        if seen is not None and seen["state"] == State.CLOSED.value and int(seen.get("failures", 0)) == 0:
            return
        closed = _conditional(
            self._table().update_item,
            Key={"provider": self.provider},
            UpdateExpression="SET #s = :closed, failures = :zero, changedAt = :now",
            ConditionExpression="attribute_exists(provider) AND (#s <> :closed OR failures > :zero)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":closed": State.CLOSED.value, ":zero": 0, ":now": str(time.time())},
        )
        if closed:
            logger.info("breaker closed", extra={"provider": self.provider})

    def record_failure(self) -> None:
        if _disabled():
            return
        now = str(time.time())
        item = self._table().update_item(
            Key={"provider": self.provider},
            UpdateExpression="SET failures = if_not_exists(failures, :zero) + :one, "
                             "#s = if_not_exists(#s, :closed), changedAt = if_not_exists(changedAt, :now)",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":zero": 0, ":one": 1, ":closed": State.CLOSED.value, ":now": now},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        state = State(item["state"])
        tripped = state is State.CLOSED and int(item["failures"]) >= self.thresholds.failure_threshold
        if state is State.HALF_OPEN or tripped:
            opened = _conditional(
                self._table().update_item,
                Key={"provider": self.provider},
                UpdateExpression="SET #s = :open, changedAt = :now",
                ConditionExpression="#s = :seen",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":open": State.OPEN.value, ":now": now, ":seen": state.value},
            )
            if opened:
                metrics.add_metric(name="BreakerOpened", unit=MetricUnit.Count, value=1)
                logger.warning("breaker opened", extra={"provider": self.provider, "failures": int(item["failures"])})
