"""Robustness axes: the one place that turns a run's metrics into a headline number per axis.

The report's scorecard and the leaderboard both read these, so a model's "corruptions" number is
the same everywhere. Each axis is defined by the probe kinds and metric it reads; an axis whose
probes a run lacks is simply absent (never 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AXES", "Axis", "axis_scores"]

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Axis:
    """One robustness axis.

    Attributes:
        name: Column name in the scorecard and the leaderboard.
        higher_is_better: Direction used for ranking.
        describe: What the number is, for tooltips and the leaderboard legend.
        pick: Function ``(metrics) -> (row, note)`` choosing the metric row that is the axis's
            headline number, or ``None`` when the run does not measure this axis.
    """

    name: str
    higher_is_better: bool
    describe: str
    pick: Callable[[list[Row]], tuple[Row, str] | None]


def _of(rows: Iterable[Row], *, metric: str, kind: str | None = None) -> list[Row]:
    return [
        r for r in rows if r.get("metric") == metric and (kind is None or r.get("kind") == kind)
    ]


def _summary(rows: list[Row], name: str) -> Row | None:
    found = [
        r
        for r in rows
        if (r.get("probe_key") == "summary" or r.get("kind") == "summary")
        and r.get("metric") == name
    ]
    return found[0] if found else None


def _clean(rows: list[Row], metric: str) -> Row | None:
    found = _of(rows, metric=metric, kind="clean")
    return found[0] if found else None


def _mean_row(rows: list[Row], what: str) -> tuple[Row, str] | None:
    """A synthetic row averaging ``rows`` (no interval: the probes share examples)."""
    if not rows:
        return None
    values = [float(r["value"]) for r in rows]
    mean = sum(values) / len(values)
    row = {
        "metric": rows[0]["metric"],
        "value": mean,
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "higher_is_better": rows[0].get("higher_is_better", True),
        "probe_key": "mean",
    }
    return row, f"mean of {len(rows)} {what}"


def _pick_clean(rows: list[Row]) -> tuple[Row, str] | None:
    acc = _clean(rows, "accuracy")
    if acc is None:
        return None
    ood = _clean(rows, "ood_accuracy")
    details = (ood or {}).get("details") or {}
    ident = (details.get("domains") or {}).get("id")
    if ident is not None:  # a shift scan: clean accuracy is the in-distribution accuracy
        row = {
            "metric": "accuracy",
            "value": float(ident["accuracy"]),
            "ci_low": float(ident.get("ci_low", float("nan"))),
            "ci_high": float(ident.get("ci_high", float("nan"))),
            "higher_is_better": True,
            "probe_key": acc.get("probe_key"),
        }
        return row, "in-distribution"
    return acc, ""


def _pick_corruptions(rows: list[Row]) -> tuple[Row, str] | None:
    summary = _summary(rows, "mean_corruption_accuracy")
    n = len(_of(rows, metric="accuracy", kind="corruption"))
    if summary is not None:
        return summary, f"mean of {n} corruption tests"
    return _mean_row(_of(rows, metric="accuracy", kind="corruption"), "corruption tests")


def _pick_adversarial(rows: list[Row]) -> tuple[Row, str] | None:
    summary = _summary(rows, "worst_case_robust_accuracy")
    attacks = _of(rows, metric="accuracy", kind="attack")
    if summary is not None:
        return summary, f"worst case of {len(attacks)} attacks"
    if not attacks:
        return None
    worst = min(attacks, key=lambda r: float(r["value"]))
    return worst, f"weakest: {worst.get('label', worst.get('probe_key', ''))}"


def _pick_text_attacks(rows: list[Row]) -> tuple[Row, str] | None:
    attacks = _of(rows, metric="accuracy", kind="text_attack")
    if not attacks:
        return None
    worst = min(attacks, key=lambda r: float(r["value"]))
    return worst, f"weakest: {worst.get('label', worst.get('probe_key', ''))}"


def _pick_shift(rows: list[Row]) -> tuple[Row, str] | None:
    ood = _clean(rows, "ood_accuracy")
    return None if ood is None else (ood, "shifted domains")


def _pick_subgroups(rows: list[Row]) -> tuple[Row, str] | None:
    worst = _clean(rows, "worst_group_accuracy")
    return None if worst is None else (worst, "clean data")


def _pick_calibration(rows: list[Row]) -> tuple[Row, str] | None:
    ece = _clean(rows, "ece")
    return None if ece is None else (ece, "clean data, 15 bins")


def _pick_stability(rows: list[Row]) -> tuple[Row, str] | None:
    summary = _summary(rows, "mean_flip_rate")
    if summary is not None:
        n = len(_of(rows, metric="flip_rate", kind="sequence"))
        return summary, f"mean flip rate of {n} sequences"
    return _mean_row(_of(rows, metric="flip_rate", kind="sequence"), "sequences")


def _pick_text_perturbations(rows: list[Row]) -> tuple[Row, str] | None:
    return _mean_row(_of(rows, metric="accuracy", kind="text_transformation"), "transformations")


def _pick_behaviour(rows: list[Row]) -> tuple[Row, str] | None:
    return _mean_row(_of(rows, metric="pass_rate", kind="checklist"), "behavioural tests")


#: The axes, in scorecard and leaderboard column order.
AXES: tuple[Axis, ...] = (
    Axis("clean", True, "accuracy on the unperturbed data", _pick_clean),
    Axis("corruptions", True, "mean accuracy over the corruption tests", _pick_corruptions),
    Axis("adversarial", True, "worst-case robust accuracy over the attacks", _pick_adversarial),
    Axis("shift", True, "accuracy on the shifted domains", _pick_shift),
    Axis("subgroups", True, "worst-group accuracy", _pick_subgroups),
    Axis("calibration", False, "expected calibration error (lower is better)", _pick_calibration),
    Axis("stability", False, "mean flip rate over perturbation sequences", _pick_stability),
    Axis(
        "text perturbations",
        True,
        "mean accuracy under text transformations",
        _pick_text_perturbations,
    ),
    Axis("text attacks", True, "accuracy under the weakest text attack", _pick_text_attacks),
    Axis("behaviour", True, "mean pass rate of the CheckList-style tests", _pick_behaviour),
)


def axis_scores(metrics: Iterable[Row]) -> list[dict[str, Any]]:
    """Headline number per axis from a run's metric rows (each with ``metric``, ``value``,
    ``probe_key`` and the probe's ``kind``; summaries have ``probe_key == "summary"``).

    Returns one dict per measured axis: ``axis``, ``value``, ``ci_low``, ``ci_high``,
    ``higher_is_better``, ``metric``, ``probe_key`` and a short ``note``.
    """
    rows = list(metrics)
    out = []
    for axis in AXES:
        picked = axis.pick(rows)
        if picked is None:
            continue
        row, note = picked
        out.append(
            {
                "axis": axis.name,
                "value": float(row["value"]),
                "ci_low": float(row.get("ci_low", float("nan"))),
                "ci_high": float(row.get("ci_high", float("nan"))),
                "higher_is_better": axis.higher_is_better,
                "metric": str(row.get("metric", "")),
                "probe_key": row.get("probe_key"),
                "note": note,
            }
        )
    return out
