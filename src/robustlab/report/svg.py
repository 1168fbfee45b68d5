"""Inline SVG charts (no JavaScript, no network): they render from file:// and in print."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

__all__ = [
    "PALETTE",
    "axis_chart",
    "line_chart",
    "metric_bars",
    "reliability_diagram",
    "scatter_fit",
]

PALETTE = ("#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``lo..hi``: steps of 1, 2, 2.5 or 5 times a power of ten
    (``0, 0.01, 0.02, 0.03`` rather than ``0, 0.0359, 0.0718``)."""
    import math

    if not (hi > lo):
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * 0.999)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, v = [], first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


def tick_label(value: float, ticks: list[float]) -> str:
    """A tick's label with as many decimals as the ticks need and no more (``0.25``, ``2``)."""
    for decimals in range(0, 7):
        if all(abs(round(t, decimals) - t) < 1e-9 for t in ticks):
            return f"{value:.{decimals}f}"
    return f"{value:.3g}"


def _short(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _legend(series: list[str], left: float, width: float, y: float) -> tuple[list[str], float]:
    """Legend swatches wrapped into rows that fit ``width``; returns the parts and the height."""
    parts: list[str] = []
    lx, ly = left, y
    for i, s in enumerate(series):
        name = s if len(s) <= 40 else s[:39] + "…"
        step = 30 + 6.5 * len(name)
        if lx + step > left + width and lx > left:
            lx, ly = left, ly + 16
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{lx:.0f}" y="{ly - 10:.0f}" width="12" height="12" fill="{color}"/>'
            f'<text x="{lx + 16:.0f}" y="{ly:.0f}" class="legend">{escape(name)}</text>'
        )
        lx += step
    return parts, ly - y + 16


