"""The self-contained HTML report: one file, inline CSS and SVG, no network fetches."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from robustlab.report.svg import (
    PALETTE,
    line_chart,
    metric_bars,
    reliability_diagram,
    scatter_fit,
)

__all__ = ["render_html", "scorecard"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("robustlab", "report/templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


#: Columns of the per-run headline table; calibration, subgroups and shift have their own.
HEADLINE = (
    "accuracy",
    "nll",
    "brier",
    "ece",
    "mean_confidence",
    "median_perturbation",
    "flip_rate",
    "reference_agreement",
)


def reliability_charts(run: dict[str, Any]) -> list[Markup]:
    """Reliability diagrams for the clean probe, the weakest corruption and the weakest attack."""
    ece = {m["probe_key"]: m for m in run["metrics"] if m["metric"] == "ece" and m.get("details")}
    acc = {m["probe_key"]: m for m in run["metrics"] if m["metric"] == "accuracy"}
    chosen: list[str] = [k for k in ece if acc.get(k, {}).get("kind") == "clean"][:1]
    for kind in ("corruption", "attack", "sequence"):
        keys = [k for k in ece if acc.get(k, {}).get("kind") == kind]
        if keys:
            chosen.append(min(keys, key=lambda k: acc[k]["value"]))
    return [
        reliability_diagram(ece[k]["details"]["bins"], title=acc[k]["label"], ece=ece[k]["value"])
        for k in chosen
    ]


def scorecard(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Headline numbers per robustness axis: clean, corruptions, mCE, adversarial."""
    acc = [m for m in run["metrics"] if m["metric"] == "accuracy"]
    summary = {m["metric"]: m for m in run["metrics"] if m["kind"] == "summary"}
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in acc:
        by_kind[m["kind"]].append(m)
    rows: list[dict[str, Any]] = []
    ood = {
        m["probe_key"]: m
        for m in run["metrics"]
        if m["metric"] == "ood_accuracy" and m.get("details")
    }
    if by_kind.get("clean"):
        clean = by_kind["clean"][0]
        shift = ood.get(clean.get("probe_key", ""))
        if shift is not None:  # a shift scan: report the ID accuracy, then the shifted one
            ident = shift["details"]["domains"]["id"]["accuracy"]
            rows.append({"axis": "clean accuracy", "value": ident, "note": "in-distribution"})
            rows.append(
                {"axis": "OOD accuracy", "value": shift["value"], "note": "shifted domains"}
            )
        else:
            rows.append({"axis": "clean accuracy", "value": clean["value"], "note": ""})
    if "mean_corruption_accuracy" in summary:
        n = len(by_kind["corruption"])
        rows.append(
            {
                "axis": "corruption accuracy",
                "value": summary["mean_corruption_accuracy"]["value"],
                "note": f"mean of {n}",
            }
        )
    if "mce" in summary:
        base = (summary["mce"].get("details") or {}).get("baseline", "")
        rows.append({"axis": "mCE", "value": summary["mce"]["value"], "note": f"vs {base}"})
    if "worst_case_robust_accuracy" in summary:
        rows.append(
            {
                "axis": "robust accuracy",
                "value": summary["worst_case_robust_accuracy"]["value"],
                "note": f"worst case of {len(by_kind['attack'])} attacks",
            }
        )
    elif by_kind.get("attack"):
        worst = min(by_kind["attack"], key=lambda m: m["value"])
        rows.append({"axis": "robust accuracy", "value": worst["value"], "note": worst["label"]})
    return rows


