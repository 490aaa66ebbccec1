"""The simulated shipping partner's management API: how a deployment registers with the carrier.

Like a real carrier's partner API it is asynchronous (register, update and deregister
answer an operation to poll until SUCCEEDED or FAILED), rate-limited (a per-account quota
per second; over it, ``PartnerRateLimited`` with ``retry_after_s``, HTTP 429), authenticated
(every call presents the account's API key, compared with the hash the partner stored when
the account was opened) and versioned (it accepts contract v1 and v2, plus whatever version
it now speaks; anything else is refused with the reason).

State lives in the providers table, single-table, one partition per partner account:
``PARTNER#<account>`` with sort keys ``ACCOUNT``, ``QUOTA``, ``REGISTRATION#<id>``,
``CLIENTREF#<ref>`` (the caller's idempotency key -> registration) and ``OPERATION#<id>``.

Faults (SSM flags, ``ecomshop.faults``) at point ``shipping.partner`` (or provider-wide
``shipping``): ``error``/``timeout`` (the partner is down, 503), ``throttle`` (429 on
``rate`` of the calls), ``latency`` (operations take ``latency_ms`` to settle: slow, not
hanging), ``contract`` (the partner now speaks ``version``). ``error`` at
``shipping.partner-operation`` makes operations end FAILED, as a carrier-side
provisioning failure would.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from ecomshop import faults
from ecomshop.config import env, env_float, table

KNOWN_CONTRACTS = ("v1", "v2")
SERVICES = ("standard", "express", "freight")
POINT = "shipping.partner"
OPERATION_POINT = "shipping.partner-operation"
DEFAULT_SETTLE_S = 0.3
QUOTA_PER_S = 10


class PartnerError(Exception):
    """What the partner answered, as an HTTP-like status, a code and its message."""

    status = 500
    code = "InternalError"
    transient = False

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s

    @property
    def answer(self) -> str:
        return f"HTTP {self.status} {self.code}: {self.message}"


class PartnerUnavailable(PartnerError):
    status, code, transient = 503, "ServiceUnavailable", True


class PartnerRateLimited(PartnerError):
    status, code, transient = 429, "TooManyRequests", True


class PartnerRejected(PartnerError):
    status, code = 400, "ValidationError"


class PartnerUnauthorized(PartnerError):
    status, code = 401, "Unauthorized"


class PartnerNotFound(PartnerError):
    status, code = 404, "NotFound"


@dataclass(frozen=True)
class Registration:
    registration_id: str
    account: str
    state: str  # PENDING, ACTIVE, FAILED, DEREGISTERING
    contract_version: str
    callback_url: str
    services: tuple[str, ...]
    client_reference: str

    def to_json(self) -> dict[str, Any]:
        return {"registrationId": self.registration_id, "account": self.account, "state": self.state,
                "contractVersion": self.contract_version, "callbackUrl": self.callback_url,
                "services": list(self.services)}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    registration_id: str
    kind: str  # REGISTER, UPDATE, DEREGISTER
    status: str  # IN_PROGRESS, SUCCEEDED, FAILED
    reason: str = ""

    @property
    def done(self) -> bool:
        return self.status != "IN_PROGRESS"


def _table() -> Any:
    return table(env("PROVIDERS_TABLE"))


def _pk(account: str) -> str:
    return f"PARTNER#{account}"


def _key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


# --------------------------------------------------------------------------- the gate every call passes


def _gate(account: str, api_key: str) -> faults.Flag | None:
    """Faults, authentication, quota: in the order a carrier's edge applies them. Returns a data flag."""
    flag = _flag(POINT)
    if flag is not None and flag.effect == "error":
        raise PartnerUnavailable("the partner API is unavailable (injected)")
    if flag is not None and flag.effect == "timeout":
        time.sleep(flag.timeout_s)
        raise PartnerUnavailable(f"the partner API timed out after {flag.timeout_s}s (injected)")
    if flag is not None and flag.effect == "throttle":
        raise PartnerRateLimited("rate limit exceeded (injected)", retry_after_s=_retry_after(flag))
    _authenticate(account, api_key)
    _spend_quota(account)
    return flag


