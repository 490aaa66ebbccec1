"""One experiment, start to end: preflight -> hypothesis before -> inject -> watch ->
rollback (always) -> flag cache drain -> hypothesis after -> verdict.

The rollback runs in a ``finally``: on success, on a failed probe, on a stop condition, on
Ctrl-C and on SIGTERM (turned into the same interrupt); a second Ctrl-C during the rollback
is ignored. What it did is in the journal whatever happened.
"""

from __future__ import annotations

import getpass
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from ecomctl import api_auth, lifecycle
from ecomctl.chaos import alarms, backstop, flags, lake
from ecomctl.chaos.driver import OrderDriver
from ecomctl.chaos.journal import ChaosJournal, ProbeResult
from ecomctl.chaos.probes import PROBES, RunView
from ecomctl.chaos.spec import Experiment, ProbeSpec
from ecomctl.context import Context
from ecomctl.window import iso
from ecomshop.faults import FLAG_CACHE_SECONDS


class RunUI(Protocol):
    def wait(self, label: str, seconds: float) -> AbstractContextManager[Callable[[float], None]]:
        """A progress display for a wait of ``seconds``; yields ``update(elapsed)``."""

    def note(self, text: str) -> None: ...


class QuietUI:
    def wait(self, label: str, seconds: float) -> AbstractContextManager[Callable[[float], None]]:
        return nullcontext(lambda _elapsed: None)

    def note(self, text: str) -> None:
        pass


@dataclass(frozen=True)
class RunOptions:
    stage: str = "dev"
    duration_s: float | None = None
    rate: float | None = None
    dry_run: bool = False
    verify: bool = True
    tick_s: float = 1.0


