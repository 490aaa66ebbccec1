"""Expected failures: each reaches the user as one line and a distinct exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    PRECONDITION = 4
    INTERRUPTED = 130


class UserError(Exception):
    """An error the user can act on; printed as one line, never as a traceback."""

    exit_status = ExitStatus.ERROR

    def __init__(self, message: str, exit_status: ExitStatus | None = None) -> None:
        super().__init__(message)
        if exit_status is not None:
            self.exit_status = exit_status


class UsageError(UserError):
    exit_status = ExitStatus.USAGE


class PreconditionFailed(UserError):
    exit_status = ExitStatus.PRECONDITION
