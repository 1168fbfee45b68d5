"""The certified-gap chart: per budget, verified accuracy up to the attacks' bound and clean."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

__all__ = ["gap_chart"]

_LOW, _HIGH, _CLEAN = "#16a34a", "#dc2626", "#64748b"


def gap_chart(points: list[dict[str, Any]], *, title: str) -> Markup:
    """One row per certificate (:func:`robustlab.analysis.certified.certified_gap` points): a
    green dot at the certified accuracy (lower bound), a red dot at the strongest attack's
    accuracy (upper bound) with the gap between them shaded, and a grey tick at clean accuracy.
    """
    left, width, right, row_h, top = 230, 400, 40, 26, 28
    height = top + row_h * len(points) + 28
    x = lambda v: left + width * max(0.0, min(1.0, float(v)))  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {left + width + right} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" font-size="11">'
        f'<tspan fill="{_LOW}">● certified / verified (lower bound)</tspan>  '
        f'<tspan fill="{_HIGH}">● strongest attack (upper bound)</tspan>  '
        f'<tspan fill="{_CLEAN}">| clean</tspan></text>',
    ]
    for i, p in enumerate(points):
        y = top + i * row_h + row_h / 2
        label = f"{p['label']} ({p['norm']} ε={p['epsilon']:.4g})"
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-size="11">'
            f"{escape(label)}</text>"
        )
        parts.append(f'<line x1="{left}" x2="{left + width}" y1="{y}" y2="{y}" stroke="#e5e7eb"/>')
        if p.get("clean") is not None:
            cx = x(p["clean"])
            parts.append(
                f'<line x1="{cx}" x2="{cx}" y1="{y - 8}" y2="{y + 8}" stroke="{_CLEAN}" '
                f'stroke-width="2"><title>clean {p["clean"]:.3f}</title></line>'
            )
        lo = x(p["certified"])
        if p.get("attack") is not None:
            hi = x(p["attack"])
            parts.append(
                f'<rect x="{min(lo, hi)}" y="{y - 4}" width="{abs(hi - lo)}" height="8" '
                f'fill="#fed7aa"><title>gap {p["attack"] - p["certified"]:.3f}</title></rect>'
            )
            parts.append(
                f'<circle cx="{hi}" cy="{y}" r="5" fill="{_HIGH}"><title>attack '
                f"{escape(str(p['attack_probe']))}: {p['attack']:.3f}</title></circle>"
            )
        parts.append(
            f'<circle cx="{lo}" cy="{y}" r="5" fill="{_LOW}"><title>certified '
            f"{p['certified']:.3f}</title></circle>"
        )
    base = top + row_h * len(points) + 6
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<text x="{x(t)}" y="{base + 14}" text-anchor="middle" font-size="10">{t:g}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
