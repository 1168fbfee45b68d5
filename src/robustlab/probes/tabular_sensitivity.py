"""The column-sensitivity probe: one column perturbed at a time, per row the worst column."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, NotApplicable, Probe, predict_records
from robustlab.records import Records


@PROBES.register("column_sensitivity")
@dataclass(frozen=True)
class ColumnSensitivity(Probe):
    """Per-column sensitivity of a tabular model: each mutable column alone is perturbed
    (``scale`` column standard deviations of Gaussian noise, or a swap to another level) and
    the row repaired to the schema. The records hold, per row, the prediction under its worst
    single-column change (lowest true-class probability; for a regressor the largest relative
    move), so ``accuracy`` is the accuracy when any one column may be disturbed; ``value`` is
    the share of columns whose change alone changed the row's prediction (beyond
    ``tolerance``, relative, for a regressor). The report ranks the columns by how often they
    changed a prediction.

    References: Morris, Factorial sampling plans for preliminary computational experiments,
    Technometrics 1991 (one-at-a-time screening)."""

    scale: float = 0.5
    tolerance: float = 0.1

    name = "column_sensitivity"
    axis = "tabular"
    kind = "column_sensitivity"
    tasks = ("classification", "regression")
    modalities = ("tabular",)
    metrics = ("accuracy", "consistency", "median_perturbation")

    def __post_init__(self) -> None:
        if not float(self.scale) > 0:
            raise ConfigError(
                f"The 'scale' parameter of probe 'column_sensitivity' must be > 0 (column "
                f"standard deviations). Got {self.scale!r} instead."
            )
        if not float(self.tolerance) >= 0:
            raise ConfigError(
                f"The 'tolerance' parameter of probe 'column_sensitivity' must be >= 0. Got "
                f"{self.tolerance!r} instead."
            )

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        if getattr(model, "schema", None) is None:
            raise NotApplicable(
                f"{self.key} needs a TableModel with the table's schema; wrap the model with "
                "robustlab.tabular.TableModel(predictor, dataset.schema)"
            )

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.tabular.artifacts import sensitivity_artifact
        from robustlab.tabular.sensitivity import one_column_changes

        schema = model.schema  # type: ignore[attr-defined]
        x = np.asarray(batch.inputs, dtype=np.float64)
        n = len(x)
        variants = one_column_changes(model, x, scale=self.scale, seed=seed)
        if not variants:
            raise ConfigError(
                f"{self.key}: the schema has no mutable column to perturb; mark fewer columns "
                "immutable."
            )
        if model.task == "regression":
            base = model.predict_values(x).numpy().reshape(-1)
            denom = np.maximum(np.abs(base), 1e-12)
            badness = {
                c: np.abs(model.predict_values(y).numpy().reshape(-1) - base) / denom
                for c, y in variants.items()
            }
            changed = {c: b > self.tolerance for c, b in badness.items()}
        else:
            y_true = np.asarray(batch.targets, dtype=np.int64)
            base = model.predict_proba(x).numpy().argmax(axis=1)
            badness, changed = {}, {}
            for c, y in variants.items():
                p = model.predict_proba(y).numpy()
                badness[c] = -p[np.arange(n), y_true]
                changed[c] = p.argmax(axis=1) != base
        names = list(variants)
        worst = np.stack([badness[c] for c in names]).argmax(axis=0)
        chosen = np.stack([variants[c] for c in names])[worst, np.arange(n)]
        size = np.sqrt((np.nan_to_num((chosen - x) / schema.scales) ** 2).sum(axis=1))
        share = np.stack([changed[c] for c in names]).mean(axis=0)
        records = predict_records(model, chosen, batch, perturbation=size, value=1.0 - share)
        if model.task == "regression":
            worst_move = np.stack([badness[c] for c in names]).max(axis=0)
            setattr(records, "broken", worst_move > self.tolerance)  # noqa: B010
        counts = {c: (int(changed[c].sum()), n) for c in names}
        shard = str(batch.ids[0]) if n else "empty"
        records.artifacts.append(
            sensitivity_artifact(counts, shard_id=shard, probe_key=self.key, probe_label=self.label)
        )
        return records
