"""The Locust child's side of the stats stream: JSON lines the parent tails.

Why a file of JSON lines: it works the same for a local runner and for a master whose
workers run elsewhere (the master merges their reports first), it needs no port of its
own (Locust's web API would), it outlives a crashed child so the parent can say what
happened, and the parent reads it with plain file I/O, outside gevent.

One ``tick`` line a second (live figures), one ``final`` line when the run ends (the
whole summary: Locust's request stats plus the pacer's tally).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import gevent

from ecomctl.load.tally import Tally, percentile


def _ms(value: float | None) -> float:
    return round(float(value or 0.0), 1)


def _entry(entry: Any) -> dict[str, Any]:
    return {"name": entry.name, "method": entry.method, "requests": entry.num_requests,
            "failures": entry.num_failures,
            **{f"p{q}": _ms(entry.get_response_time_percentile(q / 100)) for q in (50, 95, 99)},
            "max": _ms(entry.max_response_time), "avg": _ms(entry.avg_response_time)}


class StatsStream:
    def __init__(self, env: Any, path: Path, tally: Tally, rpm: float, duration_s: float, profile: str) -> None:
        self.env = env
        self.path = path
        self.tally = tally
        self.rpm, self.duration_s, self.profile = rpm, duration_s, profile
        self.started = time.time()
        self.wrote_final = False
        self._greenlet: Any = None

    def start(self) -> None:
        self.path.write_text("")
        self._greenlet = gevent.spawn(self._loop)

    def _write(self, line: dict[str, Any]) -> None:
        with self.path.open("a") as fh:
            fh.write(json.dumps(line) + "\n")

    def _loop(self) -> None:
        while not self.wrote_final:
            gevent.sleep(1.0)
            self._write(self.tick())

    def tick(self) -> dict[str, Any]:
        total = self.env.stats.total
        runner = self.env.runner
        return {
            "type": "tick", "elapsed_s": round(time.time() - self.started, 2),
            "scheduled": self.tally.scheduled, "sent": self.tally.sent, "dropped": self.tally.dropped,
            "lag_max_s": round(self.tally.lag_max_s, 4), "users": runner.user_count if runner else 0,
            "workers": len(getattr(runner, "clients", {}) or {}),
            "requests": total.num_requests, "failures": total.num_failures,
            "rps": round(total.current_rps, 2),
            **{f"p{q}": _ms(total.get_current_response_time_percentile(q / 100)) for q in (50, 95, 99)},
        }

    def final(self) -> dict[str, Any]:
        total, tally = self.env.stats.total, self.tally
        interval = 60.0 / self.rpm
        achieved = (tally.achieved_rpm(self.duration_s, interval) if self.profile == "steady"
                    else tally.sent * 60 / self.duration_s)
        return {
            "type": "final", "target_rpm": self.rpm, "profile": self.profile, "duration_s": self.duration_s,
            "achieved_rpm": round(achieved, 2), "scheduled": tally.scheduled, "sent": tally.sent,
            "dropped": tally.dropped, "requests": total.num_requests, "failures": total.num_failures,
            "latency_ms": {**{f"p{q}": _ms(total.get_response_time_percentile(q / 100)) for q in (50, 90, 95, 99)},
                           "max": _ms(total.max_response_time), "avg": _ms(total.avg_response_time)},
            "intended_latency_ms": {f"p{q}": percentile(tally.intended, q / 100) for q in (50, 95, 99)},
            "lag_ms": {"p50": percentile(tally.lag, 0.5), "p99": percentile(tally.lag, 0.99),
                       "max": round(tally.lag_max_s * 1000, 1)},
            "endpoints": [_entry(e) for e in self.env.stats.entries.values()],
            "errors": [{"name": e.name, "method": e.method, "error": str(e.error), "occurrences": e.occurrences}
                       for e in self.env.stats.errors.values()],
            "orders": tally.orders, "processes_done": tally.done,
            "first_send_at": tally.first_at, "last_send_at": tally.last_at,
        }

    def write_final(self) -> None:
        if self.wrote_final:
            return
        self.wrote_final = True
        self._write(self.final())
