"""Robustness axes: the one place that turns a run's metrics into a headline number per axis.

The scorecard, the leaderboard and the exports all read these, so a model's "corruptions" number
is the same everywhere. Probes, metrics and summaries declare the axis they belong to (their
``axis`` class attribute; the runner stores a unit's axis in its ``info``); an axis here says
which metric of its probes is the headline and how the probes combine. An axis a run lacks is
simply absent (never 0), and a probe declaring an axis this catalogue does not list still gets a
column: the mean accuracy over its probes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "AXES",
    "LEGACY_KIND_AXES",
    "MCE_AXIS",
    "SUMMARY_KEY",
    "Axis",
    "axis_definition",
    "axis_ids",
    "axis_scores",
    "fixed_budget",
    "measures_size",
    "order_axes",
    "row_axis",
    "scorecard",
    "unit_axis",
]

Row = Mapping[str, Any]

#: ``probe_key`` of the metric rows of cross-probe summaries.
SUMMARY_KEY = "summary"

#: The axis of each probe kind of the units stored before the runner recorded ``info["axis"]``
#: (the store migration writes the same values into old units).
LEGACY_KIND_AXES: Mapping[str, str] = {
    "clean": "clean",
    "corruption": "corruptions",
    "attack": "adversarial",
    "minimal": "adversarial",
    "ensemble": "adversarial",
    "sequence": "stability",
    "text_transformation": "text perturbations",
    "text_attack": "text attacks",
    "checklist": "behaviour",
}


def unit_axis(info: Mapping[str, Any] | None) -> str | None:
    """The axis of a stored unit from its ``info``: the declared ``axis``, else (a unit stored
    before axes were recorded) the axis of its legacy ``kind``; ``None`` when neither is known."""
    info = info or {}
    axis = info.get("axis")
    if axis:
        return str(axis)
    return LEGACY_KIND_AXES.get(str(info.get("kind")))


def row_axis(row: Row) -> str | None:
    """The axis of the probe behind a metric row (``axis``, or the legacy ``kind``)."""
    return unit_axis(row)


def fixed_budget(spec: Mapping[str, Any] | None) -> bool:
    """Whether a probe's stored spec fixes a perturbation budget (an ``epsilon``)."""
    return spec is not None and spec.get("epsilon") is not None


def measures_size(axis: str | None, spec: Mapping[str, Any] | None) -> bool:
    """Whether an adversarial probe measures the smallest perturbation that breaks each example
    (no budget) rather than robust accuracy within a budget: its accuracy is the share never
    broken, which is no headline number."""
    return axis == "adversarial" and spec is not None and not fixed_budget(spec)


Reduce = Literal["first", "mean", "min"]


@dataclass(frozen=True)
class Axis:
    """One robustness axis and how its headline number is read from a run's metric rows.

    Attributes:
        name: Axis id: the column name in the scorecard and the leaderboard.
        higher_is_better: Direction used for ranking.
        describe: What the number is, for tooltips and the leaderboard legend.
        metric: The metric read from the probes.
        reduce: ``first`` (the first probe's value), ``mean`` (mean over the probes, without an
            interval since the probes share examples) or ``min`` (the weakest probe).
        source: The axis of the probes read (default: ``name``); the metric axes (shift,
            subgroups, calibration) read their metric on the clean probe.
        summary: A stored summary that is the headline when present (it has an interval).
        what: Plural noun for the probes, used in notes ("mean of 4 corruption tests").
        note: Note of a ``first`` axis; for a summary, its note with ``{n}`` the probe count.
        budgeted: Only probes with a fixed budget (an ``epsilon``) count.
        pick: Custom ``(rows, probes) -> (row, note) | None`` replacing the rule above.
    """

    name: str
    higher_is_better: bool
    describe: str
    metric: str = "accuracy"
    reduce: Reduce = "mean"
    source: str | None = None
    summary: str | None = None
    what: str = "probes"
    note: str = ""
    budgeted: bool = False
    pick: Callable[[list[Row], Mapping[str, Row]], tuple[Row, str] | None] | None = None

    def rows(self, rows: list[Row], probes: Mapping[str, Row]) -> list[Row]:
        """The metric rows of this axis's probes (no summaries)."""
        source = self.source or self.name
        out = []
        for r in rows:
            if r.get("metric") != self.metric or r.get("probe_key") == SUMMARY_KEY:
                continue
            if row_axis(r) != source:
                continue
            probe = probes.get(str(r.get("probe_key")))
            if self.budgeted and probe is not None and not fixed_budget(probe.get("spec")):
                continue
            out.append(r)
        return out

    def headline(self, rows: list[Row], probes: Mapping[str, Row]) -> tuple[Row, str] | None:
        """The row that is this axis's number for a run and a short note, or ``None``."""
        if self.pick is not None:
            return self.pick(rows, probes)
        own = self.rows(rows, probes)
        if self.summary is not None:
            found = _summary(rows, self.summary)
            if found is not None:
                return found, self.note.format(n=len(own))
        if not own:
            return None
        if self.reduce == "first":
            return own[0], self.note
        if self.reduce == "min":
            worst = min(own, key=lambda r: float(r["value"]))
            return worst, f"weakest: {worst.get('label', worst.get('probe_key', ''))}"
        return _mean_row(own), f"mean of {len(own)} {self.what}"


