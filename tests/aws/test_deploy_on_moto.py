"""`up --target aws` and `down` for real on a moto server, judged by inventory.

The same code the operator runs: the synthesized assembly (a moto-compatible copy, see
ecomctl.aws.moto_compat), the pinned cdk CLI from npm (bootstrap, then `cdk deploy --app`),
the Scheduler teardown, the reaper. moto never fires schedules, so the stored schedule is
asserted and the reaper is run by `down` (and directly, with an injected sleep).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from ecomctl.aws import cdk, deploy, inventory, teardown
from ecomctl.aws.reaper import Reaper
from ecomctl.cli import app
from ecomctl.targets.base import AwsAccess
from tests.aws.conftest import ACCOUNT, client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STAGE = "gd"
STACK = f"ecom-{STAGE}"


@pytest.fixture
def aws_env(tmp_path, tools_dir, moto_server, monkeypatch) -> dict[str, str]:
    """A bootstrapped moto account and the environment a CLI run gets."""
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": moto_server, "ECOMCTL_TOOLS": str(tools_dir), "ECOMCTL_HOME": str(tmp_path / "home")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    boot = {**os.environ, "AWS_ENDPOINT_URL": moto_server.replace("127.0.0.1", "localhost"),
            "CDK_DISABLE_VERSION_CHECK": "1"}
    done = subprocess.run([str(cdk.ensure()), "bootstrap", f"aws://{ACCOUNT}/us-east-1", "--ci", "--no-notices"],
                          env=boot, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return env


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={**env, "COLUMNS": "200", "NO_COLOR": "1"})


def _access(endpoint: str) -> AwsAccess:
    import boto3

    return AwsAccess(boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing"), endpoint,
                     "us-east-1")


@pytest.fixture
def deploy_calls(monkeypatch, moto_server) -> list[dict[str, Any] | None]:
    """Wrap the real deploy: record the teardown schedule as stored at the moment deploy is called."""
    seen: list[dict[str, Any] | None] = []
    real = deploy.deploy

    def spy(access: AwsAccess, *args: Any, **kw: Any) -> Any:
        seen.append(teardown.stored(access, STAGE))
        return real(access, *args, **kw)

    monkeypatch.setattr(deploy, "deploy", spy)
    return seen


def test_up_arms_first_deploys_for_real_and_down_leaves_nothing(aws_env, deploy_calls, moto_server):
    up = run(aws_env, "up", "--target", "aws", "--ttl", "1h", "--stage", STAGE, "--yes", "--json",
             "--notify", "ops@example.com")
    assert up.exit_code == 0, up.stderr[-3000:]
    window = json.loads(up.stdout)
    # The teardown reports to the address given at up; the deployed API takes only SigV4 callers.
    sns = client(moto_server, "sns")
    [topic] = [t["TopicArn"] for t in sns.list_topics()["Topics"]
               if t["TopicArn"].endswith(f"ecomctl-{STAGE}-teardown")]
    subscribed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(x["Protocol"], x["Endpoint"]) for x in subscribed] == [("email", "ops@example.com")]
    # Armed before the deploy call was made, at the deadline, deleting the stack, deleting itself after.
    [armed] = deploy_calls
    assert armed is not None
    assert armed["ScheduleExpression"] == f"at({window['deadline'].rstrip('Z')})"
    assert armed["ScheduleExpressionTimezone"] == "UTC" and armed["ActionAfterCompletion"] == "DELETE"
    reaper = client(moto_server, "lambda").get_function(FunctionName=f"ecomctl-{STAGE}-reaper")["Configuration"]
    assert armed["Target"]["Arn"] == reaper["FunctionArn"]  # the schedule's target is the reaper function
    assert json.loads(armed["Target"]["Input"])["action"] == "reap"
    assert json.loads(armed["Target"]["Input"])["stack"] == STACK
    assert teardown.stored(_access(moto_server), STAGE, sweeper=True)["ScheduleExpression"] == "rate(15 minutes)"
    role = armed["Target"]["RoleArn"].rsplit("/", 1)[-1]
    policy = client(moto_server, "iam").get_role_policy(RoleName=role, PolicyName="invoke-the-reaper")
    actions = {s["Action"] for s in policy["PolicyDocument"]["Statement"]}
    assert actions == {"lambda:InvokeFunction"}  # nothing else

    # Deployed for real: CREATE_COMPLETE with its outputs, the API URL recorded in the window's state.
    stack = client(moto_server, "cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert stack["StackStatus"] == "CREATE_COMPLETE" and len(outputs) > 30
    assert window["api_url"] == outputs["ApiUrl"] and window["stack"] == STACK
    assert len(client(moto_server, "lambda").list_functions()["Functions"]) >= 13
    state = json.loads((Path(aws_env["ECOMCTL_HOME"]) / "windows" / f"{STAGE}.json").read_text())
    assert state["status"] == "ready" and state["part"]["outputs"]["ApiUrl"] == outputs["ApiUrl"]
    assert state["part"]["api_auth"] == "iam" and state["part"]["notify"] == "ops@example.com"
    assert inventory.leftovers(_access(moto_server), STAGE, STACK)  # the inventory sees the live window
    status = run(aws_env, "status", "--stage", STAGE, "--json")
    assert status.exit_code == 0 and f"ecomctl-{STAGE}-reaper" in status.stdout, status.stdout[-2000:]
    assert f"ecomctl-{STAGE}-sweeper" in status.stdout
    assert "ecomctl-account-sweeper" in status.stdout

    # Data in the lake: moto would keep a non-empty bucket after DeleteStack; the reaper empties it.
    lake = outputs["LakeBucket"]
    client(moto_server, "s3").put_object(Bucket=lake, Key="year=2030/a.json", Body=b"{}")

    down = run(aws_env, "down", "--stage", STAGE, "--yes", "--json")
    assert down.exit_code == 0, down.stderr[-3000:]
    result = json.loads(down.stdout)
    assert result["stopped"] and result["leftovers"] == [] and result["final_cost"].startswith("$")
    assert any("rest-api" in s for s in result["swept"])  # moto's REST API leak, caught and deleted
    # Judged by inventory: nothing of the stage is left, the schedule and its role are gone.
    assert inventory.leftovers(_access(moto_server), STAGE, STACK) == []
    assert teardown.stored(_access(moto_server), STAGE) is None
    assert teardown.stored(_access(moto_server), STAGE, sweeper=True) is None
    # The window's reaper is gone too; the account's sweeper stays (the backstop for every stage).
    left = [f["FunctionName"] for f in client(moto_server, "lambda").list_functions()["Functions"]]
    assert left == ["ecomctl-account-sweeper"]
    assert not (Path(aws_env["ECOMCTL_HOME"]) / "windows" / f"{STAGE}.json").exists()
    again = run(aws_env, "down", "--stage", STAGE, "--yes", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout) == {"window": None, "stopped": False}


def test_the_inventory_catches_a_kept_bucket_and_a_leaked_rest_api(aws_env, moto_server, monkeypatch):
    up = run(aws_env, "up", "--target", "aws", "--ttl", "1h", "--stage", STAGE, "--yes", "--json")
    assert up.exit_code == 0, up.stderr[-3000:]
    access = _access(moto_server)
    lake = client(moto_server, "cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
    bucket = next(o["OutputValue"] for o in lake if o["OutputKey"] == "LakeBucket")
    client(moto_server, "s3").put_object(Bucket=bucket, Key="k", Body=b"x")
    # A plain DeleteStack, as the schedule sends it: moto says DELETE_COMPLETE ...
    cf = client(moto_server, "cloudformation")
    cf.delete_stack(StackName=STACK)
    with pytest.raises(ClientError):
        cf.describe_stacks(StackName=STACK)
    # ... but the inventory still lists the kept bucket and the REST API.
    kinds = {kind for kind, _ in inventory.leftovers(access, STAGE, STACK)}
    assert {"bucket", "rest-api"} <= kinds
    # A reaper that could not remove them must not call the window down.
    monkeypatch.setattr(Reaper, "sweep", lambda self, report: None)
    down = run(aws_env, "down", "--stage", STAGE, "--yes")
    assert down.exit_code != 0 and "left:" in down.stderr and "bucket" in down.stderr and "rest-api" in down.stderr
    assert (Path(aws_env["ECOMCTL_HOME"]) / "windows" / f"{STAGE}.json").exists()  # kept, so down can retry
    monkeypatch.undo()
    for key, value in aws_env.items():
        monkeypatch.setenv(key, value)
    assert run(aws_env, "down", "--stage", STAGE, "--yes").exit_code == 0
    assert inventory.leftovers(access, STAGE, STACK) == []


def test_a_failed_deploy_leaves_the_teardown_armed(aws_env, moto_server, monkeypatch):
    def broken(*_a: Any, **_k: Any) -> Any:
        raise deploy.DeployFailed("cdk deploy of ecom-gd failed (exit 1): injected")

    monkeypatch.setattr(deploy, "deploy", broken)
    up = run(aws_env, "up", "--target", "aws", "--ttl", "1h", "--stage", STAGE, "--yes")
    assert up.exit_code != 0 and "injected" in up.stderr and "Traceback" not in up.stderr
    assert teardown.stored(_access(moto_server), STAGE) is not None  # still armed
    state = json.loads((Path(aws_env["ECOMCTL_HOME"]) / "windows" / f"{STAGE}.json").read_text())
    assert state["status"] == "failed" and state["part"]["schedule"]["schedule"] == "ecomctl-gd-teardown"
    assert run(aws_env, "down", "--stage", STAGE, "--yes").exit_code == 0
    assert teardown.stored(_access(moto_server), STAGE) is None


def test_arming_failure_deploys_nothing(aws_env, moto_server, monkeypatch):
    calls: list[Any] = []
    monkeypatch.setattr(deploy, "deploy", lambda *a, **k: calls.append(a))

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no scheduler"}}, "CreateSchedule")

    monkeypatch.setattr(teardown, "arm", refuse)
    up = run(aws_env, "up", "--target", "aws", "--ttl", "1h", "--stage", STAGE, "--yes")
    assert up.exit_code != 0 and "nothing was deployed" in up.stderr
    assert calls == [] and client(moto_server, "cloudformation").describe_stacks()["Stacks"][0]["StackName"] == \
        "CDKToolkit"
    assert not (Path(aws_env["ECOMCTL_HOME"]) / "windows" / f"{STAGE}.json").exists()


def test_extend_moves_the_stored_schedule(aws_env, moto_server):
    assert run(aws_env, "up", "--target", "aws", "--ttl", "1h", "--stage", STAGE, "--yes").exit_code == 0
    moved = run(aws_env, "extend", "30m", "--stage", STAGE, "--json")
    assert moved.exit_code == 0, moved.stderr
    deadline = json.loads(moved.stdout)["deadline"]
    assert teardown.stored(_access(moto_server), STAGE)["ScheduleExpression"] == f"at({deadline.rstrip('Z')})"
    too_long = run(aws_env, "extend", "2h", "--stage", STAGE)
    assert too_long.exit_code == 2 and "--allow-long" in too_long.stderr
    assert run(aws_env, "down", "--stage", STAGE, "--yes").exit_code == 0
