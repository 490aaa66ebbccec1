"""The drill's load: ``ecomctl load``'s Locust child at an exact arrival rate, run in the
background for as long as the drill lasts, with live figures for the charts.

The child is started with a schedule longer than any drill and stopped when the drill ends:
the drill's length depends on how long each experiment takes to recover, which is only known
as it happens. Stopping it makes Locust fire ``test_stop``, which writes the final summary
(the orders it placed), and those are reconciled like any load run's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import timedelta
from typing import Any

from ecomctl import api_auth, lifecycle, targets
from ecomctl.context import Context
from ecomctl.state import WindowState

LONGEST_DRILL_S = 4 * 3600.0
FINAL_WAIT_S = 20.0
SETTLE_S = 90.0
RATE_WINDOW_S = 10.0


class BackgroundLoad:
    def __init__(self, ctx: Context, window: WindowState, rpm: float, run_id: str) -> None:
        self.ctx, self.window, self.rpm, self.run_id = ctx, window, rpm, run_id
        self.children: Any = None
        self.tail: Any = None
        self.started_at = ctx.clock()
        self._ticks: deque[tuple[float, int]] = deque(maxlen=64)  # (child's elapsed_s, sent)
        self._lock = threading.Lock()

    def start(self) -> None:
        from ecomctl.load import child
        from ecomctl.load.schedule import Schedule

        runs = self.ctx.home / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        self.stats, self.log = runs / f"{self.run_id}.jsonl", runs / f"{self.run_id}.log"
        signer = api_auth.signer_for(self.window.part, targets.get(self.window.target).access(self.ctx, self.window))
        plan = child.LoadPlan(Schedule(self.rpm, LONGEST_DRILL_S, "steady"), str(self.window.api_url), self.run_id,
                              signer=signer)
        self.started_at = self.ctx.clock()
        self.children = child.spawn(plan, self.stats, self.log)
        self.tail = child.StatsTail(self.stats)

    def live(self) -> tuple[float | None, float | None]:
        """Requests sent per minute over the last ~10 s (on the child's clock), and the current p99 (ms)."""
        with self._lock:
            self.tail.poll()
            tick = self.tail.last_tick
            if not tick:
                return None, None
            point = (float(tick.get("elapsed_s", 0.0)), int(tick.get("sent", 0)))
            if not self._ticks or self._ticks[-1] != point:
                self._ticks.append(point)
            while len(self._ticks) > 2 and point[0] - self._ticks[1][0] >= RATE_WINDOW_S:
                self._ticks.popleft()
            first = self._ticks[0]
        span = point[0] - first[0]
        return (None if span < 1.0 else (point[1] - first[1]) * 60.0 / span), tick.get("p99")

    def stop(self) -> None:
        if self.children is None:
            return
        self.children.stop()
        deadline = time.monotonic() + FINAL_WAIT_S
        while self.tail.final is None and time.monotonic() < deadline:
            self.tail.poll()
            time.sleep(0.2)

    def conclude(self, say: Any) -> dict[str, Any]:
        """The load's figures, the reconciliation of every order it placed, the slowest traces."""
        from ecomctl.observe import observe
        from ecomctl.observe.reconcile import settle

        final = self.tail.final if self.tail is not None else None
        if not final:
            return {"load": {"error": f"the load generator left no summary (log: {getattr(self, 'log', '-')})"},
                    "reconciliation": {"lost": "unknown: no summary of the orders placed"}}
        orders: dict[str, str] = final.get("orders") or {}
        _window, access, reader = lifecycle.reader(self.ctx, self.window.stage)
        say(f"reconciling the {len(orders)} orders the load placed")
        reconciliation = settle(reader, orders, SETTLE_S, lambda _d, _t: None, time.sleep, time.monotonic)
        observed = observe(access, reader, self.window.stage, self.started_at - timedelta(seconds=5),
                           self.ctx.clock(), reconciliation)
        # Not the child's achieved_rpm: it is measured over the whole (never finished) schedule.
        keys = ("target_rpm", "requests", "failures", "scheduled", "sent", "dropped", "latency_ms")
        return {
            "load": {k: final.get(k) for k in keys},
            "reconciliation": reconciliation.to_json(),
            "slowest_traces": [{"id": t.trace_id, "duration_ms": round(t.duration_ms, 1), "path": t.path}
                               for t in observed.xray.slowest],
        }
