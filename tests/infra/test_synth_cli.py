"""`ecomctl synth`: writes the assembly, needs no AWS, and the unchanged second run is a cache hit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecomctl.cli import app
from ecomctl.synth import STAMP, fingerprint

pytestmark = pytest.mark.infra


def test_synth_writes_the_cloud_assembly_where_it_says(synth_twice: dict[str, Any]) -> None:
    first = synth_twice["first"]
    out = Path(first["out"])
    assert first["cached"] is False
    assert first["stack"] == "ecom-dev" and first["templates"] == ["ecom-dev.template.json"]
    assert (out / "manifest.json").is_file() and (out / "ecom-dev.template.json").is_file()
    assert first["resources"] > 100
    assets = json.loads((out / "ecom-dev.assets.json").read_text())["files"]
    assert assets, "the Lambda bundle is a file asset"


def test_unchanged_second_synth_is_a_cache_hit_reusing_the_assembly(synth_twice: dict[str, Any]) -> None:
    second = synth_twice["second"]
    assert second["cached"] is True
    assert second["fingerprint"] == synth_twice["first"]["fingerprint"]
    assert (synth_twice["out"] / "manifest.json").stat().st_mtime_ns == synth_twice["manifest_mtime"]
    human = synth_twice["human"]
    assert human.exit_code == 0 and "cached" in human.stdout and str(synth_twice["out"]) in human.stdout


def test_fingerprint_changes_with_sources_and_options(tmp_path: Path) -> None:
    infra = tmp_path / "repo" / "infra"
    ecomshop = tmp_path / "repo" / "src" / "ecomshop"
    infra.mkdir(parents=True)
    ecomshop.mkdir(parents=True)
    (infra / "stack.py").write_text("A = 1\n")
    handler = ecomshop / "handler.py"
    handler.write_text("def handler(e, c): return 1\n")
    opts = {"stage": "dev", "expires_at": "none", "with_opensearch": False}

    def key(options: dict[str, Any], requirements: tuple[str, ...] = ("tenacity>=8.2",)) -> str:
        return fingerprint(options, infra=infra, ecomshop=ecomshop, requirements=requirements)

    base = key(opts)
    assert key(dict(opts)) == base
    assert key({**opts, "with_opensearch": True}) != base
    assert key(opts, ("tenacity>=9",)) != base, "the Lambda requirement list is part of the key"
    handler.write_text("def handler(e, c): return 2\n")
    assert key(opts) != base
    (ecomshop / "__pycache__").mkdir()
    (ecomshop / "__pycache__" / "x.json").write_text("{}")
    changed = key(opts)
    shutil.rmtree(ecomshop / "__pycache__")
    assert key(opts) == changed, "bytecode caches are not sources"
    # Paths count relative to each tree: the same sources elsewhere (an installed wheel) give the same key.
    moved = tmp_path / "site-packages"
    shutil.copytree(infra, moved / "ecomctl" / "_repo" / "infra")
    shutil.copytree(ecomshop, moved / "ecomshop")
    assert fingerprint(opts, infra=moved / "ecomctl" / "_repo" / "infra", ecomshop=moved / "ecomshop",
                       requirements=("tenacity>=8.2",)) == changed


def test_bad_stage_is_one_line_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--stage", "Bad Stage!", "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "stage" in f"{result.output} {result.exception}"


def test_refuses_to_replace_a_directory_that_is_not_an_assembly(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_stamp_is_written_inside_the_assembly(synth_twice: dict[str, Any]) -> None:
    stamp = json.loads((synth_twice["out"] / STAMP).read_text())
    assert stamp["fingerprint"] == synth_twice["first"]["fingerprint"]


def test_lambda_bundle_ships_only_the_platform(bundle_dir: Path) -> None:
    top = {p.name for p in bundle_dir.iterdir()}
    assert "ecomshop" in top and "tenacity" in top
    for forbidden in ("ecomctl", "typer", "rich", "locust", "moto", "boto3", "botocore", "click"):
        assert forbidden not in top, forbidden
    assert (bundle_dir / "ecomshop" / "saga" / "order_saga.asl.json").is_file()
    assert not list(bundle_dir.rglob("__pycache__"))
