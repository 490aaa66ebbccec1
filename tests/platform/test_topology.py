"""The topology's invariants: what both renderers rely on."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from ecomshop.topology import VISIBILITY_FACTOR, build_topology

TOPOLOGY = build_topology("dev")


def test_every_consumed_queue_has_a_consumer_and_a_long_enough_visibility_timeout():
    for queue in TOPOLOGY.queues:
        consumer = TOPOLOGY.consumer_of(queue.logical)
        assert consumer is not None, queue.logical
        assert queue.visibility_timeout_s >= VISIBILITY_FACTOR * consumer.timeout_s
        assert queue.max_receive_count >= 3


def test_every_queue_trigger_and_rule_target_names_a_queue():
    queues = {q.logical for q in TOPOLOGY.queues}
    for fn in TOPOLOGY.functions:
        if fn.trigger and fn.trigger.startswith("queue:"):
            assert fn.trigger.split(":", 1)[1] in queues
    for rule in TOPOLOGY.rules:
        assert rule.target.split(":", 1)[1] in queues


def test_a_variable_means_the_same_reference_in_every_function():
    # one process hosts every handler on the local target: no conflicting meanings
    seen: dict[str, str] = {}
    for fn in TOPOLOGY.functions:
        for var, ref in fn.environment.items():
            assert seen.setdefault(var, ref) == ref, var


def test_the_saga_definition_has_a_substitution_for_every_placeholder():
    text = TOPOLOGY.saga.definition_file.read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    assert placeholders == set(TOPOLOGY.saga.substitutions)
    states = json.loads(text)["States"]
    assert {"Validate", "ReserveInventory", "ProcessPayment", "ShipOrder", "Complete",
            "ReleaseInventory", "RefundPayment", "CancelOrder"} <= set(states)
    for name in ("ReserveInventory", "ProcessPayment", "ShipOrder"):
        assert states[name]["Resource"].endswith("sqs:sendMessage.waitForTaskToken")
        assert states[name]["TimeoutSeconds"] > 0


def test_names_are_stage_scoped():
    dev, prod = build_topology("dev"), build_topology("prod")
    assert dev.name("orders") != prod.name("orders")
    assert dev.ssm_prefix != prod.ssm_prefix


def test_lambda_bundle_never_imports_the_cli_or_its_tools():
    handlers = [fn.handler.rpartition(".")[0] for fn in TOPOLOGY.functions]
    code = (
        "import importlib, sys\n"
        f"for m in {handlers!r}: importlib.import_module(m)\n"
        "bad = [m for m in ('ecomctl', 'typer', 'rich', 'locust', 'moto', 'aws_cdk') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == ""


def test_every_metric_the_dashboard_shows_is_emitted_by_a_handler():
    from pathlib import Path

    import ecomshop

    source = "\n".join(p.read_text() for p in Path(ecomshop.__file__).parent.rglob("*.py"))
    emitted = set(re.findall(r'add_metric\(name="(\w+)"', source))
    from infra.components.monitoring import BREAKER_METRICS, BUSINESS_METRICS

    assert set(BUSINESS_METRICS) | set(BREAKER_METRICS) <= emitted
