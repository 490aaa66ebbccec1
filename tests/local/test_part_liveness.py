"""A window's process is judged alive by pid and start time, and survives a stepped wall clock."""

from __future__ import annotations

import subprocess
import sys

from ecomctl.local.part import LocalPart, process_alive, process_started


def _sleeper(*extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", *extra])


def test_the_recorded_start_time_tells_a_reused_pid_from_the_window() -> None:
    proc = _sleeper()
    try:
        started = process_started(proc.pid)
        assert started is not None
        assert process_alive(LocalPart(pid=proc.pid, pid_started=started))
        # Another program on the same pid (a start time far from the recorded one): not ours.
        assert not process_alive(LocalPart(pid=proc.pid, pid_started=started - 3600))
    finally:
        proc.kill()
        proc.wait()
    assert not process_alive(LocalPart(pid=proc.pid, pid_started=started))


def test_a_stepped_clock_does_not_orphan_the_local_targets_own_process() -> None:
    # psutil's start time moves with the boot time when the wall clock is stepped; the
    # process still runs the local target's module, so it is still the window.
    proc = _sleeper("-m", "ecomctl.local.runtime")
    try:
        started = process_started(proc.pid)
        assert started is not None
        assert process_alive(LocalPart(pid=proc.pid, pid_started=started - 9.5))
    finally:
        proc.kill()
        proc.wait()
