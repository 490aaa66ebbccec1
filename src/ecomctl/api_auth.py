"""IAM authorization of the order API: SigV4 signing for the tool's traffic, checking for the local gateway.

The deployed API requires AWS_IAM (the stack must be safe to leave on the internet for a
window), so ``load``, ``chaos`` and the game day sign each request with the operator's own
credentials for ``execute-api``, as API Gateway checks them. The local target enforces the
same when its window was started with ``ECOMCTL_LOCAL_API_AUTH=iam`` (it listens on
127.0.0.1 only, so it stays open by default and ``curl`` works without ``--aws-sigv4``).

botocore's SigV4Auth computes the signature both ways; what is ours is only which headers
are signed (the few a client will not rewrite) and the parsing of a received Authorization
header, which botocore does not do (it only signs).
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "execute-api"
IAM = "iam"
NONE = "none"
MODES = (IAM, NONE)
MAX_SKEW = timedelta(minutes=15)  # API Gateway refuses a signature older or newer than this
_SIGNED = ("content-type", "idempotency-key")  # with host and x-amz-date (and the token), which SigV4 adds
_ENV = ("ECOMCTL_API_SIGV4_REGION", "ECOMCTL_API_SIGV4_KEY_ID", "ECOMCTL_API_SIGV4_SECRET", "ECOMCTL_API_SIGV4_TOKEN")
_HEADER = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
                     r"/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]{64})$")


def mode_of(part: dict[str, Any]) -> str:
    """The API's authorization as a window's state records it (windows from before it was recorded: none)."""
    value = str(part.get("api_auth") or NONE)
    return value if value in MODES else NONE


@dataclass(frozen=True)
class Signer:
    region: str
    key_id: str
    secret: str
    token: str | None = None

    @classmethod
    def from_session(cls, session: Any, region: str) -> Signer:
        creds = session.get_credentials()
        if creds is None:
            from ecomctl.errors import PreconditionFailed

            raise PreconditionFailed("the window's API requires IAM-signed requests and no AWS credentials were found "
                                     "(set AWS_PROFILE or run `aws configure`)")
        frozen = creds.get_frozen_credentials()
        return cls(region, frozen.access_key, frozen.secret_key, frozen.token)

    def to_env(self) -> dict[str, str]:
        """For the Locust child, which signs on its own (boto3 is not usable under its gevent patching)."""
        return dict(zip(_ENV, (self.region, self.key_id, self.secret, self.token or ""), strict=True))

    @classmethod
    def from_env(cls, env: Any = os.environ) -> Signer | None:
        region, key_id, secret, token = (env.get(name, "") for name in _ENV)
        return cls(region, key_id, secret, token or None) if region and key_id and secret else None

    def headers(self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
                ) -> dict[str, str]:
        """``headers`` with Authorization, X-Amz-Date (and X-Amz-Security-Token) for this request."""
        headers = dict(headers or {})
        signed = {k: v for k, v in headers.items() if k.lower() in _SIGNED}
        request = AWSRequest(method=method, url=url, data=body, headers=signed)
        SigV4Auth(Credentials(self.key_id, self.secret, self.token), SERVICE, self.region).add_auth(request)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in request.headers:
                headers[name] = request.headers[name]
        return headers


def check(method: str, url: str, headers: dict[str, str], body: bytes, secrets: dict[str, str], region: str,
          now: datetime | None = None) -> str | None:
    """Why API Gateway would refuse this request under AWS_IAM, or None when the signature holds.

    ``headers`` as received (any case); ``secrets``: access key id -> secret key of the callers allowed.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization")
    if not auth:
        return "Missing Authentication Token"
    found = _HEADER.match(auth.strip())
    if not found:
        return "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters"
    if found["service"] != SERVICE or found["region"] != region:
        return f"Credential should be scoped to a valid region and the service {SERVICE}"
    secret = secrets.get(found["key"])
    if secret is None:
        return "The security token included in the request is invalid"
    stamp = lower.get("x-amz-date", "")
    try:
        at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "Authorization requires an X-Amz-Date header"
    if abs((now or datetime.now(UTC)) - at) > MAX_SKEW or not stamp.startswith(found["date"]):
        return "Signature expired"
    names = found["signed"].split(";")
    if "host" not in names or any(n not in lower for n in names):
        return "The request signature we calculated does not match the signature you provided"
    request = AWSRequest(method=method, url=url, data=body, headers={n: lower[n] for n in names})
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(found["key"], secret, lower.get("x-amz-security-token")), SERVICE, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, found["signature"]):
        return "The request signature we calculated does not match the signature you provided"
    return None


def signer_for(part: dict[str, Any], access: Any) -> Signer | None:
    """A signer with the window's own credentials when its API requires IAM, else None."""
    return Signer.from_session(access.session, access.region) if mode_of(part) == IAM else None


def url_of(host_header: str, path: str) -> str:
    """The URL a client signed, rebuilt from what the server received."""
    split = urlsplit(path)
    query = f"?{split.query}" if split.query else ""
    return f"http://{host_header}{split.path}{query}"
