"""The game-day report: self-contained HTML with a chart per figure, opened in a real Chromium."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from ecomctl.report import browser, charts
from ecomctl.report.model import GamedayReport, Phase, Sample, Verdict
from ecomctl.report.writers import write

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="no Chromium here (.ci/run installs it; in CI this test runs)")


def _report(held: bool = True, lost: int = 0) -> GamedayReport:
    r = GamedayReport(target="local", stage="dev", started_at="2026-12-02T00:00:00Z",
                      finished_at="2026-12-02T00:05:00Z", rpm_target=300)
    for i in range(30):
        t = i * 10.0
        r.samples.append(Sample(t, rpm=300.0, p99_ms=250.0 + (300 if 100 <= t < 160 else 0),
                                queues={"payment": 40 if 100 <= t < 160 else 0}, dlqs={"payment": 0},
                                breakers={"inventory": "OPEN" if 200 <= t < 230 else "CLOSED"}))
    r.phases = [Phase("baseline", 0, 90), Phase("payment-down", 100, 160, chaos=True)]
    r.verdicts = [Verdict("payment-down", True, "held", "all completed"),
                  Verdict("inventory-inconsistent", held, "held" if held else "hypothesis failed", "breaker")]
    r.reconciliation = {"placed": 1500, "terminal": 1500 - lost, "lost": lost}
    return r


def test_verdict_follows_hypotheses_and_losses():
    assert _report().passed
    assert not _report(held=False).passed
    assert not _report(lost=1).passed
    assert not GamedayReport(target="local", stage="dev", started_at="x").passed  # no scenario ran


def test_report_files_hold_a_chart_per_figure_and_a_verdict_per_scenario(tmp_path):
    paths = write(_report(held=False), tmp_path)
    page = paths["html"].read_text()
    for name in charts.FIGURES:
        assert re.search(rf'<figure id="chart-{name}"><figcaption>{name}</figcaption><svg', page), name
    assert page.count("<svg") == len(charts.FIGURES)
    assert "payment-down" in page and "inventory-inconsistent" in page and "FAILED" in page
    # Nothing to fetch: no script, stylesheet, image or font from anywhere.
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "<script" not in page
    assert "| inventory-inconsistent | hypothesis failed |" in paths["markdown"].read_text()


@needs_chromium
def test_report_opens_offline_in_headless_chromium(tmp_path):
    paths = write(_report(), tmp_path)
    assert browser.network_requests(paths["html"]) == []
    shown = browser.dom(paths["html"])
    assert shown.count("<svg") == len(charts.FIGURES) and "PASSED" in shown


@needs_chromium
def test_the_network_check_can_fail(tmp_path):
    page = tmp_path / "online.html"
    page.write_text('<html><body><img src="http://127.0.0.1:9/chart.png"></body></html>')
    assert browser.network_requests(page) == ["http://127.0.0.1:9/chart.png"]
