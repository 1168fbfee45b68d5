"""The leaderboard page: one self-contained HTML file (inline CSS and SVG, no scripts)."""

from __future__ import annotations

import math
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from robustlab.leaderboard.board import Entry, Leaderboard
from robustlab.report.svg import PALETTE

__all__ = ["dot_plot", "render_leaderboard_html", "write_leaderboard_html"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("robustlab", "leaderboard/templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: The report's palette, extended so that up to 12 models get distinct colours.
COLORS = (*PALETTE, "#db2777", "#4d7c0f", "#7c3aed", "#0f766e", "#92400e")


def color(i: int) -> str:
    return COLORS[i % len(COLORS)]


def dot_plot(board: Leaderboard) -> Markup:
    """Every model's value on every axis as a dot on a common 0-1 scale, with its interval as a
    whisker; one row per axis, models in leaderboard order from top to bottom within a row."""
    left, width, right, top, row_h = 170, 600, 30, 14, 16 + 7 * len(board.entries)
    height = top + row_h * len(board.columns) + 26
    total_w = left + width + right

    def x(v: float) -> float:
        return left + width * min(max(v, 0.0), 1.0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {total_w} {height}" width="{total_w}" height="{height}">',
        "<title>Per-axis scores of every model</title>",
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        tx = x(tick)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{height - 22}" class="grid"/>'
            f'<text x="{tx:.1f}" y="{height - 8}" class="tick">{tick:g}</text>'
        )
    for a, col in enumerate(board.columns):
        y0 = top + a * row_h
        arrow = "↑" if col.higher_is_better else "↓"
        parts.append(
            f'<text x="{left - 10}" y="{y0 + row_h / 2:.1f}" class="label">'
            f"{escape(col.name)} {arrow}</text>"
        )
        if a:
            parts.append(f'<line x1="{left}" y1="{y0}" x2="{left + width}" y2="{y0}" class="sep"/>')
        for i, e in enumerate(board.entries):
            cell = e.cells.get(col.name)
            if cell is None:
                continue
            cy = y0 + 8 + 7 * i + 3.5
            c = color(i)
            if cell.has_interval:
                parts.append(
                    f'<line x1="{x(cell.ci_low):.1f}" y1="{cy:.1f}" x2="{x(cell.ci_high):.1f}" '
                    f'y2="{cy:.1f}" stroke="{c}" stroke-width="1.5" opacity="0.6"/>'
                )
            tip = f"{e.name} · {col.name}: {cell.value:.4f}"
            if cell.has_interval:
                tip += f" [{cell.ci_low:.4f}, {cell.ci_high:.4f}]"
            parts.append(
                f'<circle cx="{x(cell.value):.1f}" cy="{cy:.1f}" r="3.5" fill="{c}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def render_leaderboard_html(board: Leaderboard) -> str:
    """The leaderboard page as an HTML string."""
    from robustlab import __version__

    best = {c.name: board.best(c.name) for c in board.columns}
    colors = {e.run_id: color(i) for i, e in enumerate(board.entries)}
    top_mean = max((e.mean for e in board.entries if math.isfinite(e.mean)), default=math.nan)
    top_borda = max(e.borda for e in board.entries)

    def is_best(e: Entry, what: str) -> bool:
        if what == "mean":
            return math.isfinite(e.mean) and abs(e.mean - top_mean) <= 1e-12
        if what == "borda":
            return abs(e.borda - top_borda) <= 1e-12
        return e.kemeny == 1

    return _ENV.get_template("leaderboard.html.j2").render(
        board=board,
        version=__version__,
        best=best,
        colors=colors,
        is_best=is_best,
        fmt=_fmt,
        chart=dot_plot(board),
    )


def write_leaderboard_html(board: Leaderboard, out_dir: str | Path) -> Path:
    """Write ``out_dir/leaderboard.html`` and return its path."""
    p = Path(out_dir) / "leaderboard.html"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_leaderboard_html(board), encoding="utf-8")
    return p
