"""The game day as one drill: up -> baseline -> each scenario under load -> recovery ->
reconciliation -> down, always torn down (if the drill brought the window up), whatever happens.

One open-model load (``ecomctl.load``'s Locust child at an exact arrival rate) runs under the
whole drill, so every scenario meets the same steady traffic and the charts show one
continuous timeline; the phases mark where each experiment held its flags. Each scenario is
the same ``ChaosRun`` that ``ecomctl chaos`` runs, with its own hypothesis and rollback.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ecomctl import lifecycle
from ecomctl.context import Context
from ecomctl.errors import UsageError
from ecomctl.gameday.sampler import Sampler
from ecomctl.report.model import GamedayReport, Phase, Verdict
from ecomctl.targets.base import StartRequest
from ecomctl.window import iso

Say = Callable[[str], None]


@dataclass(frozen=True)
class DrillOptions:
    target: str = "local"
    stage: str = "dev"
    ttl: timedelta = timedelta(hours=1)
    rpm: float = 1000.0
    scenarios: tuple[str, ...] = ()
    quick: bool = False
    report_dir: Path = Path("gameday-report")
    cells: int = 1  # local: the window's cells when the drill brings it up

    @property
    def baseline_s(self) -> float:
        return 15.0 if self.quick else 120.0

    @property
    def recovery_s(self) -> float:
        return 10.0 if self.quick else 60.0

    @property
    def sample_s(self) -> float:
        return 2.0 if self.quick else 5.0


def scenario_names(text: str) -> tuple[str, ...]:
    from ecomctl.chaos import catalog

    known = catalog.names()
    if text.strip() in ("", "all"):
        return tuple(known)
    wanted = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise UsageError(f"unknown scenario(s) {', '.join(unknown)}: choose from {', '.join(known)} or 'all'")
    return wanted


@dataclass
class Drill:
    ctx: Context
    options: DrillOptions
    say: Say
    report: GamedayReport = field(init=False)
    _owned: bool = False
    _t0: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return round(time.monotonic() - self._t0, 1)

    def estimate_s(self) -> float:
        """How long the drill should take: the phases plus each experiment's duration and settling."""
        from ecomctl.chaos import catalog

        scenarios = sum(catalog.resolve(n, None)[1].duration + 15 for n in self.options.scenarios)
        return self.options.baseline_s + scenarios + self.options.recovery_s + 30

    def run(self) -> GamedayReport:
        o = self.options
        self.report = GamedayReport(o.target, o.stage, iso(self.ctx.clock()), rpm_target=o.rpm)
        try:
            with self._window(), self._load() as load, self._sampling(load) as sampler:
                self._phase("baseline", o.baseline_s)
                for name in o.scenarios:
                    self._scenario(name)
                self._phase("recovery", o.recovery_s)
                sampler.take()
        finally:
            self.report.finished_at = iso(self.ctx.clock())
        return self.report

    # --- the window: used as it is if it is up, else brought up and always taken down ---------

    @contextmanager
    def _window(self) -> Iterator[None]:
        _target, found = lifecycle.find(self.ctx, self.options.stage)
        if found.window is None:
            self.say(f"bringing up a {self.options.target} window (stage {self.options.stage})")
            request = StartRequest(stage=self.options.stage, ttl=self.options.ttl, cells=self.options.cells)
            lifecycle.up(self.ctx, self.options.target, request, progress=self.say)
            self._owned = True
        else:
            self.report.notes.append(f"used the {found.window.target} window that was already up; left it up")
        try:
            yield
        finally:
            self._cost()
            if self._owned:
                self.say("tearing the window down")
                result = lifecycle.down(self.ctx, self.options.stage, progress=self.say)
                left = getattr(result, "leftovers", ())
                self.report.notes.append("window torn down" + (f", but left: {', '.join(left)}" if left else
                                                                 ": nothing left"))

    def _cost(self) -> None:
        try:
            from ecomctl.aws import meter

            _target, found = lifecycle.find(self.ctx, self.options.stage)
            figures = meter.so_far(found.window, self.ctx.clock()) if found.window else None
        except Exception as exc:  # a cost that cannot be computed is a note, not a failed drill
            self.report.cost = {"usd": None, "basis": f"not priced ({type(exc).__name__})"}
            return
        if figures is not None:
            here, on_aws = figures
            basis = "spent on AWS" if self.options.target == "aws" else "what this window would have cost on AWS"
            self.report.cost = {"usd": round(on_aws if self.options.target != "aws" else here, 4), "basis": basis}

    # --- the load under the whole drill --------------------------------------------------------

    @contextmanager
    def _load(self) -> Iterator[Any]:
        from ecomctl.gameday.background import BackgroundLoad

        window, _access, _reader = lifecycle.reader(self.ctx, self.options.stage)
        load = BackgroundLoad(self.ctx, window, self.options.rpm, run_id=f"gd-{uuid.uuid4().hex[:8]}")
        self.say(f"load: {self.options.rpm:g} orders/min, open model")
        load.start()
        try:
            yield load
        finally:
            load.stop()
            self._conclude(load)

    def _conclude(self, load: Any) -> None:
        summary = load.conclude(self.say)
        self.report.load["drill"] = summary.get("load", {})
        self.report.reconciliation = summary.get("reconciliation", {})
        self.report.slowest_traces = summary.get("slowest_traces", [])

    @contextmanager
    def _sampling(self, load: Any) -> Iterator[Sampler]:
        _window, _access, reader = lifecycle.reader(self.ctx, self.options.stage)
        with Sampler(reader, self.options.sample_s, live=load.live) as sampler:
            self._t0 = sampler.started  # phases and samples on one clock
            try:
                yield sampler
            finally:
                self.report.samples = sampler.samples

    # --- phases -------------------------------------------------------------------------------

    def _phase(self, name: str, seconds: float) -> None:
        start = self.elapsed()
        self.say(f"{name}: {seconds:g} s of steady load")
        time.sleep(seconds)
        self.report.phases.append(Phase(name, start, self.elapsed()))

    def _scenario(self, name: str) -> None:
        from ecomctl.chaos import catalog
        from ecomctl.chaos.runner import ChaosRun, RunOptions

        _path, experiment = catalog.resolve(name, None)
        start = self.elapsed()
        self.say(f"{name}: {experiment.description.strip().splitlines()[0]}")
        try:
            journal = ChaosRun(self.ctx, experiment, RunOptions(stage=self.options.stage)).execute()
        except Exception as exc:  # one scenario's failure is its verdict; the drill goes on
            self.report.verdicts.append(Verdict(name, False, "error", f"{type(exc).__name__}: {exc}"))
        else:
            self.report.verdicts.append(_verdict(journal))
        self.report.phases.append(Phase(name, start, self.elapsed(), chaos=True))
        self.say(f"{name}: {self.report.verdicts[-1].outcome}")
        if self.report.verdicts[-1].outcome == "interrupted":
            raise KeyboardInterrupt  # the experiment rolled back; the drill stops and tears down


def _verdict(journal: Any) -> Verdict:
    checks = [{"probe": f"{p.phase}: {p.probe}", "expected": p.tolerance, "observed": p.value, "ok": p.ok}
              for p in journal.probes]
    held = journal.outcome == "held"
    failed = [c["probe"] for c in checks if not c["ok"]]
    summary = "every probe within tolerance" if held else (
        journal.stop_condition or (f"out of tolerance: {', '.join(failed)}" if failed else journal.outcome))
    return Verdict(journal.scenario, held, journal.outcome.replace("-", " "), summary, checks)
