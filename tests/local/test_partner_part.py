"""The local target's partner registration part: Create on start, Delete on stop, rollback on FAILED."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from ecomctl.local import parts
from ecomshop.providers import partner


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARTNER_SETTLE_S", "0.1")
    root_level = logging.getLogger().level  # crhelper sets the root logger's level on every invocation
    with parts.Environment() as environment:
        yield environment
    logging.getLogger().setLevel(root_level)


def test_start_registers_stop_deregisters_and_a_failed_create_is_rolled_back(platform, env):
    account = platform.topology.partner.account
    with parts.partner_registration(platform.host, platform.resources, env, "http://127.0.0.1:8080/") as created:
        (reg,) = partner.registrations(account)
        assert (created.physical_id, created.status) == (reg.registration_id, "SUCCESS")
        assert reg.callback_url == "http://127.0.0.1:8080/shipping/tracking" and reg.state == "ACTIVE"
    assert partner.registrations(account) == []

    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    platform.set_flag("shipping.partner-operation", {"effect": "error", "expires_at": soon})
    with pytest.raises(parts.PartnerRegistrationError, match="FAILED: carrier-side provisioning failed") as raised, \
            parts.partner_registration(platform.host, platform.resources, env, "http://127.0.0.1:8080"):
        pass
    # The rollback's Delete was sent; the partner failed that operation too, and the error says what is left.
    (left,) = partner.registrations(account)
    assert left.state == "FAILED"
    assert f"rollback: registration {left.registration_id} left at the partner" in str(raised.value)
