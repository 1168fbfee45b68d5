"""The tabular attack probe: schema-valid adversarial rows for classifiers and regressors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustlab.data.base import Batch
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

    name = "tabular_attack"
    axis = "tabular"
    kind = "tabular_attack"
    tasks = ("classification", "regression")
    modalities = ("tabular",)
    metrics = ("accuracy", "attack_success_rate", "median_perturbation", *EVERY_PROBE_METRICS)

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
        )
        records = predict_records(
            model, res.adversarial, batch, perturbation=res.distance, value=res.feasible
        )
        records.queries = res.queries.astype(np.float64)
        if model.task == "regression":
            setattr(records, "broken", res.success)  # noqa: B010 (Records.__setattr__)
        return records

    @classmethod
    def example(cls) -> TabularAttackProbe:
        return cls(generations=3)
