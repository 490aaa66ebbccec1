"""Benchmark the local target end to end; prints its figures (not a timed test).

    python bench/bench_local.py                       # 3 steps x 60 s: 120, 240, 480 orders/min
    python bench/bench_local.py --rates 1000 --duration 300   # issue #12: 1000/min for 5 min
    python bench/bench_local.py --rates 240 --backlog 10000   # the same with a 10 000-message backlog
    python bench/bench_local.py --profile /tmp/local.svg      # py-spy flame graph of the platform (if installed)
    python bench/bench_local.py --rates 600 --duration 120 --timeline   # overload: completions and backlog per 10 s

It starts its own window (``ECOMCTL_HOME`` in a temp dir) through the same launcher as
``ecomctl up``, then, per step, sends good orders through `ecomctl load`'s own pacer (``ecomctl.load``: a Locust child,
orders due on an absolute schedule whatever the latency, so a slow platform cannot slow
the arrivals down),
waits for every order placed in the step to reach COMPLETED/CANCELLED, and reports:
placement rate achieved, sustained throughput (terminal orders / time from first send to
last terminal), p50/p99 API latency, p50/p99 placed -> terminal (from the order's own
history timestamps), platform CPU seconds per order, orders lost (not terminal within
the drain timeout) and DLQ depth. The knee is the first step whose sustained throughput
falls below 95 % of the offered rate, or whose p99 placed -> terminal exceeds 5 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import psutil

GOAL_RPM, GOAL_P99_S = 1000, 5.0  # issue #12: the course's 1000 orders/min


@dataclass
class Step:
    rate_rpm: float
    duration_s: float
    sent: int = 0
    errors: int = 0
    api_ms: list[float] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    send_started: float = 0.0
    send_ended: float = 0.0
    drained_at: float = 0.0
    terminal: dict[str, dict[str, Any]] = field(default_factory=dict)
    cpu_s: float = 0.0
    load_cpu_s: float = 0.0  # the Locust child's (it shares this machine's cores with the platform)
    router_cpu_s: float = 0.0  # the cells' supervisor and router
    dlq: int = 0
    backlog_start: int | None = None  # messages still queued in the backlog queue when the load starts
    backlog_end: int | None = None
    api_pct: dict[str, float] = field(default_factory=dict)  # the load child's p50/p99 of the API
    calls: dict[str, int] = field(default_factory=dict)  # the platform's AWS calls in the step, by operation
    # (wall time, queued messages, platform cpu s, queued per queue, platform system cpu s)
    samples: list[tuple[float, int, float, dict[str, int], float]] = field(default_factory=list)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_load(api_url: str, step: Step, workers: int, work: Path) -> None:
    """The step's load through `ecomctl load`'s own pacer (a Locust child, good orders only)."""
    from ecomctl.load.child import LoadPlan, StatsTail, spawn
    from ecomctl.load.schedule import Schedule

    plan = LoadPlan(Schedule(step.rate_rpm, step.duration_s), api_url, f"bench-{step.rate_rpm:g}", mix="good",
                    min_users=workers)
    stats = work / f"load-{step.rate_rpm:g}-{time.monotonic_ns()}.jsonl"
    children = spawn(plan, stats, work / "load.log")
    try:
        children.master.wait()
    finally:
        children.stop()
    tail = StatsTail(stats)
    tail.poll()
    if tail.final is None:
        raise SystemExit(f"the load child gave no summary; see {work / 'load.log'}")
    final = tail.final
    # The child reports wall-clock send times; the step keeps perf_counter ones.
    offset = time.perf_counter() - time.time()
    step.send_started = float(final["first_send_at"]) + offset
    step.send_ended = float(final["last_send_at"]) + offset + 60.0 / step.rate_rpm
    step.sent = int(final["sent"])
    step.errors = int(final["failures"]) + int(final["dropped"])
    step.order_ids = list(final["orders"])
    step.api_pct = {q: float(final["latency_ms"][q]) for q in ("p50", "p99")}


def parse_at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class CellsTable:
    """GetItem on whichever cell holds the order (each order lives in the cell that created it)."""

    def __init__(self, clients: list[Any]) -> None:
        self.clients = clients
        self.owner: dict[str, int] = {}

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        oid = kwargs["Key"]["orderId"]["S"]
        order = [self.owner[oid]] if oid in self.owner else range(len(self.clients))
        for i in order:
            found = self.clients[i].get_item(**kwargs)
            if found.get("Item"):
                self.owner[oid] = i
                return found
        return {}


def cpu_times(procs: list[psutil.Process]) -> tuple[float, float]:
    """(user + system, system) CPU seconds of the platform's processes (every cell's)."""
    times = [p.cpu_times() for p in procs]
    return sum(t.user + t.system for t in times), sum(t.system for t in times)


def waited_children_cpu() -> float:
    """CPU seconds of this process's children that have ended and been waited for (the load child)."""
    t = os.times()
    return t.children_user + t.children_system


