"""Shared by the chaos end-to-end modules: one window per module, the CLI as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from tests.local.helpers import Run, cli, cli_env


def journal(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def chaos(home: Path, stage: str, *args: str, timeout: float = 240) -> Run:
    return cli(home, "chaos", *args, "--stage", stage, timeout=timeout)


def popen_chaos(home: Path, stage: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", "from ecomctl.cli import main; main()", "chaos", *args,
                             "--stage", stage], env=cli_env(home), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def ssm(window: dict[str, Any]) -> Any:
    return boto3.client("ssm", endpoint_url=window["aws_endpoint"], region_name="us-east-1",  # type: ignore[call-overload]
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def client(window: dict[str, Any], service: str) -> Any:
    return boto3.client(service, endpoint_url=window["aws_endpoint"], region_name="us-east-1",  # type: ignore[call-overload]
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def flags(window: dict[str, Any], stage: str) -> dict[str, dict[str, Any]]:
    params = ssm(window).get_parameters_by_path(Path=f"/ecomshop/{stage}/chaos", Recursive=True)["Parameters"]
    return {p["Name"].rsplit("/", 1)[-1]: json.loads(p["Value"]) for p in params}


def wait_for_flag(window: dict[str, Any], stage: str, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = flags(window, stage)
        if name in found:
            return found[name]
        time.sleep(0.2)
    raise AssertionError(f"flag {name} never appeared")


def probes(j: dict[str, Any], phase: str | None = None) -> dict[str, dict[str, Any]]:
    return {p["probe"]: p for p in j["probes"] if phase in (None, p["phase"])}
