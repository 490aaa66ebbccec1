"""Deploy the synthesized assembly with the pinned cdk CLI, showing the stack's events.

``cdk deploy --app <assembly dir> --method direct`` publishes the assets to the bootstrap
bucket and creates the stack (direct: CreateStack/UpdateStack, no change set, so a failed
first create rolls back by itself). The CLI's exit code is not trusted on its own: the
stack's status and outputs are read back from CloudFormation afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ecomctl.aws import cdk
from ecomctl.errors import UserError
from ecomctl.targets.base import AwsAccess

DEPLOY_TIMEOUT_S = 3600
GOOD = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


class DeployFailed(UserError):
    pass


def _env(access: AwsAccess, profile: str | None) -> dict[str, str]:
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "AWS_REGION": access.region,
           "AWS_DEFAULT_REGION": access.region}
    if profile:
        env["AWS_PROFILE"] = profile
    if access.endpoint_url:
        # The cdk CLI builds its TemplateURL from the S3 endpoint; moto reads the bucket from the
        # path only for a `localhost` host (aws_on_moto.md), so 127.0.0.1 is spelt localhost.
        env["AWS_ENDPOINT_URL"] = access.endpoint_url.replace("://127.0.0.1", "://localhost")
    return env


def _events(access: AwsAccess, stack: str, seen: set[str]) -> list[str]:
    try:
        events = access.client("cloudformation").describe_stack_events(StackName=stack)["StackEvents"]
    except Exception:  # the stack does not exist yet
        return []
    fresh = [e for e in reversed(events) if e["EventId"] not in seen]
    seen.update(e["EventId"] for e in fresh)
    return [f"{e['LogicalResourceId']} {e['ResourceStatus']}" for e in fresh]


def _follow(access: AwsAccess, stack: str, done: threading.Event, progress: Progress, task: Any) -> None:
    seen: set[str] = set()
    while not done.wait(2.0):
        for line in _events(access, stack, seen):
            progress.update(task, description=f"{stack}: {line}")
            progress.console.print(f"  {line}", highlight=False)


def _run(cmd: list[str], env: dict[str, str], progress: Progress, task: Any) -> tuple[int, list[str]]:
    lines: list[str] = []
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            if line:
                lines.append(line)
                progress.update(task, description=f"cdk: {line[:100]}")
        code = proc.wait(timeout=DEPLOY_TIMEOUT_S)
    return code, lines


def stack_outputs(access: AwsAccess, stack: str) -> tuple[str, str, dict[str, str]]:
    """(status, creation time ISO, outputs) of the stack, read from CloudFormation."""
    found = access.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    return str(found["StackStatus"]), found["CreationTime"].isoformat(), outputs


def deploy(access: AwsAccess, assembly: Path, stack: str, console: Console,
           profile: str | None = None) -> tuple[str, dict[str, str]]:
    """Deploy ``stack`` from ``assembly``; returns (creation time, outputs) once CloudFormation agrees."""
    binary = cdk.ensure()
    with tempfile.TemporaryDirectory(prefix="ecomctl-deploy-") as tmp:
        outputs_file = Path(tmp) / "outputs.json"
        cmd = [str(binary), "deploy", "--app", str(assembly), "--require-approval", "never", "--ci",
               "--no-notices", "--method", "direct", "--progress", "events", "--outputs-file", str(outputs_file),
               stack]
        done = threading.Event()
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task(f"deploying {stack}", total=None)
            follower = threading.Thread(target=_follow, args=(access, stack, done, progress, task), daemon=True)
            follower.start()
            try:
                code, lines = _run(cmd, _env(access, profile), progress, task)
            finally:
                done.set()
                follower.join(timeout=5)
        printed = json.loads(outputs_file.read_text()).get(stack, {}) if outputs_file.exists() else {}
    if code != 0:
        raise DeployFailed(f"cdk deploy of {stack} failed (exit {code}): {_last_error(lines)}")
    status, created, outputs = stack_outputs(access, stack)
    if status not in GOOD:
        raise DeployFailed(f"cdk deploy said done, but stack {stack} is {status}")
    return created, {**printed, **outputs}


def _last_error(lines: list[str]) -> str:
    for i in range(len(lines) - 1, -1, -1):
        if "❌" in lines[i] or "Error" in lines[i] or "failed" in lines[i]:
            # The cdk CLI prints the reason on the lines after its verdict (‣ MalformedPolicyDocument: ...).
            return " ".join(line.strip() for line in lines[i:i + 3])[:400]
    return lines[-1][:300] if lines else "no output"
