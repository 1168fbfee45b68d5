"""The attack probe: accuracy under one adversarial attack, image or text, within its threat model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes._adversarial import (
    NORM_LABELS,
    attack_records,
    check_attack_applies,
    criterion_of,
    gather_options,
)
from robustlab.probes.base import (
    EVERY_PROBE_METRICS,
    PROBES,
    NotApplicable,
    Probe,
    predict_records,
)
from robustlab.records import Records
from robustlab.seeding import ExampleSeeds
from robustlab.validation import epsilon_label

_OWN = (
    "attack",
    "norm",
    "epsilon",
    "budget",
    "criterion",
    "max_words_changed",
    "max_chars_changed",
    "min_similarity",
)
#: Defaults of the image attacks' Lp ball and of the text attacks' query budget.
DEFAULT_NORM, DEFAULT_EPSILON, DEFAULT_BUDGET = "linf", 8 / 255, 500
_IMAGE_METRICS = ("accuracy", "nll", "mean_confidence", "median_perturbation", *EVERY_PROBE_METRICS)
_TEXT_METRICS = (
    "accuracy",
    "attack_success_rate",
    "queries_per_success",
    "words_perturbed",
    "adversarial_similarity",
    "nll",
    "mean_confidence",
    *EVERY_PROBE_METRICS,
)
_TEXT_ONLY = ("budget", "max_words_changed", "max_chars_changed", "min_similarity")


@PROBES.register("attack")
@dataclass(frozen=True)
class Attack(Probe):
    """Accuracy under the adversarial attack ``attack``: an image attack within the ``norm`` ball
    of radius ``epsilon`` (and the input bounds), or a black-box text attack with at most
    ``budget`` model queries per example within an edit budget.

    Any other parameter of the named attack (``steps``, ``n_queries``, ``candidates``, ...) is
    passed through and becomes part of the probe's identity, as do ``criterion`` (what counts as
    broken, default the task's: misclassification; e.g. ``criterion=targeted_class
    target_class=3``) and its parameters. Predictions are re-computed on the returned
    adversarial inputs (a fresh forward pass), so a reported break is a real one.

    Image attacks record the perturbation's size in ``norm`` for examples the attack broke (NaN
    elsewhere). Text attacks (``max_words_changed``, ``max_chars_changed`` and
    ``min_similarity`` bound the edits) record the queries spent per example, and for each broken
    example the fraction of its words changed (``perturbation``) and the MiniLM similarity of the
    adversarial text to the original (``similarity``); the report gets the shard's successful
    attacks with their edits. A text attack keeps the key it had as a ``text_attack`` probe, so
    stored runs resume and seeds derived from the key do not change.

    References:
        Madry et al., Towards Deep Learning Models Resistant to Adversarial Attacks, ICLR 2018;
        Gao et al., Black-box Generation of Adversarial Text Sequences to Evade Deep Learning
        Classifiers, IEEE S&P Workshops 2018.
    """

    attack: str = "pgd"
    norm: str | None = None
    epsilon: float | None = None
    options: tuple[tuple[str, Any], ...] = ()
    budget: int | None = None
    criterion: str | None = None
    criterion_options: tuple[tuple[str, Any], ...] = ()
    max_words_changed: float | None = None
    max_chars_changed: float | None = None
    min_similarity: float | None = None

    name = "attack"
    kind = "attack"
    axis: ClassVar[str] = "adversarial"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    modalities: ClassVar[tuple[str, ...]] = ("image", "tabular", "text")
    metrics = _IMAGE_METRICS

    @property
    def example_seeded(self) -> bool:
        return True  # per-example seeds by id (robustlab.seeding)

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Gather the named attack's and criterion's own parameters, typed and validated."""
        return gather_options(params, _OWN, "pgd", cls.name)

    def __post_init__(self) -> None:
        from robustlab import attacks

        cls = attacks.ATTACKS.get(self.attack)  # unknown names raise with "did you mean"
        if cls.modality == "ranking":
            raise ConfigError(
                f"{self.attack!r} attacks a ranker's documents; use the 'ranking_attack' probe "
                f"({{probe: ranking_attack, attack: {self.attack}}})."
            )
        text = cls.modality == "text"
        # The per-instance view of the class attributes the runner and the report read.
        object.__setattr__(self, "modalities", cls.modalities())
        object.__setattr__(self, "kind", "text_attack" if text else "attack")
        object.__setattr__(self, "metrics", _TEXT_METRICS if text else _IMAGE_METRICS)
        if text:
            self._check_text(cls)
        else:
            self._check_image(cls)
        criterion_of(self)  # validates the criterion name and its parameters

    def _check_image(self, cls: Any) -> None:
        given = [k for k in _TEXT_ONLY if getattr(self, k) is not None]
        if given:
            raise ConfigError(
                f"The {given[0]!r} parameter of probe 'attack' applies to text attacks; image "
                f"attack {self.attack!r} takes norm and epsilon instead."
            )
        if self.norm is None:
            object.__setattr__(self, "norm", DEFAULT_NORM)
        if self.epsilon is None:
            object.__setattr__(self, "epsilon", DEFAULT_EPSILON)
        if self.norm not in cls.norms:
            raise ConfigError(
                f"The 'norm' parameter of probe 'attack' must be one of {list(cls.norms)} for "
                f"attack {self.attack!r}. Got {self.norm!r} instead."
            )
        if not self.epsilon > 0:  # type: ignore[operator]
            raise ConfigError(
                f"The 'epsilon' parameter of probe 'attack' must be a positive float. "
                f"Got {self.epsilon!r} instead."
            )

    def _check_text(self, cls: Any) -> None:
        for param in ("norm", "epsilon"):
            if getattr(self, param) is not None:
                raise ConfigError(
                    f"The {param!r} parameter of probe 'attack' applies to image attacks; text "
                    f"attack {self.attack!r} takes budget (queries per example) and the edit "
                    f"budget max_words_changed, max_chars_changed, min_similarity instead."
                )
        if self.budget is None:
            object.__setattr__(self, "budget", DEFAULT_BUDGET)
        b = self.budget
        if isinstance(b, bool) or not isinstance(b, int) or b < 1:
            raise ConfigError(
                f"The 'budget' parameter of probe 'attack' must be an int >= 1 (model queries per "
                f"example). Got {b!r} instead."
            )
        self.threat_model()  # validates the edit budget

    @property
    def text(self) -> bool:
        return self.kind == "text_attack"

    def resolved_axis(self) -> str:
        """The axis this instance measures: ``adversarial``, or ``text attacks`` for text."""
        return "text attacks" if self.text else self.axis

    def threat_model(self) -> Any:
        """The :class:`~robustlab.attacks.LpBall` or :class:`~robustlab.attacks.EditBudget`."""
        from robustlab.attacks.threat import EditBudget, LpBall

        if self.text:
            return EditBudget(self.max_words_changed, self.max_chars_changed, self.min_similarity)
        return LpBall(str(self.norm), self.epsilon)

    @property
    def params(self) -> dict[str, Any]:
        if self.text:
            mine: dict[str, Any] = {"attack": self.attack, "budget": self.budget}
            mine.update(
                (k, getattr(self, k))
                for k in ("max_words_changed", "max_chars_changed", "min_similarity")
                if getattr(self, k) is not None
            )
        else:
            mine = {"attack": self.attack, "norm": self.norm, "epsilon": self.epsilon}
        if self.criterion is not None:
            mine["criterion"] = self.criterion
            mine.update(dict(self.criterion_options))
        return {**mine, **dict(self.options)}

    @property
    def key(self) -> str:
        if not self.text:
            return super().key
        # The key text attacks had as `text_attack` probes (seeds derive from keys).
        items = [
            f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items()
        ]
        return f"text_attack({','.join(items)})"

    @classmethod
    def example(cls) -> Attack:
        return cls("pgd", "linf", 0.1, (("steps", 5),))

    def applicable(self, model: Model, dataset: Dataset) -> None:
        from robustlab.attacks import attacks_for

        if dataset.modality not in self.modalities:
            other = "image" if self.text else "text"
            names = ", ".join(n for n, _ in attacks_for(other))
            how = "norm=... epsilon=..." if self.text else "budget=..."
            raise NotApplicable(
                f"{self.key} handles {'/'.join(self.modalities)} data, not {dataset.modality}: "
                f"{self.attack!r} is {'a text' if self.text else 'an image'} attack. For "
                f"{dataset.modality} data use {'an image' if self.text else 'a text'} attack "
                f"({names}) with {how}"
            )
        super().applicable(model, dataset)
        check_attack_applies(self, self.attack, model)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        if self.text:
            return self._run_text(model, batch, seed)
        from robustlab import attacks

        result = attacks.run(
            model,
            batch.inputs,
            batch.targets,
            attack=self.attack,
            threat=self.threat_model(),
            seed=ExampleSeeds.of(seed, batch.ids),  # random starts keyed by example id
            criterion=criterion_of(self),
            **dict(self.options),
        )
        return attack_records(model, batch, result, self)

    def _run_text(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.attacks.text import run
        from robustlab.text import artifacts

        result = run(
            model,
            list(batch.inputs),
            batch.targets.numpy(),
            attack=self.attack,
            budget=int(self.budget or DEFAULT_BUDGET),
            seed=ExampleSeeds.of(seed, batch.ids),
            max_chars=None,
            threat=self.threat_model(),
            criterion=criterion_of(self),
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
        failed = [i for i, ex in enumerate(result.examples) if ex.error is not None]
        if failed:  # the attack stopped on these texts; the others were attacked
            records.warnings.append(
                {
                    "code": "attack_model_errors",
                    "message": f"The model failed on a candidate of {len(failed)} of "
                    f"{len(result.examples)} texts (example "
                    f"{batch.ids[failed[0]]}: {result.examples[failed[0]].error}); their attack "
                    f"stopped there and they count as not broken.",
                    "advice": "Fix the model on such inputs and re-run the scan with --fresh.",
                }
            )
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
                    note=_note(ex, int(self.budget or DEFAULT_BUDGET)),
                    edits=[[e.start, e.end] for e in ex.edits],
                )
            )
        return records

    @property
    def label(self) -> str:
        if self.text:
            return f"{self.attack} ({self.budget} queries)"
        return f"{self.attack} {NORM_LABELS[str(self.norm)]} ε={epsilon_label(self.epsilon)}"


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
