"""Synthesize the CDK app (infra/) into a cloud assembly, with a content-hash cache.

The app is built in-process (no `cdk` CLI, no Docker, no AWS call). The cache key is a
hash of everything the assembly is a function of: the options, the app's sources
(infra/), the platform package that is bundled and rendered (src/ecomshop, topology
and ASL included), the bundle recipe, and the CDK/cdk-nag versions. If the assembly in
the output directory was made from the same key, it is reused as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from ecomctl.bundle import build_bundle, repo_root
from ecomctl.errors import UsageError, UserError

STAMP = "ecomctl-synth.json"
_SOURCES = (("infra", ("*.py", "*.json")), ("src/ecomshop", ("*.py", "*.json")))
_TOOLS = ("aws-cdk-lib", "cdk-nag", "constructs")


@dataclass(frozen=True)
class SynthResult:
    out: Path
    stack: str
    templates: list[str]
    cached: bool
    seconds: float
    fingerprint: str
    options: dict[str, Any] = field(default_factory=dict)
    resources: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["out"] = str(self.out)
        return data


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for sub, patterns in _SOURCES:
        for pattern in patterns:
            found.extend(p for p in (root / sub).rglob(pattern) if "__pycache__" not in p.parts)
    found.append(root / "pyproject.toml")
    found.append(Path(__file__).with_name("bundle.py"))
    return sorted(set(found))


def fingerprint(root: Path, options: dict[str, Any]) -> str:
    """The cache key: options + source contents + tool versions."""
    h = hashlib.sha256()
    h.update(json.dumps(options, sort_keys=True).encode())
    for tool in _TOOLS:
        try:
            h.update(f"{tool}=={metadata.version(tool)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{tool}==missing".encode())
    for path in _files(root):
        h.update(str(path.relative_to(root) if path.is_relative_to(root) else path.name).encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _read_stamp(out: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and (out / "manifest.json").is_file() else None


def _nag_failure(outdir: Path) -> str:
    """One line naming the unacknowledged findings, from the validation report."""
    findings: list[str] = []
    for name in ("validation-report.json", "policy-validation-report.json"):
        try:
            report = json.loads((outdir / name).read_text())
        except (OSError, ValueError):
            continue
        for plugin in report.get("pluginReports", []):
            for v in plugin.get("violations", []):
                paths = [c.get("constructPath", "?") for c in v.get("violatingConstructs", [])]
                findings.append(f"{v.get('ruleName')} @ {', '.join(paths[:3])}")
        break
    shown = "; ".join(findings[:5]) + (f" (+{len(findings) - 5} more)" if len(findings) > 5 else "")
    return f"cdk-nag: {len(findings)} unacknowledged finding(s): {shown or 'see the validation report'}"


def _count_resources(out: Path, templates: list[str]) -> int:
    total = 0
    for t in templates:
        with contextlib.suppress(OSError, ValueError):
            total += len(json.loads((out / t).read_text()).get("Resources", {}))
    return total


def synth(stage: str = "dev", out: Path | None = None, with_opensearch: bool = False,
          expires_at: str = "none", force: bool = False) -> SynthResult:
    root = repo_root()
    out = (out or root / "cdk.out").resolve()
    options: dict[str, Any] = {"stage": stage, "expires_at": expires_at, "with_opensearch": with_opensearch}
    started = time.perf_counter()
    key = fingerprint(root, options)
    if out.exists() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise UsageError(f"{out} is not a cloud assembly; refusing to replace it (choose another --out)")
    stamp = None if force else _read_stamp(out)
    if stamp is not None and stamp.get("fingerprint") == key:
        return SynthResult(out=out, stack=stamp["stack"], templates=stamp["templates"], cached=True,
                           seconds=time.perf_counter() - started, fingerprint=key, options=options,
                           resources=int(stamp.get("resources", 0)))

    if str(root) not in sys.path:  # infra/ is a package of the source checkout, not installed
        sys.path.insert(0, str(root))
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from infra.app import build_app
    from infra.config import InfraOptions

    try:
        infra_options = InfraOptions(stage=stage, expires_at=expires_at, with_opensearch=with_opensearch)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    bundle = build_bundle(root)
    infra_options = InfraOptions(**{**infra_options.context(), "lambda_asset": str(bundle.path)})

    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    app = build_app(infra_options, nag=True, outdir=str(staging))
    try:
        assembly = app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" in str(exc):
            raise UserError(f"{_nag_failure(staging)} (report in {staging})") from None
        raise
    stack = assembly.get_stack_by_name(infra_options.stack_name)
    templates = [Path(stack.template_full_path).name]
    result = SynthResult(out=out, stack=stack.stack_name, templates=templates, cached=False,
                         seconds=0.0, fingerprint=key, options=options,
                         resources=_count_resources(staging, templates))
    (staging / STAMP).write_text(json.dumps(
        {"fingerprint": key, "stack": result.stack, "templates": templates, "options": options,
         "resources": result.resources}, indent=2))
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return replace(result, seconds=time.perf_counter() - started)
