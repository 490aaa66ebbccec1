"""What a window costs: its standing charge per hour, from the synthesized template.

An AWS window records its rate when it is deployed (``part["usd_per_hour"]``). A local
window costs nothing; what the same window would cost on AWS is the projection of the
stage's template, synthesized (cached) under ``ECOMCTL_HOME/assemblies``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ecomctl import state
from ecomctl.aws import cost
from ecomctl.window import parse_iso


def assembly_dir(stage: str, with_opensearch: bool) -> Path:
    return state.home() / "assemblies" / (f"{stage}-opensearch" if with_opensearch else stage)


def projection(stage: str, hours: float, with_opensearch: bool, expires_at: str = "none",
               out: Path | None = None) -> tuple[cost.Projection, Any]:
    """The projection of the stage's synthesized template (and the synth result)."""
    from ecomctl.aws.price_list import apply_cached
    from ecomctl.state import home
    from ecomctl.synth import synth

    apply_cached(home())
    result = synth(stage=stage, out=out or assembly_dir(stage, with_opensearch),
                   with_opensearch=with_opensearch, expires_at=expires_at)
    template = cost.template_of(result.out, result.stack)
    return cost.project(template, hours), result


_rates: dict[tuple[str, bool], float] = {}


def rate(window: state.WindowState, synthesize: bool = True) -> float | None:
    """USD per hour of the window's standing charges (on local: what AWS would charge).

    Without ``synthesize``, a local window is priced only from an assembly already cached
    (``status`` must stay fast); None when there is none.
    """
    recorded = window.part.get("usd_per_hour")
    if isinstance(recorded, int | float) and not isinstance(recorded, bool):
        return float(recorded)
    key = (window.stage, bool(window.part.get("with_opensearch")))
    if key not in _rates:
        if not synthesize and not (assembly_dir(*key) / "manifest.json").is_file():
            return None
        _rates[key] = projection(window.stage, 1.0, key[1])[0].usd_per_hour
    return _rates[key]


def started(window: state.WindowState) -> datetime:
    """When billing started: the stack's creation time (server clock) if recorded, else the window's start."""
    created = window.part.get("stack_created_at")
    return parse_iso(created if isinstance(created, str) else window.started_at)


def so_far(window: state.WindowState, now: datetime, synthesize: bool = True) -> tuple[float, float] | None:
    """(cost so far on this target, what it is on AWS): a local window costs $0. None: not priced yet."""
    hourly = rate(window, synthesize)
    if hourly is None:
        return None
    on_aws = cost.so_far(hourly, started(window), now)
    return (on_aws if window.target == "aws" else 0.0), on_aws


def summary(window: state.WindowState, now: datetime) -> str:
    """One line for ``status``: the cost so far, and on local what AWS would have charged."""
    try:
        figures = so_far(window, now, synthesize=False)
    except Exception as exc:  # a meter that cannot price must not break status
        return f"unpriced ({type(exc).__name__}: {exc})"
    if figures is None:
        return f"not priced yet (`ecomctl cost --stage {window.stage}` synthesizes and prices it)"
    here, on_aws = figures
    per_hour = rate(window, synthesize=False) or 0.0
    if window.target == "aws":
        return f"${here:.4f} so far (${per_hour:.4f}/h standing charges + usage)"
    return f"$0.00 (on AWS: ${on_aws:.4f} so far at ${per_hour:.4f}/h + usage)"
