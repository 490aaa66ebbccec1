"""The local target's server-side cleanup of chaos flags: what the one-time EventBridge
Scheduler schedule is on AWS. The platform process runs it, so a flag goes away within
a second or two of its ``expires_at`` even when the CLI that set it was killed with -9.

The handlers already ignore an expired flag; this removes it from the parameter store,
so `ecomctl status` and a later experiment on the same point see it gone.
"""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import UTC, datetime
from typing import Any

from ecomshop.faults import HALT_FLAG


def expired(raw: str, now: datetime) -> bool:
    """True for a flag whose JSON ``expires_at`` (ISO or epoch seconds) is past; anything
    unparseable is left alone (it injects nothing, and it may be an operator's)."""
    try:
        value = json.loads(raw).get("expires_at")
        if isinstance(value, int | float) and not isinstance(value, bool):
            at = datetime.fromtimestamp(value, UTC)
        else:
            at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, TypeError, AttributeError):
        return False
    return (at if at.tzinfo else at.replace(tzinfo=UTC)) <= now


class FlagSweeper:
    def __init__(self, ssm_client: Any, prefix: str, interval_s: float = 1.0) -> None:
        self.ssm = ssm_client
        self.prefix = prefix.rstrip("/")
        self.interval_s = interval_s
        self.deleted: list[str] = []

    def sweep_once(self, now: datetime | None = None) -> list[str]:
        """Delete every expired flag under the prefix; the names deleted."""
        moment = now or datetime.now(UTC)
        gone = []
        paginator = self.ssm.get_paginator("get_parameters_by_path")
        for page in paginator.paginate(Path=self.prefix, Recursive=True):
            for parameter in page.get("Parameters", []):
                name = parameter["Name"]
                if name.rsplit("/", 1)[-1] == HALT_FLAG or not expired(parameter.get("Value", ""), moment):
                    continue
                try:
                    self.ssm.delete_parameter(Name=name)
                    gone.append(name)
                except Exception as exc:  # deleted meanwhile (the CLI's own rollback): fine
                    if "ParameterNotFound" not in str(exc):
                        raise
        self.deleted.extend(gone)
        return gone

    def run(self, stop: threading.Event) -> None:
        """Sweep every ``interval_s`` until ``stop`` is set; errors never end the loop."""
        while not stop.is_set():
            with contextlib.suppress(Exception):  # the endpoint restarting, throttling: next round
                self.sweep_once()
            stop.wait(self.interval_s)
