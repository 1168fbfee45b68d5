"""The perturbation probe: the model under any registered perturbation, of any modality."""

from __future__ import annotations

import sys
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.perturbations import PERTURBATIONS, Perturbation
from robustlab.perturbations.base import PROBE_OPTIONS
from robustlab.probes.base import (
    EVERY_PROBE_METRICS,
    PROBES,
    NotApplicable,
    Probe,
    coerce,
    gallery,
    predict_records,
)
from robustlab.records import Records

__all__ = ["LEGACY_PROBES", "RUNNERS", "PerturbationProbe", "Runner", "warn_renamed"]


@dataclass(frozen=True)
class Runner:
    """How the probe measures a model under the perturbations of one modality.

    Attributes:
        metrics: The metrics computed from the records unless the suite names others.
        run: ``(perturbation, probe, model, batch, seed) -> records``; ``probe`` gives the key and
            label its artifacts carry and the probe options (``measure_similarity``).
        check: ``(perturbation, probe, dataset)``, raising :class:`NotApplicable` when the
            perturbation changes nothing in the dataset; None where every input is changed.
    """

    metrics: tuple[str, ...]
    run: Callable[[Perturbation[Any], Any, Model, Batch, int], Records]
    check: Callable[[Perturbation[Any], Any, Dataset], None] | None = None


def _run_every_example(
    perturbation: Perturbation[Any], probe: Any, model: Model, batch: Batch, seed: int
) -> Records:
    # Every example is recorded; the gallery pictures the perturbed images.
    clean = batch.inputs.to(model.device)
    out = perturbation.apply(clean, seed=perturbation.seed_for(seed, batch.ids))
    records = predict_records(model, out.inputs, batch, perturbation=out.size)
    records.artifacts.extend(gallery(batch, out.inputs, probe, records))
    return records


def _run_changed_texts(
    perturbation: Perturbation[Any], probe: Any, model: Model, batch: Batch, seed: int
) -> Records:
    # Only the texts the perturbation changed are recorded, with the consistency of the
    # prediction with the one on the original text in ``value``.
    from robustlab.text._probing import empty_records, sub_batch
    from robustlab.text.artifacts import pick_examples, text_artifact

    texts = list(batch.inputs)
    out = perturbation.apply(texts, seed=perturbation.seed_for(seed, batch.ids))
    changed = np.flatnonzero(out.changed).tolist()
    if not changed:
        return empty_records(model)
    originals = [texts[i] for i in changed]
    perturbed = [out.inputs[i] for i in changed]
    clean = model.predict_proba(originals).numpy().argmax(axis=1)
    sub = sub_batch(batch, changed, perturbed)
    records = predict_records(model, perturbed, sub, perturbation=out.size[changed])
    kept = records.prediction == clean
    records.value = kept.astype(np.float64)
    if probe.measure_similarity:
        from robustlab.text.embeddings import cosine, encode

        records.similarity = np.clip(cosine(encode(originals), encode(perturbed)), 0.0, 1.0)
    assert out.edits is not None, "text perturbations report their edits"
    for pos in pick_examples(~kept):
        i = changed[pos]
        records.artifacts.append(
            text_artifact(
                example_id=batch.ids[i],
                original=texts[i],
                perturbed=out.inputs[i],
                edits=[[e.start, e.end] for e in out.edits[i]],
                target=int(batch.targets[i]),
                prediction=int(clean[pos]),
                perturbed_prediction=int(records.prediction[pos]),
                kind="transformation",
                probe_key=probe.key,
                probe_label=probe.label,
                note="prediction changed" if not kept[pos] else "prediction unchanged",
            )
        )
    return records


def _check_texts(perturbation: Perturbation[Any], probe: Any, dataset: Dataset) -> None:
    from robustlab.text._probing import dataset_texts

    if not any(perturbation.applies_to(t) for t in dataset_texts(dataset)):
        spec = getattr(perturbation, "transformation", None)
        what = f"{spec.unit}s: {spec.description}" if spec is not None else perturbation.description
        raise NotApplicable(
            f"{probe.key}: no text of dataset {dataset.name!r} has anything this "
            f"transformation changes ({what})"
        )


def _run_rows(
    perturbation: Perturbation[Any], probe: Any, model: Model, batch: Batch, seed: int
) -> Records:
    # Tabular rows: perturbed under the model's schema (a TableModel's), every row recorded.
    from robustlab.tabular.runner import run_rows

    return run_rows(perturbation, probe, model, batch, seed)


