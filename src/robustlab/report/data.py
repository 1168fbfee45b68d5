"""Gather one or more stored runs into plain data: the single source for JSON and HTML."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any

import numpy as np

from robustlab.store import Store
from robustlab.store._engine import mask_nested

__all__ = ["REPORT_SCHEMA_VERSION", "collect", "run_data"]

#: Version of the exported JSON layout; bump on any incompatible change.
REPORT_SCHEMA_VERSION = 1


def _iso(value: Any) -> Any:
    return value.isoformat(timespec="seconds") if isinstance(value, dt.datetime) else value


def run_data(store: Store, run_id: str, artifacts: bool = False) -> dict[str, Any]:
    run = store.run(run_id)
    units = store.units(run["id"])
    probes: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for spec in run["suite_spec"]["probes"]:
        probes.setdefault(_key_of(spec, units), {"spec": spec})
    for u in units:
        p = probes.setdefault(u["probe_key"], {"spec": u["probe_spec"]})
        p.update(key=u["probe_key"], label=u["info"].get("label", u["probe_key"]))
        p["kind"] = u["info"].get("kind", "other")
        p.setdefault("seconds", 0.0)
        p.setdefault("units", 0)
        p.setdefault("warnings", [])
        p["seconds"] += u["seconds"]
        if u["status"] == "skipped":
            p["status"] = "skipped"
            p["reason"] = u["info"].get("reason", "")
        else:
            p["status"] = "done"
            p["units"] += 1
            for w in u["info"].get("warnings", []):
                if w not in p["warnings"]:
                    p["warnings"].append(w)
    probe_list = [p for p in probes.values() if "key" in p]
    metrics = store.metrics(run["id"])
    labels = {p["key"]: (p["label"], p["kind"]) for p in probe_list}
    for m in metrics:
        if m["probe_key"] == "summary":
            m["label"], m["kind"] = m["metric"], "summary"
        else:
            m["label"], m["kind"] = labels.get(m["probe_key"], (m["probe_key"], "other"))
    warnings = [dict(w, probe=p["key"]) for p in probe_list for w in p["warnings"]]
    extra = {"artifacts": store.artifacts(run["id"])} if artifacts else {}
    extra["robustness_curves"] = _robustness_curves(store, run["id"], probe_list, metrics)
    return {
        **extra,
        "id": run["id"],
        "status": run["status"],
        "created_at": _iso(run["created_at"]),
        "updated_at": _iso(run["updated_at"]),
        "finished_at": _iso(run["updated_at"]) if run["status"] == "complete" else None,
        "duration_seconds": (run["updated_at"] - run["created_at"]).total_seconds(),
        "compute_seconds": sum(float(u["seconds"] or 0.0) for u in units),
        "seed": run["seed"],
        "shard_size": run["shard_size"],
        "model": {
            "name": run["model_name"],
            "fingerprint": run["model_fingerprint"],
            **run["model_spec"],
        },
        "dataset": {
            "name": run["dataset_name"],
            "fingerprint": run["dataset_fingerprint"],
            **run["dataset_spec"],
        },
        "suite": {
            "name": run["suite_name"],
            "version": run["suite_version"],
            "description": run["suite_spec"].get("description", ""),
        },
        "environment": mask_nested(run["environment"]),  # stores from before argv was masked
        "probes": probe_list,
        "metrics": metrics,
        "warnings": warnings,
    }


def _key_of(spec: dict[str, Any], units: list[dict[str, Any]]) -> str:
    for u in units:
        if u["probe_spec"] == spec:
            return str(u["probe_key"])
    return repr(spec)


def collect(
    store: Store,
    run_ids: list[str],
    *,
    artifacts: bool = False,
    id_domains: list[str] | None = None,
) -> dict[str, Any]:
    """The report document for ``run_ids`` (JSON-serialisable); ``artifacts`` adds the stored
    images (for the HTML report; the JSON export leaves them out).

    ``id_domains`` picks the ID test sets of the multi-ID effective-robustness fit; by default
    they are the in-distribution set plus every domain a stored model was trained on
    (``trained_on``), when there are at least two.
    """
    from robustlab.report.compare import compare_runs
    from robustlab.report.drops import domain_drops
    from robustlab.report.effective import effective_robustness
    from robustlab.report.seeds import seed_groups

    runs = [run_data(store, r, artifacts) for r in run_ids]
    for run in runs:
        if run["dataset"].get("domains"):
            run["domain_drops"] = domain_drops(store, run)
    shifted = {r["dataset"]["fingerprint"] for r in runs if r["dataset"].get("domains")}
    multi = {}
    for fp in sorted(shifted):
        chosen = id_domains or _training_domains(store, fp)
        if chosen and len(chosen) >= 2:
            multi[fp] = effective_robustness(store, fp, id_domains=chosen)
    return {
        "schema": "robustlab.report",
        "schema_version": REPORT_SCHEMA_VERSION,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "store": store.url,
        "runs": runs,
        "comparisons": compare_runs(store, runs),
        "seed_variance": seed_groups(store, runs),
        "effective_robustness": {fp: effective_robustness(store, fp) for fp in sorted(shifted)},
        "effective_robustness_multi_id": multi,
    }


def _training_domains(store: Store, dataset_fingerprint: str) -> list[str]:
    """The in-distribution set and every domain a model stored on this data was trained on."""
    from robustlab.records import ID_DOMAIN

    domains = [ID_DOMAIN]
    for run in store.runs():
        if run["dataset_fingerprint"] == dataset_fingerprint:
            trained = (run["model_spec"] or {}).get("trained_on")
            if trained and trained not in domains:
                domains.append(trained)
    return domains


def robust_accuracy_at(
    correct: np.ndarray, perturbation: np.ndarray, epsilons: np.ndarray
) -> np.ndarray:
    """Robust accuracy at each epsilon from minimal-perturbation records: an example counts if it
    was never broken (correct) or its smallest adversarial perturbation exceeds epsilon."""
    finite = np.isfinite(perturbation)
    size = np.where(finite, perturbation, -np.inf)
    return np.array([np.mean(correct | (finite & (size > e))) for e in epsilons])


def _robustness_curves(
    store: Store, run_id: str, probes: list[dict[str, Any]], metrics: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Robust accuracy vs epsilon for every minimal-perturbation probe, with the suite's
    fixed-epsilon attacks of the same norm as confirmation points."""
    curves = []
    accuracy = {m["probe_key"]: m["value"] for m in metrics if m["metric"] == "accuracy"}
    for p in probes:
        if p.get("kind") != "minimal" or p.get("status") != "done":
            continue
        # Robust accuracy of the in-distribution examples, like the confirmation points.
        records = store.load_records(run_id, p["key"]).in_distribution()
        finite = records.perturbation[np.isfinite(records.perturbation)]
        top = float(finite.max()) * 1.05 if len(finite) else 1.0
        grid = np.linspace(0.0, top, 41)
        norm = p["spec"]["norm"]
        confirmed = [
            {
                "epsilon": float(q["spec"]["epsilon"]),
                "accuracy": accuracy[q["key"]],
                "label": q["label"],
            }
            for q in probes
            if q.get("kind") == "attack"
            and q.get("status") == "done"
            and q["spec"].get("norm") == norm
            and q["key"] in accuracy
        ]
        curves.append(
            {
                "probe": p["key"],
                "label": p["label"],
                "norm": norm,
                "epsilons": grid.tolist(),
                "robust_accuracy": robust_accuracy_at(
                    records.correct, records.perturbation, grid
                ).tolist(),
                "confirmed": confirmed,
            }
        )
    return curves
