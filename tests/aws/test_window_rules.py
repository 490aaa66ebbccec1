"""Window rules: the lock, extend's bound, windows listing; unit tests and the CLI in process."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecomctl.aws.window_ops import check_extension
from ecomctl.cli import app
from ecomctl.errors import ExitStatus, UsageError
from ecomctl.locks import LockHeld, lock_path, stage_lock


def run(home: Path, *args: str, **env: Any) -> Any:
    return CliRunner().invoke(app, list(args), env={"ECOMCTL_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1",
                                                     **env})


def _hold(home: str, stage: str, ready: Any, release: Any) -> None:
    import os

    os.environ["ECOMCTL_HOME"] = home
    with stage_lock(stage, "up"):
        ready.set()
        release.wait(30)


@pytest.fixture
def held(tmp_path, monkeypatch):
    """The dev stage's lock held by another process (as a second terminal would)."""
    monkeypatch.setenv("ECOMCTL_HOME", str(tmp_path))
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(tmp_path), "dev", ready, release))
    proc.start()
    assert ready.wait(30)
    yield proc
    release.set()
    proc.join(10)


def test_a_held_lock_refuses_at_once_and_names_the_holder(held, tmp_path):
    with pytest.raises(LockHeld, match=f"pid {held.pid}"), stage_lock("dev", "up"):
        pass
    with stage_lock("other", "up"):  # another stage is free
        pass


@pytest.mark.parametrize("args", [("up", "--target", "local", "--ttl", "10m"), ("down",), ("extend", "30m")])
def test_up_down_extend_of_a_locked_stage_exit_4_and_create_nothing(held, tmp_path, args):
    result = run(tmp_path, *args)
    assert result.exit_code == ExitStatus.PRECONDITION, result.stderr
    assert "is locked by pid" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "windows").exists() or not list((tmp_path / "windows").iterdir())


def test_the_lock_is_released_when_its_holder_dies(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOMCTL_HOME", str(tmp_path))
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(tmp_path), "dev", ready, release))
    proc.start()
    assert ready.wait(30)
    proc.kill()
    proc.join(10)
    with stage_lock("dev", "up"):  # the kernel dropped it: no stale lock to clean
        assert lock_path("dev").read_text().strip().isdigit()


def test_extension_bound_counts_from_the_start():
    start = datetime(2030, 1, 1, 12, tzinfo=UTC)
    iso = lambda dt: dt.isoformat().replace("+00:00", "Z")  # noqa: E731
    deadline = iso(start + timedelta(hours=2, minutes=40))
    new, length = check_extension(iso(start), deadline, timedelta(minutes=20), allow_long=False)
    assert (new, length) == ("2030-01-01T15:00:00Z", 3 * 3600)  # exactly 3h: allowed
    with pytest.raises(UsageError, match="3h01m long"):
        check_extension(iso(start), deadline, timedelta(minutes=21), allow_long=False)
    new, length = check_extension(iso(start), deadline, timedelta(hours=2), allow_long=True)
    assert length == 4 * 3600 + 40 * 60


@pytest.mark.parametrize("by", ["0m", "soon", "5x"])
def test_extend_with_a_bad_duration_is_a_usage_error(tmp_path, by):
    result = run(tmp_path, "extend", by)
    assert result.exit_code == ExitStatus.USAGE and "invalid duration" in result.stderr


@pytest.mark.parametrize("address", ["ops", "ops@", "a b@example.com", "@example.com"])
def test_up_with_a_bad_notify_address_is_a_usage_error_before_anything_starts(tmp_path, address):
    result = run(tmp_path, "up", "--target", "aws", "--notify", address, "--yes")
    assert result.exit_code == ExitStatus.USAGE and "invalid --notify" in result.stderr
    assert not (tmp_path / "windows").exists() or not list((tmp_path / "windows").iterdir())


def test_extend_and_windows_without_any_window(tmp_path):
    result = run(tmp_path, "extend", "30m")
    assert result.exit_code == ExitStatus.PRECONDITION and "no window" in result.stderr
    listed = run(tmp_path, "windows", "--json")
    assert listed.exit_code == 0 and json.loads(listed.stdout) == {"windows": [], "stale_removed": []}


def test_windows_lists_an_aws_window_with_its_recorded_rate_and_cleans_a_stale_local_one(tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    iso = lambda dt: dt.isoformat().replace("+00:00", "Z")  # noqa: E731
    (tmp_path / "windows").mkdir()
    aws = {"version": 2, "target": "aws", "stage": "blue", "status": "ready", "region": "us-east-1",
           "started_at": iso(now - timedelta(hours=1)), "deadline": iso(now + timedelta(hours=1)), "ttl_s": 7200,
           "part": {"account": "123456789012", "stack": "ecom-blue", "usd_per_hour": 0.5,
                    "stack_created_at": iso(now - timedelta(minutes=30))}}
    local = {"version": 2, "target": "local", "stage": "gone", "status": "ready", "region": "us-east-1",
             "started_at": iso(now - timedelta(hours=1)), "deadline": iso(now + timedelta(hours=1)), "ttl_s": 7200,
             "part": {"pid": 999999, "pid_started": 1.0}}
    (tmp_path / "windows" / "blue.json").write_text(json.dumps(aws))
    (tmp_path / "windows" / "gone.json").write_text(json.dumps(local))
    result = run(tmp_path, "windows", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    [row] = data["windows"]
    assert row["stage"] == "blue" and row["target"] == "aws" and 3500 <= row["left_s"] <= 3600
    # Billing counts from the stack's creation (server clock), not the CLI's start: 30 min at $0.50/h.
    assert row["usd_so_far"] == pytest.approx(0.25, abs=0.002) and row["usd_on_aws"] == row["usd_so_far"]
    assert data["stale_removed"] and data["stale_removed"][0].startswith("gone")
    assert not (tmp_path / "windows" / "gone.json").exists()
