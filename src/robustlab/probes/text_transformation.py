"""The text transformation probe (deprecated): the ``perturbation`` probe under a text
transformation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.perturbations.text import TransformationPerturbation
from robustlab.probes.base import PROBES, Probe
from robustlab.probes.perturbation import (
    LEGACY_PROBES,
    RUNNERS,
    PerturbationProbe,
    warn_renamed,
)
from robustlab.records import Records


@PROBES.register("text_transformation")
@dataclass(frozen=True)
class TextTransformation(Probe):
    """Deprecated until 0.3: accuracy and consistency of a text model under ``transformation``
    at ``rate``; runs the ``perturbation`` probe, so write ``{probe: perturbation,
    perturbation: typo_keyboard, rate: 0.2}``.

    Its key, spec and records are those of RobustLab 0.2's text transformation probe: only the
    texts the transformation changed are recorded; ``perturbation`` is the fraction of the
    text's words changed, ``value`` 1.0 if the prediction equals the prediction on the original
    text (the ``consistency`` metric), ``similarity`` the MiniLM cosine similarity of the
    transformed and original text when ``measure_similarity`` is set.

    References:
        Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with CheckList, ACL
        2020 (invariance); Wang et al., Robustness Gym: Unifying the NLP Evaluation
        Landscape, NAACL 2021 Demos (transformations).
    """

    transformation: str
    rate: float = 0.2
    measure_similarity: bool = False

    name = "text_transformation"
    axis = "text perturbations"
    kind = "text_transformation"
    modalities = ("text",)
    covers_batch = False  # records only the texts the transformation changed
    metrics = RUNNERS["text"].metrics
    tasks = ("classification",)

    @property
    def example_seeded(self) -> bool:
        return True  # per-example seeds by id (robustlab.seeding)

    def __post_init__(self) -> None:
        from robustlab.perturbations import text as transformations

        spec = transformations.TRANSFORMATIONS.get(self.transformation)  # "did you mean"
        if not spec.preserves_label:
            raise ConfigError(
                f"Transformation {self.transformation!r} changes what a text says, so a changed "
                f"prediction is expected, not a failure; test it with a directional CheckList "
                f"test instead: {{probe: checklist, test: negation}}."
            )
        if (
            isinstance(self.rate, bool)
            or not isinstance(self.rate, (int, float))
            or not (0 < self.rate <= 1)
        ):
            raise ConfigError(
                f"The 'rate' parameter of probe 'text_transformation' must be a float in (0, 1] "
                f"(the fraction of eligible words or units to change). Got {self.rate!r} instead."
            )
        warn_renamed(self, self.probe)

    @property
    def params(self) -> dict[str, Any]:
        params = super().params
        if not self.measure_similarity:  # the common case keeps a short key
            del params["measure_similarity"]
        return params

    @classmethod
    def example(cls) -> TextTransformation:
        return cls("typo_keyboard", 0.2)

    @property
    def probe(self) -> PerturbationProbe:
        """The ``perturbation`` probe this alias runs."""
        return PerturbationProbe.of(
            self.transformation, rate=self.rate, measure_similarity=bool(self.measure_similarity)
        )

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)  # the 0.2 message for data of another modality
        self.probe.check(model, dataset, self)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        return self.probe.measure(model, batch, seed, self)

    @property
    def label(self) -> str:
        return self.probe.label


LEGACY_PROBES[TransformationPerturbation] = lambda probe: TextTransformation(
    probe.perturbation.name, probe.perturbation.params["rate"], probe.measure_similarity
)

__all__ = ["TextTransformation"]
