"""The tabular attack probe: schema-valid adversarial rows for classifiers and regressors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import EVERY_PROBE_METRICS, PROBES, Probe, predict_records
from robustlab.records import Records


@PROBES.register("tabular_attack")
@dataclass(frozen=True)
class TabularAttackProbe(Probe):
    """Accuracy under schema-valid attacks on table rows (``attack``: ``auto`` = CAPGD-like
    gradient then evolutionary search, ``search``, ``gradient``) within ``epsilon`` column
    standard deviations; ``value`` is 1 for rows whose adversarial row is feasible, so the
    mean value is the feasibility rate, and ``perturbation`` the standardised L2 distance.
    Regressors break when the prediction moves by more than ``tolerance`` (relative).

    References: Simonetto et al., TabularBench, NeurIPS 2024 Datasets and Benchmarks (CAPGD,
    MOEVA, CAA)."""

    attack: str = "auto"
    epsilon: float = 0.5
    tolerance: float = 0.1
    population: int = 16
    generations: int = 20
    steps: int = 20
    criterion: str | None = None

    name = "tabular_attack"
    axis = "tabular"
    kind = "tabular_attack"
    tasks = ("classification", "regression")
    modalities = ("tabular",)
    metrics = (
        "accuracy",
        "attack_success_rate",
        "median_perturbation",
        "feasibility_rate",
        *EVERY_PROBE_METRICS,
    )

    def __post_init__(self) -> None:
        if self.attack not in ("auto", "search", "gradient"):
            raise ConfigError(
                f"The 'attack' parameter of probe 'tabular_attack' must be auto, search or "
                f"gradient. Got {self.attack!r} instead."
            )
        if not float(self.epsilon) > 0:
            raise ConfigError(
                f"The 'epsilon' parameter of probe 'tabular_attack' must be > 0 (in column "
                f"standard deviations). Got {self.epsilon!r} instead."
            )

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        from robustlab.attacks.tabular.search import check_criterion

        check_criterion(self.criterion, model, "probe 'tabular_attack'")

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.attacks.tabular import attack_rows

        res = attack_rows(
            model,
            batch.inputs,
            batch.targets,
            attack=self.attack,
            epsilon=self.epsilon,
            tolerance=self.tolerance,
            population=self.population,
            generations=self.generations,
            steps=self.steps,
            seed=seed,
            criterion=self.criterion,
        )
        records = predict_records(
            model, res.adversarial, batch, perturbation=res.distance, value=res.feasible
        )
        records.queries = res.queries.astype(np.float64)
        if model.task == "regression":
            setattr(records, "broken", res.success)  # noqa: B010 (Records.__setattr__)
        records.artifacts.extend(self._fragile(model, batch, res, records))
        return records

    def _fragile(self, model: Model, batch: Batch, res: Any, records: Records) -> list[Any]:
        """The rows broken by the smallest change (the most fragile), with their changed cells."""
        from robustlab.tabular.artifacts import (
            ROWS_PER_SHARD,
            changed_cells,
            prediction_of,
            row_artifact,
        )

        schema = getattr(model, "schema", None)
        if schema is None:
            return []
        broken = np.flatnonzero(res.success & np.isfinite(res.distance))
        order = broken[np.argsort(res.distance[broken], kind="stable")][:ROWS_PER_SHARD]
        x0 = np.asarray(batch.inputs, dtype=np.float64)
        clean = predict_records(model, x0, batch)
        return [
            row_artifact(
                example_id=batch.ids[i],
                changed=changed_cells(schema, x0[i], res.adversarial[i]),
                distance=float(res.distance[i]),
                target=batch.targets[i],
                prediction=prediction_of(model.task, clean, i),
                perturbed_prediction=prediction_of(model.task, records, i),
                broken=True,
                kind="attack",
                probe_key=self.key,
                probe_label=self.label,
                note=f"broken at {res.distance[i]:.2f} column standard deviations",
            )
            for i in order
        ]

    @classmethod
    def example(cls) -> TabularAttackProbe:
        return cls(generations=3)