def drain(ddb: Any, table: str, step: Step, timeout_s: float, probe: int = 10) -> None:
    """Wait until every order of the step is terminal, reading each order's item.

    Orders finish roughly in the order they were placed, so a pass walks them oldest first
    and stops after ``probe`` that are still running: reading every pending order every
    pass would put a GetItem per order per pass on the platform being measured (a 2 000
    order backlog is 1 000 calls a second), slowing the very drain it waits for. The last
    pass, at the timeout, reads them all.
    """
    deadline = time.perf_counter() + timeout_s
    while True:
        final = time.perf_counter() > deadline
        running = 0
        for oid in step.order_ids:
            if oid in step.terminal:
                continue
            item = ddb.get_item(TableName=table, Key={"orderId": {"S": oid}},
                                ProjectionExpression="#s, history", ExpressionAttributeNames={"#s": "status"})
            found = item.get("Item")
            if found and found["status"]["S"] in ("COMPLETED", "CANCELLED"):
                step.terminal[oid] = found
                continue
            running += 1
            if running >= probe and not final:
                break
        if not running or final:
            break
        time.sleep(2)
    step.drained_at = time.perf_counter()


def placed_to_terminal(item: dict[str, Any]) -> float:
    history = item["history"]["L"]
    first, last = history[0]["M"]["at"]["S"], history[-1]["M"]["at"]["S"]
    return parse_at(last) - parse_at(first)


def depth(sqs: Any, url: str) -> int:
    """Visible plus in-flight messages."""
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(v) for v in attrs.values())


def dlq_depth(sqs_cells: list[Any], stage: str) -> int:
    total = 0
    for sqs in sqs_cells:
        urls = sqs.list_queues(QueueNamePrefix=f"ecom-{stage}-").get("QueueUrls", [])
        total += sum(depth(sqs, url) for url in urls if url.endswith("-dlq"))
    return total


def fill_backlog(sqs: Any, stage: str, queue: str, n: int) -> None:
    url = sqs.get_queue_url(QueueName=f"ecom-{stage}-{queue}")["QueueUrl"]
    body = {"source": "ecomshop.orders", "detail-type": "Order Status Changed",
            "detail": {"orderId": "ord-backlog", "status": "COMPLETED", "customerId": "bench", "at": "now"}}

    def batch(start: int) -> None:
        entries = []
        for k in range(min(10, n - start)):
            detail = {**body["detail"], "orderId": f"ord-backlog-{start + k}"}  # type: ignore[dict-item]
            entries.append({"Id": str(k), "MessageBody": json.dumps({**body, "detail": detail})})
        sqs.send_message_batch(QueueUrl=url, Entries=entries)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(batch, range(0, n, 10)))


def queue_depth(sqs: Any, stage: str, queue: str) -> int:
    return depth(sqs, sqs.get_queue_url(QueueName=f"ecom-{stage}-{queue}")["QueueUrl"])


