"""The self-contained HTML report: one file, inline CSS and SVG, no network fetches."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import jinja2

from robustlab.report.svg import metric_bars

__all__ = ["render_html", "scorecard"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("robustlab", "report/templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def scorecard(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Headline numbers per robustness axis: clean, mean over corruptions, worst attack."""
    acc = [m for m in run["metrics"] if m["metric"] == "accuracy"]
    rows: list[dict[str, Any]] = []
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in acc:
        by_kind[m["kind"]].append(m)
    if by_kind.get("clean"):
        rows.append({"axis": "clean accuracy", "value": by_kind["clean"][0]["value"], "note": ""})
    if by_kind.get("corruption"):
        vals = [m["value"] for m in by_kind["corruption"]]
        rows.append(
            {
                "axis": "corruption accuracy",
                "value": sum(vals) / len(vals),
                "note": f"mean of {len(vals)}",
            }
        )
    if by_kind.get("attack"):
        worst = min(by_kind["attack"], key=lambda m: m["value"])
        rows.append({"axis": "robust accuracy", "value": worst["value"], "note": worst["label"]})
    return rows


def render_html(doc: dict[str, Any]) -> str:
    from robustlab import __version__

    runs = doc["runs"]
    series = []
    for run in runs:
        name = run["model"]["name"]
        series.append(name if name not in series else f"{name} ({run['id'][:6]})")
    chart_rows = [
        {**m, "series": s}
        for run, s in zip(runs, series)
        for m in run["metrics"]
        if m["metric"] == "accuracy"
    ]
    metric_columns = {
        run["id"]: list(dict.fromkeys(m["metric"] for m in run["metrics"])) for run in runs
    }
    cells = {run["id"]: {(m["probe_key"], m["metric"]): m for m in run["metrics"]} for run in runs}
    return _ENV.get_template("report.html.j2").render(
        doc=doc,
        version=__version__,
        scorecards={run["id"]: scorecard(run) for run in runs},
        accuracy_chart=metric_bars(chart_rows, series, title="Accuracy per probe"),
        metric_columns=metric_columns,
        cells=cells,
    )


def write_html(doc: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_html(doc), encoding="utf-8")
    return p
