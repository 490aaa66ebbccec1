"""Expected failures: each reaches the user as one line and a documented exit code.

README's exit-code table is this enum. ``explain`` turns the errors an operator can act
on (ours, and botocore's credential, access, throttling, not-found and connection
errors) into that line and code; anything else is a bug and says how to see it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # an unexpected error (ECOMCTL_DEBUG=1 shows the traceback)
    USAGE = 2  # bad option or argument; nothing was done
    NOT_FOUND = 3  # an AWS resource or a file named on the command line does not exist
    PRECONDITION = 4  # the state does not allow it (no window, a window already up, port in use, lock held)
    AWS_AUTH = 5  # no credentials, expired credentials, access denied
    AWS_UNAVAILABLE = 6  # the endpoint cannot be reached, or it keeps throttling
    HYPOTHESIS_FAILED = 10  # chaos: the steady-state hypothesis did not hold
    ABORTED = 11  # chaos: a stop condition halted the experiment (rolled back)
    SLO_VIOLATED = 12  # load: an SLO gate failed
    INTERRUPTED = 130  # Ctrl-C (what was started is rolled back or left as the message says)


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


_AUTH_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "ExpiredToken",
               "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
               "SignatureDoesNotMatch", "InvalidSignatureException"}
_THROTTLE_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
                   "ProvisionedThroughputExceededException", "SlowDown"}


def _client_error(exc: Exception) -> tuple[str, ExitStatus]:
    error = getattr(exc, "response", {}).get("Error", {})
    code = str(error.get("Code", "?"))
    op = getattr(exc, "operation_name", "the call")
    msg = str(error.get("Message") or "").strip().splitlines()[0:1]
    detail = f"{op}: {code}{': ' + msg[0] if msg else ''}"
    if code in _AUTH_CODES:
        return f"AWS refused {detail} (check --profile / AWS_PROFILE and the role's permissions)", ExitStatus.AWS_AUTH
    if code in _THROTTLE_CODES:
        return f"AWS throttled {detail} after retries (try again in a minute)", ExitStatus.AWS_UNAVAILABLE
    if code.endswith(("NotFound", "NotFoundException")) or code.startswith("NoSuch") or "NonExistent" in code:
        return f"not found: {detail} (is the window up, the stage and region right?)", ExitStatus.NOT_FOUND
    return f"AWS error: {detail}", ExitStatus.ERROR


def explain(exc: BaseException) -> tuple[str, ExitStatus] | None:
    """The one line and the exit code for an error the operator can act on, else None."""
    if isinstance(exc, UserError):
        return str(exc), exc.exit_status
    try:
        from botocore import exceptions as bx
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return ("no AWS credentials found (set --profile or AWS_PROFILE, run `aws configure` "
                "or `aws sso login`)"), ExitStatus.AWS_AUTH
    if isinstance(exc, bx.ProfileNotFound):
        return f"{exc} (see `aws configure list-profiles`)", ExitStatus.AWS_AUTH
    if isinstance(exc, bx.NoRegionError):
        return "no AWS region set (pass --region or set AWS_REGION)", ExitStatus.USAGE
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError | bx.ReadTimeoutError):
        return (f"cannot reach the AWS endpoint: {exc} (is the window still up? for a local window, "
                "`ecomctl status`)"), ExitStatus.AWS_UNAVAILABLE
    if isinstance(exc, bx.ClientError):
        return _client_error(exc)
    return None
