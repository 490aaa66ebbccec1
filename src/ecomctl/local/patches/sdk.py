"""Per-request costs on the client side (botocore, the X-Ray SDK) and in moto's random ids."""

from __future__ import annotations

import functools
import string
import types
from datetime import UTC, datetime
from typing import Any

from ecomctl.local.patches.base import Patch, Patcher


def _random_strings_in_one_call(p: Patcher) -> None:
    from moto.moto_api._internal import mock_random, moto_random
    from moto.sqs import utils as sqs_utils

    def get_random_string(self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
        pool = string.ascii_letters + (string.digits if include_digits else "")
        value = "".join(self.choices(pool, k=length))
        return value.lower() if lower_case else value

    def generate_receipt_handle() -> str:
        return "".join(mock_random.choices(string.ascii_lowercase, k=185))

    p.set(moto_random.MotoRandom, "get_random_string", get_random_string)
    p.rebind(("moto.sqs",), "generate_receipt_handle", sqs_utils.generate_receipt_handle, generate_receipt_handle)


def _sdk_ids_from_prng(p: Patcher) -> None:
    from aws_xray_sdk.core.models.entity import Entity
    from botocore import endpoint
    from moto.moto_api._internal import mock_random

    # botocore.endpoint uses only ``uuid.uuid4``; give it a module-like object with moto's.
    p.set(endpoint, "uuid", types.SimpleNamespace(uuid4=mock_random.uuid4))
    p.set(Entity, "_generate_random_id", lambda self: f"{mock_random.getrandbits(64):016x}")


def _cache_user_agent_components(p: Patcher) -> None:
    from botocore import useragent

    original = useragent.sanitize_user_agent_string_component
    p.set(useragent, "sanitize_user_agent_string_component", functools.lru_cache(maxsize=1024)(original))


def _sign_cheaply(p: Patcher) -> None:
    from botocore import signers

    def handler(self: Any, operation_name: Any = None, request: Any = None, **kwargs: Any) -> None:
        credentials = self._credentials
        if credentials is None or request is None:
            return
        frozen = credentials.get_frozen_credentials()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        scope = f"{stamp[:8]}/{self._region_name}/{self._signing_name}/aws4_request"
        # A retried request comes back here; these headers append rather than replace.
        for name in ("X-Amz-Date", "X-Amz-Security-Token", "Authorization"):
            if name in request.headers:
                del request.headers[name]
        request.headers["X-Amz-Date"] = stamp
        if frozen.token:
            request.headers["X-Amz-Security-Token"] = frozen.token
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{scope}, SignedHeaders=host;x-amz-date, "
            "Signature=" + "0" * 64)

    p.set(signers.RequestSigner, "handler", handler)


RANDOM_STRINGS_IN_ONE_CALL = Patch(
    name="random-strings-in-one-call",
    fingerprints={
        "moto.moto_api._internal.moto_random.MotoRandom.get_random_string": "c6cc5f8e00c71722",
        "moto.sqs.utils.generate_receipt_handle": "10853f98152c8dab",
    },
    why="moto draws request ids and receipt handles with one choice() call per character (185 per receipt "
        "handle, one per received message). Same alphabet, same length, same PRNG, one choices() call.",
    retire_when="moto builds random strings with one choices() call",
    upstream_bug="moto MotoRandom.get_random_string and sqs generate_receipt_handle call choice() once per "
                 "character; choices(k=n) gives the same strings' distribution in one call",
    apply=_random_strings_in_one_call,
)

SDK_IDS_FROM_PRNG = Patch(
    name="sdk-ids-from-prng",
    fingerprints={
        # 1.43 and 1.44 (1.44 reads a per-call read_timeout first): both use only uuid.uuid4.
        "botocore.endpoint.Endpoint._update_retries_context": ("17b2aaf822544b77", "6dd6e2cb474f72f2"),
        "aws_xray_sdk.core.models.entity.Entity._generate_random_id": "4bc0fab605f591f4",
    },
    why="botocore draws a UUID per request (amz-sdk-invocation-id) and the X-Ray SDK a 64-bit id per "
        "segment and subsegment (sampled or not) from os.urandom, a system call each: ~8% of the platform's "
        "CPU under load in this VM (480/min offered: ~330 -> ~430/min sustained). Both only need to be "
        "unique, so both come from moto's PRNG. Only sensible in a process that talks to moto.",
    retire_when="never upstream (os.urandom is the right default for them); drop if os.urandom gets cheap here",
    upstream_bug=None,
    apply=_sdk_ids_from_prng,
)

USER_AGENT_CACHE = Patch(
    name="user-agent-component-cache",
    fingerprints={"botocore.useragent.sanitize_user_agent_string_component": "4536076c32a93958"},
    why="botocore sanitizes every User-Agent component a character at a time on every request; the "
        "function is pure, so it is cached.",
    retire_when="botocore builds the User-Agent string once per client",
    upstream_bug="botocore useragent: sanitize_user_agent_string_component runs a per-character generator "
                 "for every component of every request's User-Agent; the result is constant per client",
    apply=_cache_user_agent_components,
)

SIGN_CHEAPLY = Patch(
    name="sign-in-process-cheaply",
    fingerprints={"botocore.signers.RequestSigner.handler": "80be563ab0afcb2d"},
    why="moto never verifies signatures; it reads only the access key (the account) and the credential "
        "scope (the region) from the Authorization header. The canonical request and the HMAC chain were "
        "~8% of every in-process call, so the header keeps those fields with a placeholder signature. Only "
        "for the platform process, whose clients all reach moto in process: nothing signed this way leaves it.",
    retire_when="never upstream (a deployment choice); drop if in-process calls stop being CPU-bound",
    upstream_bug=None,
    apply=_sign_cheaply,
)

PATCHES = (RANDOM_STRINGS_IN_ONE_CALL, SDK_IDS_FROM_PRNG, USER_AGENT_CACHE)