def _flag(point: str) -> faults.Flag | None:
    flag = faults.active_flag(point)
    if flag is None or random.random() >= flag.rate:
        return None
    return flag


def _retry_after(flag: faults.Flag) -> float:
    extra = getattr(flag, "retry_after_s", None)
    return float(extra) if isinstance(extra, int | float) else 1.0


def _authenticate(account: str, api_key: str) -> None:
    item = _table().get_item(Key={"pk": _pk(account), "sk": "ACCOUNT"}, ConsistentRead=True).get("Item")
    if not item or not hmac.compare_digest(str(item["keyHash"]), _key_hash(api_key)):
        raise PartnerUnauthorized(f"invalid API key for account {account!r}")


def _spend_quota(account: str) -> None:
    """A fixed one-second window per account, in one item: increment within it, or start the next."""
    now = int(time.time())
    key = {"pk": _pk(account), "sk": "QUOTA"}
    try:
        _table().update_item(Key=key, UpdateExpression="SET n = n + :one",
                             ConditionExpression="win = :now AND n < :limit",
                             ExpressionAttributeValues={":one": 1, ":now": now, ":limit": _quota()})
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    try:
        _table().update_item(Key=key, UpdateExpression="SET win = :now, n = :one",
                             ConditionExpression="attribute_not_exists(win) OR win <> :now",
                             ExpressionAttributeValues={":one": 1, ":now": now})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        raise PartnerRateLimited(f"more than {_quota()} requests per second for account {account!r}",
                                 retry_after_s=max(0.05, now + 1 - time.time())) from None


def _quota() -> int:
    return int(env_float("PARTNER_QUOTA_PER_S", QUOTA_PER_S))


def _settle_s(flag: faults.Flag | None) -> float:
    if flag is not None and flag.effect == "latency":
        return flag.latency_ms / 1000
    return env_float("PARTNER_SETTLE_S", DEFAULT_SETTLE_S)


def speaks(flag: faults.Flag | None) -> str:
    return (flag.version or "v2") if flag is not None and flag.effect == "contract" else "v1"


# --------------------------------------------------------------------------- the API


def open_account(account: str, api_key: str) -> None:
    """Onboarding: the first key presented for an account becomes its key; a different one later is refused."""
    if len(api_key) < 20:
        raise PartnerRejected("an API key must be at least 20 characters")
    try:
        _table().put_item(Item={"pk": _pk(account), "sk": "ACCOUNT", "keyHash": _key_hash(api_key)},
                          ConditionExpression="attribute_not_exists(pk)")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        _authenticate(account, api_key)


def describe_api(account: str, api_key: str) -> dict[str, Any]:
    """The contract the partner speaks now, and what it accepts for a registration."""
    flag = _gate(account, api_key)
    now = speaks(flag)
    return {"contractVersion": now, "supported": sorted({*KNOWN_CONTRACTS, now})}


def register(account: str, api_key: str, *, client_reference: str, callback_url: str, contract_version: str,
             services: list[str]) -> Operation:
    """Start a registration; the same ``client_reference`` again answers the first one's operation."""
    flag = _gate(account, api_key)
    _validate(flag, callback_url, contract_version, services)
    existing = _by_reference(account, client_reference)
    if existing is not None:
        return existing
    registration_id = f"REG-{uuid.uuid4().hex[:12].upper()}"
    operation = _new_operation(registration_id, "REGISTER")
    item = {"pk": _pk(account), "sk": f"REGISTRATION#{registration_id}", "registrationId": registration_id,
            "state": "PENDING", "contractVersion": contract_version, "callbackUrl": callback_url,
            "services": list(services), "clientReference": client_reference}
    try:
        _table().meta.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": env("PROVIDERS_TABLE"), "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": {"pk": _pk(account), "sk": f"CLIENTREF#{client_reference}",
                              "registrationId": registration_id, "operationId": operation["operationId"]}}},
            {"Put": {"TableName": env("PROVIDERS_TABLE"), "Item": item}},
            {"Put": {"TableName": env("PROVIDERS_TABLE"), "Item": _operation_item(account, operation, flag)}},
        ])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        raced = _by_reference(account, client_reference)  # a concurrent retry won: answer with its operation
        if raced is None:
            raise
        return raced
    return _operation(operation)


