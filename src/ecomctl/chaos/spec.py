"""An experiment file: the schema (pydantic) and a loader that knows every value's line.

PyYAML's composer keeps the position of every node; the loader records the line of each
path (``flags[0].rate``) while it builds plain data, so a validation error names the
file, the line and the field in one line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ecomctl.errors import UsageError

POINTS = ("payment.charge", "payment.refund", "inventory.reserve", "inventory.release", "shipping.book",
          "payment", "inventory", "shipping")
Effect = Literal["error", "timeout", "latency", "inconsistent", "contract"]
RollbackStep = Literal["delete_flags", "delete_burst", "wait_flag_cache"]
_DURATION = re.compile(r"^(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str | int | float, what: str = "duration") -> float:
    """``90s``, ``5m``, ``1m30s`` or a number of seconds -> seconds (positive)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text).strip().lower())
        if not match or not any(match.groups()):
            raise ValueError(f"invalid {what} {text!r}: use 30s, 5m or 1m30s")
        seconds = float(int(match.group(1) or 0) * 60 + int(match.group(2) or 0))
    if seconds <= 0:
        raise ValueError(f"invalid {what} {text!r}: must be longer than zero")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlagSpec(_Strict):
    point: str
    effect: Effect
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    latency_ms: int | None = Field(default=None, ge=0, le=60_000)
    timeout_s: float | None = Field(default=None, ge=0.0, le=60.0)
    version: str | None = None

    @field_validator("point")
    @classmethod
    def _known_point(cls, value: str) -> str:
        if value not in POINTS:
            raise ValueError(f"unknown injection point {value!r} (one of {', '.join(POINTS)})")
        return value

    def value(self, rate: float | None) -> dict[str, Any]:
        """The flag's JSON body without its run fields (what the handlers act on)."""
        body: dict[str, Any] = {"effect": self.effect, "rate": self.rate if rate is None else rate}
        body.update({k: v for k, v in (("latency_ms", self.latency_ms), ("timeout_s", self.timeout_s),
                                       ("version", self.version)) if v is not None})
        return body


class ProbeSpec(_Strict):
    probe: str
    params: dict[str, Any] = Field(default_factory=dict)
    max: float | None = None
    min: float | None = None
    equals: Any = None
    one_of: list[Any] | None = None
    within: float | None = None  # after: keep reading until it holds, for this long
    mode: Literal["always", "eventually"] = "always"  # during: a stop condition, or must be seen once

    @field_validator("probe")
    @classmethod
    def _known_probe(cls, value: str) -> str:
        from ecomctl.chaos.probes import PROBES

        if value not in PROBES:
            raise ValueError(f"unknown probe {value!r} (one of {', '.join(sorted(PROBES))})")
        return value

    @field_validator("within", mode="before")
    @classmethod
    def _within(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value, "within")

    @model_validator(mode="after")
    def _has_tolerance(self) -> ProbeSpec:
        if self.max is None and self.min is None and self.equals is None and self.one_of is None:
            raise ValueError("a probe needs a tolerance: max, min, equals or one_of")
        return self

    def tolerance(self) -> str:
        parts = [f"{k} {v}" for k, v in (("<=", self.max), (">=", self.min), ("==", self.equals),
                                         ("in", self.one_of)) if v is not None]
        return ", ".join(parts)

    def holds(self, value: Any) -> bool:
        try:
            if self.equals is not None and value != self.equals:
                return False
            if self.one_of is not None and value not in self.one_of:
                return False
            if self.max is not None and float(value) > self.max:
                return False
            return not (self.min is not None and float(value) < self.min)
        except (TypeError, ValueError):
            return False


class Hypothesis(_Strict):
    before: list[ProbeSpec] = Field(default_factory=list)
    during: list[ProbeSpec] = Field(default_factory=list)
    after: list[ProbeSpec] = Field(default_factory=list)


class LoadSpec(_Strict):
    """The experiment's own traffic; ``driver: locust`` is reserved for `ecomctl load` profiles."""

    driver: Literal["builtin"] = "builtin"
    kind: Literal["orders", "duplicates"] = "orders"
    orders_per_s: float = Field(default=2.0, gt=0, le=20)
    keys: int = Field(default=5, ge=1, le=100)  # duplicates: distinct Idempotency-Keys
    copies: int = Field(default=6, ge=2, le=50)  # duplicates: requests per key (and per unkeyed body)
    unkeyed_bodies: int = Field(default=3, ge=0, le=50)
    country: str | None = None  # shippingAddress.country of the orders (None: no address)


class BurstSpec(_Strict):
    """A capped, tagged burst of objects into the lake, always deleted afterwards."""

    objects: int = Field(ge=1, le=5000)
    object_kib: int = Field(ge=1, le=1024)
    max_mib: float = Field(gt=0, le=512)
    prefix: str = "orders/chaos-burst/"

    @model_validator(mode="after")
    def _within_cap(self) -> BurstSpec:
        if self.objects * self.object_kib > self.max_mib * 1024:
            raise ValueError(f"burst of {self.objects} x {self.object_kib} KiB exceeds max_mib {self.max_mib}")
        return self


class CostSpec(_Strict):
    budget_usd: float = Field(gt=0)
    years: int = Field(default=7, ge=1, le=20)
    daily_multiplier: float = Field(default=1.0, gt=0)  # the burst as one day's volume, times this


def _default_rollback() -> list[RollbackStep]:
    return ["delete_flags", "wait_flag_cache"]


class Experiment(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    description: str
    verifies: str
    duration: float = 30.0
    flags: list[FlagSpec] = Field(default_factory=list)
    load: LoadSpec | None = None
    burst: BurstSpec | None = None
    cost: CostSpec | None = None
    hypothesis: Hypothesis = Field(default_factory=Hypothesis)
    stop_on_alarm: bool = True
    rollback: list[RollbackStep] = Field(default_factory=_default_rollback)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        points = [f.point for f in self.flags]
        if len(points) != len(set(points)):
            raise ValueError("flags: an injection point appears twice")
        if self.burst is not None and "delete_burst" not in self.rollback:
            raise ValueError("rollback: a burst needs delete_burst")
        if self.flags and "delete_flags" not in self.rollback:
            raise ValueError("rollback: flags need delete_flags")
        return self


# --- loading with line numbers -------------------------------------------------------------

Path_ = tuple[str | int, ...]


def _lines(node: Any, path: Path_, lines: dict[Path_, int]) -> None:
    """Record the line of every path below ``node`` (a key's line for a mapping entry)."""
    import yaml

    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            lines[(*path, key_node.value)] = key_node.start_mark.line + 1
            _lines(value_node, (*path, key_node.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), lines)


def _field(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _line_of(loc: Path_, lines: dict[Path_, int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _clean_loc(loc: tuple[Any, ...]) -> Path_:
    # pydantic adds the model name of a failing model validator / union branch: drop non-field parts
    return tuple(p for p in loc if isinstance(p, int) or not str(p)[:1].isupper())


def load(path: Path) -> Experiment:
    """Parse and validate an experiment file, or a one-line UsageError `file:line: field: problem`."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the experiment file ({exc.strerror})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise UsageError(f"{path}:{line}: not valid YAML: {exc.problem}") from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _lines(node, (), lines)
    if not isinstance(data, dict):
        raise UsageError(f"{path}:1: the experiment must be a mapping of fields (name, description, ...)")
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _clean_loc(tuple(first["loc"]))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UsageError(f"{path}:{_line_of(loc, lines)}: {_field(loc)}: {message}") from None
