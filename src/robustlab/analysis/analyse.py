"""Compute every analysis of a set of stored runs into one :class:`Analysis`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from robustlab.analysis.axes import scorecard
from robustlab.analysis.certified import certified_gap
from robustlab.analysis.compare import compare_runs
from robustlab.analysis.curves import robustness_curves, severity_curves
from robustlab.analysis.drops import domain_drops, perturbation_drops
from robustlab.analysis.effective import effective_robustness
from robustlab.analysis.result import (
    Analysis,
    AxisScore,
    CertifiedGapPoint,
    Comparison,
    RobustnessCurve,
    RunAnalysis,
    SeedGroup,
    SeverityCurve,
)
from robustlab.analysis.seeds import seed_groups
from robustlab.records import ID_DOMAIN
from robustlab.store import Store

__all__ = ["analyse", "analyse_run", "training_domains"]


def analyse_run(store: Store, run: dict[str, Any]) -> RunAnalysis:
    """The per-run analyses of a report run document (:func:`robustlab.report.data.run_data`).

    Adds the run's paired perturbation drops to the document as ``paired_drops`` (the text
    axis of the scorecard averages them)."""
    if "paired_drops" not in run:
        run["paired_drops"] = perturbation_drops(store, run)
    return RunAnalysis(
        run_id=run["id"],
        scorecard=tuple(AxisScore.from_dict(r) for r in scorecard(run)),
        robustness_curves=tuple(
            RobustnessCurve.from_dict(c) for c in robustness_curves(store, run)
        ),
        severity_curves=tuple(SeverityCurve.from_dict(c) for c in severity_curves(run)),
        domain_drops=domain_drops(store, run) if run["dataset"].get("domains") else None,
        certified_gap=tuple(
            CertifiedGapPoint.from_dict(
                {**p, "probe_key": str(p["probe_key"]), "label": str(p["label"])}
            )
            for p in certified_gap(run)
        ),
    )


def analyse(
    store: Store,
    runs: Sequence[dict[str, Any]],
    *,
    id_domains: list[str] | None = None,
    population: str = "standard",
) -> Analysis:
    """Every analysis of the run documents ``runs``: per run, and across runs (comparisons,
    seed variance, effective robustness over the store's models on the same shifted data).

    ``id_domains`` picks the ID test sets of the multi-ID effective-robustness fit; by default
    they are the in-distribution set plus every domain a stored model was trained on
    (``trained_on``), when there are at least two. ``population`` picks the models the
    effective-robustness baseline is fitted on (``standard``: those not marked
    ``robust_intervention``; ``all``).
    """
    runs = list(runs)
    shifted = {r["dataset"]["fingerprint"] for r in runs if r["dataset"].get("domains")}
    multi = {}
    for fp in sorted(shifted):
        chosen = id_domains or training_domains(store, fp)
        if chosen and len(chosen) >= 2:
            multi[fp] = effective_robustness(store, fp, id_domains=chosen, population=population)
    return Analysis(
        runs=tuple(analyse_run(store, r) for r in runs),
        comparisons=tuple(Comparison.from_dict(c) for c in compare_runs(store, runs)),
        seed_variance=tuple(SeedGroup.from_dict(g) for g in seed_groups(store, runs)),
        effective_robustness={
            fp: effective_robustness(store, fp, population=population) for fp in sorted(shifted)
        },
        effective_robustness_multi_id=multi,
    )


def training_domains(store: Store, dataset_fingerprint: str) -> list[str]:
    """The in-distribution set and every domain a model stored on this data was trained on."""
    domains = [ID_DOMAIN]
    for run in store.runs():
        if run["dataset_fingerprint"] == dataset_fingerprint:
            trained = (run["model_spec"] or {}).get("trained_on")
            if trained and trained not in domains:
                domains.append(trained)
    return domains
