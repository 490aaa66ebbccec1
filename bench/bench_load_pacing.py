"""Benchmark the load pacer: achieved arrival rate, schedule lag, sends not made. Prints its figures.

    python bench/bench_load_pacing.py                          # 1000 and 60 000 rpm, 30 s each, on the stand-in
    python bench/bench_load_pacing.py --rates 60000 --workers 2 --duration 60
    python bench/bench_load_pacing.py --latency-ms 300          # a slow stand-in: the pool must grow
    python bench/bench_load_pacing.py --local --rates 1000      # the local target, through `ecomctl load`

The stand-in (``ecomctl.load.standin``) is a separate process on 127.0.0.1, so the pacer
in the Locust child is what is measured. ``--local`` starts a local window in a temp
``ECOMCTL_HOME`` and runs the real command (``ecomctl load --json``) against it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ecomctl.load.child import LoadPlan, StatsTail, spawn
from ecomctl.load.schedule import Schedule


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_standin(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ecomctl.load.standin", "--port", str(port),
                             "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # "listening on ..."
    return proc, f"http://127.0.0.1:{port}"


def cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def run_standin(host: str, rpm: float, duration: float, workers: int, work: Path) -> dict[str, Any]:
    plan = LoadPlan(Schedule(rpm, duration), host, f"bench-{int(rpm)}", workers=workers,
                    master_port=free_port())
    stats = work / f"{int(rpm)}-{workers}.jsonl"
    children = spawn(plan, stats, work / "load.log")
    tail, cpu = StatsTail(stats), 0.0
    try:
        while children.master.poll() is None:
            cpu = max(cpu, cpu_seconds([p.pid for p in children.processes()]))
            time.sleep(0.5)
    finally:
        children.stop()
    tail.poll()
    if tail.final is None:
        raise SystemExit(f"no summary from the Locust child; see {work / 'load.log'}")
    return {**tail.final, "loadgen_cpu_s": round(cpu, 1)}


def run_local(rpm: float, duration: float, workers: int, work: Path) -> dict[str, Any]:
    env = {**os.environ, "ECOMCTL_HOME": str(work / "home"), "COLUMNS": "200"}
    base = [sys.executable, "-c", "from ecomctl.cli import main; main()"]
    up = subprocess.run([*base, "up", "--target", "local", "--ttl", "30m", "--stage", "bench-load", "--json"],
                        env=env, capture_output=True, text=True)
    if up.returncode != 0:
        raise SystemExit(f"ecomctl up failed: {up.stderr.strip()}")
    out = work / "local.json"
    try:
        subprocess.run([*base, "load", "--stage", "bench-load", "--rpm", str(rpm), "--duration", f"{int(duration)}s",
                        "--workers", str(workers), "--json", str(out), "--no-observe", "--settle", "5s"],
                       env=env, capture_output=True, text=True)
    finally:
        subprocess.run([*base, "down", "--stage", "bench-load"], env=env, capture_output=True)
    data = json.loads(out.read_text())
    return {**data, "dropped": data["could_not_send"], "lag_ms": data["schedule_lag_ms"], "loadgen_cpu_s": None}


def row(label: str, result: dict[str, Any]) -> str:
    target, achieved = float(result["target_rpm"]), float(result["achieved_rpm"])
    lag, lat = result["lag_ms"], result["latency_ms"]
    return (f"{label:<9} {target:>8.0f} {achieved:>10.1f} {(achieved / target - 1) * 100:>+7.2f}% "
            f"{result['sent']:>8}/{result['scheduled']:<8} {result['dropped']:>5} "
            f"{lag['p50']:>7.0f} {lag['p99']:>7.0f} {lag['max']:>8.0f} {lat['p50']:>7.0f} {lat['p99']:>7.0f} "
            f"{result.get('loadgen_cpu_s') or '-':>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1000,60000", help="comma-separated target rpm")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the stand-in's fixed answer latency")
    parser.add_argument("--local", action="store_true", help="against a local window instead of the stand-in")
    args = parser.parse_args()
    print(f"{'target':<9} {'rpm':>8} {'achieved':>10} {'error':>8} {'sent/scheduled':>17} {'drop':>5} "
          f"{'lag p50':>7} {'lag p99':>7} {'lag max':>8} {'lat p50':>7} {'lat p99':>7} {'cpu s':>7}")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        standin, host = (None, "") if args.local else start_standin(args.latency_ms)
        try:
            for rpm in (float(r) for r in args.rates.split(",")):
                result = (run_local(rpm, args.duration, args.workers, work) if args.local
                          else run_standin(host, rpm, args.duration, args.workers, work))
                print(row("local" if args.local else "stand-in", result), flush=True)
        finally:
            if standin is not None:
                standin.terminate()
                standin.wait(timeout=10)


if __name__ == "__main__":
    main()
