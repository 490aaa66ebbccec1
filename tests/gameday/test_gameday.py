"""`ecomctl gameday --quick` end to end on the local target, as CI runs it."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from ecomctl.report import browser, charts
from tests.local.helpers import cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ALL_SCENARIOS = ("payment-down", "inventory-inconsistent", "duplicate-orders", "shipping-contract-change",
                 "storage-cost-explosion")
# CI runs two scenarios in the drill (each of the five runs end to end in tests/chaos, and the five
# in one drill take ~5 min here); ECOMCTL_TEST_FULL_GAMEDAY=1 runs the drill with all five.
SCENARIOS = ALL_SCENARIOS if os.environ.get("ECOMCTL_TEST_FULL_GAMEDAY") == "1" else ("payment-down",
                                                                                     "duplicate-orders")


def _nothing_left(home) -> None:
    assert cli(home, "status", "--json").json() == {"window": None}
    assert not list((home / "windows").glob("*.json")) if (home / "windows").exists() else True


@pytest.mark.timeout(960)
def test_quick_game_day_passes_and_writes_an_offline_report(tmp_path):
    report = tmp_path / "report"
    run = cli(tmp_path, "gameday", "--quick", "--rpm", "120", "--scenarios", ",".join(SCENARIOS),
              "--report", str(report), "--json", timeout=900,
              ECOMCTL_LOCAL_API_AUTH="iam")  # the drill's background load signs, as on AWS
    assert run.code == 0, run.err[-3000:]
    result = run.json()
    assert result["passed"] is True
    assert sorted(v["scenario"] for v in result["verdicts"]) == sorted(SCENARIOS)
    assert all(v["held"] for v in result["verdicts"]), result["verdicts"]
    rec = result["reconciliation"]
    assert rec["lost"] == 0 and rec["accepted"] > 0 and rec["accounted"] == rec["accepted"], rec
    assert any(s["rpm"] for s in result["samples"]) and any(s["breakers"] for s in result["samples"])
    assert {p["name"] for p in result["phases"] if p["chaos"]} == set(SCENARIOS)
    _nothing_left(tmp_path)  # the drill brought the window up, so it took it down

    page = (report / "report.html").read_text()
    assert page.count("<svg") == len(charts.FIGURES)
    for name in SCENARIOS:
        assert re.search(rf"<td>{name}</td><td><span class=\"pass\">held</span>", page), name
    assert "| payment-down | held |" in (report / "summary.md").read_text()
    assert json.loads((report / "report.json").read_text())["passed"] is True
    if shutil.which("chromium") or os.environ.get("CI"):
        assert browser.network_requests(report / "report.html") == []


@pytest.mark.timeout(660)
def test_a_weakened_platform_fails_the_game_day(tmp_path):
    report = tmp_path / "report"
    run = cli(tmp_path, "gameday", "--quick", "--rpm", "60", "--scenarios", "duplicate-orders",
              "--report", str(report), timeout=600, ECOMSHOP_WEAKENED_NO_IDEMPOTENCY="1")
    assert run.code == 10, (run.code, run.err[-2000:])
    assert "duplicate-orders" in run.err.splitlines()[-1] and "Traceback" not in run.err
    saved = json.loads((report / "report.json").read_text())
    assert saved["passed"] is False and saved["verdicts"][0]["held"] is False
    _nothing_left(tmp_path)


def test_bad_options_are_refused_before_anything_starts(tmp_path):
    for args, says in ((("--scenarios", "payment-down,nope"), "unknown scenario"), (("--rpm", "0"), "--rpm"),
                       (("--target", "aws"), "--yes"), (("--ttl", "9h"), "allow-long")):
        run = cli(tmp_path, "gameday", *args)
        assert run.code in (2, 4) and says in run.err and "Traceback" not in run.err, run
    assert not (tmp_path / "windows").exists() or not list((tmp_path / "windows").iterdir())
