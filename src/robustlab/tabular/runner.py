"""How the perturbation probe runs tabular perturbations (its ``tabular`` Runner)."""

from __future__ import annotations

from typing import Any

import numpy as np

from robustlab.data.base import Batch
from robustlab.models.base import Model
from robustlab.probes.base import predict_records
from robustlab.records import Records

__all__ = ["run_rows"]


def run_rows(perturbation: Any, probe: Any, model: Model, batch: Batch, seed: int) -> Records:
    """Perturb the batch's rows under the model's schema (inferred from the batch when the
    model has none) and record every row; rows the schema refuses after repair are an error."""
    schema = getattr(model, "schema", None)
    out = perturbation.apply(
        batch.inputs, seed=perturbation.seed_for(seed, batch.ids), schema=schema
    )
    if schema is not None:
        x = np.asarray(out.inputs)
        finite = np.where(np.isnan(x), np.asarray(batch.inputs), x)
        bad = schema.check(finite, original=np.asarray(batch.inputs))
        if bad:
            raise AssertionError(f"{perturbation.name} produced an invalid row: {bad[0]}")
    records = predict_records(model, out.inputs, batch, perturbation=out.size)
    if schema is not None:
        records.artifacts.extend(changed_row_examples(model, batch, out.inputs, records, probe))
    return records


def changed_row_examples(
    model: Model, batch: Batch, perturbed: Any, records: Records, probe: Any
) -> list[dict[str, Any]]:
    """Report rows for a perturbation: rows whose prediction changed first (largest change of
    the prediction for a regressor), then the most perturbed, each with its changed cells."""
    from robustlab.tabular.artifacts import (
        ROWS_PER_SHARD,
        changed_cells,
        prediction_of,
        row_artifact,
    )

    x0 = np.asarray(batch.inputs, dtype=np.float64)
    x1 = np.asarray(perturbed, dtype=np.float64)
    clean = predict_records(model, x0, batch)
    if model.task == "regression":
        moved = np.abs(records.prediction - clean.prediction)
        flipped = moved > 0
    else:
        moved = (records.prediction != clean.prediction).astype(np.float64)
        flipped = moved > 0
    size = np.nan_to_num(np.asarray(records.perturbation, dtype=np.float64))
    touched = np.flatnonzero(size > 0)
    order = [int(i) for i in sorted(touched, key=lambda i: (-moved[i], -size[i]))][:ROWS_PER_SHARD]
    out = []
    for i in order:
        out.append(
            row_artifact(
                example_id=batch.ids[i],
                changed=changed_cells(model.schema, x0[i], x1[i]),  # type: ignore[attr-defined]
                distance=float(size[i]),
                target=batch.targets[i],
                prediction=prediction_of(model.task, clean, i),
                perturbed_prediction=prediction_of(model.task, records, i),
                broken=bool(flipped[i]),
                kind="perturbation",
                probe_key=probe.key,
                probe_label=probe.label,
                note="prediction changed" if flipped[i] else "prediction unchanged",
            )
        )
    return out
