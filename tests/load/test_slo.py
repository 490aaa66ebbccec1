"""SLO gates: parsing, checking, and a bad --slo as a one-line usage error before anything runs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ecomctl.cli import app
from ecomctl.errors import ExitStatus, UsageError
from ecomctl.load import slo
from ecomctl.load.result import slo_figures


def test_gates_parse_units_into_ms_and_percent():
    gates = slo.parse("p99<800ms, errors<1%,p50<=0.2s,achieved>99%,lag<1s")
    assert [(g.figure, g.op, g.bound) for g in gates] == [
        ("p99", "<", 800.0), ("errors", "<", 1.0), ("p50", "<=", 200.0), ("achieved", ">", 99.0),
        ("lag", "<", 1000.0)]


@pytest.mark.parametrize("spec, says", [
    ("p99<800", "needs a unit"), ("errors<1ms", "is a percentage"), ("p98<1s", "unknown figure"),
    ("p99 800ms", "expected FIGURE<BOUND"), ("p99<fast", "expected FIGURE<BOUND"), ("p99<1s,", "expected"),
])
def test_malformed_gates_are_usage_errors_naming_the_gate(spec, says):
    with pytest.raises(UsageError, match=says):
        slo.parse(spec)


def test_check_names_each_violation_with_its_value():
    final = {"latency_ms": {"p99": 950.0, "p50": 40.0}, "requests": 200, "failures": 1, "scheduled": 200,
             "sent": 200, "dropped": 0, "target_rpm": 600, "achieved_rpm": 599.0, "profile": "steady"}
    verdicts = slo.check(slo.parse("p99<800ms,errors<1%,achieved>=99%"), slo_figures(final))
    assert [(v.gate, v.passed) for v in verdicts] == [("p99<800ms", False), ("errors<1%", True),
                                                       ("achieved>=99%", True)]
    assert verdicts[0].value == 950.0
    assert verdicts[1].value == pytest.approx(0.5)


@pytest.mark.parametrize("args, says", [
    (["--slo", "p99<800"], "bad --slo gate 'p99<800'"),
    (["--duration", "forever"], "invalid --duration 'forever'"),
    (["--profile", "tuesday"], "unknown profile"),
    (["--rpm", "0"], "invalid --rpm 0"),
])
def test_bad_load_options_are_one_line_usage_errors_without_a_window(tmp_path, monkeypatch, args, says):
    monkeypatch.setenv("ECOMCTL_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["load", "--rpm", "60", "--duration", "10s", *args])
    assert result.exit_code == ExitStatus.USAGE, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], result.output
    assert "Traceback" not in result.output
