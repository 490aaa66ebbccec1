"""A window's process is judged alive by pid and start time, and survives a stepped wall clock."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from ecomctl.local.part import LocalPart, process_alive, process_started


def _sleeper(*extra: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", *extra])
    # Until the child has exec'd, its command line is still the parent's (a CI flake: the
    # local target's module was not there yet, so the process was taken for someone else's).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if "import time; time.sleep(30)" in psutil.Process(proc.pid).cmdline():
                break
        except psutil.Error:
            pass
        time.sleep(0.01)
    return proc


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