#: Per perturbation class, the deprecated probe that ran its perturbations before (filled by
#: that probe's module): ``PerturbationProbe -> that probe``, whose key the seeds derive from.
LEGACY_PROBES: dict[type[Perturbation[Any]], Callable[[PerturbationProbe], Probe]] = {}

#: The default metrics of a probe that records every example (the probe base's).
EVERY_EXAMPLE_METRICS: tuple[str, ...] = Probe.metrics

#: Per modality, how the probe runs its perturbations: a new modality adds its entry here.
RUNNERS: dict[str, Runner] = {
    "image": Runner(EVERY_EXAMPLE_METRICS, _run_every_example),
    "text": Runner(
        ("accuracy", "consistency", "nll", "mean_confidence", *EVERY_PROBE_METRICS),
        _run_changed_texts,
        _check_texts,
    ),
    "tabular": Runner(EVERY_EXAMPLE_METRICS, _run_rows),
}


@PROBES.register("perturbation")
@dataclass(frozen=True)
class PerturbationProbe(Probe):
    """Accuracy under any registered perturbation (an image corruption, a text transformation,
    ...) with its parameters, generated on the fly and seeded.

    Built from a suite entry ``{probe: perturbation, perturbation: fog, severity: 3}`` (key
    ``perturbation(fog,severity=3)``), from ``"perturbation perturbation=fog severity=3"`` or
    with :meth:`of`. The records' ``perturbation`` column is the perturbation's per-example size
    (the L2 distance to the clean image for corruptions, the share of words changed for text).
    Perturbations that leave some inputs alone by design (a name swap on a text without names)
    record only the inputs they changed, with ``value`` 1.0 where the prediction equals the one
    on the original input (the ``consistency`` metric) and, with ``measure_similarity`` (text),
    the MiniLM cosine similarity of the perturbed and original text in ``similarity``; the probe
    does not apply when the perturbation changes no input of the dataset.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019; Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP
        Models with CheckList, ACL 2020 (invariance).
    """

    perturbation: Perturbation[Any]
    measure_similarity: bool = False

    name = "perturbation"
    modalities = tuple(RUNNERS)
    # An instance takes its axis (resolved_axis), kind, metrics and coverage from its
    # perturbation; the class's are those of its example, an image corruption.
    axis = "corruptions"
    kind = "perturbation"
    tasks = ("classification",)

    @property
    def example_seeded(self) -> bool:
        return True  # per-example seeds by id (robustlab.seeding)

    def __post_init__(self) -> None:
        p = self.perturbation
        if not isinstance(p, Perturbation):
            raise ConfigError(
                "The 'perturbation' parameter of probe 'perturbation' must be a Perturbation. "
                f"Got {p!r} instead; build the probe with PerturbationProbe.of({p!r}, ...) or "
                f"make_probe({{'probe': 'perturbation', 'perturbation': {p!r}}})."
            )
        if not p.preserves_label:
            raise ConfigError(
                f"Perturbation {p.name!r} changes what an input says, so a changed prediction is "
                f"expected, not a failure; test it with a directional CheckList test instead: "
                f"{{probe: checklist, test: negation}}."
            )
        runner = RUNNERS.get(p.modality)
        if runner is None:
            raise ConfigError(
                f"The perturbation probe cannot run {p.modality} perturbations such as {p.name!r} "
                f"yet; add a Runner for {p.modality!r} to robustlab.probes.perturbation.RUNNERS."
            )
        if not isinstance(self.measure_similarity, bool):
            raise ConfigError(
                "The 'measure_similarity' parameter of probe 'perturbation' must be a bool. "
                f"Got {self.measure_similarity!r} instead."
            )
        if self.measure_similarity and p.modality != "text":
            raise ConfigError(
                f"The 'measure_similarity' parameter of probe 'perturbation' applies to text "
                f"perturbations only; {p.name!r} is an {p.modality} perturbation. Drop it."
            )
        # Class attributes of other probes; here they follow the perturbation.
        object.__setattr__(self, "kind", p.kind)
        object.__setattr__(self, "covers_batch", not p.partial)
        object.__setattr__(self, "metrics", runner.metrics)

    @classmethod
    def of(
        cls, perturbation: str, /, *, measure_similarity: bool = False, **params: Any
    ) -> PerturbationProbe:
        """The probe of the registered perturbation ``perturbation`` with ``params``, e.g.
        ``PerturbationProbe.of("fog", severity=3)``."""
        return cls(PERTURBATIONS.build(perturbation, **params), measure_similarity)

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Turn ``{perturbation: name, <its parameters>, <probe options>}`` into the fields."""
        params = dict(params)
        if "perturbation" not in params:
            raise ConfigError(
                "Probe 'perturbation' needs a 'perturbation' parameter naming one, e.g. "
                "{probe: perturbation, perturbation: fog, severity: 3}. Available: "
                f"{', '.join(PERTURBATIONS.names())}."
            )
        value = params.pop("perturbation")
        options = {k: params.pop(k) for k in PROBE_OPTIONS if k in params}
        if isinstance(value, Perturbation):
            if params:
                raise ConfigError(
                    f"Probe 'perturbation' was given the perturbation {value!r} and also "
                    f"{', '.join(map(repr, params))}; set those on the perturbation instead."
                )
            return {"perturbation": value, **options}
        name = str(value)
        pcls = PERTURBATIONS.get(name)  # unknown names raise with "did you mean"
        hints = typing.get_type_hints(pcls)
        where = "parameter of perturbation"
        typed = {
            k: coerce(v, hints[k], f"{k!r} {where} {name!r}") if k in hints else v
            for k, v in params.items()
        }
        return {"perturbation": PERTURBATIONS.build(name, **typed), **options}

    @classmethod
    def example(cls) -> PerturbationProbe:
        return cls.of("gaussian_noise", severity=3)

    @property
    def params(self) -> dict[str, Any]:
        """``{"perturbation": name, **its parameters}`` (and ``measure_similarity`` when set):
        the stored spec reads like the suite entry."""
        out = {"perturbation": self.perturbation.name, **self.perturbation.params}
        if self.measure_similarity:  # the common case keeps a short key
            out["measure_similarity"] = True
        return out

    @property
    def label(self) -> str:
        return self.perturbation.label

    @property
    def seed_key(self) -> str:
        """The key of the 0.2 probe that ran this perturbation (``corruption(fog,severity=3)``)
        where there is one: unit seeds and metric intervals derive from it, so a suite that
        switched to this probe measures exactly what it measured before."""
        for base, legacy in LEGACY_PROBES.items():
            if isinstance(self.perturbation, base):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    return legacy(self).key
        return self.key

    def resolved_axis(self) -> str:
        """The axis of this probe's perturbation (``corruptions``, ``text perturbations``, ...)."""
        return self.perturbation.axis

    def applicable(self, model: Model, dataset: Dataset) -> None:
        self.check(model, dataset, self)

    def check(self, model: Model, dataset: Dataset, owner: Probe) -> None:
        """:meth:`applicable` for ``owner`` (this probe, or a deprecated alias running it)."""
        p = self.perturbation
        if dataset.modality != p.modality:
            same = [n for n, c in PERTURBATIONS.items() if c.modality == dataset.modality]
            fix = (
                f"use {_article(dataset.modality)} {dataset.modality} perturbation such as "
                f"{', '.join(same[:3])}"
                if same
                else f"no registered perturbation handles {dataset.modality} data yet"
            )
            raise NotApplicable(
                f"{p.name} is {_article(p.modality)} {p.modality} perturbation; the dataset "
                f"{dataset.name!r} is {dataset.modality} — {fix}"
            )
        Probe.applicable(owner, model, dataset)
        runner = RUNNERS[p.modality]
        if runner.check is not None:
            runner.check(p, owner, dataset)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        return self.measure(model, batch, seed, self)

    def measure(self, model: Model, batch: Batch, seed: int, owner: Probe) -> Records:
        """:meth:`run`, with the artifacts carrying ``owner``'s key and label."""
        return RUNNERS[self.perturbation.modality].run(self.perturbation, owner, model, batch, seed)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def warn_renamed(old: Probe, new: PerturbationProbe) -> None:
    """Warn that ``old`` (a deprecated probe) is now ``new``, naming the entry to write instead.

    The warning points at the first caller outside RobustLab (the user's script, or the code
    that loaded the suite), as a deprecation the user has to act on.
    """
    entry = ", ".join(f"{k}: {v}" for k, v in new.spec.items())
    warnings.warn(
        f"The {old.name!r} probe is deprecated and works until RobustLab 0.3; write "
        f"{{{entry}}} instead (its results are stored under the key {new.key} rather than "
        f"{old.key}).",
        DeprecationWarning,
        stacklevel=_outside_robustlab(),
    )


def _outside_robustlab() -> int:
    """The warnings stack level of the first frame outside the ``robustlab`` package."""
    frame = sys._getframe(2)  # the caller of warn_renamed
    level = 2
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in (
        "robustlab",
        "dataclasses",
    ):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
