"""A standalone HTML page (inline SVG, no scripts) of a monitor's curves with its events marked."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["svg_chart", "write_html"]

ACCURACY_KEYS = (
    "clean_accuracy",
    "pgd_accuracy",
    "fgsm_accuracy",
    "ensemble_accuracy",
    "worst_group_accuracy",
    "train_accuracy",
    "noisy_fit",
    "clean_fit",
)
COLOURS = ("#1f77b4", "#d62728", "#ff7f0e", "#9467bd", "#2ca02c", "#7f7f7f", "#8c564b", "#17becf")


def svg_chart(
    log: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    events: Sequence[Mapping[str, Any]] = (),
    *,
    y_label: str = "accuracy",
    y_max: float | None = 1.0,
    width: int = 720,
    height: int = 300,
) -> str:
    """An SVG line chart of ``keys`` over ``step``, one vertical marker per event."""
    left, right, top, bottom = 50, 170, 15, 35
    pw, ph = width - left - right, height - top - bottom
    steps = [float(e["step"]) for e in log] or [0.0]
    x0, x1 = min(steps), max(steps)
    series = [k for k in keys if any(e.get(k) is not None for e in log)]
    values = [float(e[k]) for e in log for k in series if e.get(k) is not None]
    top_value = y_max if y_max is not None else (max(values) * 1.1 if values else 1.0) or 1.0

    def sx(v: float) -> float:
        return left + (0.0 if x1 == x0 else (v - x0) / (x1 - x0)) * pw

    def sy(v: float) -> float:
        return top + ph - min(max(v / top_value, 0.0), 1.0) * ph

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(y_label)} over training steps">',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>',
    ]
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = sy(frac * top_value)
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{left - 5}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{frac * top_value:.2g}</text>"
        )
    for v in (x0, (x0 + x1) / 2, x1):
        parts.append(
            f'<text x="{sx(v):.1f}" y="{top + ph + 15}" font-size="11" text-anchor="middle">'
            f"{v:.0f}</text>"
        )
    parts.append(
        f'<text x="{left + pw / 2}" y="{height - 5}" font-size="12" text-anchor="middle">step</text>'
    )
    for ev in events:
        if ev.get("step") is None:
            continue
        x = sx(float(ev["step"]))
        label = html.escape(str(ev.get("kind", "event")))
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" stroke="#444" '
            f'stroke-dasharray="4 3"><title>{label}: {html.escape(str(ev.get("message", "")))}'
            f"</title></line>"
        )
        parts.append(
            f'<text x="{x + 3:.1f}" y="{top + 12}" font-size="10" fill="#444">{label}</text>'
        )
    for i, key in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        pts = [(sx(float(e["step"])), sy(float(e[key]))) for e in log if e.get(key) is not None]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in pts:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/>')
        ly = top + 12 + 16 * i
        parts.append(
            f'<line x1="{left + pw + 10}" x2="{left + pw + 28}" y1="{ly - 4}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{left + pw + 32}" y="{ly}" font-size="11">{html.escape(key)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def write_html(
    data: Mapping[str, Any], path: str | Path, *, title: str = "Training monitor"
) -> Path:
    """Write the page for a monitor's ``to_dict()`` (or a saved monitor JSON) to ``path``."""
    log = data.get("log", [])
    events = data.get("events", [])
    rows = "".join(
        f"<tr><td>{html.escape(str(e.get('step')))}</td><td>{html.escape(str(e.get('kind')))}</td>"
        f"<td>{html.escape(str(e.get('message', '')))}</td></tr>"
        for e in events
    )
    settings = html.escape(", ".join(f"{k}={v}" for k, v in data.get("settings", {}).items()))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:960px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>{settings}</p>
<h2>Accuracy</h2>
{svg_chart(log, ACCURACY_KEYS, events)}
<h2>Calibration (ECE, lower is better)</h2>
{svg_chart(log, ("ece",), events, y_label="ECE", y_max=None, height=220)}
<h2>Events</h2>
<table><tr><th>step</th><th>event</th><th>detail</th></tr>{rows or '<tr><td colspan="3">none detected</td></tr>'}</table>
<p>Best weights kept from step {html.escape(str(data.get("best_step")))}.</p>
</body></html>
"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
