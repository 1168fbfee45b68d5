"""What a text attack returns: per-example adversarial texts, their edits, queries and similarity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Edit", "TextAdversarial", "TextAttackResult"]


@dataclass(frozen=True)
class Edit:
    """One changed word: ``adversarial[start:end] == after`` replaced ``before`` of the original.

    A deleted word has ``start == end`` and ``after == ""``.
    """

    start: int
    end: int
    before: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class TextAdversarial:
    """The attack's outcome on one text.

    Attributes:
        original: The input text.
        adversarial: The adversarial text where the attack succeeded, else the original.
        target: True class.
        prediction: The model's class on the original.
        adversarial_prediction: The model's class on ``adversarial`` (a fresh, uncounted call).
        success: The criterion (by default misclassification) did not count the original as
            broken and counts ``adversarial`` as broken, within the edit budget.
        skipped: The original was already misclassified (or has no words), so nothing was tried.
        queries: Model queries the attack spent on this text, the first prediction included;
            never more than the budget.
        edits: The changed words, in text order (empty unless ``success``).
        words_perturbed: Fraction of the original's words that were changed.
        similarity: MiniLM cosine similarity of ``adversarial`` to ``original`` for successes (the
            least similar 128-word window holding an edit), NaN otherwise.
        error: Where the model raised (or returned NaN) on one of the attack's candidates, the
            error's message: the attack stopped on this text, which counts as not broken.
    """

    original: str
    adversarial: str
    target: int
    prediction: int
    adversarial_prediction: int
    success: bool
    skipped: bool
    queries: int
    edits: tuple[Edit, ...] = ()
    words_perturbed: float = 0.0
    similarity: float = float("nan")
    error: str | None = None

    @property
    def clean_correct(self) -> bool:
        return self.prediction == self.target

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": self.original,
            "adversarial": self.adversarial,
            "target": self.target,
            "prediction": self.prediction,
            "adversarial_prediction": self.adversarial_prediction,
            "success": self.success,
            "skipped": self.skipped,
            "queries": self.queries,
            "edits": [e.to_dict() for e in self.edits],
            "words_perturbed": self.words_perturbed,
            "similarity": None if np.isnan(self.similarity) else self.similarity,
            **({"error": self.error} if self.error is not None else {}),
        }


@dataclass
class TextAttackResult:
    """Outcome of a text attack on a batch of texts (one :class:`TextAdversarial` per text)."""

    examples: list[TextAdversarial]
    attack: str
    params: dict[str, Any]
    budget: int
    seed: int
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: Specs of a non-default edit budget and criterion (``None``: unconstrained, misclassified).
    threat: dict[str, Any] | None = None
    criterion: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def adversarial(self) -> list[str]:
        return [e.adversarial for e in self.examples]

    @property
    def success(self) -> np.ndarray:
        return np.array([e.success for e in self.examples], dtype=bool)

    @property
    def clean_correct(self) -> np.ndarray:
        return np.array([e.clean_correct for e in self.examples], dtype=bool)

    @property
    def queries(self) -> np.ndarray:
        return np.array([e.queries for e in self.examples], dtype=np.int64)

    @property
    def words_perturbed(self) -> np.ndarray:
        return np.array([e.words_perturbed for e in self.examples], dtype=np.float64)

    @property
    def similarity(self) -> np.ndarray:
        return np.array([e.similarity for e in self.examples], dtype=np.float64)

    @property
    def success_rate(self) -> float:
        """Successes over the texts that were classified correctly (NaN if there are none)."""
        attacked = self.clean_correct
        return float(self.success[attacked].mean()) if attacked.any() else float("nan")

    @property
    def queries_per_success(self) -> float:
        ok = self.success
        return float(self.queries[ok].mean()) if ok.any() else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary with every example."""
        ok = self.success

        def mean(values: np.ndarray) -> float | None:
            return float(values[ok].mean()) if ok.any() else None

        return {
            "attack": self.attack,
            "params": dict(self.params),
            "budget": self.budget,
            "seed": self.seed,
            "n": len(self),
            "clean_accuracy": float(self.clean_correct.mean()) if len(self) else None,
            "success_rate": None if np.isnan(self.success_rate) else self.success_rate,
            "queries_per_success": mean(self.queries.astype(np.float64)),
            "words_perturbed": mean(self.words_perturbed),
            "similarity": mean(self.similarity),
            "elapsed_s": self.elapsed_s,
            "notes": list(self.notes),
            "examples": [e.to_dict() for e in self.examples],
            **({} if self.threat is None else {"threat": dict(self.threat)}),
            **({} if self.criterion is None else {"criterion": dict(self.criterion)}),
        }
