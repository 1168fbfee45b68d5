"""The leaderboard as a terminal table, CSV, Markdown and JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from robustlab.errors import ConfigError
from robustlab.leaderboard.board import Leaderboard
from robustlab.report.exports import csv_text, markdown_text

__all__ = [
    "leaderboard_csv",
    "leaderboard_json",
    "leaderboard_markdown",
    "read_leaderboard_json",
    "rich_table",
    "rich_tables",
    "write_text",
]


def _f(value: float | None, digits: int = 4) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def leaderboard_csv(board: Leaderboard) -> str:
    """One row per model in leaderboard order: position, identity, per axis value and interval,
    then the mean, Borda count, Kemeny position and mean rank. Missing cells are empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = ["position", "model", "run_id", "model_fingerprint", "seed"]
    for c in board.columns:
        head += [c.name, f"{c.name} ci_low", f"{c.name} ci_high"]
    head += ["mean", "borda", "kemeny", "mean_rank", "borda_rank", "disagrees"]
    writer.writerow(head)

    def num(v: float) -> str:
        return repr(float(v)) if math.isfinite(v) else ""

    for pos, e in enumerate(board.entries, 1):
        row: list[Any] = [pos, csv_text(e.name), e.run_id, e.model_fingerprint, e.seed]
        for c in board.columns:
            cell = e.cells.get(c.name)
            row += (
                ["", "", ""]
                if cell is None
                else [
                    num(cell.value),
                    num(cell.ci_low),
                    num(cell.ci_high),
                ]
            )
        row += [num(e.mean), num(e.borda), e.kemeny, e.mean_rank or "", e.borda_rank or ""]
        row.append(e.disagrees)
        writer.writerow(row)
    return buf.getvalue()


def leaderboard_markdown(board: Leaderboard) -> str:
    """A Markdown table (best value per axis in bold) with the agreement between the orderings."""
    md = markdown_text
    best = {c.name: board.best(c.name) for c in board.columns}
    lines = [
        f"# Leaderboard: {md(board.suite)} v{board.suite_version}",
        "",
        f"Dataset {md(board.dataset.get('name', ''))} "
        f"(`{md(board.dataset.get('fingerprint', ''))}`), {len(board.entries)} models, "
        f"sorted by {board.sort}; generated {md(board.generated_at)}.",
        "",
    ]
    arrows = [f"{md(c.name)} {'↑' if c.higher_is_better else '↓'}" for c in board.columns]
    lines.append("| # | model | " + " | ".join(arrows) + " | mean | Borda | Kemeny | mean rank |")
    lines.append("|---:|---|" + "---:|" * len(board.columns) + "---:|---:|---:|---:|")
    for pos, e in enumerate(board.entries, 1):
        cells = []
        for c in board.columns:
            cell = e.cells.get(c.name)
            if cell is None:
                cells.append("–")
                continue
            text = f"{cell.value:.4f}"
            cells.append(f"**{text}**" if e.run_id in best[c.name] else text)
        moved = " ↕" if e.disagrees else ""
        lines.append(
            f"| {pos} | {md(e.name)} | " + " | ".join(cells) + f" | {_f(e.mean)} | "
            f"{_f(e.borda, 2)} | {e.kemeny} | {e.mean_rank if e.mean_rank else '–'}{moved} |"
        )
    a = board.agreement
    lines += [
        "",
        f"Kendall's τ: mean vs Kemeny {_f(a.get('mean_vs_kemeny'), 2)}, mean vs Borda "
        f"{_f(a.get('mean_vs_borda'), 2)}, Borda vs Kemeny {_f(a.get('borda_vs_kemeny'), 2)}.",
    ]
    for d in a.get("discordant", []):
        lines.append(
            f"- The mean ranks {md(d['mean_prefers'])} above {md(d['kemeny_prefers'])}; Kemeny "
            f"ranks {md(d['kemeny_prefers'])} higher (it wins {d['wins']:g} of {d['shared']} "
            "shared axes)."
        )
    for w in board.warnings:
        lines.append(f"- **Warning:** {md(w)}")
    for n in board.notes:
        lines.append(f"- {md(n)}")
    lines += [
        "",
        "Axes: "
        + "; ".join(f"**{md(c.name)}**: {md(c.describe)}" for c in board.columns)
        + ". Mean: lower-is-better axes enter as 1 − value. Borda and Kemeny-Young after "
        "Colombo et al., NeurIPS 2022; pairs are compared on the axes both models have.",
    ]
    return "\n".join(lines) + "\n"


def leaderboard_json(board: Leaderboard) -> str:
    """The leaderboard document (``schema: robustlab.leaderboard``), standard JSON."""
    return json.dumps(board.to_dict(), indent=2, allow_nan=False)


def read_leaderboard_json(path: str | Path) -> Leaderboard:
    """A :class:`Leaderboard` from a file written by :func:`leaderboard_json`."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Leaderboard file {str(p)!r} does not exist; check the path.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{str(p)!r} is not a JSON file ({exc}).") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{str(p)!r} is not a leaderboard document.")
    return Leaderboard.from_dict(doc)


def write_text(text: str, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def rich_table(
    board: Leaderboard, *, intervals: bool = True, axes: bool = True, ranks: bool = True
) -> Any:
    """The leaderboard as a :class:`rich.table.Table` (names shown literally, never as markup).

    Args:
        board: The leaderboard.
        intervals: Show each cell's confidence interval under its value.
        axes: Include the per-axis columns.
        ranks: Include the aggregation columns (mean, Borda, Kemeny, mean rank).
    """
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"Leaderboard · suite {board.suite} v{board.suite_version} · "
        f"{board.dataset.get('name', '')} · sorted by {board.sort}",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("model", overflow="fold", min_width=10)
    for c in board.columns if axes else []:
        table.add_column(f"{c.name} {'↑' if c.higher_is_better else '↓'}", justify="right")
    for name in ("mean", "Borda", "Kemeny", "mean rank") if ranks else ():
        table.add_column(name, justify="right", no_wrap=True)
    best = {c.name: board.best(c.name) for c in board.columns}
    for pos, e in enumerate(board.entries, 1):
        cells: list[Any] = [str(pos), Text(e.name)]
        for c in board.columns if axes else []:
            cell = e.cells.get(c.name)
            if cell is None:
                cells.append(Text("–", style="dim"))
                continue
            text = Text(f"{cell.value:.4f}", style="bold green" if e.run_id in best[c.name] else "")
            if intervals and cell.has_interval:
                text.append(f"\n[{cell.ci_low:.3f}, {cell.ci_high:.3f}]", style="dim")
            cells.append(text)
        if ranks:
            rank = Text(str(e.mean_rank) if e.mean_rank else "–")
            if e.disagrees:
                rank.append(" ↕", style="bold yellow")
            cells += [_f(e.mean, 3), _f(e.borda, 2), str(e.kemeny), rank]
        table.add_row(*cells)
    return table


def rich_tables(board: Leaderboard, width: int) -> list[Any]:
    """The terminal view for a console ``width`` characters wide: one table with intervals when
    it fits, else one without, else the axes and the rankings as two tables."""
    from rich.console import Console
    from rich.measure import Measurement

    console = Console(width=10_000)

    def fits(table: Any) -> bool:
        return Measurement.get(console, console.options, table).maximum <= width

    for table in (rich_table(board), rich_table(board, intervals=False)):
        if fits(table):
            return [table]
    return [rich_table(board, intervals=False, ranks=False), rich_table(board, axes=False)]
