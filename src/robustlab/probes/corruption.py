"""The corruption probe: the model on inputs under one common corruption at one severity."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, Probe, gallery, predict_records
from robustlab.records import Records


@PROBES.register("corruption")
@dataclass(frozen=True)
class Corruption(Probe):
    """Accuracy under ``corruption`` at ``severity`` (1-5), generated on the fly and seeded.

    The per-example perturbation recorded is the L2 distance between corrupted and clean input.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019.
    """

    corruption: str
    severity: int = 3

    name = "corruption"
    axis = "corruptions"
    kind = "corruption"
    modalities = ("image",)

    def __post_init__(self) -> None:
        from robustlab.perturbations import image as corruptions

        if self.corruption not in corruptions.names():
            corruptions.CORRUPTIONS.get(self.corruption)  # raises with "did you mean"
        if not isinstance(self.severity, int) or not 1 <= self.severity <= 5:
            raise ConfigError(
                f"The 'severity' parameter of probe 'corruption' must be an int in 1..5. "
                f"Got {self.severity!r} instead."
            )

    @classmethod
    def example(cls) -> Corruption:
        return cls("gaussian_noise", 3)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.perturbations import image as corruptions

        clean = batch.inputs.to(model.device)
        corrupted = corruptions.apply(clean, self.corruption, self.severity, seed=seed)
        size = (corrupted - clean).flatten(1).norm(dim=1)
        records = predict_records(model, corrupted, batch, perturbation=size)
        records.artifacts.extend(gallery(batch, corrupted, self, records))
        return records

    @property
    def label(self) -> str:
        return f"{self.corruption} s{self.severity}"


__all__ = ["Corruption"]
