"""A game-day window's time to live: parsing ``--ttl`` and the limits around it.

The course's windows are two to three hours: the default is 2h, and anything longer
than 3h must be asked for explicitly (``--allow-long``), so a typo cannot leave a
platform running (and, on AWS, billing) overnight.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

from ecomctl.errors import UsageError

DEFAULT_TTL = "2h"
LONG_TTL = timedelta(hours=3)

_PART = re.compile(r"(\d+)([hms])")
_UNITS = {"h": 3600, "m": 60, "s": 1}


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_email(address: str) -> str:
    """The address, or a usage error: the teardown's reports go there."""
    if not _EMAIL.match(address.strip()):
        raise UsageError(f"invalid --notify {address!r}: give an e-mail address, like ops@example.com")
    return address.strip()


def parse_ttl(text: str) -> timedelta:
    """``45m``, ``2h``, ``2h30m``, ``90s`` -> a positive timedelta; anything else is refused."""
    raw = text.strip().lower()
    if not raw or raw.startswith("-"):
        raise UsageError(f"invalid --ttl {text!r}: use a positive duration like 45m, 2h or 2h30m")
    pos = 0
    seconds = 0
    seen: set[str] = set()
    for match in _PART.finditer(raw):
        if match.start() != pos or match.group(2) in seen:
            break
        seen.add(match.group(2))
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or not seen:
        raise UsageError(f"invalid --ttl {text!r}: use a positive duration like 45m, 2h or 2h30m")
    if seconds <= 0:
        raise UsageError(f"invalid --ttl {text!r}: the window must last longer than zero")
    return timedelta(seconds=seconds)


def check_ttl(ttl: timedelta, allow_long: bool) -> None:
    if ttl > LONG_TTL and not allow_long:
        raise UsageError(
            f"--ttl {format_duration(ttl.total_seconds())} is longer than 3h; pass --allow-long if you mean it"
        )


MAX_CELLS = 8
AUTO_CELLS_MAX = 4  # the default's cap: more cells than this were never measured on one machine
CELLS_ENV = "ECOMCTL_LOCAL_CELLS"


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_cells(cells: int | None, target: str) -> int:
    """``--cells`` as given; else ``ECOMCTL_LOCAL_CELLS``; else, on the local target, one cell per
    usable core (up to 4): one platform process uses one core, and a window of one cell per core
    is what holds the course's 1000 orders/min on a 2-core machine (issue #12)."""
    if cells is None and target == "local":
        raw = os.environ.get(CELLS_ENV, "").strip()
        if raw:
            if not raw.isdigit():
                raise UsageError(f"invalid {CELLS_ENV}={raw!r}: a number of cells, 1 to {MAX_CELLS}")
            cells = int(raw)
        else:
            cells = max(1, min(AUTO_CELLS_MAX, usable_cores()))
    cells = 1 if cells is None else cells
    check_cells(cells, target)
    return cells


def check_cells(cells: int, target: str) -> None:
    """``--cells``: whole local platforms side by side (ecomctl.local.cells)."""
    if not 1 <= cells <= MAX_CELLS:
        raise UsageError(f"invalid --cells {cells}: between 1 and {MAX_CELLS} (one per core is the useful most)")
    if cells != 1 and target != "local":
        raise UsageError("--cells is for the local target (on AWS, Lambda scales each function by itself)")


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"


def deadline_after(ttl: timedelta, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) + ttl


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
