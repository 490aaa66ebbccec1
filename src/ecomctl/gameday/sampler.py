"""A background look at the platform every few seconds, for the report's charts.

It reads through the same read layer as ``status`` (queue depths, breakers) and asks the
running load, if any, for its live figures. A failed read is a gap in the charts, not a
failed drill: the sample is skipped and the next one tried.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ecomctl.reads import Reader
from ecomctl.report.model import Sample

LiveFigures = Callable[[], tuple[float | None, float | None]]  # (achieved rpm, p99 ms) now


class Sampler:
    def __init__(self, reader: Reader, interval_s: float = 5.0, live: LiveFigures | None = None) -> None:
        self.reader = reader
        self.interval_s = interval_s
        self.live: LiveFigures = live or (lambda: (None, None))
        self.samples: list[Sample] = []
        self.errors = 0
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gameday-sampler", daemon=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def take(self) -> Sample | None:
        try:
            depths = self.reader.queue_depths()
            breakers = self.reader.breakers()
            rpm, p99 = self.live()
        except Exception:  # a gap in the chart; the drill's verdicts do not depend on it
            self.errors += 1
            return None
        sample = Sample(round(self.elapsed(), 1), rpm=rpm, p99_ms=p99,
                        queues={d.queue: d.visible + d.in_flight for d in depths},
                        dlqs={d.queue: d.dlq for d in depths}, breakers={b.provider: b.state for b in breakers})
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.take()
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def __enter__(self) -> Sampler:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 15)
