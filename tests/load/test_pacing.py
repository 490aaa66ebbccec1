"""The pacer against the fast stand-in: the achieved rate, the lag, a slow server, a lost worker.

These run the real Locust child (``ecomctl.load.child``) as `ecomctl load` does; only the
order API is the stand-in, so what is measured is the pacer, not the platform.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ecomctl.load.child import Children, LoadPlan, StatsTail, spawn
from ecomctl.load.schedule import Schedule
from tests.load.standin import standin

pytestmark = pytest.mark.slow


def _run(tmp_path: Path, host: str, rpm: float, duration_s: float, workers: int = 0,
         during: Any = None) -> tuple[dict[str, Any], Children]:
    plan = LoadPlan(Schedule(rpm, duration_s), host, "r-test", workers=workers,
                    master_port=_free_port() if workers else 5557)
    stats = tmp_path / "stats.jsonl"
    children = spawn(plan, stats, tmp_path / "load.log")
    tail, started = StatsTail(stats), time.monotonic()
    try:
        while children.master.poll() is None and time.monotonic() - started < duration_s + 90:
            tail.poll()
            children.check_workers(started)
            if during is not None:
                during(children, tail)
            time.sleep(0.2)
        tail.poll()
    finally:
        children.stop()
    assert tail.final is not None, (tmp_path / "load.log").read_text()[-2000:]
    return tail.final, children


def _free_port() -> int:
    from tests.local.helpers import free_port

    return free_port()


def test_1000_rpm_is_achieved_within_one_percent_and_the_lag_is_reported(tmp_path):
    with standin() as host:
        final, _ = _run(tmp_path, host, 1000, 12)
    assert final["scheduled"] == 200 and final["sent"] == 200 and final["dropped"] == 0
    assert final["achieved_rpm"] == pytest.approx(1000, rel=0.01)
    assert final["requests"] == 200 and final["failures"] == 0
    assert 0 <= final["lag_ms"]["max"] < 1000
    assert len(final["orders"]) > 150  # every 202 is booked with its order id


def test_a_slow_server_gets_more_users_not_fewer_arrivals(tmp_path):
    # 30 rps x 400 ms needs ~12 users at once; the pool starts at 8 and must grow.
    with standin(latency_ms=400) as host:
        final, _ = _run(tmp_path, host, 1800, 10)
    assert final["sent"] == final["scheduled"] == 300
    assert final["achieved_rpm"] == pytest.approx(1800, rel=0.01)
    assert final["latency_ms"]["p50"] >= 390
    assert final["intended_latency_ms"]["p99"] >= final["latency_ms"]["p50"]


def test_a_worker_killed_mid_run_is_reported_and_the_run_still_ends_with_its_summary(tmp_path):
    killed: list[int] = []

    def kill_one(children: Children, tail: StatsTail) -> None:
        if not killed and tail.last_tick.get("sent", 0) > 40:
            children.workers[0].kill()
            killed.append(children.workers[0].pid)

    with standin() as host:
        final, children = _run(tmp_path, host, 600, 15, workers=2, during=kill_one)
    assert killed and 0 in children.exits
    assert final["type"] == "final"
    assert 0 < final["sent"] < final["scheduled"] + 1  # the survivor's half, plus what the dead one sent
    assert final["sent"] >= 75  # the surviving worker sent its share to the end
