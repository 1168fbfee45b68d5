"""The text transformation probe: a text model under one label-preserving transformation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import EVERY_PROBE_METRICS, PROBES, NotApplicable, Probe, predict_records
from robustlab.records import Records


@PROBES.register("text_transformation")
@dataclass(frozen=True)
class TextTransformation(Probe):
    """Accuracy and consistency of a text model under ``transformation`` at ``rate``.

    Each text of the batch is transformed with its own seeded generator; only the texts the
    transformation changed are recorded (a text without a name is not "under" a name swap), so
    accuracy and consistency describe the transformed texts and are not diluted by untouched
    ones. Columns: ``perturbation`` is the fraction of the text's words changed, ``value`` is
    1.0 if the prediction equals the prediction on the original text and 0.0 if not (the
    ``consistency`` metric averages it), ``similarity`` the MiniLM cosine similarity of the
    transformed and original text when ``measure_similarity`` is set. The probe does not apply
    (and is reported as skipped) when the transformation changes no text of the dataset.

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
    metrics = (
        "accuracy",
        "consistency",
        "nll",
        "mean_confidence",
        *EVERY_PROBE_METRICS,
    )

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

    @property
    def params(self) -> dict[str, Any]:
        params = super().params
        if not self.measure_similarity:  # the common case keeps a short key
            del params["measure_similarity"]
        return params

    @classmethod
    def example(cls) -> TextTransformation:
        return cls("typo_keyboard", 0.2)

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        from robustlab.perturbations import text as transformations
        from robustlab.text._probing import dataset_texts

        spec = transformations.TRANSFORMATIONS.get(self.transformation)
        if not any(spec.applies_to(t) for t in dataset_texts(dataset)):
            raise NotApplicable(
                f"{self.key}: no text of dataset {dataset.name!r} has anything this "
                f"transformation changes ({spec.unit}s: {spec.description})"
            )

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.perturbations import text as transformations
        from robustlab.text._probing import empty_records, sub_batch
        from robustlab.text.artifacts import pick_examples, text_artifact, word_change_fraction

        texts = list(batch.inputs)
        out = transformations.apply(texts, self.transformation, self.rate, seed)
        changed = [i for i, o in enumerate(out) if o.changed]
        if not changed:
            return empty_records(model)
        originals = [texts[i] for i in changed]
        perturbed = [out[i].text for i in changed]
        clean = model.predict_proba(originals).numpy().argmax(axis=1)
        sub = sub_batch(batch, changed, perturbed)
        records = predict_records(
            model,
            perturbed,
            sub,
            perturbation=np.array(
                [word_change_fraction(a, b) for a, b in zip(originals, perturbed)]
            ),
        )
        kept = records.prediction == clean
        records.value = kept.astype(np.float64)
        if self.measure_similarity:
            from robustlab.text.embeddings import cosine, encode

            records.similarity = np.clip(cosine(encode(originals), encode(perturbed)), 0.0, 1.0)
        for pos in pick_examples(~kept):
            i = changed[pos]
            records.artifacts.append(
                text_artifact(
                    example_id=batch.ids[i],
                    original=texts[i],
                    perturbed=out[i].text,
                    edits=out[i].spans,
                    target=int(batch.targets[i]),
                    prediction=int(clean[pos]),
                    perturbed_prediction=int(records.prediction[pos]),
                    kind="transformation",
                    probe_key=self.key,
                    probe_label=self.label,
                    note="prediction changed" if not kept[pos] else "prediction unchanged",
                )
            )
        return records

    @property
    def label(self) -> str:
        return f"{self.transformation} {self.rate:g}"


__all__ = ["TextTransformation"]
