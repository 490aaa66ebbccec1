"""Writing and removing an experiment's flags: create-only, owned by a run, deleted by owner.

``PutParameter`` without ``Overwrite`` is the lock: a second experiment on the same point
gets ``ParameterAlreadyExists`` and is refused. A flag left behind by a run that died
(expired, not yet swept) is removed first: it injects nothing and blocks nobody.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ecomctl.chaos.spec import Experiment, FlagSpec
from ecomctl.errors import PreconditionFailed
from ecomctl.reads import ActiveFlag
from ecomctl.window import iso
from ecomshop.faults import HALT_FLAG

# The flags outlive the planned end by this much, so a slow rollback never races its own
# expiry; if the CLI dies, the handlers ignore them at expires_at anyway.
EXPIRY_GRACE = timedelta(seconds=15)


@dataclass(frozen=True)
class SetFlag:
    point: str
    parameter: str
    value: dict[str, Any]


def overlaps(a: str, b: str) -> bool:
    """``payment`` covers ``payment.charge``: the two points clash."""
    return a == b or a.split(".", 1)[0] == b or b.split(".", 1)[0] == a


def preflight(experiment: Experiment, active: list[ActiveFlag]) -> None:
    """Refuse while the halt lever is on, or while another run holds one of our points."""
    for flag in active:
        if flag.name == HALT_FLAG:
            raise PreconditionFailed("the chaos halt flag is set; remove it before running experiments")
        for spec in experiment.flags:
            if overlaps(flag.name, spec.point):
                holder = flag.value.get("run_id") or "someone else"
                raise PreconditionFailed(f"injection point {spec.point} is held by {holder} "
                                         f"(flag {flag.name} until {flag.expires_at}); "
                                         f"wait for it or run `ecomctl chaos off`")


def flag_value(spec: FlagSpec, rate: float | None, run_id: str, scenario: str, owner: str,
               now: datetime, expires: datetime) -> dict[str, Any]:
    return {**spec.value(rate), "expires_at": iso(expires), "run_id": run_id, "scenario": scenario,
            "owner": owner, "set_at": iso(now)}


def create(ssm: Any, parameter: str, value: dict[str, Any], now: datetime) -> None:
    """Create the parameter, or refuse if a live flag holds it (an expired one is replaced)."""
    for attempt in (1, 2):
        try:
            ssm.put_parameter(Name=parameter, Value=json.dumps(value), Type="String", Overwrite=False,
                              Description=f"ecomctl chaos run {value['run_id']}")
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ParameterAlreadyExists" or attempt == 2:
                raise
        holder = _read(ssm, parameter)
        if holder is not None and not _expired(holder, now):
            raise PreconditionFailed(f"injection point {parameter.rsplit('/', 1)[-1]} is held by "
                                     f"{holder.get('run_id') or 'someone else'}; the second experiment is refused")
        delete(ssm, parameter, None)


def _read(ssm: Any, parameter: str) -> dict[str, Any] | None:
    try:
        value = json.loads(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _expired(value: dict[str, Any], now: datetime) -> bool:
    try:
        return datetime.fromisoformat(str(value["expires_at"]).replace("Z", "+00:00")) <= now
    except (KeyError, ValueError):
        return False


def delete(ssm: Any, parameter: str, run_id: str | None) -> bool:
    """Delete the flag if it is ``run_id``'s (any owner when None); True if it was deleted."""
    if run_id is not None:
        holder = _read(ssm, parameter)
        if holder is None or holder.get("run_id") != run_id:
            return False
    try:
        ssm.delete_parameter(Name=parameter)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            return False
        raise