def _summary(rows: list[Row], name: str) -> Row | None:
    return next(
        (r for r in rows if r.get("probe_key") == SUMMARY_KEY and r.get("metric") == name), None
    )


def _mean_row(rows: list[Row]) -> Row:
    """A synthetic row averaging ``rows`` (no interval: the probes share examples)."""
    values = [float(r["value"]) for r in rows]
    return {
        "metric": rows[0]["metric"],
        "value": sum(values) / len(values),
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "higher_is_better": rows[0].get("higher_is_better", True),
        "probe_key": "mean",
    }


def _pick_clean(rows: list[Row], probes: Mapping[str, Row]) -> tuple[Row, str] | None:
    on_clean = [r for r in rows if r.get("probe_key") != SUMMARY_KEY and row_axis(r) == "clean"]
    acc = next((r for r in on_clean if r.get("metric") == "accuracy"), None)
    if acc is None:  # a ranker: clean nDCG@10
        ndcg = next((r for r in on_clean if r.get("metric") == "ndcg"), None)
        return None if ndcg is None else (ndcg, "nDCG@10")
    ood = next((r for r in on_clean if r.get("metric") == "ood_accuracy"), None)
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


#: The axes, in scorecard and leaderboard column order.
AXES: tuple[Axis, ...] = (
    Axis("clean", True, "accuracy on the unperturbed data", pick=_pick_clean),
    Axis(
        "corruptions",
        True,
        "mean accuracy over the corruption tests",
        summary="mean_corruption_accuracy",
        what="corruption tests",
        note="mean of {n} corruption tests",
    ),
    Axis(
        "adversarial",
        True,
        "worst-case robust accuracy over the attacks",
        reduce="min",
        summary="worst_case_robust_accuracy",
        note="worst case of {n} attacks",
        budgeted=True,
    ),
    Axis(
        "union",
        True,
        "accuracy under the per-example worst case of a union of threat models",
        reduce="min",
        note="worst case over the union's members at their top strengths",
    ),
    Axis(
        "shift",
        True,
        "accuracy on the shifted domains",
        metric="ood_accuracy",
        reduce="first",
        source="clean",
        note="shifted domains",
    ),
    Axis(
        "subgroups",
        True,
        "worst-group accuracy",
        metric="worst_group_accuracy",
        reduce="first",
        source="clean",
        note="clean data",
    ),
    Axis(
        "calibration",
        False,
        "expected calibration error (lower is better)",
        metric="ece",
        reduce="first",
        source="clean",
        note="clean data, 15 bins",
    ),
    Axis(
        "stability",
        False,
        "mean flip rate over perturbation sequences",
        metric="flip_rate",
        summary="mean_flip_rate",
        what="sequences",
        note="mean flip rate of {n} sequences",
    ),
    Axis(
        "text perturbations",
        True,
        "mean accuracy under text transformations",
        what="transformations",
    ),
    Axis("text attacks", True, "accuracy under the weakest text attack", reduce="min"),
    Axis(
        "tabular",
        True,
        "mean accuracy under schema-valid tabular perturbations and attacks",
        what="tabular probes",
    ),
    Axis(
        "certified",
        True,
        "weakest certified / verified accuracy (a lower bound on robust accuracy)",
        metric="certified_accuracy",
        reduce="min",
    ),
    Axis(
        "ranking",
        True,
        "mean nDCG@10 of a ranker over query variations and OOD query sets / collections",
        metric="ndcg",
        what="ranking probes",
    ),
    Axis(
        "behaviour",
        True,
        "mean pass rate of the CheckList-style tests",
        metric="pass_rate",
        what="behavioural tests",
    ),
)

