"""The report's charts, drawn by matplotlib and kept as inline SVG text (no file, no network).

matplotlib's SVG backend embeds glyphs as paths (``svg.fonttype = 'path'``), so the report
needs no font at all and looks the same on every machine.
"""

from __future__ import annotations

import io
from typing import Any

from ecomctl.report.model import GamedayReport, Phase

_STATE_LEVEL = {"CLOSED": 0, "HALF_OPEN": 1, "OPEN": 2}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "path", "font.size": 9, "axes.grid": True, "grid.alpha": 0.3,
                                "svg.hashsalt": "ecomctl"})  # the same report gives the same SVG
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    # No RDF metadata block: it only carries URLs (namespaces, a link to matplotlib.org) and a date.
    no_metadata = {"Date": None, "Creator": None, "Format": None, "Type": None}
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata=no_metadata)
    _pyplot().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE (a URL): inline in HTML


def _shade(ax: Any, phases: list[Phase]) -> None:
    for phase in phases:
        if phase.chaos:
            ax.axvspan(phase.start_t, phase.end_t, color="tab:red", alpha=0.12, lw=0)
            ax.text((phase.start_t + phase.end_t) / 2, 1.0, phase.name, transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=7, color="tab:red", rotation=0)


def timeline(report: GamedayReport) -> str:
    """Achieved rpm and p99 latency over the drill, each chaos window shaded."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.2))
    t = [s.t for s in report.samples]
    ax.plot(t, [s.rpm if s.rpm is not None else float("nan") for s in report.samples], color="tab:blue",
            label="achieved orders/min")
    if report.rpm_target:
        ax.axhline(report.rpm_target, color="tab:blue", ls=":", lw=1, label="target")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("orders/min", color="tab:blue")
    ax.set_ylim(bottom=0)
    right = ax.twinx()
    right.plot(t, [s.p99_ms if s.p99_ms is not None else float("nan") for s in report.samples],
               color="tab:orange", label="API p99 (ms)")
    right.set_ylabel("p99 ms", color="tab:orange")
    right.grid(False)
    _shade(ax, report.phases)
    fig.legend(loc="upper left", bbox_to_anchor=(0.07, 0.98), fontsize=7, ncol=3)
    return _svg(fig)


def queues(report: GamedayReport) -> str:
    """Queue depth (visible + in flight) and DLQ depth over the drill."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4.2), sharex=True)
    t = [s.t for s in report.samples]
    names = sorted({q for s in report.samples for q in s.queues})
    for name in names:
        top.plot(t, [s.queues.get(name, 0) for s in report.samples], label=name)
    top.set_ylabel("messages")
    top.set_title("queue depth", fontsize=9, loc="left")
    if names:
        top.legend(fontsize=7, ncol=3)
    for name in sorted({q for s in report.samples for q in s.dlqs}):
        bottom.plot(t, [s.dlqs.get(name, 0) for s in report.samples], label=name)
    bottom.set_ylabel("messages")
    bottom.set_title("dead-letter queues", fontsize=9, loc="left")
    bottom.set_xlabel("seconds since start")
    for ax in (top, bottom):
        _shade(ax, report.phases)
    return _svg(fig)


def breakers(report: GamedayReport) -> str:
    """Each circuit breaker's state over the drill (a step line: closed, half-open, open)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 2.2))
    t = [s.t for s in report.samples]
    for name in sorted({b for s in report.samples for b in s.breakers}):
        ax.step(t, [_STATE_LEVEL.get(s.breakers.get(name, "CLOSED"), 0) for s in report.samples], where="post",
                label=name)
    ax.set_yticks(list(_STATE_LEVEL.values()), list(_STATE_LEVEL))
    ax.set_ylim(-0.3, 2.3)
    ax.set_xlabel("seconds since start")
    ax.legend(fontsize=7)
    _shade(ax, report.phases)
    return _svg(fig)


FIGURES = {"timeline": timeline, "queues": queues, "breakers": breakers}
