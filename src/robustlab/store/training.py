"""Training runs in the store (schema 4): the run, its monitor log and its checkpoint scans.

Functions over a :class:`~robustlab.store.Store` rather than methods, so the store class stays
as it is; :func:`save_training_run` writes one :class:`robustlab.training.TrainResult`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select

from robustlab.errors import StoreError
from robustlab.store import schema as t
from robustlab.store.store import Store

__all__ = ["load_training_run", "save_training_run", "training_runs", "training_runs_of_scans"]


def _json(value: Any) -> Any:
    """``value`` as plain JSON (NaN and infinities as None, tensors and paths as text)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean(json.loads(json.dumps(value, default=str)))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def save_training_run(
    store: Store,
    result: Any,
    *,
    name: str | None = None,
    checkpoint_scans: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Store a training run (a :class:`robustlab.training.TrainResult`): its spec, per-epoch
    history, events, the monitor's log (one ``step`` row per measurement) and
    ``checkpoint_scans`` (mappings with ``step``, optional ``epoch``, ``run_id`` of the scan
    and ``values``). Returns the training run's id."""
    run_id = uuid.uuid4().hex[:12]
    spec = _json(getattr(result, "spec", {}) or {})
    recipe = getattr(getattr(result, "recipe", None), "name", None) or spec.get("recipe", "?")
    if isinstance(recipe, dict):
        recipe = recipe.get("name", "?")
    monitor = getattr(result, "monitor", None)
    log = list(getattr(monitor, "log", ()) or ())
    rows = []
    for entry in log:
        entry = _json(entry)
        rows.append(
            {
                "training_run_id": run_id,
                "kind": "step",
                "step": int(entry["step"]),
                "epoch": _int(entry.get("epoch")),
                "scan_run_id": None,
                "values": {k: v for k, v in entry.items() if k not in ("step", "epoch")},
            }
        )
    for scan in checkpoint_scans:
        if "step" not in scan:
            raise StoreError(f"A checkpoint scan needs its 'step'; got keys {sorted(scan)}.")
        rows.append(
            {
                "training_run_id": run_id,
                "kind": "checkpoint",
                "step": int(scan["step"]),
                "epoch": _int(scan.get("epoch")),
                "scan_run_id": scan.get("run_id"),
                "values": _json(dict(scan.get("values", {}))),
            }
        )
    with store.engine.begin() as conn:
        conn.execute(
            insert(t.training_runs).values(
                id=run_id,
                name=str(name or f"train-{recipe}"),
                recipe=str(recipe),
                spec=spec,
                history=_json(list(getattr(result, "history", ()))),
                events=_json(list(getattr(result, "events", ()))),
                elapsed_s=float(getattr(result, "elapsed_s", 0.0) or 0.0),
                created_at=dt.datetime.now(dt.timezone.utc),
            )
        )
        if rows:
            conn.execute(insert(t.training_steps), rows)
    return run_id


def training_runs(store: Store) -> list[dict[str, Any]]:
    """Every stored training run (without its steps), oldest first."""
    tr = t.training_runs
    with store.engine.connect() as conn:
        found = conn.execute(
            select(tr.c.id, tr.c.name, tr.c.recipe, tr.c.elapsed_s, tr.c.created_at).order_by(
                tr.c.created_at
            )
        ).all()
    return [dict(r._mapping) for r in found]


def load_training_run(store: Store, run_id: str) -> dict[str, Any]:
    """One training run with its ``steps`` (the monitor's log) and ``checkpoints`` (scans)."""
    tr, ts = t.training_runs, t.training_steps
    with store.engine.connect() as conn:
        row = conn.execute(select(tr).where(tr.c.id == run_id)).first()
        if row is None:
            known = [r["id"] for r in training_runs(store)]
            raise StoreError(
                f"No training run {run_id!r} in store {store.url!r}; stored: "
                f"{', '.join(known) or 'none'} (store one with save_training_run or robustlab "
                "train with --store)."
            )
        steps = conn.execute(
            select(ts).where(ts.c.training_run_id == run_id).order_by(ts.c.kind, ts.c.step)
        ).all()
    out = dict(row._mapping)
    out["steps"], out["checkpoints"] = [], []
    for s in steps:
        item = {"step": s.step, "epoch": s.epoch, **(s.values or {})}
        if s.kind == "checkpoint":
            out["checkpoints"].append({**item, "run_id": s.scan_run_id})
        else:
            out["steps"].append(item)
    return out


def training_runs_of_scans(store: Store, scan_run_ids: Sequence[str]) -> list[str]:
    """Ids of the training runs with a checkpoint scanned as one of ``scan_run_ids``."""
    ts = t.training_steps
    if not scan_run_ids:
        return []
    with store.engine.connect() as conn:
        found = conn.execute(
            select(ts.c.training_run_id)
            .where(ts.c.kind == "checkpoint", ts.c.scan_run_id.in_(list(scan_run_ids)))
            .distinct()
        ).scalars()
        return sorted(str(r) for r in found)
