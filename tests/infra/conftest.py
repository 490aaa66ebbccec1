"""One synthesized app per configuration for the whole session (synth takes seconds)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

EXPIRES_AT = "2030-01-02T03:04:05Z"


def _nag_report(outdir: Path) -> str:
    lines = []
    for name in ("validation-report.json", "policy-validation-report.json"):
        path = outdir / name
        if path.is_file():
            for plugin in json.loads(path.read_text()).get("pluginReports", []):
                for v in plugin.get("violations", []):
                    for c in v.get("violatingConstructs", []):
                        lines.append(f"{v['ruleName']} @ {c['constructPath']}")
            break
    return "\n".join(sorted(set(lines))) or "(no report)"


@pytest.fixture(scope="session")
def bundle_dir() -> Path:
    from ecomctl.bundle import build_bundle

    return build_bundle().path


def _synth(bundle_dir: Path, outdir: Path, *, nag: bool, **options: Any) -> dict[str, Any]:
    from infra.app import build_app
    from infra.config import InfraOptions

    opts = InfraOptions(lambda_asset=str(bundle_dir), expires_at=EXPIRES_AT, **options)
    app = build_app(opts, nag=nag, outdir=str(outdir))
    try:
        assembly = app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" in str(exc):
            pytest.fail(f"cdk-nag findings not acknowledged:\n{_nag_report(outdir)}", pytrace=False)
        raise
    stack = assembly.get_stack_by_name(opts.stack_name)
    return {"app": app, "outdir": outdir, "template_path": Path(stack.template_full_path),
            "template": stack.template}


@pytest.fixture(scope="session")
def plain(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default app without cdk-nag: assertion tests fail only for their own reason."""
    return _synth(bundle_dir, tmp_path_factory.mktemp("plain"), nag=False)


@pytest.fixture(scope="session")
def template(plain: dict[str, Any]) -> dict[str, Any]:
    return plain["template"]


@pytest.fixture(scope="session")
def opensearch(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The app with the optional OpenSearch domain, cdk-nag on (synth fails on a finding)."""
    return _synth(bundle_dir, tmp_path_factory.mktemp("opensearch"), nag=True, with_opensearch=True)


def resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


@pytest.fixture(scope="session")
def synth_twice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`ecomctl synth` twice into one directory, without credentials or a reachable AWS."""
    from ecomctl.cli import app

    out = tmp_path_factory.mktemp("cli") / "cdk.out"
    mp = pytest.MonkeyPatch()
    # No credentials and no reachable AWS: any API call during synth would fail.
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        mp.delenv(var, raising=False)
    mp.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    try:
        runner = CliRunner()
        first = runner.invoke(app, ["synth", "--out", str(out), "--json"])
        assert first.exit_code == 0, first.output
        manifest_mtime = (out / "manifest.json").stat().st_mtime_ns
        second = runner.invoke(app, ["synth", "--out", str(out), "--json"])
        assert second.exit_code == 0, second.output
        human = runner.invoke(app, ["synth", "--out", str(out)])
    finally:
        mp.undo()
    return {"first": json.loads(first.stdout), "second": json.loads(second.stdout), "human": human,
            "manifest_mtime": manifest_mtime, "out": out}
