"""The notifications' e-mail channel on the template: its sender identity, SendEmail on that identity only."""

from __future__ import annotations

from typing import Any

import pytest

from ecomshop.topology import build_topology
from tests.infra.conftest import resources

pytestmark = pytest.mark.infra
TOPO = build_topology("dev")


def test_the_notifier_may_send_mail_from_the_stage_sender_only(template: dict[str, Any]) -> None:
    assert TOPO.mail is not None
    ((identity_id, identity),) = resources(template, "AWS::SES::EmailIdentity").items()
    assert identity["Properties"]["EmailIdentity"] == TOPO.mail.sender
    senders = {pid: s for pid, p in resources(template, "AWS::IAM::Policy").items()
               for s in p["Properties"]["PolicyDocument"]["Statement"] if str(s["Action"]).startswith("ses:")}
    ((pid, statement),) = senders.items()
    assert "Notifier" in pid and statement["Action"] == "ses:SendEmail"
    parts = statement["Resource"]["Fn::Join"][1]
    assert parts[-2:] == [":identity/", {"Ref": identity_id}]
    notifier = next(v for v in resources(template, "AWS::Lambda::Function").values()
                    if v["Properties"].get("FunctionName") == TOPO.name("notifier"))
    variables = notifier["Properties"]["Environment"]["Variables"]
    assert (variables["NOTIFY_MAIL_FROM"], variables["NOTIFY_MAIL_DOMAIN"]) == (TOPO.mail.sender,
                                                                                  TOPO.mail.recipient_domain)
