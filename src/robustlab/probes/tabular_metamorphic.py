"""Metamorphic tests of tabular models: a column changed by a known amount, an expected outcome."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, NotApplicable, Probe, predict_records
from robustlab.records import Records

CHANGES = ("shift", "scale", "set")
EXPECTS = ("invariant", "increasing", "decreasing")


@PROBES.register("tabular_metamorphic")
@dataclass(frozen=True)
class TabularMetamorphic(Probe):
    """A metamorphic test (in the style of Giskard's invariance / increasing / decreasing tests):
    every row's ``column`` is changed (``change``: ``shift`` by ``amount`` column standard
    deviations, ``scale`` by the factor ``amount``, or ``set`` to the level or value
    ``level``), repaired to the schema, and the row passes when the model's output moves as
    ``expect`` says: ``invariant`` (same class; a regressor within ``tolerance`` relative),
    ``increasing`` / ``decreasing`` (the probability of ``class_index``, or a regressor's value,
    does not move the other way by more than ``tolerance``). The test passes when the pass rate
    reaches ``threshold``; the records' ``correct`` (``broken`` for a regressor) hold each row's
    verdict, so ``pass_rate`` is the test's pass rate. Rows the change leaves unchanged (e.g.
    already at the level) are not recorded.

    References: Segura et al., A Survey on Metamorphic Testing, IEEE TSE 2016; Ribeiro et al.,
    CheckList, ACL 2020 (invariance and directional expectations)."""

    column: str
    change: str = "shift"
    amount: float = 1.0
    level: str | None = None
    expect: str = "invariant"
    class_index: int = 1
    tolerance: float = 0.0
    threshold: float = 0.9

    name = "tabular_metamorphic"
    axis = "behaviour"
    kind = "tabular_metamorphic"
    tasks = ("classification", "regression")
    modalities = ("tabular",)
    covers_batch = False
    metrics = ("pass_rate",)

    def __post_init__(self) -> None:
        own = "probe 'tabular_metamorphic'"
        if self.change not in CHANGES:
            raise ConfigError(
                f"The 'change' parameter of {own} must be one of {list(CHANGES)}. Got "
                f"{self.change!r} instead."
            )
        if self.expect not in EXPECTS:
            raise ConfigError(
                f"The 'expect' parameter of {own} must be one of {list(EXPECTS)}. Got "
                f"{self.expect!r} instead."
            )
        if self.change == "set" and self.level is None:
            raise ConfigError(f"{own} with change='set' needs 'level' (the value to set).")
        if not 0 < float(self.threshold) <= 1:
            raise ConfigError(
                f"The 'threshold' parameter of {own} must be in (0, 1] (the pass rate the test "
                f"needs). Got {self.threshold!r} instead."
            )
        if not float(self.tolerance) >= 0:
            raise ConfigError(
                f"The 'tolerance' parameter of {own} must be >= 0. Got {self.tolerance!r}."
            )

    @classmethod
    def example(cls) -> TabularMetamorphic:
        return cls(column="x0")

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        schema = getattr(model, "schema", None)
        if schema is None:
            raise NotApplicable(
                f"{self.key} needs a TableModel with the table's schema; wrap the model with "
                "robustlab.tabular.TableModel(predictor, dataset.schema)"
            )
        col = schema.column(self.column)  # names the column and the close matches
        if col.immutable:
            raise ConfigError(
                f"{self.key}: column {self.column!r} is immutable in the schema, so changing it "
                "tests rows that cannot occur; mark it mutable or test another column."
            )
        if col.kind == "categorical" and self.change != "set":
            raise ConfigError(
                f"{self.key}: column {self.column!r} is categorical; use change='set' with "
                f"level= one of {col.levels}."
            )
        if self.change == "set" and col.kind == "categorical":
            self._code(col)
        if model.task == "classification" and self.expect != "invariant":
            k = model.num_classes
            if k is not None and not 0 <= self.class_index < k:
                raise ConfigError(
                    f"{self.key}: class_index {self.class_index} is not a class of model "
                    f"{model.name!r} (0..{k - 1})."
                )

    def _code(self, col: object) -> float:
        levels = list(getattr(col, "levels", None) or [])
        for i, lv in enumerate(levels):
            if str(lv) == str(self.level):
                return float(i)
        raise ConfigError(
            f"The level {self.level!r} of probe 'tabular_metamorphic' is not a level of column "
            f"{self.column!r}; its levels: {levels}."
        )

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.tabular.artifacts import changed_cells, prediction_of, row_artifact

        schema = model.schema  # type: ignore[attr-defined]
        j = schema.index[self.column]
        col = schema.columns[j]
        x = np.asarray(batch.inputs, dtype=np.float64)
        y = x.copy()
        if self.change == "shift":
            y[:, j] += self.amount * schema.scales[j]
        elif self.change == "scale":
            y[:, j] *= self.amount
        elif col.kind == "categorical":
            y[:, j] = self._code(col)
        else:
            y[:, j] = float(self.level)  # type: ignore[arg-type]
        y = schema.repair(y, original=x)
        moved = np.flatnonzero(~np.isclose(y, x, equal_nan=True).all(axis=1))
        from robustlab.tasks import get_task
        from robustlab.text._probing import sub_batch

        if not len(moved):  # the change left every row of this shard as it was
            k = model.num_classes or 2
            empty = np.zeros((0, k)) if model.task == "classification" else np.zeros(0)
            return get_task(model.task).records(empty, batch.targets[:0], [])
        sub = sub_batch(batch, moved.tolist(), list(y[moved]))
        if model.task == "regression":
            a = model.predict_values(x[moved]).numpy().reshape(-1)
            b = model.predict_values(y[moved]).numpy().reshape(-1)
            tol = self.tolerance * np.maximum(np.abs(a), 1e-12)
            delta = b - a
        else:
            pa = model.predict_proba(x[moved]).numpy()
            pb = model.predict_proba(y[moved]).numpy()
            tol = np.full(len(moved), self.tolerance)
            delta = pb[:, self.class_index] - pa[:, self.class_index]
        if self.expect == "invariant":
            passed = (
                np.abs(delta) <= tol
                if model.task == "regression"
                else pa.argmax(axis=1) == pb.argmax(axis=1)
            )
        elif self.expect == "increasing":
            passed = delta >= -tol
        else:
            passed = delta <= tol
        size = np.sqrt((np.nan_to_num((y[moved] - x[moved]) / schema.scales) ** 2).sum(axis=1))
        records = predict_records(model, y[moved], sub, perturbation=size, value=delta)
        if model.task == "classification":
            records.correct = passed
        else:
            setattr(records, "broken", ~passed)  # noqa: B010 (Records.__setattr__)
        clean = predict_records(model, x[moved], sub)
        for pos in np.flatnonzero(~passed)[:3]:
            i = int(moved[pos])
            records.artifacts.append(
                row_artifact(
                    example_id=batch.ids[i],
                    changed=changed_cells(schema, x[i], y[i]),
                    distance=float(size[pos]),
                    target=batch.targets[i],
                    prediction=prediction_of(model.task, clean, int(pos)),
                    perturbed_prediction=prediction_of(model.task, records, int(pos)),
                    broken=True,
                    kind="metamorphic",
                    probe_key=self.key,
                    probe_label=self.label,
                    note=f"expected {self.expect}; output moved by {delta[pos]:+.3g}",
                )
            )
        return records
