"""The CLI in process (Typer's CliRunner): exit codes and one-line errors, no subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from ecomctl.cli import app
from ecomctl.errors import ExitStatus, explain

NO_AWS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
          "AWS_PROFILE": None, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
          "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": None}


def run(home: Path, *args: str, **env: Any) -> Any:
    runner = CliRunner()
    return runner.invoke(app, list(args), env={"ECOMCTL_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1", **env})


def one_line(result: Any, code: ExitStatus) -> str:
    assert result.exit_code == int(code), (result.exit_code, result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def write_state(home: Path, data: dict[str, Any], stage: str = "dev") -> Path:
    (home / "windows").mkdir(parents=True, exist_ok=True)
    path = home / "windows" / f"{stage}.json"
    path.write_text(json.dumps(data))
    return path


def aws_window(endpoint: str | None, **extra: Any) -> dict[str, Any]:
    return {"version": 2, "target": "aws", "stage": "dev", "deadline": "2999-01-01T00:00:00Z",
            "started_at": "2026-01-01T00:00:00Z", "ttl_s": 3600, "status": "ready",
            "aws_endpoint": endpoint, "region": "eu-west-1", "part": {"stack": "ecom-dev"}, **extra}


def test_no_window_is_a_clean_no_op(tmp_path):
    for args in (("status",), ("down",)):
        result = run(tmp_path, *args)
        assert result.exit_code == 0 and "no window" in result.stdout
    assert json.loads(run(tmp_path, "status", "--json").stdout) == {"window": None}
    assert json.loads(run(tmp_path, "down", "--json").stdout) == {"window": None, "stopped": False}


def test_every_command_is_registered():
    names = {c.name for c in app.registered_commands} | {c.callback.__name__ for c in app.registered_commands}
    assert {"up", "down", "status", "synth"} <= names


@pytest.mark.parametrize(("args", "code", "says"), [
    (("up", "--target", "mars"), ExitStatus.USAGE, "unknown target 'mars'"),
    (("up", "--ttl", "0m"), ExitStatus.USAGE, "--ttl"),
    (("up", "--ttl", "4h"), ExitStatus.USAGE, "allow-long"),
    (("up", "--target", "aws", "--ttl", "5h"), ExitStatus.USAGE, "allow-long"),  # before any AWS call
])
def test_refused_before_anything_starts(tmp_path, args, code, says):
    assert says in one_line(run(tmp_path, *args), code)
    assert not (tmp_path / "windows").exists() or not list((tmp_path / "windows").iterdir())


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "corrupt"),
    (json.dumps({"target": "local", "stage": "dev"}), "another version"),  # a version-1 file
    (json.dumps({"version": 7, "target": "local"}), "another version"),
    (json.dumps({**aws_window(None), "ttl_s": "lots"}), "'ttl_s' has the wrong type"),
    (json.dumps({**aws_window(None), "part": []}), "'part' has the wrong type"),
    (json.dumps({k: v for k, v in aws_window(None).items() if k != "deadline"}), "missing deadline"),
])
def test_bad_state_file_is_one_line_and_kept(tmp_path, content, says):
    path = write_state(tmp_path, {})
    path.write_text(content)
    for args in (("status",), ("down",), ("up",)):
        assert says in one_line(run(tmp_path, *args), ExitStatus.PRECONDITION)
    assert path.read_text() == content  # nothing is lost: the operator decides


def test_unreachable_endpoint(tmp_path):
    write_state(tmp_path, aws_window("http://127.0.0.1:9"))
    line = one_line(run(tmp_path, "status"), ExitStatus.AWS_UNAVAILABLE)
    assert "cannot reach the AWS endpoint" in line


def test_no_credentials(tmp_path):
    write_state(tmp_path, aws_window(None))
    line = one_line(run(tmp_path, "status", **NO_AWS), ExitStatus.AWS_AUTH)
    assert "no AWS credentials" in line


def test_unknown_profile(tmp_path):
    write_state(tmp_path, aws_window(None))
    line = one_line(run(tmp_path, "--profile", "nope", "status", **NO_AWS), ExitStatus.AWS_AUTH)
    assert "nope" in line


@pytest.mark.parametrize(("code", "status", "says"), [
    ("AccessDeniedException", ExitStatus.AWS_AUTH, "refused"),
    ("ExpiredToken", ExitStatus.AWS_AUTH, "refused"),
    ("ThrottlingException", ExitStatus.AWS_UNAVAILABLE, "throttled"),
    ("ResourceNotFoundException", ExitStatus.NOT_FOUND, "not found"),
    ("QueueDoesNotExist", ExitStatus.ERROR, "AWS error"),
])
def test_client_errors_explained(code, status, says):
    exc = ClientError({"Error": {"Code": code, "Message": "detail\nsecond line"}}, "GetQueueUrl")
    message, exit_status = explain(exc)  # type: ignore[misc]
    assert exit_status == status and says in message and "GetQueueUrl" in message and "\n" not in message


def test_unexpected_error_is_one_line(tmp_path, monkeypatch):
    from ecomctl import lifecycle

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(lifecycle, "status", boom)
    line = one_line(run(tmp_path, "status"), ExitStatus.ERROR)
    assert "RuntimeError: a bug" in line and "ECOMCTL_DEBUG=1" in line
