"""Gather one or more stored runs and their analyses into plain data: the single source for
the JSON export and the HTML report."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any

from robustlab.analysis import Analysis, analyse
from robustlab.analysis.axes import SUMMARY_KEY, unit_axis
from robustlab.analysis.curves import robust_accuracy_at
from robustlab.store import Store
from robustlab.store._engine import mask_nested
from robustlab.summaries.base import UNDEFINED_SUMMARIES

__all__ = ["REPORT_SCHEMA_VERSION", "collect", "document", "robust_accuracy_at", "run_data"]

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
        p["kind"] = u["info"].get("kind", "other")  # a display label; select by axis
        p["axis"] = unit_axis(u["info"])
        p.setdefault("seconds", 0.0)
        p.setdefault("units", 0)
        p.setdefault("warnings", [])
        p["seconds"] += u["seconds"]
        if u["status"] == "skipped":
            p["status"] = "skipped"
            p["reason"] = u["info"].get("reason", "")
        elif u["status"] == "failed":  # its model or probe raised; listed under "failures"
            p.setdefault("status", "done")
            p["failed_units"] = p.get("failed_units", 0) + 1
        else:
            p["status"] = "done"
            p["units"] += 1
            for w in u["info"].get("warnings", []):
                if w not in p["warnings"]:
                    p["warnings"].append(w)
    probe_list = [p for p in probes.values() if "key" in p]
    metrics = store.metrics(run["id"])
    labels = {p["key"]: (p["label"], p["kind"], p["axis"]) for p in probe_list}
    for m in metrics:
        if m["probe_key"] == SUMMARY_KEY:
            m["label"], m["kind"], m["axis"] = m["metric"], "summary", _summary_axis(m["metric"])
        else:
            m["label"], m["kind"], m["axis"] = labels.get(
                m["probe_key"], (m["probe_key"], "other", None)
            )
    warnings = merge_warnings(units)
    extra = {"artifacts": store.artifacts(run["id"])} if artifacts else {}
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
        # summaries that apply to the run but have no value, with the reason (like skipped probes)
        "undefined_summaries": dict(run["environment"].get(UNDEFINED_SUMMARIES) or {}),
        "undefined_metrics": dict(run["environment"].get("undefined_metrics") or {}),
        "warnings": warnings,
        # units whose model or probe raised (resuming the run tries them again)
        "failures": [
            {
                "probe": u["probe_key"],
                "label": u["info"].get("label", u["probe_key"]),
                "shard": u["shard"],
                "examples": [u["start"], u["stop"]],
                "error": u["info"].get("error", ""),
            }
            for u in units
            if u["status"] == "failed"
        ],
    }


def merge_warnings(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per warning code across a run's units (one copy per scan, not one per shard,
    unit or worker): the first unit's message and advice, the probes it came from (``probe``:
    the first, ``probes``: all) and how many units raised it (``units``)."""
    merged: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for u in units:
        if u["status"] != "done":
            continue
        for w in u["info"].get("warnings", []):
            code = str(w.get("code") or w.get("message"))
            entry = merged.get(code)
            if entry is None:
                merged[code] = {
                    **w,
                    "probe": u["probe_key"],
                    "probes": [u["probe_key"]],
                    "units": 1,
                }
                continue
            entry["units"] += 1
            if u["probe_key"] not in entry["probes"]:
                entry["probes"].append(u["probe_key"])
    return list(merged.values())


def _summary_axis(name: str) -> str | None:
    from robustlab.summaries import SUMMARIES

    return getattr(SUMMARIES.get(name), "axis", None) if name in SUMMARIES else None


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
    """The report document for ``run_ids`` (JSON-serialisable): each run as stored, with the
    analyses of :func:`robustlab.analysis.analyse` joined in; ``artifacts`` adds the stored
    images (for the HTML report; the JSON export leaves them out).

    ``id_domains`` picks the ID test sets of the multi-ID effective-robustness fit (see
    :func:`robustlab.analysis.analyse`).
    """
    runs = [run_data(store, r, artifacts) for r in run_ids]
    return document(store, runs, analyse(store, runs, id_domains=id_domains))


def document(store: Store, runs: list[dict[str, Any]], analysis: Analysis) -> dict[str, Any]:
    """The report document of run documents and their :class:`Analysis`."""
    from robustlab.report.ranking import ranking_section

    for run, result in zip(runs, analysis.runs):
        if result.domain_drops is not None:
            run["domain_drops"] = result.domain_drops
        run["robustness_curves"] = [c.to_dict() for c in result.robustness_curves]
        run["severity_curves"] = [c.to_dict() for c in result.severity_curves]
        run["scorecard"] = [a.to_dict() for a in result.scorecard]
        ranking = ranking_section(store, run)  # rankers: per-task tables, per-query deltas
        if ranking is not None:
            run["ranking"] = ranking
    return {
        "schema": "robustlab.report",
        "schema_version": REPORT_SCHEMA_VERSION,
        "analysis_schema_version": analysis.schema_version,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "store": store.url,
        "runs": runs,
        "comparisons": [c.to_dict() for c in analysis.comparisons],
        "seed_variance": [g.to_dict() for g in analysis.seed_variance],
        "effective_robustness": analysis.effective_robustness,
        "effective_robustness_multi_id": analysis.effective_robustness_multi_id,
    }
