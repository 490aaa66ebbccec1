"""The partner registration custom resource, driven as CloudFormation drives it, on moto.

The handler (crhelper) runs through the function host with a Lambda-like context; its
answers are PUT over HTTPS to the local stand-in of the pre-signed response URL, and the
partner is the in-process simulation with its faults switched by SSM flags.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecomctl.local.cfn_responses import CustomResourceDriver, ResponseServer
from ecomshop.handlers import partner_registration
from ecomshop.providers import partner

SOON = (datetime.now(UTC) + timedelta(hours=2)).isoformat()


@pytest.fixture(scope="module")
def responses() -> Iterator[ResponseServer]:
    with ResponseServer() as server:
        yield server


@pytest.fixture
def cr(platform: Any, responses: ResponseServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[CustomResourceDriver]:
    root_level = logging.getLogger().level  # crhelper sets the root logger's level on every invocation
    monkeypatch.setenv("CFN_RESPONSE_CA_BUNDLE", responses.ca_file)
    monkeypatch.setenv("PARTNER_SETTLE_S", "0.1")
    # A Delete that succeeds settles in ~0.1 s; the budget is headroom for a loaded machine
    # (a CI run once saw a deregistration still IN_PROGRESS after 1.2 s).
    monkeypatch.setenv("PARTNER_CR_DELETE_BUDGET_S", "5.0")
    spec = platform.topology.partner
    yield CustomResourceDriver(
        host=platform.host, responses=responses, function=spec.function,
        function_arn=platform.resources.resolve(f"function:{spec.function}:arn"),
        stack_name=f"ecom-{platform.topology.stage}", logical_id="PartnerRegistration",
        resource_type=spec.resource_type)
    logging.getLogger().setLevel(root_level)


def props(platform: Any, **overrides: Any) -> dict[str, Any]:
    spec = platform.topology.partner
    base = spec.properties(platform.resources.resolve(f"secret:{spec.secret}:arn"),
                           "https://api.example.test/local/shipping/tracking")
    return {**base, **overrides}


def api_key(platform: Any) -> str:
    spec = platform.topology.partner
    arn = platform.resources.resolve(f"secret:{spec.secret}:arn")
    return str(platform.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def registrations(platform: Any, account: str | None = None) -> list[partner.Registration]:
    return partner.registrations(account or platform.topology.partner.account)


def flag(platform: Any, point: str, effect: str, **extra: Any) -> None:
    platform.set_flag(point, {"effect": effect, "expires_at": SOON, **extra})


def test_lifecycle_create_polls_a_retried_create_finds_it_delete_twice_succeeds(platform, cr):
    p = props(platform)
    created = cr.create(p, request_id="req-1")
    assert created.status == "SUCCESS", created.reason
    assert created.physical_id.startswith("REG-")
    assert created.data == {"RegistrationId": created.physical_id, "ContractVersion": "v1", "State": "ACTIVE",
                            "Account": p["Account"]}
    again = cr.create(p, request_id="req-1")  # the same request redelivered: no second registration
    assert (again.status, again.physical_id) == ("SUCCESS", created.physical_id)
    (reg,) = registrations(platform)
    assert (reg.registration_id, reg.state, reg.services) == (created.physical_id, "ACTIVE", ("standard", "express"))

    deleted = cr.delete(created.physical_id, p)
    assert deleted.status == "SUCCESS" and deleted.data == {"Deregistered": created.physical_id}
    assert registrations(platform) == []
    gone = cr.delete(created.physical_id, p)
    assert gone.status == "SUCCESS" and gone.data == {"Deregistered": "already gone"}
    never = cr.delete("ecom-test_PartnerRegistration_ABCD1234", p)  # what crhelper names a failed Create
    assert never.status == "SUCCESS" and never.data == {"Deregistered": "nothing was registered"}


def test_a_slow_rate_limited_partner_is_retried_and_polled_until_the_operation_succeeds(platform, cr, monkeypatch):
    monkeypatch.setenv("PARTNER_QUOTA_PER_S", "2")  # the partner's own quota: polling runs into it
    flag(platform, "shipping.partner", "latency", latency_ms=800)
    refused: list[float | None] = []
    real = partner._gate

    def counting(account: str, key: str) -> Any:
        try:
            return real(account, key)
        except partner.PartnerRateLimited as exc:
            refused.append(exc.retry_after_s)
            raise

    monkeypatch.setattr(partner, "_gate", counting)
    started = time.monotonic()
    created = cr.create(props(platform))
    assert created.status == "SUCCESS", created.reason
    assert time.monotonic() - started >= 0.8  # it waited for the operation, not for the first answer
    assert refused and all(r is not None and 0 < r <= 1 for r in refused), "the partner never answered 429"
    assert [r.state for r in registrations(platform)] == ["ACTIVE"]


def test_a_partner_that_stays_down_fails_create_and_delete_answers_with_the_leftover(platform, cr, monkeypatch):
    monkeypatch.setenv("PARTNER_CR_DELETE_BUDGET_S", "1.0")  # the Delete spends all of it: keep it short
    p = props(platform)
    kept = cr.create(p)
    flag(platform, "shipping.partner", "error")
    # The budget is the invocation's remaining time: a short context keeps this quick.
    event = cr.event("Create", p)
    token = event["ResponseURL"].rsplit("/", 1)[1]
    partner_registration.handler(event, _Context(seconds=6.0))
    failed = cr.responses.take(token, timeout_s=2)
    assert failed is not None and failed.status == "FAILED"
    assert "HTTP 503 ServiceUnavailable" in failed.reason and "attempts" in failed.reason

    started = time.monotonic()
    deleted = cr.delete(kept.physical_id, p)
    assert deleted.status == "SUCCESS"  # the stack stays deletable
    assert deleted.data["Leftover"] == kept.physical_id
    assert "HTTP 503" in deleted.data["LeftoverReason"]
    assert f"registration {kept.physical_id} left at the partner" in deleted.reason
    assert time.monotonic() - started < 4
    platform.clear_flag("shipping.partner")
    assert [r.registration_id for r in registrations(platform)] == [kept.physical_id]


def test_permanent_failures_say_what_the_partner_answered(platform, cr):
    p = props(platform)
    flag(platform, "shipping.partner-operation", "error")
    created = cr.create(p)
    assert created.status == "FAILED"
    assert "FAILED: carrier-side provisioning failed" in created.reason
    assert created.physical_id.startswith("REG-")  # the rollback's Delete gets this id and cleans it up
    platform.clear_flag("shipping.partner-operation")
    assert cr.delete(created.physical_id, p).status == "SUCCESS"
    assert registrations(platform) == []

    refused = cr.create({**p, "ContractVersion": "v9"})
    assert refused.status == "FAILED"
    assert "HTTP 400 ValidationError: unsupported contract version 'v9' (supported: v1, v2)" in refused.reason

    platform.client("secretsmanager").put_secret_value(SecretId=p["ApiKeySecretArn"],
                                                       SecretString="not-the-key-the-partner-has-on-file")
    unauthorized = cr.create(p)
    assert unauthorized.status == "FAILED" and "HTTP 401 Unauthorized" in unauthorized.reason
    assert registrations(platform) == []


def test_update_in_place_keeps_the_id_and_a_new_account_replaces_it(platform, cr):
    p = props(platform)
    created = cr.create(p)
    changed = {**p, "Services": ["standard", "freight"], "CallbackUrl": "https://api.example.test/v2/tracking"}
    updated = cr.update(created.physical_id, p, changed)
    assert updated.status == "SUCCESS", updated.reason
    assert updated.physical_id == created.physical_id
    (reg,) = registrations(platform)
    assert reg.services == ("standard", "freight") and reg.callback_url.endswith("/v2/tracking")

    moved = {**changed, "Account": "ecom-test-partner-eu"}
    replaced = cr.update(created.physical_id, changed, moved)
    assert replaced.status == "SUCCESS", replaced.reason
    assert replaced.physical_id != created.physical_id
    assert [r.registration_id for r in registrations(platform, "ecom-test-partner-eu")] == [replaced.physical_id]
    # CloudFormation then deletes the old physical id with the old properties.
    assert cr.delete(created.physical_id, changed).status == "SUCCESS"
    assert registrations(platform) == []


def test_a_contract_change_is_followed_and_an_unknown_one_fails_with_the_reason(platform, cr):
    p = props(platform)
    created = cr.create(p)
    assert created.data["ContractVersion"] == "v1"
    flag(platform, "shipping", "contract", version="v2")  # the same flag the shipping scenario injects
    followed = cr.update(created.physical_id, p, p)
    assert followed.status == "SUCCESS", followed.reason
    assert followed.data["ContractVersion"] == "v2"
    assert registrations(platform)[0].contract_version == "v2"

    flag(platform, "shipping", "contract", version="v3")
    unknown = cr.update(created.physical_id, p, p)
    assert unknown.status == "FAILED"
    assert "speaks contract v3" in unknown.reason and "v1, v2" in unknown.reason
    assert registrations(platform)[0].contract_version == "v2"  # left as it was


def test_the_api_key_is_in_no_answer_event_or_log(platform, cr, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    key = api_key(platform)
    p = props(platform)
    event = cr.event("Create", p)
    created = cr.send(event)
    updated = cr.update(created.physical_id, p, {**p, "Services": ["express"]})
    deleted = cr.delete(created.physical_id, p)
    assert {created.status, updated.status, deleted.status} == {"SUCCESS"}
    captured = capsys.readouterr()
    seen = [str(event), created.raw, updated.raw, deleted.raw, caplog.text, captured.out, captured.err]
    assert caplog.text, "nothing was logged: the assertion below would be vacuous"
    assert all(key not in text for text in seen)


class _Context:
    function_name = "ecom-test-partner-registration"
    aws_request_id = "ctx-1"

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