def severity_curves(runs: list[dict[str, Any]], series: list[str]) -> list[dict[str, Any]]:
    """Per corruption: accuracy at each severity (0 = clean) for every run, for small multiples."""
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for run, name in zip(runs, series):
        probes = {p["key"]: p for p in run["probes"]}
        clean = next(
            (
                m["value"]
                for m in run["metrics"]
                if m["metric"] == "accuracy" and m["kind"] == "clean"
            ),
            None,
        )
        for m in run["metrics"]:
            if m["metric"] != "accuracy" or m["kind"] != "corruption":
                continue
            spec = probes[m["probe_key"]]["spec"]
            points = curves.setdefault(str(spec["corruption"]), {}).setdefault(name, [])
            if clean is not None and not points:
                points.append((0.0, clean))
            points.append((float(spec["severity"]), m["value"]))
    return [
        {"title": corruption, "lines": {k: sorted(v) for k, v in lines.items()}}
        for corruption, lines in curves.items()
    ]


def robustness_curves(runs: list[dict[str, Any]], series: list[str]) -> list[dict[str, Any]]:
    """Robust accuracy vs epsilon per minimal-perturbation probe, one line per run, with the
    fixed-epsilon attacks as markers."""
    charts: dict[str, dict[str, Any]] = {}
    for run, name in zip(runs, series):
        for c in run.get("robustness_curves", []):
            chart = charts.setdefault(c["label"], {"title": c["label"], "lines": {}, "markers": {}})
            chart["lines"][name] = list(zip(c["epsilons"], c["robust_accuracy"]))
            chart["markers"][name] = [(p["epsilon"], p["accuracy"]) for p in c["confirmed"]]
    return list(charts.values())


def gallery_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The first example under every probe of a run: rows per corruption (columns = severity),
    and one row for the clean image and the adversarial ones."""
    probes = {p["key"]: p for p in run["probes"]}
    pictures = [a for a in run.get("artifacts", []) if a["meta"].get("index") == 0]
    rows: dict[str, dict[str, Any]] = {}
    for art in pictures:
        probe = probes.get(art["probe_key"])
        if probe is None:
            continue
        spec, kind = probe["spec"], probe["kind"]
        if kind == "corruption":
            row = rows.setdefault(
                str(spec["corruption"]), {"title": str(spec["corruption"]), "cells": {}}
            )
            row["cells"][f"severity {spec['severity']}"] = art
        else:
            row = rows.setdefault(f"_{kind}", {"title": kind, "cells": {}})
            row["cells"][probe["label"]] = art
    ordered = sorted(
        rows.values(), key=lambda r: (r["title"] not in ("clean",), r["title"] == "attack")
    )
    for row in ordered:
        row["cells"] = dict(sorted(row["cells"].items()))
    return ordered


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
        if m["metric"] == "accuracy" and m["kind"] not in ("summary", "minimal")
    ]
    metric_columns = {
        run["id"]: [
            name
            for name in HEADLINE
            if any(m["metric"] == name and m["kind"] != "summary" for m in run["metrics"])
        ]
        for run in runs
    }
    cells = {run["id"]: {(m["probe_key"], m["metric"]): m for m in run["metrics"]} for run in runs}
    return _ENV.get_template("report.html.j2").render(
        doc=doc,
        version=__version__,
        scorecards={run["id"]: scorecard(run) for run in runs},
        accuracy_chart=metric_bars(chart_rows, series, title="Accuracy per probe"),
        curves=[
            {**c, "svg": line_chart(c["lines"], series, title=c["title"])}
            for c in severity_curves(runs, series)
        ],
        galleries={run["id"]: gallery_rows(run) for run in runs},
        reliability={run["id"]: reliability_charts(run) for run in runs},
        effective=[
            {**er, "svg": scatter_fit(er, {r["id"] for r in runs}) if er["defined"] else None}
            for er in doc.get("effective_robustness", {}).values()
        ],
        robustness=[
            {
                **c,
                "svg": line_chart(
                    c["lines"],
                    series,
                    title=c["title"],
                    x_label="epsilon",
                    markers=c["markers"],
                    dots=False,
                ),
            }
            for c in robustness_curves(runs, series)
        ],
        series=series,
        palette=PALETTE,
        metric_columns=metric_columns,
        cells=cells,
    )


def write_html(doc: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_html(doc), encoding="utf-8")
    return p
