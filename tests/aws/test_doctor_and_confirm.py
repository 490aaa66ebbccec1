"""doctor's checks, and the rule that nothing is created on AWS before it is confirmed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ecomctl.cli import app
from ecomctl.errors import ExitStatus
from tests.aws.conftest import client

NO_AWS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
          "AWS_PROFILE": None, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
          "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": None, "AWS_REGION": None,
          "AWS_DEFAULT_REGION": None}
MOTO_CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def run(home: Path, *args: str, **env: Any) -> Any:
    return CliRunner().invoke(app, list(args), env={"ECOMCTL_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1",
                                                     **env})


def _checks(result: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_doctor_without_credentials_fails_and_says_how_to_fix(tmp_path, tools_dir):
    result = run(tmp_path, "doctor", "--json", ECOMCTL_TOOLS=str(tools_dir), **NO_AWS)
    assert result.exit_code == ExitStatus.PRECONDITION, result.stderr
    checks = _checks(result)
    assert not checks["credentials (STS)"]["ok"] and "aws configure" in checks["credentials (STS)"]["fix"]
    assert not checks["region"]["ok"] and "AWS_REGION" in checks["region"]["fix"]
    assert not checks["CDK bootstrap"]["ok"] and "bootstrap aws://" in checks["CDK bootstrap"]["fix"]
    assert checks["Node.js"]["ok"]  # node 20 is on this machine
    table = run(tmp_path, "doctor", ECOMCTL_TOOLS=str(tools_dir), **NO_AWS)
    assert table.exit_code == ExitStatus.PRECONDITION and "MISSING" in table.stdout and "Traceback" not in table.stdout


def test_doctor_without_node_says_so(tmp_path, tools_dir):
    result = run(tmp_path, "doctor", "--json", ECOMCTL_TOOLS=str(tools_dir), PATH="/nonexistent", **NO_AWS)
    checks = _checks(result)
    assert result.exit_code == ExitStatus.PRECONDITION
    assert not checks["Node.js"]["ok"] and "nodejs.org" in checks["Node.js"]["fix"]


def test_doctor_on_a_moto_endpoint_passes_sts_then_bootstrap_once_bootstrapped(tmp_path, tools_dir, moto_server,
                                                                               monkeypatch):
    env = {**NO_AWS, **MOTO_CREDS, "AWS_ENDPOINT_URL": moto_server, "ECOMCTL_TOOLS": str(tools_dir)}
    before = _checks(run(tmp_path, "doctor", "--json", **env))
    assert before["credentials (STS)"]["ok"] and "123456789012" in before["credentials (STS)"]["detail"]
    assert before["region"]["ok"] and not before["CDK bootstrap"]["ok"]

    from ecomctl.aws import cdk

    monkeypatch.setenv("ECOMCTL_TOOLS", str(tools_dir))
    binary = cdk.ensure()  # the pinned CLI from npm, as `up --target aws` installs it
    boot_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    boot_env["AWS_ENDPOINT_URL"] = moto_server.replace("127.0.0.1", "localhost")
    done = subprocess.run([str(binary), "bootstrap", "aws://123456789012/us-east-1", "--ci", "--no-notices"],
                          env=boot_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    after = run(tmp_path, "doctor", "--json", **env)
    assert after.exit_code == 0, after.stdout
    assert all(c["ok"] for c in _checks(after).values())


def test_up_on_aws_without_a_terminal_or_yes_refuses_and_creates_nothing(tmp_path, moto_server):
    env = {**NO_AWS, **MOTO_CREDS, "AWS_ENDPOINT_URL": moto_server}
    result = run(tmp_path, "up", "--target", "aws", "--ttl", "1h", "--stage", "qa", **env)
    assert result.exit_code == ExitStatus.PRECONDITION, (result.stdout, result.stderr)
    assert "no terminal" in result.stderr and "--yes" in result.stderr and "Traceback" not in result.stderr
    # What it would have done was printed first: account, region, stage, deadline, projected cost.
    for shown in ("123456789012", "us-east-1", "qa", "deadline", "projected cost"):
        assert shown in result.stderr
    assert not list((tmp_path / "windows").glob("*.json")) if (tmp_path / "windows").exists() else True
    assert client(moto_server, "scheduler").list_schedules()["Schedules"] == []
    assert [r for r in client(moto_server, "iam").list_roles()["Roles"] if "ecomctl" in r["RoleName"]] == []
    assert client(moto_server, "cloudformation").describe_stacks()["Stacks"] == []


def test_down_of_an_aws_window_without_a_terminal_or_yes_refuses(tmp_path, moto_server):
    (tmp_path / "windows").mkdir()
    window = {"version": 2, "target": "aws", "stage": "qa", "status": "ready", "region": "us-east-1",
              "started_at": "2030-01-01T12:00:00Z", "deadline": "2030-01-01T14:00:00Z", "ttl_s": 7200,
              "aws_endpoint": moto_server, "part": {"account": "123456789012", "stack": "ecom-qa"}}
    (tmp_path / "windows" / "qa.json").write_text(json.dumps(window))
    result = run(tmp_path, "down", "--stage", "qa", **{**NO_AWS, **MOTO_CREDS, "AWS_ENDPOINT_URL": moto_server})
    assert result.exit_code == ExitStatus.PRECONDITION and "no terminal" in result.stderr
    assert (tmp_path / "windows" / "qa.json").exists()  # nothing was torn down


def test_cost_command_projects_a_window_as_json(tmp_path):
    result = run(tmp_path, "cost", "--ttl", "3h", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["hours"] == 3 and data["usd_total"] == round(data["usd_per_hour"] * 3, 4)
    assert data["unpriced"] == {} and data["price_source"]
    bad = run(tmp_path, "cost", "--ttl", "forever")
    assert bad.exit_code == ExitStatus.USAGE and "Traceback" not in bad.stderr
