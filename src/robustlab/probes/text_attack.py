"""The text-attack probe: a text model's accuracy under a black-box attack with a query budget."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import EVERY_PROBE_METRICS, PROBES, Probe, coerce, predict_records
from robustlab.records import Records

_OWN = ("attack", "budget")


def _attack_options(attack: str, extra: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Validate and type the named text attack's own parameters."""
    from robustlab.attacks.text import TEXT_ATTACKS, build_text_attack

    cls = TEXT_ATTACKS.get(attack)  # unknown names raise with "did you mean"
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(extra) - fields)
    if unknown:
        raise ConfigError(
            f"Probe 'text_attack' with attack {attack!r} has no parameter "
            f"{', '.join(map(repr, unknown))}. Its parameters: "
            f"{', '.join([*_OWN, *sorted(fields)])}."
        )
    hints = typing.get_type_hints(cls)
    typed = {
        k: coerce(v, hints[k], f"{k!r} parameter of attack {attack!r}") for k, v in extra.items()
    }
    build_text_attack(attack, **typed)  # the attack validates its values
    return tuple(sorted(typed.items()))


@PROBES.register("text_attack")
@dataclass(frozen=True)
class TextAttackProbe(Probe):
    """Accuracy of a text model under the black-box text attack ``attack``, with at most
    ``budget`` model queries per example (the first prediction included).

    Any other parameter of the named attack (``candidates``, ``neighbours``, ``population``, ...)
    is passed through and becomes part of the probe's identity. Records hold the model's fresh
    prediction on each adversarial text (on the original where the attack failed), ``queries``
    spent on every example, and for each broken example the fraction of its words changed
    (``perturbation``) and the MiniLM similarity of the adversarial text to the original
    (``similarity``); both are NaN where the attack did not succeed. Examples already
    misclassified are not attacked (one query). The report gets the shard's successful attacks
    first, with their edits.

    References:
        Gao et al., Black-box Generation of Adversarial Text Sequences to Evade Deep Learning
        Classifiers, IEEE S&P Workshops 2018; Jin et al., Is BERT Really Robust?, AAAI 2020.
    """

    attack: str = "deepwordbug"
    budget: int = 500
    options: tuple[tuple[str, Any], ...] = ()

    name = "text_attack"
    axis = "text attacks"
    kind = "text_attack"
    modalities = ("text",)
    metrics = (
        "accuracy",
        "attack_success_rate",
        "queries_per_success",
        "words_perturbed",
        "adversarial_similarity",
        "nll",
        "mean_confidence",
        *EVERY_PROBE_METRICS,
    )

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Gather the named attack's own parameters into ``options``, typed and validated."""
        mine = {k: v for k, v in params.items() if k in (*_OWN, "options")}
        extra = {k: v for k, v in params.items() if k not in mine}
        merged = dict(mine.get("options", ()))
        merged.update(extra)
        mine["options"] = _attack_options(str(mine.get("attack", "deepwordbug")), merged)
        return mine

    def __post_init__(self) -> None:
        from robustlab.attacks.text import TEXT_ATTACKS

        TEXT_ATTACKS.get(self.attack)  # unknown names raise with "did you mean"
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1:
            raise ConfigError(
                f"The 'budget' parameter of probe 'text_attack' must be an int >= 1 (model "
                f"queries per example). Got {self.budget!r} instead."
            )

    @property
    def params(self) -> dict[str, Any]:
        return {"attack": self.attack, "budget": self.budget, **dict(self.options)}

    @classmethod
    def example(cls) -> TextAttackProbe:
        return cls("deepwordbug", 40, (("candidates", 2),))

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.attacks.text import run
        from robustlab.text import artifacts

        result = run(
            model,
            list(batch.inputs),
            batch.targets.numpy(),
            attack=self.attack,
            budget=self.budget,
            seed=seed,
            max_chars=None,
            **dict(self.options),
        )
        ok = result.success
        records = predict_records(
            model,
            result.adversarial,
            batch,
            perturbation=np.where(ok, result.words_perturbed, np.nan),
        )
        records.queries = result.queries.astype(np.float64)
        records.similarity = np.where(ok, result.similarity, np.nan)
        for pos in artifacts.pick_examples(list(ok)):
            ex = result.examples[pos]
            records.artifacts.append(
                artifacts.text_artifact(
                    example_id=batch.ids[pos],
                    original=ex.original,
                    perturbed=ex.adversarial,
                    target=ex.target,
                    prediction=ex.prediction,
                    perturbed_prediction=int(records.prediction[pos]),
                    kind="attack",
                    probe_key=self.key,
                    probe_label=self.label,
                    note=_note(ex, self.budget),
                    edits=[[e.start, e.end] for e in ex.edits],
                )
            )
        return records

    @property
    def label(self) -> str:
        return f"{self.attack} ({self.budget} queries)"


def _note(example: Any, budget: int) -> str:
    if example.success:
        changed = len(example.edits)
        sim = "" if np.isnan(example.similarity) else f", similarity {example.similarity:.2f}"
        return (
            f"broken with {example.queries} queries, {changed} word{'s' * (changed != 1)} "
            f"changed{sim}"
        )
    if example.skipped:
        return (
            "not attacked: misclassified already"
            if not example.clean_correct
            else ("not attacked: no words to change")
        )
    return f"not broken within {budget} queries ({example.queries} used)"
