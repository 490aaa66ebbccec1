"""CLI validation for the local target: refused before anything starts, one line, no traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import timedelta

import pytest

from ecomctl import window
from ecomctl.errors import UsageError
from ecomctl.window import check_ttl, parse_ttl, resolve_cells
from tests.local.helpers import cli, one_line_error


@pytest.mark.parametrize(
    ("text", "expected"),
    [("45m", timedelta(minutes=45)), ("2h", timedelta(hours=2)), ("2h30m", timedelta(hours=2, minutes=30)),
     ("15s", timedelta(seconds=15)), ("1h0m30s", timedelta(hours=1, seconds=30)), (" 2H ", timedelta(hours=2))],
)
def test_ttl_forms(text, expected):
    assert parse_ttl(text) == expected


@pytest.mark.parametrize("text", ["0m", "0h0m", "-5m", "abc", "2x", "", "m", "30m2h5", "2h2h", "1.5h"])
def test_bad_ttl_refused(text):
    with pytest.raises(UsageError):
        parse_ttl(text)


def test_long_ttl_needs_allow_long():
    with pytest.raises(UsageError, match="allow-long"):
        check_ttl(parse_ttl("3h30m"), allow_long=False)
    check_ttl(parse_ttl("3h30m"), allow_long=True)
    check_ttl(parse_ttl("3h"), allow_long=False)


@pytest.mark.parametrize("ttl", ["0m", "-10m", "soon", "4h"])
def test_up_refuses_bad_ttl_before_starting(tmp_path, ttl):
    run = cli(tmp_path, "up", "--target", "local", f"--ttl={ttl}")
    one_line_error(run)
    assert not (tmp_path / "windows").exists() or not any((tmp_path / "windows").iterdir())


@pytest.mark.parametrize(("args", "says"), [
    (["--cells", "0"], "invalid --cells 0"), (["--cells", "9"], "invalid --cells 9"),
    (["--cells", "2", "--target", "aws"], "for the local target")])
@pytest.mark.parametrize("command", ["up", "gameday"])
def test_bad_cells_refused_before_starting(tmp_path, command, args, says):
    run = cli(tmp_path, command, *args)
    one_line_error(run)
    assert run.code == 2 and says in run.err
    assert not (tmp_path / "windows").exists() or not any((tmp_path / "windows").iterdir())


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (3, 3), (16, window.AUTO_CELLS_MAX)])
def test_default_cells_are_one_per_usable_core(monkeypatch, cores, expected):
    monkeypatch.delenv(window.CELLS_ENV, raising=False)
    monkeypatch.setattr(window, "usable_cores", lambda: cores)
    assert resolve_cells(None, "local") == expected
    assert resolve_cells(None, "aws") == 1  # Lambda scales each function by itself
    assert resolve_cells(1, "local") == 1  # what is asked for wins
    monkeypatch.setenv(window.CELLS_ENV, "1")
    assert resolve_cells(None, "local") == 1
    assert resolve_cells(None, "aws") == 1


@pytest.mark.parametrize("value", ["two", "0", "9", "-1"])
def test_bad_cells_variable_refused_before_starting(tmp_path, value):
    run = cli(tmp_path, "up", ECOMCTL_LOCAL_CELLS=value)
    one_line_error(run)
    assert run.code == 2 and "cells" in run.err
    assert not (tmp_path / "windows").exists() or not any((tmp_path / "windows").iterdir())


def test_up_aws_target_without_credentials(tmp_path):
    run = cli(tmp_path, "up", "--target", "aws", "--yes", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
              AWS_CONFIG_FILE="/nonexistent", AWS_EC2_METADATA_DISABLED="true")
    one_line_error(run)
    assert run.code == 5 and "no AWS credentials" in run.err


def test_down_and_status_without_window(tmp_path):
    down = cli(tmp_path, "down")
    assert down.code == 0 and "no window" in down.out
    status = cli(tmp_path, "status")
    assert status.code == 0 and "no window" in status.out
    as_json = cli(tmp_path, "status", "--json")
    assert as_json.code == 0 and as_json.json() == {"window": None}


def test_corrupt_state_file_is_one_line(tmp_path):
    (tmp_path / "windows").mkdir()
    (tmp_path / "windows" / "dev.json").write_text("{not json")
    for args in (("status",), ("status", "--json"), ("up",), ("down",)):
        run = cli(tmp_path, *args)
        one_line_error(run)
        assert "corrupt" in run.err


def test_stale_state_of_dead_process_is_cleaned(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "windows").mkdir()
    state_file = tmp_path / "windows" / "dev.json"
    state_file.write_text(json.dumps({
        "version": 2, "target": "local", "stage": "dev", "deadline": "2030-01-01T00:00:00Z",
        "started_at": "2020-01-01T00:00:00Z", "ttl_s": 7200, "status": "ready",
        "api_url": "http://127.0.0.1:1", "aws_endpoint": "http://127.0.0.1:2",
        "part": {"log": str(tmp_path / "x.log"), "pid": dead.pid, "pid_started": 1.0, "ports": [1, 2]},
    }))
    run = cli(tmp_path, "status", "--json")
    assert run.code == 0, run
    assert run.json() == {"window": None}
    assert "stale" in run.err
    assert not state_file.exists()


def test_port_in_use_is_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        run = cli(tmp_path, "up", "--ttl", "5m", "--port", str(port))
    one_line_error(run)
    assert f"port {port}" in run.err
    assert not (tmp_path / "windows" / "dev.json").exists()