def update(account: str, api_key: str, registration_id: str, *, callback_url: str, contract_version: str,
           services: list[str]) -> Operation:
    flag = _gate(account, api_key)
    _validate(flag, callback_url, contract_version, services)
    current = _registration(account, registration_id)
    if current.state in ("DEREGISTERING", "FAILED"):
        raise PartnerRejected(f"registration {registration_id} is {current.state} and cannot be updated")
    operation = _new_operation(registration_id, "UPDATE")
    operation["pending"] = {"contractVersion": contract_version, "callbackUrl": callback_url,
                            "services": list(services)}
    _table().put_item(Item=_operation_item(account, operation, flag))
    return _operation(operation)


def deregister(account: str, api_key: str, registration_id: str) -> Operation:
    flag = _gate(account, api_key)
    current = _registration(account, registration_id)
    operation = _new_operation(registration_id, "DEREGISTER")
    operation["previousState"] = current.state
    _table().update_item(Key={"pk": _pk(account), "sk": f"REGISTRATION#{registration_id}"},
                         UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "state"},
                         ExpressionAttributeValues={":s": "DEREGISTERING"})
    _table().put_item(Item=_operation_item(account, operation, flag))
    return _operation(operation)


def get_registration(account: str, api_key: str, registration_id: str) -> Registration:
    _gate(account, api_key)
    return _registration(account, registration_id)


def get_operation(account: str, api_key: str, operation_id: str) -> Operation:
    """The operation's status; one that has settled is applied to its registration on this read."""
    _gate(account, api_key)
    item = _table().get_item(Key={"pk": _pk(account), "sk": f"OPERATION#{operation_id}"},
                             ConsistentRead=True).get("Item")
    if not item:
        raise PartnerNotFound(f"no operation {operation_id} in account {account!r}")
    if item["status"] == "IN_PROGRESS" and time.time() >= float(item["readyAt"]):
        item = _settle(account, item)
    return _operation(item)


def registrations(account: str) -> list[Registration]:
    """The partner's own view of an account (its console): every registration it holds."""
    from boto3.dynamodb.conditions import Key

    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(_pk(account)) & Key("sk").begins_with(
        "REGISTRATION#"), "ConsistentRead": True}
    while True:
        page = _table().query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return [_to_registration(account, i) for i in items]
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --------------------------------------------------------------------------- internals


def _validate(flag: faults.Flag | None, callback_url: str, contract_version: str, services: list[str]) -> None:
    supported = sorted({*KNOWN_CONTRACTS, speaks(flag)})
    if contract_version not in supported:
        raise PartnerRejected(f"unsupported contract version {contract_version!r} (supported: {', '.join(supported)})")
    url = urlparse(callback_url)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise PartnerRejected(f"callback URL {callback_url!r} is not an http(s) URL")
    unknown = sorted(set(services) - set(SERVICES))
    if not services or unknown:
        raise PartnerRejected(f"services must be a non-empty subset of {', '.join(SERVICES)}"
                              + (f"; unknown: {', '.join(unknown)}" if unknown else ""))


