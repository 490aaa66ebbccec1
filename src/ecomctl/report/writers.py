"""Write a game-day report: ``report.html`` (self-contained, offline) and ``summary.md``."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ecomctl.report import charts
from ecomctl.report.model import GamedayReport

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1000px;
color:#1b1f24;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left}
th{background:#f6f8fa}.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}
.meta{color:#57606a}figure{margin:1rem 0}figure svg{max-width:100%;height:auto}code{font-size:.9em}
"""


def _e(value: Any) -> str:
    return html.escape("-" if value is None else str(value))


def _table(headers: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _verdicts(report: GamedayReport) -> str:
    rows = []
    for v in report.verdicts:
        mark = '<span class="pass">held</span>' if v.held else f'<span class="fail">{_e(v.outcome)}</span>'
        checks = "<br>".join(f"{'✓' if c.get('ok') else '✗'} {_e(c.get('probe'))}: {_e(c.get('observed'))} "
                             f"(expected {_e(c.get('expected'))})" for c in v.checks)
        rows.append([_e(v.scenario), mark, _e(v.summary), checks or "-"])
    return _table(["scenario", "verdict", "summary", "checks"], rows, "verdicts")


def _dict_table(data: dict[str, Any]) -> str:
    return _table(["what", "value"], [[_e(k), _e(v)] for k, v in data.items()])


def _traces(report: GamedayReport) -> str:
    rows = [[f"<code>{_e(t.get('id'))}</code>", _e(t.get("duration_ms")), _e(" → ".join(t.get("path", [])))]
            for t in report.slowest_traces]
    return _table(["trace", "ms", "path"], rows) if rows else "<p>no traces recorded</p>"


def render_html(report: GamedayReport) -> str:
    verdict = ('<span class="pass">PASSED</span>' if report.passed
               else '<span class="fail">FAILED</span>')
    figures = "".join(f'<figure id="chart-{name}"><figcaption>{_e(name)}</figcaption>{draw(report)}</figure>'
                      for name, draw in charts.FIGURES.items())
    cost = report.cost
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ecomctl game day: {_e(report.stage)}</title>
<style>{_CSS}</style></head><body>
<h1>Game day on <code>{_e(report.target)}</code> stage <code>{_e(report.stage)}</code>: {verdict}</h1>
<p class="meta">{_e(report.started_at)} → {_e(report.finished_at)} · target {_e(report.rpm_target)} orders/min</p>
<h2>Verdicts</h2>{_verdicts(report)}
<h2>Charts</h2>{figures}
<h2>Reconciliation</h2>{_dict_table(report.reconciliation)}
<h2>Load</h2>{_table(["phase", "summary"], [[_e(k), f"<code>{_e(json.dumps(v))}</code>"]
                                          for k, v in report.load.items()])}
<h2>Slowest X-Ray traces</h2>{_traces(report)}
<h2>Cost</h2><p>{_e(cost.get("usd"))} USD ({_e(cost.get("basis"))})</p>
{"".join(f"<p class='meta'>{_e(n)}</p>" for n in report.notes)}
</body></html>
"""


def render_markdown(report: GamedayReport) -> str:
    lines = [f"# Game day: {report.target} stage {report.stage} — {'PASSED' if report.passed else 'FAILED'}", "",
             f"{report.started_at} → {report.finished_at}, target {report.rpm_target:g} orders/min", "",
             "| scenario | verdict | summary |", "|---|---|---|"]
    lines += [f"| {v.scenario} | {'held' if v.held else v.outcome} | {v.summary} |" for v in report.verdicts]
    lines += ["", "## Reconciliation", ""] + [f"- {k}: {v}" for k, v in report.reconciliation.items()]
    lines += ["", "## Cost", "", f"{report.cost.get('usd', '-')} USD ({report.cost.get('basis', '-')})", ""]
    lines += ["Charts: see report.html (timeline, queues, breakers).", ""]
    return "\n".join(lines)


def write(report: GamedayReport, directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"html": directory / "report.html", "markdown": directory / "summary.md",
             "json": directory / "report.json"}
    paths["html"].write_text(render_html(report))
    paths["markdown"].write_text(render_markdown(report))
    paths["json"].write_text(json.dumps(report.to_json(), indent=2))
    return paths
