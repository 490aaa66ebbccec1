"""A tiny sampling profiler for the platform process (where does the time go?).

cProfile sees one thread; the platform is dozens (pollers, moto's request threads,
Step Functions' interpreter). This samples every thread's stack every ``interval_s``
and reports, per function, how often it was on a stack (inclusive) and on top
(exclusive, i.e. where the CPU or a wait actually was), like py-spy's ``top``.
Idle waits (socket accept/recv, Event.wait, sleep) are counted separately.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter

_IDLE = ("wait", "select", "poll", "accept", "recv_into", "readinto", "sleep", "_wait_for_tstate_lock",
         "serve_forever", "get", "readline")


class Sampler:
    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.samples = 0
        self.inclusive: Counter[str] = Counter()
        self.exclusive: Counter[str] = Counter()
        self.idle = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval_s):
            for tid, frame in sys._current_frames().items():
                if tid == me:
                    continue
                top = f"{frame.f_code.co_filename}:{frame.f_code.co_name}"
                if frame.f_code.co_name in _IDLE:
                    self.idle += 1
                    continue
                self.samples += 1
                self.exclusive[_short(top)] += 1
                seen: set[str] = set()
                f = frame
                while f is not None:
                    key = _short(f"{f.f_code.co_filename}:{f.f_code.co_name}")
                    if key not in seen:
                        seen.add(key)
                        self.inclusive[key] += 1
                    f = f.f_back  # type: ignore[assignment]

    def report(self, top: int = 40) -> str:
        lines = [f"samples (busy thread stacks): {self.samples}, idle-wait samples: {self.idle}", "",
                 "top exclusive (where threads were running):"]
        for key, n in self.exclusive.most_common(top):
            lines.append(f"  {100 * n / max(1, self.samples):5.1f}%  {key}")
        lines += ["", "top inclusive (on the stack):"]
        for key, n in self.inclusive.most_common(top):
            lines.append(f"  {100 * n / max(1, self.samples):5.1f}%  {key}")
        lines.append(f"\ngenerated {time.strftime('%Y-%m-%d %H:%M:%S')}")
        return "\n".join(lines) + "\n"


def _short(key: str) -> str:
    for marker in ("site-packages/", "/src/"):
        if marker in key:
            return key.split(marker, 1)[1]
    return key
