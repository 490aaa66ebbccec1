"""A game-day window's time to live: parsing ``--ttl`` and the limits around it.

The course's windows are two to three hours: the default is 2h, and anything longer
than 3h must be asked for explicitly (``--allow-long``), so a typo cannot leave a
platform running (and, on AWS, billing) overnight.
"""

from __future__ import annotations

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
