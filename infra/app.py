"""The CDK app: `build_app(options)` in-process, or `python infra/app.py` under the cdk CLI.

Synth makes no AWS call: the stack is environment-agnostic (account and region are
CloudFormation pseudo parameters), nothing is looked up, and Lambda code is a directory
built beforehand without Docker (infra/bundle.py).

infra imports only itself (relatively), ecomshop and the CDK: it is the top-level `infra`
package in the source checkout and `ecomctl._repo.infra` in an installed wheel.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:
    # Run as a script by the cdk CLI (infra/cdk.json): make the checkout's `infra` and `src`
    # importable and resolve the relative imports below in `infra` (PEP 366).
    _ROOT = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(_ROOT), str(_ROOT / "src")]
    __package__ = "infra"

from aws_cdk import App

from .aspects import apply_window
from .config import InfraOptions
from .nag import acknowledge, add_nag
from .stack import PlatformStack

CDK_JSON = Path(__file__).with_name("cdk.json")


def feature_flags() -> dict[str, object]:
    """The feature flags of infra/cdk.json, so in-process synth equals `cdk synth`."""
    context = json.loads(CDK_JSON.read_text()).get("context", {})
    return {k: v for k, v in context.items() if k.startswith("@aws-cdk")}


def populate(app: App, options: InfraOptions, *, nag: bool = True) -> PlatformStack:
    stack = PlatformStack(app, options.stack_name, options=options)
    apply_window(app, options.stage, options.expires_at)
    if nag:
        add_nag(app)
        acknowledge(stack)
    return stack


def build_app(options: InfraOptions, *, nag: bool = True, outdir: str | None = None) -> App:
    app = App(
        context={**feature_flags(), **options.context()},
        outdir=outdir,
        analytics_reporting=False,  # no CDKMetadata resource: the template is a pure function of inputs
        stack_traces=False,  # construct stack traces in metadata are slow and never read here
        builtin_cloud_formation_validation=False,  # cfn-lint runs in the tests instead (and is faster)
    )
    populate(app, options, nag=nag)
    return app


def main() -> None:
    """The cdk CLI entry: the bundle is `-c lambda_asset=DIR` if given, else built here into `.build/`."""
    from .bundle import build_bundle

    app = App(context=feature_flags(), analytics_reporting=False, stack_traces=False,
              builtin_cloud_formation_validation=False)  # the cdk CLI's -c values still win
    get = app.node.try_get_context
    asset = get("lambda_asset") or str(build_bundle().path)
    populate(app, InfraOptions.from_context(get, Path(asset)))
    app.synth()


if __name__ == "__main__":
    main()
