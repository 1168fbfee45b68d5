"""The tabular section of a run: per-column sensitivity, metamorphic tests, the most fragile rows
with their changed cells, and schema violations of the adversarial rows (rendering only)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from markupsafe import Markup, escape

from robustlab.report.html import class_name

__all__ = ["sensitivity_chart", "tabular_section"]

TABLE_MEDIA_TYPE = "application/vnd.robustlab.table+json"  # robustlab.tabular.artifacts
ROWS_SHOWN = 4
COLUMNS_SHOWN = 15  # bars in a sensitivity chart; the rest are summarised in one line


def _fmt(v: Any) -> str:
    if v is None:
        return "missing"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _label(v: Any, names: list[str] | None) -> str:
    """A class (with its name) or, for a regressor, the predicted value."""
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.4g}"
    return class_name(v, names)


def _cells(changed: dict[str, Any]) -> Markup:
    """``column: before → after`` for each changed cell, the new value highlighted."""
    parts = [
        Markup('<span class="cell"><span class="col">{}</span> {} → <mark>{}</mark></span>').format(
            col, _fmt(pair[0]), _fmt(pair[1])
        )
        for col, pair in changed.items()
        if isinstance(pair, (list, tuple)) and len(pair) == 2
    ]
    return Markup(" ").join(parts) if parts else Markup('<span class="ci">no cell changed</span>')


def sensitivity_chart(rows: list[dict[str, Any]], *, title: str) -> Markup:
    """Horizontal bars: per column, the share of rows whose prediction its change alone moved."""
    left, width, right, row_h, top = 190, 420, 70, 20, 8
    height = top + row_h * len(rows) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {left + width + right} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, r in enumerate(rows):
        y = top + i * row_h
        w = width * max(0.0, min(1.0, r["share"]))
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="11">'
            f"{escape(r['column'])}</text>"
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="#f97316">'
            f"<title>{escape(r['column'])}: {r['changed']} of {r['rows']} rows changed</title>"
            f"</rect>"
            f'<text x="{left + w + 6:.1f}" y="{y + 14}" font-size="11">{r["share"]:.1%}</text>'
        )
    base = top + row_h * len(rows) + 4
    parts.append(
        f'<line x1="{left}" x2="{left + width}" y1="{base}" y2="{base}" stroke="#94a3b8"/>'
    )
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<text x="{left + width * t:.1f}" y="{base + 14}" text-anchor="middle" '
            f'font-size="10">{t:.0%}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _metamorphic_label(spec: dict[str, Any]) -> str:
    """``mean radius: +1 sd`` / ``x 1.1`` / ``= b`` and what is tracked."""
    change, amount = spec.get("change", "shift"), spec.get("amount", 1.0)
    what = {
        "shift": f"{float(amount):+g} sd",
        "scale": f"x {float(amount):g}",
        "set": f"= {spec.get('level')}",
    }.get(change, str(change))
    expect = spec.get("expect", "invariant")
    tracked = "" if expect == "invariant" else f" (class {spec.get('class_index', 1)} score)"
    return f"{spec.get('column')}: {what}{tracked}"


def tabular_section(run: dict[str, Any]) -> dict[str, Any] | None:
    """What the report shows of a run's tabular probes, or None when it has none."""
    names = run["dataset"].get("class_names")
    probes = {p["key"]: p for p in run["probes"]}
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    problems: list[str] = []
    for art in run.get("artifacts", []):
        if art.get("media_type") != TABLE_MEDIA_TYPE:
            continue
        key = art.get("probe_key", "")
        try:
            data = json.loads(art["data"])
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            if data.get("kind") == "sensitivity":
                for col, (k, n) in data["columns"].items():
                    counts[key][col][0] += int(k)
                    counts[key][col][1] += int(n)
                continue
            item = {
                "example_id": str((art.get("meta") or {}).get("example_id", "")),
                "cells": _cells(dict(data.get("changed") or {})),
                "distance": data.get("distance"),
                "target": _label(data.get("target"), names),
                "prediction": _label(data.get("prediction"), names),
                "perturbed_prediction": _label(data.get("perturbed_prediction"), names),
                "broken": bool(data.get("broken")),
                "kind": data.get("kind", ""),
                "note": data.get("note", ""),
            }
        except (TypeError, ValueError, KeyError) as exc:
            problems.append(f"stored table example {art.get('name')!r} is malformed: {exc}")
            continue
        rows[key].append(item)
    sensitivity = []
    for key, cols in counts.items():
        ranked = sorted(cols.items(), key=lambda kv: (-(kv[1][0] / max(kv[1][1], 1)), kv[0]))
        table: list[dict[str, Any]] = [
            {"column": c, "changed": k, "rows": n, "share": k / n if n else 0.0}
            for c, (k, n) in ranked
        ]
        label = probes.get(key, {}).get("label", key)
        rest = table[COLUMNS_SHOWN:]
        sensitivity.append(
            {
                "label": label,
                "rows": table,
                "svg": sensitivity_chart(
                    table[:COLUMNS_SHOWN], title=f"Column sensitivity: {label}"
                ),
                "rest": len(rest),
                "rest_max": max((float(r["share"]) for r in rest), default=0.0),
            }
        )
    fragile = []
    for key, stored in rows.items():
        attack = all(i["kind"] == "attack" for i in stored)
        # a perturbation's rows that kept their prediction say little: show the changed ones
        items = stored if attack else [i for i in stored if i["broken"]]
        if not items:
            continue
        order = sorted(
            items,
            key=(lambda i: (i["distance"] is None, i["distance"] or 0.0))
            if attack
            else (lambda i: (not i["broken"], -(i["distance"] or 0.0))),
        )
        fragile.append(
            {
                "label": probes.get(key, {}).get("label", key),
                "kind": items[0]["kind"] if items else "",
                "items": order[:ROWS_SHOWN],
                "total": len(items),
                "attack": attack,
            }
        )
    kinds = {"attack": 0, "metamorphic": 1, "perturbation": 2}
    fragile.sort(key=lambda g: kinds.get(g["kind"], 3))
    metrics = run["metrics"]
    metamorphic = []
    feasibility = []
    for key, p in probes.items():
        spec = p.get("spec") or {}
        mine = {m["metric"]: m for m in metrics if m["probe_key"] == key}
        if spec.get("probe") == "tabular_metamorphic" and "pass_rate" in mine:
            m = mine["pass_rate"]
            threshold = float(spec.get("threshold", 0.9))
            metamorphic.append(
                {
                    "label": _metamorphic_label(spec),
                    "expect": spec.get("expect", "invariant"),
                    "value": m["value"],
                    "ci_low": m.get("ci_low"),
                    "ci_high": m.get("ci_high"),
                    "n": m.get("n"),
                    "threshold": threshold,
                    "passed": m["value"] >= threshold,
                }
            )
        if spec.get("probe") == "tabular_attack" and "feasibility_rate" in mine:
            m = mine["feasibility_rate"]
            n = int(m.get("n") or 0)
            feasibility.append(
                {
                    "label": p["label"],
                    "value": m["value"],
                    "n": n,
                    "violating": round((1.0 - m["value"]) * n),
                }
            )
    if not (sensitivity or fragile or metamorphic or feasibility or problems):
        return None
    return {
        "sensitivity": sensitivity,
        "fragile": fragile,
        "metamorphic": metamorphic,
        "feasibility": feasibility,
        "problems": problems,
    }
