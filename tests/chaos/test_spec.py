"""Experiment files: every shipped scenario validates; a malformed one is refused with one
line naming the file, the line and the field (in process, no window needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ecomctl.assets import chaos_dir
from ecomctl.chaos import catalog, spec
from ecomctl.cli import app
from ecomctl.errors import ExitStatus, UsageError

SCENARIOS = {"payment-down", "inventory-inconsistent", "duplicate-orders", "shipping-contract-change",
             "storage-cost-explosion"}


def _cli(home: Path, *args: str):
    return CliRunner().invoke(app, list(args), env={"ECOMCTL_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"})


def _one_line(result, code: ExitStatus) -> str:
    assert result.exit_code == int(code), (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def test_the_five_scenarios_ship_and_validate():
    loaded = {e.name: e for _, e in catalog.load_all()}
    assert set(loaded) == SCENARIOS
    assert loaded["payment-down"].flags[0].point == "payment.charge"
    assert loaded["storage-cost-explosion"].burst is not None
    assert all(e.hypothesis.after for e in loaded.values())  # every scenario verifies something afterwards


def test_list_shows_each_scenario_and_what_it_verifies(tmp_path):
    result = _cli(tmp_path, "chaos", "list", "--json")
    assert result.exit_code == 0, result.stderr
    import json

    rows = {r["name"]: r for r in json.loads(result.stdout)["scenarios"]}
    assert set(rows) == SCENARIOS and "charged twice" in rows["payment-down"]["verifies"]
    table = _cli(tmp_path, "chaos", "list")
    assert "inventory-inconsistent" in table.stdout and "inventory.reserve" in table.stdout


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


def _shipped(name: str) -> str:
    return (chaos_dir() / f"{name}.yaml").read_text()


@pytest.mark.parametrize(("edit", "line_of", "field", "why"), [
    (lambda t: t.replace("rate: 1.0", "rate: 7"), "rate: 7", "flags[0].rate", "less than or equal to 1"),
    (lambda t: t.replace("point: payment.charge", "point: payment.chargee"), "point: payment.chargee",
     "flags[0].point", "unknown injection point"),
    (lambda t: t.replace("probe: run_orders_lost", "probe: run_orders_lots"), "probe: run_orders_lots",
     "hypothesis.after[2].probe", "unknown probe"),
    (lambda t: t.replace("duration: 20s", "duration: soon"), "duration: soon", "duration", "use 30s, 5m"),
    (lambda t: t.replace("effect: error", "effect: explode"), "effect: explode", "flags[0].effect", "error"),
    (lambda t: t.replace("    rate: 1.0\n", "    rate: 1.0\n    colour: red\n"), "colour: red",
     "flags[0].colour", "Extra inputs"),
])
def test_a_malformed_file_gets_one_line_with_file_line_and_field(tmp_path, edit, line_of, field, why):
    text = edit(_shipped("payment-down"))
    path = _write(tmp_path, text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if line_of in row)
    message = _one_line(_cli(tmp_path, "chaos", "run", "--file", str(path)), ExitStatus.USAGE)
    assert f"{path}:{line}: {field}:" in message and why in message, message


def test_a_missing_tolerance_and_bad_yaml_are_named_too(tmp_path):
    text = _shipped("payment-down").replace("      max: 0\n      within: 120s", "      within: 120s", 1)
    message = _one_line(_cli(tmp_path, "chaos", "run", "--file", str(_write(tmp_path, text))), ExitStatus.USAGE)
    assert "hypothesis.after[1]" in message and "needs a tolerance" in message, message
    broken = _write(tmp_path, "name: x\nflags: [\n")
    message = _one_line(_cli(tmp_path, "chaos", "run", "--file", str(broken)), ExitStatus.USAGE)
    assert f"{broken}:3: not valid YAML" in message, message
    short_form = _one_line(_cli(tmp_path, "chaos", "--file", str(broken)), ExitStatus.USAGE)  # no `run`
    assert short_form == message


def test_bad_command_lines_are_one_line_errors(tmp_path):
    assert "unknown scenario 'nope'" in _one_line(_cli(tmp_path, "chaos", "nope"), ExitStatus.USAGE)
    assert "--rate" in _one_line(_cli(tmp_path, "chaos", "payment-down", "--rate", "2"), ExitStatus.USAGE)
    assert "--duration" in _one_line(_cli(tmp_path, "chaos", "payment-down", "--duration", "x"), ExitStatus.USAGE)
    assert "no window" in _one_line(_cli(tmp_path, "chaos", "payment-down"), ExitStatus.PRECONDITION)
    assert "no window" in _one_line(_cli(tmp_path, "chaos", "status"), ExitStatus.PRECONDITION)
    assert "--all" in _one_line(_cli(tmp_path, "chaos", "off"), ExitStatus.USAGE)


def test_a_sixth_scenario_is_a_new_file(tmp_path):
    data = yaml.safe_load(_shipped("payment-down"))
    data.update(name="payment-slow", flags=[{"point": "payment", "effect": "latency", "latency_ms": 800}])
    path = tmp_path / "payment-slow.yaml"
    path.write_text(yaml.safe_dump(data))
    experiment = spec.load(path)
    assert experiment.flags[0].value(None) == {"effect": "latency", "rate": 1.0, "latency_ms": 800}


def test_tolerances_hold_and_fail():
    probe = spec.ProbeSpec(probe="dlq_depth", max=0)
    assert probe.holds(0) and not probe.holds(1) and not probe.holds(None)
    state = spec.ProbeSpec(probe="breaker_state", equals="OPEN")
    assert state.holds("OPEN") and not state.holds("CLOSED")
    with pytest.raises(UsageError):
        catalog.resolve(None, None)


def test_after_recovery_a_failed_probe_ends_the_wait_instead_of_the_longest_within():
    """A probe past its `within` fails the hypothesis; the others are not waited on for a minute more."""
    import time
    from types import SimpleNamespace

    from ecomctl.chaos.journal import ProbeResult
    from ecomctl.chaos.runner import ChaosRun, QuietUI, RunOptions
    from ecomctl.chaos.spec import ProbeSpec

    calls: list[str] = []

    def evaluate(phase: str, spec: ProbeSpec) -> ProbeResult:
        calls.append(spec.probe)
        return ProbeResult(phase, spec.probe, {}, "max 0", 1, False, "now")

    run = object.__new__(ChaosRun)
    run.ui, run.options = QuietUI(), RunOptions(tick_s=0.01)
    run.journal = SimpleNamespace(probes=[])
    run._evaluate, run._sample_breakers = evaluate, lambda: None
    started = time.monotonic()
    run._verify_after([ProbeSpec(probe="keys_without_exactly_one_order", max=0, within=0.05),
                       ProbeSpec(probe="keys_without_exactly_one_charge", max=0, within=60)])
    assert time.monotonic() - started < 10
    fast, slow = run.journal.probes
    assert not fast.ok and not slow.ok and "not waited on" in slow.note
