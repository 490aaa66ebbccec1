"""``ecomctl doctor``: each thing a deploy to AWS needs, checked, with how to fix it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from ecomctl.aws import cdk
from ecomctl.aws.preflight import identity
from ecomctl.aws.results import Check, DoctorResult
from ecomctl.context import Context
from ecomctl.errors import explain

BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
MIN_BOOTSTRAP_VERSION = 6
MIN_NODE = 18


def _credentials(ctx: Context) -> tuple[Check, str | None]:
    try:
        who = identity(ctx)
    except Exception as exc:
        known = explain(exc)
        why = known[0] if known else f"{type(exc).__name__}: {exc}"
        return Check("credentials (STS)", False, why,
                     "set AWS_PROFILE / --profile, or run `aws configure` / `aws sso login`"), None
    return Check("credentials (STS)", True, f"account {who.account} as {who.arn}"), who.account


def _region(ctx: Context) -> Check:
    if ctx.region:
        return Check("region", True, ctx.region)
    return Check("region", False, "no region set (a deploy would go to us-east-1)", "pass --region or set AWS_REGION")


def _node() -> Check:
    node = shutil.which("node")
    if node is None:
        return Check("Node.js", False, "node not found", "install Node.js 20 LTS (https://nodejs.org)")
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
        major = int(version.lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return Check("Node.js", False, f"{node} does not run", "reinstall Node.js 20 LTS")
    if major < MIN_NODE:
        return Check("Node.js", False, f"{version} (needs >= {MIN_NODE})", "install Node.js 20 LTS")
    return Check("Node.js", True, f"{version} ({node})")


def _toolkit() -> Check:
    found = cdk.installed_version()
    if found == cdk.PINNED:
        return Check("cdk toolkit", True, f"aws-cdk {found} ({cdk.binary()})")
    how = (f"installed on demand by `ecomctl up --target aws`; or now: npm install --prefix {cdk.prefix()} "
           f"aws-cdk@{cdk.PINNED}")
    ok = shutil.which("npm") is not None
    detail = f"aws-cdk {cdk.PINNED} not cached yet" + ("" if ok else "; npm not found")
    return Check("cdk toolkit", ok, detail + (" (npm present: will install on first deploy)" if ok else ""),
                 "" if ok else how)


def _bootstrap(ctx: Context, account: str | None) -> Check:
    name = "CDK bootstrap"
    region = ctx.region or "us-east-1"
    fix = f"npx --yes aws-cdk@{cdk.PINNED} bootstrap aws://{account or '<account>'}/{region}"
    if account is None:
        return Check(name, False, "not checked: no credentials", fix)
    from ecomctl.targets.base import AwsAccess

    access = AwsAccess(ctx.session(region=region), ctx.endpoint_url, region)
    try:
        value = access.client("ssm").get_parameter(Name=BOOTSTRAP_PARAMETER)["Parameter"]["Value"]
        stack = access.client("cloudformation").describe_stacks(StackName="CDKToolkit")["Stacks"][0]
    except Exception as exc:
        known = explain(exc)
        return Check(name, False, f"not bootstrapped in {region} ({known[0] if known else exc})", fix)
    if int(value) < MIN_BOOTSTRAP_VERSION:
        return Check(name, False, f"bootstrap version {value} (needs >= {MIN_BOOTSTRAP_VERSION})", fix)
    return Check(name, True, f"CDKToolkit {stack['StackStatus']}, bootstrap version {value}")


def run_checks(ctx: Context, progress: Callable[[str], None] = lambda _m: None) -> DoctorResult:
    progress("credentials")
    creds, account = _credentials(ctx)
    progress("Node.js and the cdk toolkit")
    checks = [creds, _region(ctx), _node(), _toolkit()]
    progress("CDK bootstrap")
    checks.append(_bootstrap(ctx, account))
    return DoctorResult(checks)