#: The scorecard's extra row when the run has a corruption baseline (not a probe axis).
MCE_AXIS = Axis(
    "mCE",
    False,
    "mean corruption error relative to the baseline run (lower is better)",
    metric="mce",
    summary="mce",
)

_BY_NAME = {a.name: a for a in (*AXES, MCE_AXIS)}


def axis_ids() -> list[str]:
    """The ids of the catalogued axes, in column order."""
    return [a.name for a in AXES]


def axis_definition(name: str) -> Axis:
    """The catalogued axis ``name``, or for an axis only a probe declares, the mean accuracy
    over its probes."""
    found = _BY_NAME.get(name)
    if found is not None:
        return found
    return Axis(name, True, f"mean accuracy over the {name} probes", what=f"{name} probes")


def order_axes(names: Iterable[str]) -> list[str]:
    """``names`` in column order: the catalogue's first, then the others as they come."""
    names = list(dict.fromkeys(names))
    order = {a.name: i for i, a in enumerate((*AXES, MCE_AXIS))}
    return sorted(names, key=lambda n: (order.get(n, len(order)), names.index(n)))


def _probe_map(probes: Iterable[Row] | None) -> dict[str, Row]:
    return {str(p["key"]): p for p in probes or () if "key" in p}


def axis_scores(
    metrics: Iterable[Row], probes: Iterable[Row] | None = None
) -> list[dict[str, Any]]:
    """Headline number per axis from a run's metric rows (each with ``metric``, ``value``,
    ``probe_key`` and the probe's ``axis``; summaries have ``probe_key == "summary"``).

    ``probes`` (the run's probes, each with ``key`` and ``spec``) tells fixed-budget attacks
    from minimal-perturbation probes; without it every adversarial probe counts.

    Returns one dict per measured axis: ``axis``, ``value``, ``ci_low``, ``ci_high``,
    ``higher_is_better``, ``metric``, ``probe_key`` and a short ``note``.
    """
    rows = list(metrics)
    by_key = _probe_map(probes)
    declared = [
        a for r in rows if r.get("probe_key") != SUMMARY_KEY and (a := row_axis(r)) is not None
    ]
    extra = [axis_definition(n) for n in dict.fromkeys(declared) if n not in _BY_NAME]
    return [
        _score(axis, picked)
        for axis in (*AXES, *extra)
        if (picked := axis.headline(rows, by_key)) is not None
    ]


def _score(axis: Axis, picked: tuple[Row, str]) -> dict[str, Any]:
    row, note = picked
    return {
        "axis": axis.name,
        "value": float(row["value"]),
        "ci_low": float(row.get("ci_low", float("nan"))),
        "ci_high": float(row.get("ci_high", float("nan"))),
        "higher_is_better": axis.higher_is_better,
        "metric": str(row.get("metric", "")),
        "probe_key": row.get("probe_key"),
        "note": note,
    }


def scorecard(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Headline number per robustness axis of a run document (:func:`axis_scores` of its
    metrics), then mCE when the run has a corruption baseline."""
    rows = axis_scores(run["metrics"], run.get("probes"))
    paired = [d for d in run.get("paired_drops") or () if d.get("axis") == "text perturbations"]
    for row in rows:
        if row["axis"] == "text perturbations" and paired:
            # the changed-only accuracies are measured on different subsets: average the
            # accuracies paired with clean accuracy on the same examples instead
            row["value"] = sum(float(d["perturbed_accuracy"]) for d in paired) / len(paired)
            row["note"] = f"mean of {len(paired)} transformations, paired with clean"
    mce = _summary(list(run["metrics"]), "mce")
    if mce is not None:
        base = (mce.get("details") or {}).get("baseline", "")
        rows.append(_score(MCE_AXIS, (mce, f"vs baseline run {base}" if base else "")))
    return rows
