"""The arrival schedule of a load run: profiles, send times, and the size of the user pool.

An open model: the i-th request is due at an absolute offset from the start, computed
from the profile's rate curve, whatever the latency of earlier requests. A late sender
cannot push the schedule back; it only shows up as lag. Pure Python (no gevent, no
boto3): the Locust child and the parent both import it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# A profile maps the fraction of the run elapsed (0..1) to a multiple of the target rate.
RateCurve = Callable[[float], float]


def _steady(_f: float) -> float:
    return 1.0


def _ramp(f: float) -> float:
    """10 % of the rate to 100 % over the first half, then level."""
    return min(1.0, 0.1 + 0.9 * f / 0.5)


def _spike(f: float) -> float:
    """Level, with three times the rate for a tenth of the run (40-50 %)."""
    return 3.0 if 0.4 <= f < 0.5 else 1.0


def _black_friday(f: float) -> float:
    """Half the rate ramping to full over 30 %, full, a 2.5x rush at 60-70 %, then full again."""
    if f < 0.3:
        return 0.5 + 0.5 * f / 0.3
    return 2.5 if 0.6 <= f < 0.7 else 1.0


PROFILES: dict[str, RateCurve] = {
    "steady": _steady, "ramp": _ramp, "spike": _spike, "black-friday": _black_friday,
}
_STEP_S = 0.01  # the curve's integration step; the rate is constant within a step


@dataclass(frozen=True)
class Schedule:
    rpm: float
    duration_s: float
    profile: str = "steady"

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r} (one of {', '.join(PROFILES)})")

    @property
    def curve(self) -> RateCurve:
        return PROFILES[self.profile]

    def rate_at(self, offset_s: float) -> float:
        """Requests per second due at ``offset_s``."""
        return self.rpm / 60.0 * self.curve(min(1.0, max(0.0, offset_s / self.duration_s)))

    def peak_rps(self) -> float:
        samples = 200
        return max(self.rate_at(self.duration_s * k / samples) for k in range(samples))

    def offsets(self) -> Iterator[float]:
        """The due offset (seconds from the start) of every request, in order."""
        if self.profile == "steady":  # exact, no accumulated error
            interval = 60.0 / self.rpm
            count = math.floor(self.duration_s / interval - 1e-9) + 1
            yield from (i * interval for i in range(count))
            return
        yield from self._integrated()

    def _integrated(self) -> Iterator[float]:
        due_index, cumulative, t = 0, 0.0, 0.0
        while t < self.duration_s:
            step = min(_STEP_S, self.duration_s - t)
            rate = self.rate_at(t + step / 2)
            reached = cumulative + rate * step
            while due_index < reached and rate > 0:
                yield t + (due_index - cumulative) / rate
                due_index += 1
            cumulative, t = reached, t + step

    def total(self) -> int:
        return sum(1 for _ in self.offsets())


def share(offsets: Iterator[float], index: int, count: int) -> Iterator[tuple[int, float]]:
    """The (request number, offset) pairs one of ``count`` load processes sends: every count-th."""
    for i, offset in enumerate(offsets):
        if i % count == index:
            yield i, offset


MIN_USERS = 8
MAX_USERS = 5000
HEADROOM = 1.5


def pool_size(rps: float, latency_s: float, backlog: int = 0) -> int:
    """Users enough that each due request finds a free one: rate x latency (Little's law) with headroom."""
    wanted = math.ceil(rps * max(latency_s, 0.001) * HEADROOM) + backlog
    return max(MIN_USERS, min(MAX_USERS, wanted))