class Sampler:
    """Every ``period_s``: the messages waiting or in flight on the platform's queues (DLQs
    apart) and the platform's CPU seconds, for the overload timeline."""

    def __init__(self, sqs_cells: list[Any], stage: str, procs: list[psutil.Process], step: Step,
                 period_s: float = 10.0) -> None:
        import threading

        self.prefix = f"ecom-{stage}-"
        self.urls = []
        for sqs in sqs_cells:
            urls = sqs.list_queues(QueueNamePrefix=self.prefix).get("QueueUrls", [])
            self.urls += [(sqs, u) for u in urls if not u.endswith("-dlq")]
        self.procs, self.step, self.period_s = procs, step, period_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while True:
            per_queue: dict[str, int] = {}
            for sqs, url in self.urls:
                name = url.rsplit("/", 1)[-1].removeprefix(self.prefix)
                per_queue[name] = per_queue.get(name, 0) + depth(sqs, url)
            cpu, system = cpu_times(self.procs)
            self.step.samples.append((time.time(), sum(per_queue.values()), cpu, per_queue, system))
            if self.stop.wait(self.period_s):
                return

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def timeline(step: Step, window_s: float = 10.0) -> list[dict[str, Any]]:
    """Per window from the first send: orders placed, orders terminal (each at its own last
    history timestamp), as per-minute rates, the queued messages and the platform's CPU."""
    items = list(step.terminal.values())
    placed = [parse_at(i["history"]["L"][0]["M"]["at"]["S"]) for i in items]
    ended = [parse_at(i["history"]["L"][-1]["M"]["at"]["S"]) for i in items]
    if not ended:
        return []
    start = min(placed)
    rows = []
    n = int((max(ended) - start) // window_s) + 1
    for k in range(n):
        lo, hi = start + k * window_s, start + (k + 1) * window_s
        inside = [s for s in step.samples if lo <= s[0] < hi + window_s]
        queued = inside[0][1] if inside else None
        by_queue = {q: n for q, n in inside[0][3].items() if n} if inside else {}
        cpu = sys_share = None
        if len(inside) >= 2:
            cpu = round((inside[-1][2] - inside[0][2]) / max(1e-9, inside[-1][0] - inside[0][0]), 2)
            sys_share = round((inside[-1][4] - inside[0][4]) / max(1e-9, inside[-1][2] - inside[0][2]), 2)
        rows.append({"t_s": round(k * window_s), "placed_rpm": round(sum(lo <= t < hi for t in placed) * 60 / window_s),
                     "terminal_rpm": round(sum(lo <= t < hi for t in ended) * 60 / window_s),
                     "queued": queued, "by_queue": by_queue, "cpu_cores": cpu,
                     "cpu_system_share": sys_share})
    return rows


def overload_summary(rows: list[dict[str, Any]], offered_rpm: float) -> dict[str, Any] | None:
    """Completions per minute while the load runs against after it stops (issue #12's band:
    within 10 %). The first window (the ramp) and the last (partial) are left out."""
    inner = rows[1:-1]
    during = [r["terminal_rpm"] for r in inner if r["placed_rpm"] >= 0.5 * offered_rpm]
    after = [r["terminal_rpm"] for r in inner if r["placed_rpm"] == 0]
    if not during or not after:
        return None
    mean_during, mean_after = sum(during) / len(during), sum(after) / len(after)
    return {"during_rpm": round(mean_during), "during_range": [min(during), max(during)],
            "after_rpm": round(mean_after), "after_range": [min(after), max(after)],
            "ratio": round(mean_during / max(1e-9, mean_after), 2)}


def function_busy(cw: Any, stage: str, step: Step) -> dict[str, dict[str, float]]:
    """Per function over the step: invocations and the seconds spent inside them, from the
    AWS/Lambda Duration the platform emits. A stage whose seconds approach its pollers x the
    step's span is the one the saga waits for (issue #12: inventory, behind a lock)."""
    if not step.samples:
        return {}
    start = datetime.fromtimestamp(step.samples[0][0], UTC) - timedelta(seconds=10)
    end = datetime.fromtimestamp(step.samples[-1][0], UTC) + timedelta(seconds=20)
    span = int((end - start).total_seconds())
    out: dict[str, dict[str, float]] = {}
    for metric in cw.list_metrics(Namespace="AWS/Lambda", MetricName="Duration")["Metrics"]:
        name = next((d["Value"] for d in metric["Dimensions"] if d["Name"] == "FunctionName"), None)
        if not name or not name.startswith(f"ecom-{stage}-"):
            continue
        points = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Duration",
                                          Dimensions=[{"Name": "FunctionName", "Value": name}], StartTime=start,
                                          EndTime=end, Period=span, Statistics=["Sum", "SampleCount"])["Datapoints"]
        count = sum(d["SampleCount"] for d in points)
        if count:
            busy = sum(d["Sum"] for d in points) / 1000
            out[name.removeprefix(f"ecom-{stage}-")] = {"invocations": int(count), "busy_s": round(busy, 1),
                                                         "mean_s": round(busy / count, 3)}
    return out


