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
    return predict_records(model, out.inputs, batch, perturbation=out.size)
