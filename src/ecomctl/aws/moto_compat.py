"""A copy of the assembly a moto server can deploy (used only when the endpoint is moto).

/work/shared/notes/aws_on_moto.md measured what moto 5.2 does with this stack; each
rewrite here removes one failure it recorded, on a *copy* of the template (the assembly
``synth`` wrote is never changed, and nothing here runs against AWS):

- ``AWS::Events::Archive``: the event pattern as a JSON string (moto expects a string);
- ``Ref`` to the event bus: its name (moto yields the Python object);
- ``AWS::SSM::Parameter``: tags dropped (moto crashes on a tag map);
- ``AWS::CloudWatch::Alarm`` (no moto model): ``Ref``/``GetAtt`` to an alarm replaced by its name/ARN;
- ``AWS::StepFunctions::StateMachine``: the ASL inlined with ``Fn::Sub`` (moto ignores S3 definitions);
- ``Custom::S3AutoDeleteObjects``: removed (moto would run its Lambda in Docker and wait
  forever); the reaper empties the buckets itself before it deletes the stack, on AWS too;
- ``AWS::SecretsManager::Secret`` (no moto model, so a ``Ref`` to it is empty and IAM refuses
  the policy that names it): ``Ref`` replaced by the ARN pattern of its name;
- ``Custom::PartnerRegistration``: removed for the same reason; its handler's lifecycle is
  tested on moto directly (tests/platform/test_partner_registration.py), and the local
  target drives it at ``up``/``down`` with CloudFormation's events.

What moto leaks on delete (the REST API, a bucket with objects) is left alone: the
inventory check must catch it.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any


def is_moto(endpoint_url: str | None) -> bool:
    if not endpoint_url:
        return False
    try:
        with urllib.request.urlopen(f"{endpoint_url.rstrip('/')}/moto-api/", timeout=3) as resp:
            return resp.status == 200 and b"moto" in resp.read(65536).lower()
    except (OSError, ValueError):
        return False


def _replace(node: Any, refs: dict[str, Any], atts: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if len(node) == 1 and "Ref" in node and node["Ref"] in refs:
            return refs[node["Ref"]]
        if len(node) == 1 and "Fn::GetAtt" in node:
            att = node["Fn::GetAtt"]
            key = att[0] if isinstance(att, list) else str(att).split(".")[0]
            if key in atts:
                return atts[key]
        return {k: _replace(v, refs, atts) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace(v, refs, atts) for v in node]
    return node


def _state_machine(props: dict[str, Any], assembly: Path) -> None:
    location = props.pop("DefinitionS3Location", None)
    if location is None:
        return
    asl = (assembly / f"asset.{location['Key']!s}").read_text()
    props["DefinitionString"] = {"Fn::Sub": [asl, props.pop("DefinitionSubstitutions", {})]}


def rewrite(template: dict[str, Any], assembly: Path) -> dict[str, Any]:
    resources = template["Resources"]
    refs: dict[str, Any] = {}
    atts: dict[str, Any] = {}
    for logical, res in list(resources.items()):
        kind, props = res["Type"], res.setdefault("Properties", {})
        if kind == "AWS::Events::Archive" and isinstance(props.get("EventPattern"), dict):
            props["EventPattern"] = json.dumps(props["EventPattern"])
        elif kind == "AWS::Events::EventBus":
            refs[logical] = props["Name"]
        elif kind == "AWS::SSM::Parameter":
            props.pop("Tags", None)
        elif kind == "AWS::CloudWatch::Alarm":
            refs[logical] = props["AlarmName"]
            atts[logical] = {"Fn::Sub": f"arn:aws:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:"
                                        f"{props['AlarmName']}"}
        elif kind == "AWS::StepFunctions::StateMachine":
            _state_machine(props, assembly)
        elif kind == "AWS::SecretsManager::Secret":
            refs[logical] = {"Fn::Sub": f"arn:aws:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:"
                                        f"{props['Name']}-??????"}
        elif kind in ("Custom::S3AutoDeleteObjects", "Custom::PartnerRegistration"):
            del resources[logical]
    for res in resources.values():
        if isinstance(res.get("DependsOn"), list):
            res["DependsOn"] = [d for d in res["DependsOn"] if d in resources]
    return dict(_replace(template, refs, atts))


def compatible_copy(assembly: Path, stack: str, out: Path) -> Path:
    """A copy of ``assembly`` at ``out`` whose stack template moto can deploy."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(assembly, out, symlinks=True)
    path = out / f"{stack}.template.json"
    path.write_text(json.dumps(rewrite(json.loads(path.read_text()), out), indent=1))
    return out