def all_calls(counts_file: Path) -> dict[str, int]:
    """The AWS calls every platform process has made so far (a cell writes ``calls.json.cellN``)."""
    from ecomctl.local import call_counts

    total: dict[str, int] = {}
    for path in counts_file.parent.glob(counts_file.name + "*"):
        if path.suffix != ".tmp":
            for op, n in call_counts.read(path).items():
                total[op] = total.get(op, 0) + n
    return total


def slowest(step: Step, n: int = 3) -> list[str]:
    """The ``n`` slowest orders, each as its id and its history (status at seconds after placing):
    a straggler's stages say where it waited."""
    ranked = sorted(step.terminal.items(), key=lambda kv: -placed_to_terminal(kv[1]))[:n]
    out = []
    for oid, item in ranked:
        history = item["history"]["L"]
        t0 = parse_at(history[0]["M"]["at"]["S"])
        stages = " ".join(f"{h['M']['status']['S']}@{parse_at(h['M']['at']['S']) - t0:.2f}" for h in history)
        out.append(f"{oid}: {stages}")
    return out


def report(step: Step, label: str) -> dict[str, Any]:
    latencies = [placed_to_terminal(item) for item in step.terminal.values()]
    done = len(step.terminal)
    span = max(1e-9, step.drained_at - step.send_started) if done else 0
    last_terminal = max((parse_at(i["history"]["L"][-1]["M"]["at"]["S"]) for i in step.terminal.values()),
                        default=0.0)
    first_sent_wall = time.time() - (time.perf_counter() - step.send_started)
    sustained = done / max(1e-9, last_terminal - first_sent_wall) * 60 if done else 0.0
    row = {
        "step": label,
        "offered_rpm": step.rate_rpm,
        "placed_rpm": round(step.sent / max(1e-9, step.send_ended - step.send_started) * 60, 1),
        "sustained_rpm": round(sustained, 1),
        "orders": len(step.order_ids),
        "api_errors": step.errors,
        "api_p50_ms": round(step.api_pct.get("p50", pct(step.api_ms, 0.5)), 1),
        "api_p99_ms": round(step.api_pct.get("p99", pct(step.api_ms, 0.99)), 1),
        "e2e_p50_s": round(pct(latencies, 0.5), 2),
        "e2e_p99_s": round(pct(latencies, 0.99), 2),
        "e2e_max_s": round(max(latencies), 2) if latencies else float("nan"),
        "slowest": slowest(step),
        "cpu_ms_per_order": round(step.cpu_s / max(1, done) * 1000, 1),
        "load_cpu_ms_per_order": round(step.load_cpu_s / max(1, done) * 1000, 1),
        "router_cpu_ms_per_order": round(step.router_cpu_s / max(1, done) * 1000, 1),
        "lost": len(step.order_ids) - done,
        "dlq": step.dlq,
        "completed": sum(1 for i in step.terminal.values() if i["status"]["S"] == "COMPLETED"),
        "wall_s": round(span, 1),
        "calls_per_order": round(sum(step.calls.values()) / max(1, done), 1),
        "calls_by_operation": {op: round(n / max(1, done), 2)
                               for op, n in sorted(step.calls.items(), key=lambda kv: -kv[1])},
    }
    if step.backlog_start is not None:
        row["backlog_start"], row["backlog_end"] = step.backlog_start, step.backlog_end
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", default="120,240,480", help="offered orders/min per step, comma separated")
    p.add_argument("--duration", type=float, default=60, help="seconds of load per step")
    p.add_argument("--drain-timeout", type=float, default=300)
    p.add_argument("--backlog", type=int, default=0, help="messages to pre-load before a repeat of the last step")
    p.add_argument("--backlog-queue", default="notify")
    p.add_argument("--workers", type=int, default=64,
                   help="the least users in the load child's pool (it grows with latency; arrivals never wait)")
    p.add_argument("--no-tracing", action="store_true")
    p.add_argument("--transport", choices=("inprocess", "http"), default="inprocess")
    p.add_argument("--profile", help="py-spy flame graph (svg) of the platform during the last step")
    p.add_argument("--warmup", type=float, default=10, help="seconds at 120/min before the first step (0: none)")
    p.add_argument("--timeline", action="store_true",
                   help="per 10 s: orders placed and terminal per minute, queued messages, platform CPU")
    p.add_argument("--cells", type=int, default=None,
                   help="the window's cells (ecomctl up --cells N): N platforms, one process each, behind one API "
                        "(default: as `ecomctl up`, one per core up to 4, or ECOMCTL_LOCAL_CELLS)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--keep-log", help="copy the platform's log here before the window is removed")
    args = p.parse_args()

    home = Path(tempfile.mkdtemp(prefix="ecomctl-bench-"))
    os.environ["ECOMCTL_HOME"] = str(home)
    os.environ["ECOMCTL_LOCAL_TRANSPORT"] = args.transport
    counts_file = home / "calls.json"  # each platform process counts its AWS calls (ecomctl.local.call_counts)
    os.environ["ECOMCTL_LOCAL_CALL_COUNTS_OUT"] = str(counts_file)
    from ecomctl.local import call_counts, launcher
    from ecomctl.local.part import LOCAL_CREDENTIALS, LocalPart
    from ecomctl.window import resolve_cells

    stage = "bench"
    args.cells = resolve_cells(args.cells, "local")
    window, _ = launcher.start(stage, timedelta(hours=1), tracing=not args.no_tracing, cells=args.cells)
    part = LocalPart.of(window)
    cells = part.cells or [{"pid": part.pid, "aws_endpoint": window.aws_endpoint}]
    pid = int(cells[0]["pid"])  # the profile's process: the first cell's
    procs = [psutil.Process(int(c["pid"])) for c in cells]
    router = [psutil.Process(part.pid)] if part.cells else []  # the supervisor serves the router
    session = boto3.Session(region_name=window.region, **LOCAL_CREDENTIALS)  # type: ignore[arg-type]
    ddb = CellsTable([session.client("dynamodb", endpoint_url=c["aws_endpoint"]) for c in cells])
    sqs_cells = [session.client("sqs", endpoint_url=c["aws_endpoint"]) for c in cells]
    sqs = sqs_cells[0]
    cloudwatch = session.client("cloudwatch", endpoint_url=window.aws_endpoint)  # shared by the cells
    rows = []
    try:
        if args.warmup:
            # Cold start (botocore models, the handlers' first clients, moto's first calls) is
            # a few seconds of CPU that would otherwise be charged to the first step.
            warm = Step(120, args.warmup)
            run_load(str(window.api_url), warm, args.workers, home)
            drain(ddb, f"ecom-{stage}-orders", warm, args.drain_timeout)
        steps = [(float(r), "") for r in args.rates.split(",")]
        if args.backlog:
            steps.append((steps[-1][0], f"+{args.backlog} backlog"))
        for n, (rate, note) in enumerate(steps):
            if note:
                fill_backlog(sqs, stage, args.backlog_queue, args.backlog)
            step = Step(rate, args.duration)
            if note:
                step.backlog_start = queue_depth(sqs, stage, args.backlog_queue)
            cpu0 = cpu_times(procs)[0]
            load0, router0 = waited_children_cpu(), cpu_times(router)[0]
            calls0 = all_calls(counts_file)
            profiler = None
            if args.profile and n == len(steps) - 1 and shutil.which("py-spy"):
                profiler = subprocess.Popen(["py-spy", "record", "-p", str(pid), "-d", str(int(args.duration)),
                                             "--gil", "--nonblocking", "-o", args.profile]
                                            + (["-f", "raw"] if args.profile.endswith(".raw") else []),
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with Sampler(sqs_cells, stage, procs, step) if args.timeline else contextlib.nullcontext():
                run_load(str(window.api_url), step, args.workers, home)
                drain(ddb, f"ecom-{stage}-orders", step, args.drain_timeout)
            step.cpu_s = cpu_times(procs)[0] - cpu0
            step.load_cpu_s, step.router_cpu_s = waited_children_cpu() - load0, cpu_times(router)[0] - router0
            time.sleep(1.2)  # the counts are written every second
            step.calls = call_counts.difference(all_calls(counts_file), calls0)
            step.dlq = dlq_depth(sqs_cells, stage)
            if note:
                step.backlog_end = queue_depth(sqs, stage, args.backlog_queue)
            if profiler is not None:
                profiler.wait()
            row = report(step, f"{rate:g}/min {note}".strip())
            if args.timeline:
                row["timeline"] = timeline(step)
                row["overload"] = overload_summary(row["timeline"], rate)
                time.sleep(12)  # the platform emits its AWS/Lambda metrics every 10 s
                row["function_busy"] = function_busy(cloudwatch, stage, step)
            rows.append(row)
            if not args.json:
                nested = ("timeline", "function_busy", "calls_by_operation", "overload", "slowest")
                print(json.dumps({k: v for k, v in row.items() if k not in nested}), flush=True)
                for line in row["slowest"]:
                    print(f"  slow: {line}", flush=True)
                print("  calls per order: " + ", ".join(f"{op} {n}" for op, n in row["calls_by_operation"].items()),
                      flush=True)
                for w in row.get("timeline", []):
                    print(f"  t={w['t_s']:>4}s placed {w['placed_rpm']:>5}/min terminal {w['terminal_rpm']:>5}/min "
                          f"queued {w['queued']} cpu {w['cpu_cores']} (system {w['cpu_system_share']}) {w['by_queue']}",
                          flush=True)
                if row.get("overload"):
                    o = row["overload"]
                    print(f"  completions while loaded {o['during_rpm']}/min ({o['during_range'][0]}-"
                          f"{o['during_range'][1]}), after {o['after_rpm']}/min ({o['after_range'][0]}-"
                          f"{o['after_range'][1]}): ratio {o['ratio']}", flush=True)
                for fn, busy in row.get("function_busy", {}).items():
                    print(f"  {fn:>22}: {busy['invocations']:>5} invocations, {busy['busy_s']:>6}s inside them, "
                          f"{busy['mean_s']}s each (AWS/Lambda Duration, warm-up included)", flush=True)
    finally:
        launcher.stop(stage)
        if args.keep_log:
            for log in home.glob("logs/*.log"):
                shutil.copy(log, args.keep_log)
        shutil.rmtree(home, ignore_errors=True)

    knee = next((r for r in rows if r["sustained_rpm"] < 0.95 * r["offered_rpm"] or r["e2e_p99_s"] > GOAL_P99_S
                 or r["lost"]), None)
    summary = {
        "machine": f"{os.cpu_count()} cpu, python {sys.version.split()[0]}",
        "tracing": not args.no_tracing, "transport": args.transport, "cells": args.cells, "steps": rows,
        "knee": knee["step"] if knee else "not reached",
        "goal": f">= {GOAL_RPM}/min for 5 min with p99 placed->terminal <= {GOAL_P99_S}s, zero lost",
        "goal_met": any(r["offered_rpm"] >= GOAL_RPM and r["sustained_rpm"] >= 0.95 * GOAL_RPM
                        and r["e2e_p99_s"] <= GOAL_P99_S and not r["lost"] and args.duration >= 300 for r in rows),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"\nknee: {summary['knee']}; goal met: {summary['goal_met']} ({summary['goal']})")
        cols = ["step", "placed_rpm", "sustained_rpm", "api_p50_ms", "api_p99_ms", "e2e_p50_s", "e2e_p99_s",
                "cpu_ms_per_order", "lost", "dlq"]
        print(" | ".join(cols))
        for r in rows:
            print(" | ".join(str(r[c]) for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
