"""CloudFormation custom resource: this deployment's registration with the shipping partner.

Built on crhelper, which answers CloudFormation's pre-signed response URL whatever happens
(an exception becomes FAILED with its message; a near timeout becomes FAILED too). On top:

- Create opens the partner account with the stack's API key (read from Secrets Manager at
  run time, by the ARN in the properties), registers, and polls the partner's operation.
  The registration is keyed by stack id + logical id + request id, so a redelivered Create
  finds the registration it started instead of making a second.
- Update changes callback, services and contract in place; a new account is a new identity:
  it registers anew and answers a new physical id, and CloudFormation deletes the old one.
- Delete deregisters; a registration already gone is success, and so is a partner that stays
  down or refuses: the leftover is reported in Data and Reason, so the stack stays deletable.
- ContractVersion "auto" follows the version the partner now speaks, if the shipping adapter
  knows it; an unknown one fails with the reason.
- Rate limits and outages are retried with exponential backoff and jitter (honouring the
  partner's retry-after) within the invocation's remaining time.

Polling runs inside the invocation (bounded by the remaining time), not with crhelper's
poll_* functions: those re-invoke through an EventBridge schedule (1 minute at the least)
that moto does not fire, and the partner's operations settle in seconds.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from crhelper import CfnResource
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    retry_if_result,
    wait_exponential,
    wait_random,
    wait_random_exponential,
)

from ecomshop.config import client, env_float
from ecomshop.observability import logger
from ecomshop.providers import partner
from ecomshop.providers.partner import Operation, PartnerError, PartnerNotFound, Registration
from ecomshop.shipping_adapter import KNOWN_CONTRACTS

T = TypeVar("T")
# Time kept back from the invocation's remaining time to answer CloudFormation (crhelper
# itself answers FAILED 0.5 s before the timeout: a Delete must never end that way).
ANSWER_MARGIN_S = 5.0
# A Delete gives up on a partner that stays down sooner: the stack must go away in time.
DELETE_BUDGET_S = 8.0


class RegistrationFailed(Exception):
    """A permanent failure; the message says what the partner answered (crhelper sends it as Reason)."""


@dataclass(frozen=True)
class Desired:
    account: str
    secret_arn: str
    callback_url: str
    contract: str
    services: tuple[str, ...]

    @staticmethod
    def of(properties: dict[str, Any] | None) -> Desired:
        props = properties or {}
        missing = [k for k in ("Account", "ApiKeySecretArn", "CallbackUrl") if not props.get(k)]
        if missing:
            raise RegistrationFailed(f"missing resource properties: {', '.join(missing)}")
        services = props.get("Services") or []
        if isinstance(services, str):
            services = [s.strip() for s in services.split(",") if s.strip()]
        return Desired(account=str(props["Account"]), secret_arn=str(props["ApiKeySecretArn"]),
                       callback_url=str(props["CallbackUrl"]), contract=str(props.get("ContractVersion") or "auto"),
                       services=tuple(str(s) for s in services))


class Budget:
    """The time this invocation may still spend talking to the partner."""

    def __init__(self, context: Any, cap_s: float | None = None) -> None:
        remaining = context.get_remaining_time_in_millis() / 1000 - ANSWER_MARGIN_S
        self.started = time.monotonic()
        self.deadline = self.started + max(0.0, min(remaining, cap_s) if cap_s is not None else remaining)

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def spent(self) -> float:
        return time.monotonic() - self.started


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, PartnerError) and exc.transient


def _backoff(budget: Budget) -> Callable[[RetryCallState], float]:
    full_jitter = wait_random_exponential(multiplier=0.2, max=5.0)  # AWS's "full jitter" backoff

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after_s", None) or 0.0
        return min(max(full_jitter(state), retry_after), budget.left())

    return wait


def call(budget: Budget, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn`` retried on rate limits and outages while the budget lasts; the last answer is kept."""
    retrying = Retrying(retry=retry_if_exception(_transient), wait=_backoff(budget),
                        stop=lambda state: budget.left() <= 0.05, reraise=True)
    try:
        return retrying(fn, *args, **kwargs)
    except PartnerError as exc:
        if exc.transient:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise RegistrationFailed(f"the partner still answered {exc.answer} after {attempts} attempts "
                                     f"in {budget.spent():.1f}s") from None
        raise


def wait_for(budget: Budget, account: str, api_key: str, operation: Operation) -> Operation:
    """Poll the partner's operation until it ends; still running when the budget ends is a failure."""
    interval = wait_exponential(multiplier=0.1, max=3.0) + wait_random(0, 0.1)
    polling = Retrying(retry=retry_if_result(lambda op: not op.done), stop=lambda state: budget.left() <= 0.05,
                       wait=lambda state: min(interval(state), budget.left()))
    try:
        done: Operation = polling(lambda: call(budget, partner.get_operation, account, api_key,
                                               operation.operation_id))
    except RetryError:
        raise RegistrationFailed(f"partner operation {operation.operation_id} ({operation.kind}) was still "
                                 f"IN_PROGRESS after {budget.spent():.1f}s") from None
    return done


def client_reference(event: dict[str, Any]) -> str:
    """One per (stack, resource, request): a redelivered request reuses it, a new one does not."""
    text = "|".join((event["StackId"], event["LogicalResourceId"], event["RequestId"]))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _api_key(secret_arn: str) -> str:
    try:
        return str(client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])
    except Exception as exc:
        raise RegistrationFailed(f"cannot read the partner API key from Secrets Manager: "
                                 f"{type(exc).__name__}") from None


