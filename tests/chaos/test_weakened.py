"""A deliberately weakened platform makes the hypothesis fail, so the check can fail:
the breaker disabled (inventory-inconsistent) and API idempotency off (duplicate-orders),
set through the platform process's environment at `ecomctl up`. Flags are gone after
the failure too."""

from __future__ import annotations

import pytest
import yaml

from ecomctl.assets import chaos_dir
from tests.chaos.helpers import chaos, flags, journal, probes
from tests.local.helpers import cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STAGE = "weak"
WEAKENED = {"ECOMSHOP_WEAKENED_NO_BREAKER": "1", "ECOMSHOP_WEAKENED_NO_IDEMPOTENCY": "1"}


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    home = tmp_path_factory.mktemp("weak-home")
    run = cli(home, "up", "--target", "local", "--ttl", "15m", "--stage", STAGE, "--json", **WEAKENED)
    assert run.code == 0, run.err
    yield home, run.json()
    cli(home, "down", "--stage", STAGE)


def test_without_a_breaker_inventory_inconsistent_fails_its_hypothesis(window, tmp_path):
    home, info = window
    out = tmp_path / "inventory.json"
    run = chaos(home, STAGE, "inventory-inconsistent", "--duration", "8s", "--json", str(out))
    j = journal(out)
    assert run.code == 10 and j["outcome"] == "hypothesis-failed", run.err
    opened = probes(j, "during")["breaker_state"]
    assert not opened["ok"] and opened["value"] == "CLOSED" and "never within tolerance" in opened["note"]
    assert "verdict: hypothesis-failed" in run.out
    assert not flags(info, STAGE), "flags outlived a failed run"


def test_without_idempotency_duplicate_orders_fails_its_hypothesis(window, tmp_path):
    home, _ = window
    data = yaml.safe_load((chaos_dir() / "duplicate-orders.yaml").read_text())
    for p in data["hypothesis"]["after"]:  # the same checks, waited on for less time
        if "within" in p:
            p["within"] = "8s"
    path = tmp_path / "duplicate-orders.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "dups.json"
    run = chaos(home, STAGE, "--file", str(path), "--json", str(out))
    j = journal(out)
    assert run.code == 10 and j["outcome"] == "hypothesis-failed", run.err
    assert probes(j, "after")["keys_without_exactly_one_order"]["value"] >= 1
    keyed = [v for k, v in j["traffic"]["per_key"].items() if not k.startswith("unkeyed-")]
    assert max(v["orders"] for v in keyed) > 1