class Aborted(Exception):
    """A stop condition fired during the watch."""


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _no_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class ChaosRun:
    def __init__(self, ctx: Context, experiment: Experiment, options: RunOptions, ui: RunUI | None = None) -> None:
        self.ctx, self.experiment, self.options = ctx, experiment, options
        self.ui = ui or QuietUI()
        self.duration = options.duration_s or experiment.duration
        target, self.window = lifecycle.require(ctx, options.stage)
        self.access = target.access(ctx, self.window)

        self.reader = target.reader(ctx, self.window)
        self.prefix = self.reader.topology.ssm_prefix
        now = ctx.clock()
        self.run_id = f"{experiment.name}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
        self.view = RunView(self.reader, self.run_id, cost=experiment.cost)
        self.journal = ChaosJournal(self.run_id, experiment.name, experiment.description, self.window.target,
                                    options.stage, iso(now), self.duration, verify=options.verify,
                                    dry_run=options.dry_run)
        self.set_flags: list[flags.SetFlag] = []
        self.schedules: list[str] = []
        self._breakers: dict[str, str] = {}

    # --- the lifecycle -------------------------------------------------------------------

    def execute(self) -> ChaosJournal:
        flags.preflight(self.experiment, self.reader.active_flags(self.ctx.clock()))
        if self.options.verify and not self._check_all("before", self.experiment.hypothesis.before):
            return self._finish("not-steady", "the steady state did not hold before injection; nothing injected")
        if self.options.dry_run:
            return self._finish("dry-run", "dry run: preflight and the hypothesis before ran; nothing injected")
        outcome = "held"
        with _sigterm_as_interrupt():
            try:
                self._inject()
                self._watch()
            except Aborted as stop:
                outcome, self.journal.stop_condition = "aborted", str(stop)
            except KeyboardInterrupt:
                outcome, self.journal.stop_condition = "interrupted", "interrupted (Ctrl-C or SIGTERM)"
            finally:
                with _no_interrupts():
                    self._rollback()
        if outcome != "interrupted":
            self._drain_and_verify()
            if outcome == "held" and not all(p.ok for p in self.journal.probes):
                outcome = "hypothesis-failed"
        if outcome == "held" and not self.options.verify:
            outcome = "unverified"
        return self._finish(outcome)

    def _finish(self, outcome: str, note: str | None = None) -> ChaosJournal:
        self.journal.outcome = outcome
        self.journal.ended_at = iso(self.ctx.clock())
        if note:
            self.journal.notes.append(note)
        return self.journal

    # --- probes ---------------------------------------------------------------------------

    def _evaluate(self, phase: str, spec: ProbeSpec) -> ProbeResult:
        note = ""
        try:
            value: Any = PROBES[spec.probe](self.view, spec.params)
            ok = spec.holds(value)
        except Exception as exc:  # a probe that cannot read is a probe that did not hold
            value, ok, note = None, False, f"{type(exc).__name__}: {exc}"[:200]
        return ProbeResult(phase, spec.probe, spec.params, spec.tolerance(), value, ok, iso(self.ctx.clock()), note)

    def _check_all(self, phase: str, specs: list[ProbeSpec]) -> bool:
        results = [self._evaluate(phase, s) for s in specs]
        self.journal.probes.extend(results)
        return all(r.ok for r in results)

    def _sample_breakers(self) -> None:
        try:
            states = self.reader.breakers()
        except Exception:  # the timeline is a record, not a condition
            return
        for b in states:
            if self._breakers.get(b.provider) != b.state:
                self._breakers[b.provider] = b.state
                self.journal.breaker_timeline.append({"at": iso(self.ctx.clock()), "provider": b.provider,
                                                      "state": b.state, "failures": b.failures})

    # --- inject, watch, roll back ----------------------------------------------------------

    def _inject(self) -> None:
        ssm = self.access.client("ssm")
        now = self.ctx.clock()
        expires = now + timedelta(seconds=self.duration) + flags.EXPIRY_GRACE
        owner = f"{getpass.getuser()}@{socket.gethostname()}"
        for spec in self.experiment.flags:
            value = flags.flag_value(spec, self.options.rate, self.run_id, self.experiment.name, owner, now, expires)
            parameter = f"{self.prefix}/{spec.point}"
            flags.create(ssm, parameter, value, now)
            self.set_flags.append(flags.SetFlag(spec.point, parameter, value))
            self.journal.flags.append({"point": spec.point, "parameter": parameter, "value": value})
            self._backstop(parameter, expires)
        if self.set_flags:
            self.ui.note(f"injected {', '.join(f.point for f in self.set_flags)} until {iso(expires)}")
        if self.experiment.burst is not None:
            burst = lake.write_burst(self.access.client("s3"), self.reader.lake_bucket(), self.run_id,
                                     self.experiment.burst)
            self.view.burst = burst
            self.journal.burst = {"bucket": burst.bucket, "prefix": burst.prefix, "objects": burst.objects,
                                  "bytes": burst.bytes}
            self._project_cost()

    def _project_cost(self) -> None:
        spec = self.experiment.cost
        if spec is None:
            return
        inventory = self.reader.lake_objects()
        size = sum(s for _, s in inventory)
        self.journal.cost = {
            "years": spec.years, "budget_usd": spec.budget_usd, "daily_multiplier": spec.daily_multiplier,
            "inventory_objects": len(inventory), "inventory_bytes": size,
            "with_lifecycle_usd": lake.project_cost(size, self.reader.lake_lifecycle(), spec),
            "without_lifecycle_usd": lake.project_cost(size, [], spec)}

    def _backstop(self, parameter: str, expires: Any) -> None:
        if self.window.target == "local":
            return  # the platform process sweeps expired flags (ecomctl.local.flag_sweeper)
        role = self.window.part.get("chaos_scheduler_role_arn")
        if not role:
            self.journal.notes.append("no server-side backstop: the window records no chaos_scheduler_role_arn; "
                                      "the flag still expires by itself at expires_at")
            return
        self.schedules.append(backstop.schedule_deletion(self.access.client("scheduler"), parameter, self.run_id,
                                                         expires, role))

    def _watch(self) -> None:
        stop = threading.Event()
        driver = OrderDriver(self.window.api_url or "", self.run_id, self.experiment.load,
                             api_auth.signer_for(self.window.part, self.access)) \
            if self.experiment.load is not None and self.window.api_url else None
        if driver is not None:
            self.view.traffic = driver.traffic
        thread = driver.start(stop) if driver is not None else None
        pending = [s for s in self.experiment.hypothesis.during if s.mode == "eventually"]
        try:
            self._watch_loop(pending)
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=25)
        for spec in pending:  # never seen in tolerance during the fault
            result = self._evaluate("during", spec)
            result.note = result.note or "never within tolerance during the fault"
            self.journal.probes.append(result)

    def _watch_loop(self, pending: list[ProbeSpec]) -> None:
        always = [s for s in self.experiment.hypothesis.during if s.mode == "always"]
        stack_alarms = self.reader.stack_alarms() if self.experiment.stop_on_alarm else []
        deadline = time.monotonic() + self.duration
        label = f"{self.experiment.name}: fault on ({', '.join(f.point for f in self.set_flags) or 'burst'})"
        with self.ui.wait(label, self.duration) as update:
            while (left := deadline - time.monotonic()) > 0:
                self._sample_breakers()
                for spec in always:
                    result = self._evaluate("during", spec)
                    if not result.ok:
                        self.journal.probes.append(result)
                        raise Aborted(f"probe {spec.probe} out of tolerance ({result.value} vs {spec.tolerance()})")
                for spec in list(pending):
                    result = self._evaluate("during", spec)
                    if result.ok:
                        self.journal.probes.append(result)
                        pending.remove(spec)
                fired = alarms.firing(stack_alarms, self.access.client("cloudwatch"), self.window.target == "local",
                                      self.ctx.clock()) if stack_alarms else []
                if fired:
                    raise Aborted(f"alarm {fired[0].name} in ALARM ({fired[0].detail})")
                update(self.duration - left)
                time.sleep(min(self.options.tick_s, max(0.0, deadline - time.monotonic())))
        for spec in always:
            self.journal.probes.append(self._evaluate("during", spec))

    def _rollback(self) -> None:
        ssm = self.access.client("ssm")
        deleted = sum(flags.delete(ssm, f.parameter, self.run_id) for f in self.set_flags)
        if self.set_flags:
            self.journal.rollback.append({"step": "delete_flags", "detail": f"{deleted}/{len(self.set_flags)} deleted",
                                          "at": iso(self.ctx.clock())})
        for name in self.schedules:
            backstop.cancel(self.access.client("scheduler"), name)
        if self.schedules:
            self.journal.rollback.append({"step": "cancel_backstops", "detail": f"{len(self.schedules)} schedules",
                                          "at": iso(self.ctx.clock())})
        if self.view.burst is not None:
            gone = lake.delete_burst(self.access.client("s3"), self.view.burst.bucket, self.view.burst.prefix)
            self.journal.rollback.append({"step": "delete_burst", "detail": f"{gone} objects deleted",
                                          "at": iso(self.ctx.clock())})

    # --- after -----------------------------------------------------------------------------

    def _drain_and_verify(self) -> None:
        if self.set_flags and "wait_flag_cache" in self.experiment.rollback:
            wait = FLAG_CACHE_SECONDS + 1
            with self.ui.wait(f"handlers' flag cache draining ({FLAG_CACHE_SECONDS}s)", wait) as update:
                for i in range(wait):
                    update(i)
                    time.sleep(1)
        if not self.options.verify:
            return
        self._verify_after(self.experiment.hypothesis.after)
        self._tally_keys()

    def _verify_after(self, specs: list[ProbeSpec]) -> None:
        longest = max((s.within or 0 for s in specs), default=0)
        started = time.monotonic()
        latest: dict[int, ProbeResult] = {}
        with self.ui.wait("verifying the hypothesis after recovery", longest) as update:
            while True:
                self._sample_breakers()
                elapsed = time.monotonic() - started
                for i, spec in enumerate(specs):
                    if i not in latest or (not latest[i].ok and elapsed <= (spec.within or 0)):
                        latest[i] = self._evaluate("after", spec)
                waiting = [i for i, s in enumerate(specs) if not latest[i].ok and elapsed < (s.within or 0)]
                failed = [i for i in range(len(specs)) if not latest[i].ok and i not in waiting]
                update(elapsed)
                if not waiting or failed:
                    # A probe out of tolerance past its `within` has failed the hypothesis: waiting
                    # on the others cannot make it hold, so the verdict comes now, not a minute later.
                    break
                time.sleep(self.options.tick_s)
        for i in waiting if failed else ():
            latest[i].note = latest[i].note or "not waited on: the hypothesis had already failed"
        self.journal.probes.extend(latest[i] for i in range(len(specs)))

    def _tally_keys(self) -> None:
        traffic = self.view.traffic
        if not traffic.keys:
            self.journal.traffic = traffic.to_json() if traffic.sent else {}
            return
        created = self.reader.orders_with_key_prefix(f"{self.run_id}-k")
        data = traffic.to_json()
        for key, row in data["per_key"].items():
            orders = created.get(key, set()) if not key.startswith("unkeyed-") else set(row["order_ids"])
            row["orders"] = len(orders)
            row["charges"] = sum(len(self.reader.charges(o)) for o in orders)
        self.journal.traffic = data
