"""cfn-lint and cdk-nag (AwsSolutions) on every synthesized template, run by the suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.infra

# cfn-lint rules not applied, each with the reason. Nothing else is tolerated (errors or warnings).
CFN_LINT_IGNORED = {
    "W3005": "CDK adds an explicit DependsOn on a function's role next to the GetAtt; redundant, harmless",
}
REGIONS = ["us-east-1"]  # the templates are region-agnostic (pseudo parameters only)


def _lint(template_path: Path) -> list[str]:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(template_path, ManualArgs(regions=REGIONS, ignore_checks=sorted(CFN_LINT_IGNORED)))
    return [f"{m.rule.id} {m.message} at {'/'.join(map(str, getattr(m, 'path', [])))}" for m in matches
            if m.rule.id[0] in "EW"]


@pytest.fixture(scope="session")
def default_assembly(synth_twice: dict[str, Any]) -> Path:
    """The default app as `ecomctl synth` wrote it (cdk-nag on: synth fails on any finding)."""
    return Path(synth_twice["first"]["out"])


def test_cfn_lint_default_template_has_no_errors_or_warnings(default_assembly: Path) -> None:
    assert _lint(default_assembly / "ecom-dev.template.json") == []


def test_cfn_lint_opensearch_template_has_no_errors_or_warnings(opensearch: dict[str, Any]) -> None:
    assert _lint(opensearch["template_path"]) == []


def test_cdk_nag_passed_on_both_configurations(default_assembly: Path, opensearch: dict[str, Any]) -> None:
    """Synth raises on an unacknowledged finding (fixture fails); the reports must show no violation."""
    for outdir in (default_assembly, opensearch["outdir"]):
        report = json.loads((outdir / "policy-validation-report.json").read_text())
        assert all(p["violations"] == [] for p in report["pluginReports"])


def test_cdk_nag_as_wired_fails_synth_on_a_finding(tmp_path: Path) -> None:
    """The same plugin wiring (infra.nag.add_nag) rejects an unacknowledged finding."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs
    from infra.nag import add_nag

    app = App(outdir=str(tmp_path), analytics_reporting=False, builtin_cloud_formation_validation=False)
    sqs.Queue(Stack(app, "Bad"), "NoDlqNoSsl")
    add_nag(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


def test_every_acknowledgement_carries_a_reason(opensearch: dict[str, Any]) -> None:
    from infra.nag import ACKNOWLEDGED

    assert ACKNOWLEDGED
    for path, rule, reason in ACKNOWLEDGED:
        assert rule.startswith("AwsSolutions-"), rule
        assert len(reason) >= 30, (path, rule, reason)
        assert path != "", "acknowledgements are scoped to a construct, never the whole app"


def test_opensearch_is_optional_and_destroyed_with_the_stack(
        opensearch: dict[str, Any], template: dict[str, Any]) -> None:
    domains = [r for r in opensearch["template"]["Resources"].values() if r["Type"] == "AWS::OpenSearchService::Domain"]
    assert len(domains) == 1
    assert domains[0]["DeletionPolicy"] == "Delete"
    props = domains[0]["Properties"]
    assert props["EncryptionAtRestOptions"]["Enabled"] is True
    assert props["NodeToNodeEncryptionOptions"]["Enabled"] is True
    assert not any(r["Type"] == "AWS::OpenSearchService::Domain" for r in template["Resources"].values())
