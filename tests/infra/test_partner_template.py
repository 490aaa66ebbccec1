"""The partner registration on the template: a Lambda-backed custom resource, the key in no template text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecomshop.topology import build_topology
from tests.infra.conftest import resources

pytestmark = pytest.mark.infra
TOPO = build_topology("dev")


def _function_id(template: dict[str, Any], logical: str) -> str:
    return next(k for k, v in resources(template, "AWS::Lambda::Function").items()
                if v["Properties"].get("FunctionName") == TOPO.name(logical))


def test_the_registration_is_a_custom_resource_served_by_its_function(template: dict[str, Any]) -> None:
    spec = TOPO.partner
    assert spec is not None
    (cr,) = resources(template, spec.resource_type).values()
    fn = _function_id(template, spec.function)
    (secret_id,) = resources(template, "AWS::SecretsManager::Secret")
    props = cr["Properties"]
    assert props["ServiceToken"] == {"Fn::GetAtt": [fn, "Arn"]}
    assert props["ApiKeySecretArn"] == {"Ref": secret_id}
    assert set(props) == {"ServiceToken", "Account", "ApiKeySecretArn", "CallbackUrl", "ContractVersion", "Services"}
    assert props["CallbackUrl"]["Fn::Join"][1][-1] == spec.callback_path
    assert fn in cr["DependsOn"]  # the handler outlives the resource on delete
    assert cr["DeletionPolicy"] == "Delete"


def test_the_api_key_is_generated_at_deploy_and_in_no_template_text(template: dict[str, Any]) -> None:
    ((secret_id, secret),) = resources(template, "AWS::SecretsManager::Secret").items()
    props = secret["Properties"]
    assert "SecretString" not in props
    assert props["GenerateSecretString"] == {"ExcludePunctuation": True, "IncludeSpace": False, "PasswordLength": 40}
    # Nothing resolves the secret's value into the template: no dynamic reference, no output of it.
    text = json.dumps(template)
    assert "{{resolve:secretsmanager" not in text and '"SecretString"' not in text
    outputs = json.dumps(template.get("Outputs", {}))
    assert secret_id not in outputs


def test_only_the_registration_function_may_read_the_key_and_only_that_secret(template: dict[str, Any]) -> None:
    (secret_id,) = resources(template, "AWS::SecretsManager::Secret")
    readers = {}
    for pid, policy in resources(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("secretsmanager:") for a in actions):
                readers[pid] = (actions, statement["Resource"])
    assert len(readers) == 1
    ((pid, (actions, resource)),) = readers.items()
    assert "PartnerRegistration" in pid
    assert actions == ["secretsmanager:GetSecretValue"] and resource == {"Ref": secret_id}
