"""The corruption probe (deprecated): the ``perturbation`` probe under an image corruption."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.perturbations.image import CorruptionPerturbation
from robustlab.probes.base import PROBES, Probe
from robustlab.probes.perturbation import LEGACY_PROBES, PerturbationProbe, warn_renamed
from robustlab.records import Records


@PROBES.register("corruption")
@dataclass(frozen=True)
class Corruption(Probe):
    """Deprecated until 0.3: accuracy under ``corruption`` at ``severity`` (1-5); runs the
    ``perturbation`` probe, so write ``{probe: perturbation, perturbation: fog, severity: 3}``.

    Its key, spec and records are those of RobustLab 0.2's corruption probe; the per-example
    perturbation recorded is the L2 distance between corrupted and clean input.

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
    tasks = ("classification",)

    @property
    def example_seeded(self) -> bool:
        return True  # per-example seeds by id (robustlab.seeding)

    def __post_init__(self) -> None:
        from robustlab.perturbations import image as corruptions

        if self.corruption not in corruptions.names():
            corruptions.CORRUPTIONS.get(self.corruption)  # raises with "did you mean"
        if not isinstance(self.severity, int) or not 1 <= self.severity <= 5:
            raise ConfigError(
                f"The 'severity' parameter of probe 'corruption' must be an int in 1..5. "
                f"Got {self.severity!r} instead."
            )
        warn_renamed(self, self.probe)

    @classmethod
    def example(cls) -> Corruption:
        return cls("gaussian_noise", 3)

    @property
    def probe(self) -> PerturbationProbe:
        """The ``perturbation`` probe this alias runs."""
        return PerturbationProbe.of(self.corruption, severity=self.severity)

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)  # the 0.2 message for data of another modality
        self.probe.check(model, dataset, self)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        return self.probe.measure(model, batch, seed, self)

    @property
    def label(self) -> str:
        return self.probe.label


LEGACY_PROBES[CorruptionPerturbation] = lambda probe: Corruption(
    probe.perturbation.name, probe.perturbation.params["severity"]
)

__all__ = ["Corruption"]