def _by_reference(account: str, client_reference: str) -> Operation | None:
    ref = _table().get_item(Key={"pk": _pk(account), "sk": f"CLIENTREF#{client_reference}"},
                            ConsistentRead=True).get("Item")
    if not ref:
        return None
    item = _table().get_item(Key={"pk": _pk(account), "sk": f"OPERATION#{ref['operationId']}"},
                             ConsistentRead=True).get("Item")
    return _operation(item) if item else None


def _new_operation(registration_id: str, kind: str) -> dict[str, Any]:
    return {"operationId": f"OP-{uuid.uuid4().hex[:12].upper()}", "registrationId": registration_id,
            "kind": kind, "status": "IN_PROGRESS", "reason": ""}


def _operation_item(account: str, operation: dict[str, Any], flag: faults.Flag | None) -> dict[str, Any]:
    ready_at = time.time() + _settle_s(flag)
    return {"pk": _pk(account), "sk": f"OPERATION#{operation['operationId']}", **operation,
            "readyAt": str(round(ready_at, 3))}


def _settle(account: str, item: dict[str, Any]) -> dict[str, Any]:
    """Apply a settled operation: the registration changes, the operation ends (once: conditional)."""
    reg_key = {"pk": _pk(account), "sk": f"REGISTRATION#{item['registrationId']}"}
    op_key = {"pk": _pk(account), "sk": item["sk"]}
    failed = _flag(OPERATION_POINT)
    status = "FAILED" if failed is not None and failed.effect == "error" else "SUCCEEDED"
    reason = "carrier-side provisioning failed (injected)" if status == "FAILED" else ""
    try:
        _table().update_item(Key=op_key, UpdateExpression="SET #s = :s, reason = :r",
                             ConditionExpression="#s = :running", ExpressionAttributeNames={"#s": "status"},
                             ExpressionAttributeValues={":s": status, ":r": reason, ":running": "IN_PROGRESS"})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return dict(_table().get_item(Key=op_key, ConsistentRead=True)["Item"])  # another reader settled it
    kind = item["kind"]
    if kind == "DEREGISTER" and status == "SUCCEEDED":
        _table().delete_item(Key=reg_key)
    elif kind == "REGISTER":
        _set_state(reg_key, "ACTIVE" if status == "SUCCEEDED" else "FAILED")
    elif kind == "UPDATE" and status == "SUCCEEDED":
        pending = item["pending"]
        _table().update_item(
            Key=reg_key, UpdateExpression="SET contractVersion = :v, callbackUrl = :c, services = :s",
            ExpressionAttributeValues={":v": pending["contractVersion"], ":c": pending["callbackUrl"],
                                       ":s": pending["services"]})
    elif kind == "DEREGISTER":  # the deregistration failed: the registration stays as it was
        _set_state(reg_key, str(item.get("previousState", "ACTIVE")))
    return {**item, "status": status, "reason": reason}


def _set_state(key: dict[str, str], state: str) -> None:
    _table().update_item(Key=key, UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "state"},
                         ExpressionAttributeValues={":s": state})


def _registration(account: str, registration_id: str) -> Registration:
    item = _table().get_item(Key={"pk": _pk(account), "sk": f"REGISTRATION#{registration_id}"},
                             ConsistentRead=True).get("Item")
    if not item:
        raise PartnerNotFound(f"no registration {registration_id} in account {account!r}")
    return _to_registration(account, item)


def _to_registration(account: str, item: dict[str, Any]) -> Registration:
    return Registration(
        registration_id=str(item["registrationId"]), account=account, state=str(item["state"]),
        contract_version=str(item["contractVersion"]), callback_url=str(item["callbackUrl"]),
        services=tuple(str(s) for s in item.get("services", [])), client_reference=str(item["clientReference"]),
    )


def _operation(item: dict[str, Any]) -> Operation:
    return Operation(operation_id=str(item["operationId"]), registration_id=str(item["registrationId"]),
                     kind=str(item["kind"]), status=str(item["status"]), reason=str(item.get("reason", "")))
