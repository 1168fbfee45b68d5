"""The report's training section: each stored training run behind a reported scan, its monitor
curves with the detected events (robust overfitting, catastrophic overfitting, ...) marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from robustlab.store import Store

__all__ = ["CURVE_KEYS", "training_section"]

#: The monitor's accuracy curves drawn when present.
CURVE_KEYS = (
    "clean_accuracy",
    "pgd_accuracy",
    "fgsm_accuracy",
    "ensemble_accuracy",
    "train_accuracy",
    "noisy_fit",
    "clean_fit",
    "worst_group_accuracy",
)


def training_section(store: Store, scan_run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """One entry per training run with a checkpoint among ``scan_run_ids``: its ``id``,
    ``name``, ``recipe``, ``events`` (those with a step), the scans it links and ``svg``."""
    from robustlab.store.training import load_training_run, training_runs_of_scans

    try:
        ids = training_runs_of_scans(store, scan_run_ids)
    except SQLAlchemyError:  # a store opened read-only at an older schema has no training tables
        return []
    if not ids:
        return []
    from robustlab.training.chart import svg_chart  # only when there is a training run to draw

    out = []
    for tid in ids:
        run = load_training_run(store, tid)
        events = [e for e in run["events"] if isinstance(e, dict) and e.get("step") is not None]
        out.append(
            {
                "id": tid,
                "name": run["name"],
                "recipe": run["recipe"],
                "events": events,
                "scans": [c["run_id"] for c in run["checkpoints"] if c.get("run_id")],
                "svg": Markup(svg_chart(run["steps"], CURVE_KEYS, events) if run["steps"] else ""),
            }
        )
    return out
