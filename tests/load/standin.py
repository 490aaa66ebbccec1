"""The fast stand-in API (ecomctl.load.standin) on a background thread, for the pacing tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from ecomctl.load.standin import serve


@contextmanager
def standin(latency_ms: float = 0.0) -> Iterator[str]:
    ready = threading.Event()
    port: list[int] = []
    loop = asyncio.new_event_loop()

    def on_ready(p: int) -> None:
        port.append(p)
        ready.set()

    task: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        task.append(loop.create_task(serve(0, latency_ms, ready=on_ready)))
        with suppress(asyncio.CancelledError):
            loop.run_until_complete(task[0])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "the stand-in did not start"
    try:
        yield f"http://127.0.0.1:{port[0]}"
    finally:
        loop.call_soon_threadsafe(task[0].cancel)
        thread.join(timeout=5)
