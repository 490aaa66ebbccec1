"""Installable: the wheel carries the CDK app, and an installed ecomctl synthesizes from any folder.

The slow test is what `pip install '.[cli]'` / `pipx install '.[cli]'` give a user: the
wheel is built from a copy of the tree (so the shared checkout gets no build/ or egg-info),
installed with its dependencies from the package index into a fresh venv outside the
checkout, and `ecomctl synth` runs there from a temporary folder with no AWS credentials.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ecomctl import assets
from ecomctl.synth import fingerprint

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
# The repository's directories that ship, and where they land in the wheel.
SHIPPED = {"src/ecomctl": "ecomctl", "src/ecomshop": "ecomshop", "infra": "ecomctl/_repo/infra",
           "chaos": "ecomctl/_repo/chaos", "loadtests": "ecomctl/_repo/loadtests"}
_CACHES = shutil.ignore_patterns(".git", ".build", "build", "dist", "cdk.out", "*.egg-info", "__pycache__",
                                 "*.pyc", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".benchmarks",
                                 "node_modules")


def _shipped_files() -> dict[str, Path]:
    """Wheel path -> checkout file, for every file of the shipped trees (caches left out)."""
    files: dict[str, Path] = {}
    for src, dest in SHIPPED.items():
        for path in (ROOT / src).rglob("*"):
            rel = path.relative_to(ROOT / src)
            if path.is_file() and "__pycache__" not in rel.parts and path.suffix not in {".pyc", ".pyo"}:
                files[f"{dest}/{rel.as_posix()}"] = path
    return files


def test_infra_imports_nothing_of_ecomctl() -> None:
    """infra (every module, the bundle recipe included) works without ecomctl: no import cycle."""
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import infra\n"
        "names = [m.name for m in pkgutil.walk_packages(infra.__path__, 'infra.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "from infra.bundle import lambda_requirements\n"
        "print(json.dumps({'modules': names, 'requirements': lambda_requirements(),\n"
        "                  'ecomctl': sorted(m for m in sys.modules if m.partition('.')[0] == 'ecomctl')}))\n"
    )
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert {"infra.app", "infra.bundle", "infra.stack", "infra.components.compute"} <= set(found["modules"])
    assert found["ecomctl"] == [], f"infra imported {found['ecomctl']}"
    assert any(r.startswith("tenacity") for r in found["requirements"])
    assert not any(r.startswith(("boto3", "typer", "moto", "aws-cdk-lib")) for r in found["requirements"])


def test_every_package_is_listed_for_the_wheel() -> None:
    """[tool.setuptools] packages is explicit (infra/, chaos/, loadtests/ are mapped): nothing may be left out."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    package_dir: dict[str, str] = config["package-dir"]
    wanted = set()
    for src, dest in SHIPPED.items():
        base = ROOT / src
        for py in base.rglob("*.py"):
            rel = py.parent.relative_to(base)
            if "__pycache__" not in rel.parts:
                wanted.add(".".join([*dest.split("/"), *rel.parts]))
    missing = sorted(wanted - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml (else the wheel lacks them)"
    for package in sorted(listed):
        root = max((k for k in package_dir if k == "" or package == k or package.startswith(k + ".")), key=len)
        rest = package[len(root):].lstrip(".").split(".") if root else package.split(".")
        path = ROOT.joinpath(package_dir[root], *[p for p in rest if p])
        assert path.is_dir(), f"{package} is listed in pyproject.toml but {path} does not exist"


def test_assets_are_the_checkout_trees_in_the_checkout() -> None:
    assert assets.checkout_root() == ROOT
    assert assets.infra_dir() == ROOT / "infra" and (assets.infra_dir() / "cdk.json").is_file()
    assert assets.chaos_dir() == ROOT / "chaos" and assets.chaos_dir().is_dir()
    assert assets.loadtests_dir() == ROOT / "loadtests" and assets.loadtests_dir().is_dir()
    assert assets.ecomshop_dir() == ROOT / "src" / "ecomshop"
    assert assets.infra_module("config").__name__ == "infra.config"  # one name with the tests and the cdk CLI


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_installed_wheel_synthesizes_from_any_folder(tmp_path: Path, synth_twice: dict[str, Any]) -> None:
    assert not tmp_path.is_relative_to(ROOT)
    # 1. The wheel, from a copy of the tree (about 5 s).
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=_CACHES)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", str(tree),
          "-w", str(wheels)], cwd=tmp_path, env=dict(os.environ), timeout=300)
    (wheel,) = wheels.glob("ecomctl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {n.split("/")[0] for n in names}
    assert tops <= {"ecomctl", "ecomshop", *(t for t in tops if t.endswith(".dist-info"))}, tops
    assert not [n for n in names if {"tests", "bench"} & set(n.split("/"))], "tests and benchmarks do not ship"
    for needed in ("ecomctl/_repo/infra/app.py", "ecomctl/_repo/infra/cdk.json",
                   "ecomctl/_repo/infra/components/compute.py", "ecomctl/_repo/chaos/__init__.py",
                   "ecomctl/_repo/loadtests/__init__.py", "ecomshop/saga/order_saga.asl.json"):
        assert needed in names, needed
    left_out = sorted(set(_shipped_files()) - names)
    assert not left_out, f"not in the wheel (a package-data pattern in pyproject.toml?): {left_out}"

    # 2. A fresh venv outside the checkout, dependencies from the index (about 45 s; no .pyc compiling).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=dict(os.environ), timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check",
          f"{wheel}[cli]"], cwd=tmp_path, env=dict(os.environ), timeout=600)

    # 3. From an unrelated folder, no credentials, no reachable AWS, no JSII silencing set by the caller.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"}
           and not k.startswith("AWS_")}
    env.update({"ECOMCTL_HOME": str(tmp_path / "home"), "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                "AWS_EC2_METADATA_DISABLED": "true"})
    probe = _run([str(bin_dir / "python"), "-c",
                  "import json, ecomctl, ecomshop; from ecomctl import assets; print(json.dumps({"
                  "'ecomctl': ecomctl.__file__, 'ecomshop': ecomshop.__file__, 'root': str(assets.checkout_root()),"
                  "'dirs': [str(f()) for f in (assets.infra_dir, assets.chaos_dir, assets.loadtests_dir,"
                  " assets.ecomshop_dir)]}))"], cwd=elsewhere, env=env, timeout=60)
    where = json.loads(probe.stdout)
    assert where["root"] == "None"
    for path in [where["ecomctl"], where["ecomshop"], *where["dirs"]]:
        assert Path(path).resolve().is_relative_to(venv.resolve()), f"{path} is not the installed copy"
        assert Path(path).exists(), path
    _run([str(bin_dir / "ecomctl"), "--help"], cwd=elsewhere, env=env, timeout=60)

    out = tmp_path / "assembly"
    proc = _run([str(bin_dir / "ecomctl"), "synth", "--out", str(out), "--json"], cwd=elsewhere, env=env,
                timeout=600)
    assert "end-of-life" not in proc.stderr, "ecomctl synth must silence jsii's Node warning itself"
    result = json.loads(proc.stdout)
    assert result["cached"] is False and Path(result["out"]) == out.resolve()
    opts = {"stage": "dev", "expires_at": "none", "with_opensearch": False}
    assert result["fingerprint"] == fingerprint(opts, infra=tree / "infra", ecomshop=tree / "src" / "ecomshop"), \
        "the installed tool keys its cache on the sources it was built from"
    template = json.loads((out / "ecom-dev.template.json").read_text())
    types = Counter(r["Type"] for r in template["Resources"].values())
    assert sum(types.values()) == result["resources"] > 100
    assert types["AWS::StepFunctions::StateMachine"] == 1
    checkout = json.loads((synth_twice["out"] / "ecom-dev.template.json").read_text())
    assert types == Counter(r["Type"] for r in checkout["Resources"].values()), "the wheel renders the same stack"
    assert types["AWS::SQS::Queue"] >= 10
    assert (tmp_path / "home" / "cache" / "lambda" / "ecomshop" / "topology.py").is_file(), \
        "the bundle is built under ECOMCTL_HOME, not in site-packages"

    # 4. The default --out is ./cdk.out when installed; an unchanged assembly there is reused.
    shutil.copytree(out, elsewhere / "cdk.out")
    again = json.loads(_run([str(bin_dir / "ecomctl"), "synth", "--json"], cwd=elsewhere, env=env,
                            timeout=120).stdout)
    assert again["cached"] is True and Path(again["out"]) == (elsewhere / "cdk.out").resolve()