def metric_bars(
    rows: list[dict[str, Any]], series: list[str], *, title: str, lo: float = 0.0, hi: float = 1.0
) -> Markup:
    """Horizontal grouped bars, one group per probe label and one bar per series (run), each with
    its confidence interval as a whisker; drawn at the report's full width.

    Args:
        rows: Items with ``label``, ``series``, ``value``, ``ci_low``, ``ci_high``.
        series: Series names in legend order.
        title: Accessible title of the chart.
        lo: Value at the left edge of the axis.
        hi: Value at the right edge of the axis.
    """
    labels = list(dict.fromkeys(r["label"] for r in rows))
    bar_h, gap, left, width, right = 14, 10, 240, 780, 60
    group_h = bar_h * len(series) + gap
    total_w = left + width + right
    legend, legend_h = _legend(series, left, width, 14)
    legend_h += 4
    height = legend_h + group_h * len(labels) + 44

    def x(v: float) -> float:
        return left + width * (min(max(v, lo), hi) - lo) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart wide" role="img" '
        f'viewBox="0 0 {total_w} {height:.0f}" width="{total_w}" height="{height:.0f}">',
        f"<title>{escape(title)}</title>",
        *legend,
    ]
    bottom = height - 38
    ticks = nice_ticks(lo, hi, 6)
    for v in ticks:
        tx = x(v)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{legend_h}" x2="{tx:.1f}" y2="{bottom:.0f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{tx:.1f}" y="{bottom + 14:.0f}" class="tick">{tick_label(v, ticks)}</text>'
        )
    parts.append(
        f'<text x="{left + width / 2:.0f}" y="{height - 6:.0f}" class="axis-title">accuracy</text>'
    )
    index = {(r["label"], r["series"]): r for r in rows}
    for g, label in enumerate(labels):
        gy = legend_h + g * group_h
        shown = label if len(label) <= 38 else label[:37] + "…"
        parts.append(
            f'<text x="{left - 8}" y="{gy + group_h / 2:.1f}" class="label">{escape(shown)}'
            f"<title>{escape(label)}</title></text>"
        )
        for i, s in enumerate(series):
            r = index.get((label, s))
            if r is None:
                continue
            y = gy + i * bar_h
            color = PALETTE[i % len(PALETTE)]
            tip = f"{s} · {label}: {r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
            parts.append(
                f'<rect x="{left}" y="{y + 1}" width="{max(x(r["value"]) - left, 0.5):.1f}" '
                f'height="{bar_h - 2}" fill="{color}" opacity="0.85"><title>{escape(tip)}</title></rect>'
            )
            cy = y + bar_h / 2
            parts.append(
                f'<line x1="{x(r["ci_low"]):.1f}" y1="{cy:.1f}" x2="{x(r["ci_high"]):.1f}" '
                f'y2="{cy:.1f}" class="whisker"/>'
            )
            parts.append(
                f'<text x="{x(r["ci_high"]) + 4:.1f}" y="{cy + 4:.1f}" class="value">{r["value"]:.3f}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _finite(*values: float) -> bool:
    return all(v == v and abs(v) != float("inf") for v in values)


def axis_chart(
    rows: list[dict[str, Any]],
    axes: list[tuple[str, bool]],
    series: list[str],
    *,
    title: str,
) -> Markup:
    """The scorecard's summary: one row per robustness axis on a common 0-1 scale, one dot per
    series (run) with its confidence interval; rows where lower is better are shaded and marked.

    Args:
        rows: Items with ``axis``, ``series``, ``value``, ``ci_low``, ``ci_high`` (NaN bounds
            draw no whisker).
        axes: ``(name, higher_is_better)`` in display order.
        series: Series names in legend order.
        title: Accessible title of the chart.
    """
    left, width, right, axis_h, lane = 200, 800, 70, 44, 16
    total_w = left + width + right
    legend: list[tuple[float, float, str]] = []
    lx, ly = float(left), 11.0
    for s in series:
        name = s if len(s) <= 28 else s[:27] + "…"
        step = 30 + 7 * len(name)
        if lx + step > total_w and lx > left:
            lx, ly = float(left), ly + 18
        legend.append((lx, ly, name))
        lx += step
    legend_h = ly + 15
    group_h = max(lane * len(series), 30) + 14
    height = legend_h + group_h * len(axes) + axis_h

    def x(v: float) -> float:
        return left + width * min(max(v, 0.0), 1.0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart axes wide" role="img" '
        f'viewBox="0 0 {total_w} {height:.0f}" width="{total_w}" height="{height:.0f}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (lx, ly, name) in enumerate(legend):
        parts.append(
            f'<circle cx="{lx + 6:.0f}" cy="{ly:.0f}" r="5" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{lx + 15:.0f}" y="{ly + 4:.0f}" class="legend">{escape(name)}</text>'
        )
    bottom = legend_h + group_h * len(axes)
    for g, (axis, higher) in enumerate(axes):
        gy = legend_h + g * group_h
        if not higher:
            parts.append(
                f'<rect x="{left}" y="{gy + 2}" width="{width}" height="{group_h - 4}" '
                f'class="lower-band"/>'
            )
        direction = "higher is better ↑" if higher else "lower is better ↓"
        parts.append(
            f'<text x="{left - 10}" y="{gy + group_h / 2 - 4:.1f}" class="label">'
            f"{escape(axis)}</text>"
            f'<text x="{left - 10}" y="{gy + group_h / 2 + 10:.1f}" '
            f'class="direction{"" if higher else " lower"}">{direction}</text>'
        )
    for tick in range(6):
        v = tick / 5
        parts.append(
            f'<line x1="{x(v):.1f}" y1="{legend_h}" x2="{x(v):.1f}" y2="{bottom}" class="grid"/>'
            f'<text x="{x(v):.1f}" y="{bottom + 16}" class="tick">{v:.1f}</text>'
        )
    parts.append(
        f'<text x="{left + width / 2:.0f}" y="{bottom + 36:.0f}" class="axis-title">'
        f"headline value per axis (0 to 1)</text>"
    )
    index = {(r["axis"], r["series"]): r for r in rows}
    for g, (axis, _) in enumerate(axes):
        top = legend_h + g * group_h + (group_h - lane * len(series)) / 2
        for i, s in enumerate(series):
            r = index.get((axis, s))
            if r is None:
                continue
            color = PALETTE[i % len(PALETTE)]
            cy = top + lane * i + lane / 2
            value = float(r["value"])
            lo, hi = float(r["ci_low"]), float(r["ci_high"])
            ci = f" [{lo:.3f}, {hi:.3f}]" if _finite(lo, hi) else ""
            tip = escape(f"{s} · {axis}: {value:.3f}{ci}")
            parts.append(
                f'<line x1="{left}" y1="{cy:.1f}" x2="{x(value):.1f}" y2="{cy:.1f}" '
                f'stroke="{color}" stroke-width="6" opacity="0.25"/>'
            )
            if _finite(lo, hi):
                parts.append(
                    f'<line x1="{x(lo):.1f}" y1="{cy:.1f}" x2="{x(hi):.1f}" y2="{cy:.1f}" '
                    f'class="whisker"/>'
                )
            end = max(x(value), x(hi)) if _finite(lo, hi) else x(value)
            parts.append(
                f'<circle cx="{x(value):.1f}" cy="{cy:.1f}" r="5" fill="{color}" '
                f'stroke="white" stroke-width="1"><title>{tip}</title></circle>'
                f'<text x="{end + 8:.1f}" y="{cy + 4:.1f}" class="value">{value:.3f}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    lines: dict[str, list[tuple[float, float]]],
    series: list[str],
    *,
    title: str,
    x_label: str = "severity",
    lo: float = 0.0,
    hi: float = 1.0,
    markers: dict[str, list[tuple[float, float]]] | None = None,
    dots: bool = True,
    y_label: str = "accuracy",
) -> Markup:
    """A small line chart (one line per series) for curves such as accuracy vs severity, with
    axis titles and round tick values; ``markers`` adds separate square points per series
    (e.g. fixed-epsilon confirmations)."""
    w, h, left, bottom, top, right = 320, 210, 46, 42, 22, 18
    xs = [x for pts in lines.values() for x, _ in pts]
    xs += [x for pts in (markers or {}).values() for x, _ in pts]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x1 = x1 if x1 > x0 else x0 + 1
    distinct = sorted(set(xs))
    if len(distinct) <= 8 and all(float(x).is_integer() for x in distinct):
        ticks = distinct  # severities: every one
    else:
        ticks = [t for t in nice_ticks(x0, x1, 5) if x0 - 1e-12 <= t <= x1 + 1e-12]

    def px(x: float) -> float:
        return left + (w - left - right) * (x - x0) / (x1 - x0)

    def py(y: float) -> float:
        return top + (h - top - bottom) * (1 - (min(max(y, lo), hi) - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart small" role="img" '
        f'viewBox="0 0 {w} {h}" width="{w}" height="{h}">',
        f"<title>{escape(title)}: {escape(y_label)} vs {escape(x_label)}</title>",
        f'<text x="{w / 2}" y="14" class="ctitle">{escape(title[:48])}</text>',
    ]
    yticks = nice_ticks(lo, hi, 5)
    for tick in yticks:
        parts.append(
            f'<line x1="{left}" y1="{py(tick):.1f}" x2="{w - right}" y2="{py(tick):.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{py(tick) + 3:.1f}" class="ytick">'
            f"{tick_label(tick, yticks)}</text>"
        )
    for x in ticks:
        parts.append(
            f'<text x="{px(x):.1f}" y="{h - bottom + 14}" class="tick">{tick_label(x, ticks)}</text>'
        )
    parts.append(
        f'<text x="{(left + w - right) / 2:.0f}" y="{h - 6}" class="axis-title">'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{(top + h - bottom) / 2:.0f}" class="axis-title" '
        f'transform="rotate(-90 12 {(top + h - bottom) / 2:.0f})">{escape(y_label)}</text>'
    )
    for i, s in enumerate(series):
        pts = lines.get(s)
        if not pts:
            continue
        color = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in pts if dots else []:
            tip = escape(f"{s}: {x_label} {x:g} -> {y:.3f}")
            parts.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}"><title>{tip}</title></circle>'
            )
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        for x, y in (markers or {}).get(s, []):
            tip = escape(f"{s}: fixed-budget attack at {x_label} {x:.4g} -> {y:.3f}")
            parts.append(
                f'<rect x="{px(x) - 3.5:.1f}" y="{py(y) - 3.5:.1f}" width="7" height="7" fill="white" '
                f'stroke="{color}" stroke-width="2"><title>{tip}</title></rect>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def reliability_diagram(bins: list[dict[str, Any]], *, title: str, ece: float) -> Markup:
    """Accuracy against confidence per bin (bars; darker = more examples) with the diagonal of
    perfect calibration."""
    w, h, left, bottom, top, right = 260, 230, 46, 42, 22, 14
    pw, ph = w - left - right, h - top - bottom
    total = sum(b["count"] for b in bins) or 1

    def px(v: float) -> float:
        return left + pw * v

    def py(v: float) -> float:
        return top + ph * (1 - v)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart small" role="img" '
        f'viewBox="0 0 {w} {h}" width="{w}" height="{h}">',
        f"<title>Reliability diagram: {escape(title)}</title>",
        f'<text x="{w / 2}" y="13" class="ctitle">{escape(_short(title, 26))} · ECE {ece:.3f}'
        f"<title>{escape(title)}</title></text>",
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" class="grid" '
        f'stroke-dasharray="4 3"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{left - 4}" y="{py(tick) + 3:.1f}" class="ytick">{tick:g}</text>')
        parts.append(f'<text x="{px(tick):.1f}" y="{h - bottom + 14}" class="tick">{tick:g}</text>')
    parts.append(
        f'<text x="{left + pw / 2:.0f}" y="{h - 6}" class="axis-title">confidence</text>'
        f'<text x="12" y="{top + ph / 2:.0f}" class="axis-title" '
        f'transform="rotate(-90 12 {top + ph / 2:.0f})">accuracy</text>'
    )
    for b in bins:
        if not b["count"] or b.get("accuracy") is None:
            continue
        x0, x1 = px(b["lower"]), px(b["upper"])
        y = py(b["accuracy"])
        share = b["count"] / total
        tip = escape(
            f"confidence {b['lower']:.2f}-{b['upper']:.2f}: accuracy {b['accuracy']:.3f}, "
            f"mean confidence {b['mean_confidence']:.3f}, {b['count']} examples"
        )
        opacity = 0.35 + 0.65 * min(1.0, share * 4)
        parts.append(
            f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 1, 1):.1f}" '
            f'height="{py(0) - y:.1f}" fill="{PALETTE[0]}" opacity="{opacity:.2f}">'
            f"<title>{tip}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def scatter_fit(
    er: dict[str, Any], highlight: set[str], colors: dict[str, str] | None = None
) -> Markup:
    """ID vs OOD accuracy of every model, the logit-space fit with its 95% prediction band, and
    the diagonal; one colour per model (``colors`` maps a report run to its series colour),
    named in the legend on the right; models of this report are drawn filled."""
    plot_w, h, left, bottom, top, right = 460, 340, 52, 44, 16, 12
    legend_w = 290
    w = plot_w + legend_w
    pts = er["models"]
    xs = [p["id_accuracy"] for p in pts] + er["curve"]["id"]
    ys = [p["ood_accuracy"] for p in pts]
    x0, x1 = max(min(xs) - 0.02, 0.0), min(max(xs) + 0.02, 1.0)
    y0, y1 = (
        max(min(ys + er["curve"]["low"]) - 0.02, 0.0),
        min(max(ys + er["curve"]["high"]) + 0.02, 1.0),
    )

    def px(v: float) -> float:
        return left + (plot_w - left - right) * (v - x0) / max(x1 - x0, 1e-9)

    def py(v: float) -> float:
        return top + (h - top - bottom) * (1 - (v - y0) / max(y1 - y0, 1e-9))

    c = er["curve"]
    band = [(px(x), py(y)) for x, y in zip(c["id"], c["high"]) if x0 <= x <= x1]
    band += [(px(x), py(y)) for x, y in reversed(list(zip(c["id"], c["low"]))) if x0 <= x <= x1]
    line = [(px(x), py(y)) for x, y in zip(c["id"], c["ood"]) if x0 <= x <= x1]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart scatter" role="img" viewBox="0 0 {w} {h}" '
        f'width="{w}" height="{h}"><title>Effective robustness: OOD vs ID accuracy</title>',
        f'<polygon points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in band)}" fill="{PALETTE[0]}" opacity="0.12"/>',
        f'<polyline points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in line)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>',
    ]
    lo, hi = max(x0, y0), min(x1, y1)
    if lo < hi:
        parts.append(
            f'<line x1="{px(lo):.1f}" y1="{py(lo):.1f}" x2="{px(hi):.1f}" y2="{py(hi):.1f}" '
            f'class="grid" stroke-dasharray="4 3"/>'
        )
    bend = er.get("nonlinear") or {}
    if bend.get("significant") and bend.get("curve"):  # accuracy on the curve, not the line
        quad = [
            (px(x), py(min(max(y, y0), y1)))
            for x, y in zip(bend["curve"]["id"], bend["curve"]["ood"])
            if x0 <= x <= x1
        ]
        parts.append(
            f'<polyline class="quadratic" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in quad)}" '
            f'fill="none" stroke="{PALETTE[2]}" stroke-width="2" stroke-dasharray="6 3">'
            f"<title>quadratic fit in logit space (the line is rejected)</title></polyline>"
        )
    xt = [t for t in nice_ticks(x0, x1, 5) if x0 - 1e-9 <= t <= x1 + 1e-9]
    yt = [t for t in nice_ticks(y0, y1, 5) if y0 - 1e-9 <= t <= y1 + 1e-9]
    for vx in xt:
        parts.append(
            f'<text x="{px(vx):.1f}" y="{h - bottom + 16}" class="tick">{tick_label(vx, xt)}</text>'
        )
    for vy in yt:
        parts.append(
            f'<text x="{left - 4}" y="{py(vy) + 3:.1f}" class="ytick">{tick_label(vy, yt)}</text>'
        )
    mid_y = (top + h - bottom) / 2
    parts.append(
        f'<text x="{(left + plot_w - right) / 2:.0f}" y="{h - 8}" class="axis-title">'
        f"ID accuracy</text>"
        f'<text x="14" y="{mid_y:.0f}" class="axis-title" transform="rotate(-90 14 {mid_y:.0f})">'
        f"OOD accuracy</text>"
    )
    palette = dict(colors or {})
    others = [c for c in PALETTE if c not in palette.values()] or list(PALETTE)
    for p in pts:  # report runs keep their series colour; other models take the next ones
        if p["run"] not in palette:
            palette[p["run"]] = others[
                len([r for r in palette if r not in (colors or {})]) % len(others)
            ]
    ly = top + 6
    for p in pts:
        mine = p["run"] in highlight
        color = palette[p["run"]]
        tip = escape(
            f"{p['model']}: ID {p['id_accuracy']:.3f}, OOD {p['ood_accuracy']:.3f}, "
            f"effective robustness {p['effective_robustness']:+.3f}"
        )
        parts.append(
            f'<circle class="model-point" cx="{px(p["id_accuracy"]):.1f}" '
            f'cy="{py(p["ood_accuracy"]):.1f}" r="5" fill="{color if mine else "white"}" '
            f'stroke="{color}" stroke-width="2"><title>{tip}</title></circle>'
        )
        if ly < h - 10:
            name = str(p["model"])
            name = _short(name, 28)
            parts.append(
                f'<circle cx="{plot_w + 10}" cy="{ly - 4}" r="5" fill="{color if mine else "white"}" '
                f'stroke="{color}" stroke-width="2"/>'
                f'<text x="{plot_w + 20}" y="{ly}" class="legend">{escape(name)} '
                f"({p['effective_robustness']:+.3f})</text>"
            )
            ly += 16
    parts.append("</svg>")
    return Markup("".join(parts))