def _contract(desired: Desired, spoken: dict[str, Any]) -> str:
    if desired.contract != "auto":
        return desired.contract  # explicit: the partner refuses what it does not support, with its reason
    version = str(spoken.get("contractVersion"))
    if version not in KNOWN_CONTRACTS:
        raise RegistrationFailed(f"the partner now speaks contract {version}, which the shipping adapter does not "
                                 f"know (it maps {', '.join(KNOWN_CONTRACTS)}); the registration was not changed")
    return version


def _permanent(action: str, exc: PartnerError) -> RegistrationFailed:
    return RegistrationFailed(f"the partner refused to {action}: {exc.answer}")


def _describe(helper: CfnResource, reg: Registration) -> str:
    helper.Data.update({"RegistrationId": reg.registration_id, "ContractVersion": reg.contract_version,
                        "State": reg.state, "Account": reg.account})
    logger.info("partner registration in force", extra=reg.to_json())
    return reg.registration_id


# --------------------------------------------------------------------------- lifecycle


def create(helper: CfnResource, event: dict[str, Any], context: Any) -> str:
    desired = Desired.of(event.get("ResourceProperties"))
    budget = Budget(context)
    key = _api_key(desired.secret_arn)
    try:
        call(budget, partner.open_account, desired.account, key)
        version = _contract(desired, call(budget, partner.describe_api, desired.account, key))
        started = call(budget, partner.register, desired.account, key, client_reference=client_reference(event),
                       callback_url=desired.callback_url, contract_version=version, services=list(desired.services))
    except PartnerError as exc:
        raise _permanent("register", exc) from None
    # Answered even if what follows fails: the rollback's Delete then removes this registration.
    helper.PhysicalResourceId = started.registration_id
    done = wait_for(budget, desired.account, key, started)
    if done.status == "FAILED":
        raise RegistrationFailed(f"partner registration {done.registration_id} FAILED: {done.reason}")
    return _describe(helper, call(budget, partner.get_registration, desired.account, key, done.registration_id))


def update(helper: CfnResource, event: dict[str, Any], context: Any) -> str:
    old = Desired.of(event.get("OldResourceProperties"))
    new = Desired.of(event.get("ResourceProperties"))
    physical = str(event["PhysicalResourceId"])
    if new.account != old.account:
        logger.info("partner account changed: registering anew", extra={"old": old.account, "new": new.account})
        return create(helper, event, context)
    budget = Budget(context)
    key = _api_key(new.secret_arn)
    try:
        version = _contract(new, call(budget, partner.describe_api, new.account, key))
        current = call(budget, partner.get_registration, new.account, key, physical)
    except PartnerNotFound:
        logger.warning("registration gone at the partner: registering anew", extra={"registration": physical})
        return create(helper, event, context)
    except PartnerError as exc:
        raise _permanent("read the registration", exc) from None
    wanted = (version, new.callback_url, tuple(sorted(new.services)))
    if wanted == (current.contract_version, current.callback_url, tuple(sorted(current.services))):
        return _describe(helper, current)
    try:
        started = call(budget, partner.update, new.account, key, physical, callback_url=new.callback_url,
                       contract_version=version, services=list(new.services))
    except PartnerError as exc:
        raise _permanent("update the registration", exc) from None
    done = wait_for(budget, new.account, key, started)
    if done.status == "FAILED":
        raise RegistrationFailed(f"partner update of {physical} FAILED: {done.reason}")
    return _describe(helper, call(budget, partner.get_registration, new.account, key, physical))


def delete(helper: CfnResource, event: dict[str, Any], context: Any) -> str:
    physical = str(event.get("PhysicalResourceId", ""))
    if not physical.startswith("REG-"):
        helper.Data["Deregistered"] = "nothing was registered"  # a Create that failed before registering
        return physical
    budget = Budget(context, env_float("PARTNER_CR_DELETE_BUDGET_S", DELETE_BUDGET_S))
    try:
        desired = Desired.of(event.get("ResourceProperties"))
        key = _api_key(desired.secret_arn)
        started = call(budget, partner.deregister, desired.account, key, physical)
        done = wait_for(budget, desired.account, key, started)
    except PartnerNotFound:
        helper.Data["Deregistered"] = "already gone"
        return physical
    except PartnerError as exc:
        return _leftover(helper, physical, exc.answer)
    except RegistrationFailed as exc:
        return _leftover(helper, physical, str(exc))
    if done.status == "FAILED":
        return _leftover(helper, physical, f"deregistration FAILED: {done.reason}")
    helper.Data["Deregistered"] = physical
    return physical


def _leftover(helper: CfnResource, physical: str, why: str) -> str:
    """Delete answers SUCCESS so the stack goes away; what stays at the partner is said, not hidden."""
    helper.Data.update({"Leftover": physical, "LeftoverReason": why})
    helper.Reason = f"registration {physical} left at the partner: {why}"
    logger.warning("partner registration left behind", extra={"registration": physical, "reason": why})
    return physical


def _helper() -> CfnResource:
    # One per invocation: crhelper makes boto3 clients in its constructor (not at import, where
    # the region may be unset) and keeps per-request state. CFN_RESPONSE_CA_BUNDLE trusts the
    # local target's stand-in for the response URL (on AWS it is unset: the system's CAs
    # verify CloudFormation's pre-signed S3 URL).
    helper = CfnResource(json_logging=False, log_level=os.environ.get("CRHELPER_LOG_LEVEL", "INFO"),
                         boto_level="ERROR", sleep_on_delete=0,
                         # crhelper's stub says bool, its code takes a CA file path too (utils._send_response)
                         ssl_verify=os.environ.get("CFN_RESPONSE_CA_BUNDLE") or None)  # type: ignore[arg-type]
    helper.create(partial(create, helper))
    helper.update(partial(update, helper))
    helper.delete(partial(delete, helper))
    return helper


def handler(event: dict[str, Any], context: Any) -> None:
    _helper()(event, context)
