"""The sparsity probe: how many pixels must be free to change for an Linf attack to succeed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import EVERY_PROBE_METRICS, PROBES, Probe, gallery, predict_records
from robustlab.records import Records
from robustlab.validation import epsilon_label

__all__ = ["Sparsity"]


@PROBES.register("sparsity")
@dataclass(frozen=True)
class Sparsity(Probe):
    """Adversarial sparsity: per example, the fewest pixels (largest loss gradient first) an
    Linf PGD at ``epsilon`` must be free to change to break it, found by a binary search over
    the count. ``value`` holds that share of the image's pixels (NaN where the clean input is
    wrong or where even every pixel free did not break it); the records are the predictions
    on the sparsest adversarial found.

    References:
        "How many perturbations break this model? Evaluating trustworthiness beyond
        adversarial accuracy" (adversarial sparsity), 2022.
    """

    epsilon: float = 8 / 255
    steps: int = 20

    name = "sparsity"
    axis: ClassVar[str] = "adversarial"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    modalities = ("image",)
    requires = frozenset({"gradients"})
    metrics = ("accuracy", "nll", "mean_confidence", *EVERY_PROBE_METRICS)

    def __post_init__(self) -> None:
        if not (isinstance(self.epsilon, (int, float)) and self.epsilon > 0):
            raise ConfigError(
                f"The 'epsilon' parameter of probe 'sparsity' must be a positive float. Got "
                f"{self.epsilon!r} instead."
            )
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ConfigError(
                f"The 'steps' parameter of probe 'sparsity' must be a positive int. Got "
                f"{self.steps!r} instead."
            )

    @classmethod
    def example(cls) -> Sparsity:
        return cls(0.3, 5)

    def resolved_axis(self) -> str:
        return self.axis

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.attacks.image.sparsity import adversarial_sparsity

        result = adversarial_sparsity(
            model, batch.inputs, batch.targets, epsilon=self.epsilon, steps=self.steps
        )
        fraction = result.fraction.double().numpy()
        value = np.where(np.isfinite(fraction), fraction, np.nan)
        records = predict_records(model, result.adversarial, batch, value=value)
        records.artifacts.extend(gallery(batch, result.adversarial, self, records))
        return records

    @property
    def label(self) -> str:
        return f"sparsity L∞ ε={epsilon_label(self.epsilon)}"
