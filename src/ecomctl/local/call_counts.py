"""Count the platform's AWS calls by service and operation (the benchmark's calls per order).

A ``before-call`` handler in botocore's built-in handlers, where moto's own in-process
stubber is registered, so every client this process creates afterwards counts its calls:
the handlers', the Step Functions interpreter's Invokes, the telemetry's. The event-source
pollers take and delete messages on moto's backend, not through a client
(``sqs_direct``); they count themselves under ``lambda-esm``. The counts are written as
JSON to a file every second and on exit, so a reader can take the difference over a span.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_counts: Counter[str] = Counter()
_lock = threading.Lock()
_installed = False


def count(key: str, n: int = 1) -> None:
    with _lock:
        _counts[key] += n


def _before_call(model: Any = None, **_: Any) -> None:
    if model is not None:
        count(f"{model.service_model.service_id}.{model.name}")


def install() -> None:
    """Count every client created from now on (idempotent)."""
    global _installed
    if _installed:
        return
    from botocore.handlers import BUILTIN_HANDLERS

    BUILTIN_HANDLERS.append(("before-call", _before_call))
    _installed = True


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_counts)


def _write(out: Path) -> None:
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(snapshot(), sort_keys=True))
    os.replace(tmp, out)


@contextlib.contextmanager
def recorder(out: str | None, period_s: float = 1.0) -> Iterator[None]:
    """Counts written to ``out`` every ``period_s`` and on exit (nothing without ``out``)."""
    if not out:
        yield
        return
    path = Path(out)
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(period_s):
            _write(path)

    thread = threading.Thread(target=loop, name="call-counts", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)
        _write(path)


def read(path: str | Path) -> dict[str, int]:
    try:
        return {str(k): int(v) for k, v in json.loads(Path(path).read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0) > 0}
