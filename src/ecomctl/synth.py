"""Synthesize the CDK app (infra/) into a cloud assembly, with a content-hash cache.

The app is built in-process (no `cdk` CLI, no Docker, no AWS call), from the infra and
ecomshop this ecomctl runs with: the checkout's in an editable install, the installed
copies in a wheel (ecomctl.assets), so an installed tool synthesizes from any folder. The
cache key is a hash of everything the assembly is a function of: the options, the app's
sources (infra, its bundle recipe included), the platform package that is bundled and
rendered (ecomshop, topology and ASL included), the Lambda requirement list, and the
CDK/cdk-nag versions. Paths are hashed relative to each tree, so a checkout and a wheel of
the same sources agree. If the assembly in the output directory was made from the same
key, it is reused as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from ecomctl import assets
from ecomctl.bundle import build_bundle, lambda_requirements
from ecomctl.errors import UsageError, UserError

STAMP = "ecomctl-synth.json"
_PATTERNS = ("*.py", "*.json")
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


def _sources(trees: dict[str, Path]) -> list[tuple[str, Path]]:
    """(label/relative path, path) of every source file of the trees, bytecode caches left out."""
    found: set[tuple[str, Path]] = set()
    for label, base in trees.items():
        for pattern in _PATTERNS:
            for path in base.rglob(pattern):
                rel = path.relative_to(base)
                if "__pycache__" not in rel.parts:
                    found.add((f"{label}/{rel.as_posix()}", path))
    return sorted(found)


def fingerprint(options: dict[str, Any], *, infra: Path | None = None, ecomshop: Path | None = None,
                requirements: Sequence[str] | None = None) -> str:
    """The cache key: options + tool versions + Lambda requirements + infra and ecomshop sources.

    The trees and the requirement list default to the ones this ecomctl runs with.
    """
    trees = {"infra": infra or assets.infra_dir(), "ecomshop": ecomshop or assets.ecomshop_dir()}
    reqs = lambda_requirements() if requirements is None else list(requirements)
    h = hashlib.sha256()
    h.update(json.dumps(options, sort_keys=True).encode())
    for tool in _TOOLS:
        try:
            h.update(f"{tool}=={metadata.version(tool)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{tool}==missing".encode())
    h.update(json.dumps(sorted(reqs)).encode())
    for rel, path in _sources(trees):
        h.update(rel.encode())
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
    root = assets.checkout_root()
    # The default assembly: cdk.out/ at the checkout's root, or in the current directory when installed.
    out = (out or (root if root is not None else Path.cwd()) / "cdk.out").resolve()
    options: dict[str, Any] = {"stage": stage, "expires_at": expires_at, "with_opensearch": with_opensearch}
    started = time.perf_counter()
    key = fingerprint(options)
    if out.exists() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise UsageError(f"{out} is not a cloud assembly; refusing to replace it (choose another --out)")
    stamp = None if force else _read_stamp(out)
    if stamp is not None and stamp.get("fingerprint") == key:
        return SynthResult(out=out, stack=stamp["stack"], templates=stamp["templates"], cached=True,
                           seconds=time.perf_counter() - started, fingerprint=key, options=options,
                           resources=int(stamp.get("resources", 0)))

    # Before the CDK is imported (jsii checks the Node version when it starts).
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    build_app = assets.infra_module("app").build_app
    InfraOptions = assets.infra_module("config").InfraOptions

    try:
        infra_options = InfraOptions(stage=stage, expires_at=expires_at, with_opensearch=with_opensearch)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    bundle = build_bundle()
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
