"""The document-attack base: a per-document query counter over ``Ranker.score`` (black box), the
direction of the attack (demote a relevant document, promote an irrelevant one) and the attack
base class every document attack subclasses."""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

from robustlab.attacks._base import MODALITIES, Attack
from robustlab.attacks.text._base import BudgetExhausted, Tokenized
from robustlab.attacks.text._result import Edit
from robustlab.errors import ModelError

if TYPE_CHECKING:
    from robustlab.attacks.threat import EditBudget
    from robustlab.ranking.base import Ranker

__all__ = [
    "DIRECTIONS",
    "BudgetExhausted",
    "DocumentAttack",
    "DocumentOracle",
    "check_scores",
    "diff_edits",
    "rank_of",
]

MODALITIES.setdefault("ranking", ("ranking",))

Direction = Literal["demote", "promote"]
#: ``demote``: push a relevant document of the top k out of it; ``promote``: push an irrelevant
#: document from below the top k into it.
DIRECTIONS: tuple[str, ...] = ("demote", "promote")


def check_scores(scores: object, n: int, where: str) -> np.ndarray:
    """``scores`` as ``n`` finite floats, else a ModelError naming ``where`` (the query and the
    documents) and what came back."""
    try:
        arr = np.asarray(scores, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ModelError(
            f"The ranker returned {type(scores).__name__} scores for {where}; score() must "
            f"return one number per document (a float array of length {n})."
        ) from None
    if arr.shape != (n,):
        raise ModelError(
            f"The ranker returned {arr.size} scores for {n} documents ({where}); score() must "
            f"return exactly one score per document."
        )
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ModelError(
            f"The ranker returned a non-finite score ({arr[bad]}) for document {bad} of {where}; "
            "scores must be finite numbers."
        )
    return arr


def rank_of(score: float, others: np.ndarray) -> int:
    """1-based rank of a document with ``score`` among ``others`` (the other candidates' fixed
    scores); ties go against the document (as the ``demoted`` criterion counts them)."""
    return 1 + int((others >= score).sum())


class DocumentOracle:
    """The only door from a document attack to the ranker: scores variants of one document for
    one query, counts each text scored (one query-document pair = one query, the original
    included) and refuses to exceed the budget.

    Answers are cached per text, so asking again is free. It also knows the attack's goal: the
    ``objective`` of a score (higher is better for the attacker: the score itself when promoting,
    its negative when demoting), the rank a score gives among the other candidates, whether a
    score succeeds (``demote``: rank > k; ``promote``: rank <= k), and it keeps the best text
    within the edit budget seen so far (``best``), so an attack that runs out of queries still
    leaves its best attempt.
    """

    def __init__(
        self,
        ranker: Ranker,
        query: str,
        original: str,
        others: np.ndarray,
        *,
        direction: str,
        budget: int,
        k: int,
        threat: EditBudget | None = None,
        where: str = "",
    ) -> None:
        self._ranker = ranker
        self.query = query
        self.original = original
        self.others = np.asarray(others, dtype=np.float64)
        self.direction = direction
        self.sign = 1.0 if direction == "promote" else -1.0
        self.budget = budget
        self.k = k
        self.threat = threat
        self.where = where
        self.used = 0
        self._cache: dict[str, float] = {}
        self.best = original
        self.best_score = float("nan")
        self.succeeded = False

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def known(self, text: str) -> bool:
        return text in self._cache

    def word_limit(self, n_words: int) -> int:
        """Most words the edit budget lets an attack change in a text of ``n_words`` words."""
        return n_words if self.threat is None else self.threat.word_limit(n_words)

    def scores(self, texts: Sequence[str], *, probe: bool = False) -> np.ndarray:
        """The ranker's scores of ``texts`` for the query; raises :class:`BudgetExhausted` when
        the new texts among them cost more queries than remain (before the ranker sees any).

        ``probe=True`` marks texts the attack only measures with (e.g. a document with a word
        deleted, to rank words by importance): they are paid for but never become ``best``."""
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if len(new) > self.remaining:
            raise BudgetExhausted(f"{len(new)} queries asked, {self.remaining} left")
        if new:
            out = check_scores(self._ranker.score(self.query, new), len(new), self.where)
            self.used += len(new)
            for text, s in zip(new, out, strict=True):
                self._cache[text] = float(s)
        if not probe:
            for text in dict.fromkeys(texts):
                self._consider(text, self._cache[text])
        return np.array([self._cache[t] for t in texts], dtype=np.float64)

    def score(self, text: str) -> float:
        return float(self.scores([text])[0])

    def objective(self, scores: np.ndarray | float) -> np.ndarray:
        """Higher is better for the attacker."""
        return self.sign * np.asarray(scores, dtype=np.float64)

    def rank(self, score: float) -> int:
        return rank_of(score, self.others)

    def success(self, score: float) -> bool:
        r = self.rank(score)
        return r > self.k if self.direction == "demote" else r <= self.k

    def _consider(self, text: str, score: float) -> None:
        constrained = self.threat is not None and not self.threat.unconstrained
        if constrained and text != self.original and not self.threat.allows(self.original, text):  # type: ignore[union-attr]
            return
        if np.isnan(self.best_score) or self.sign * score > self.sign * self.best_score:
            self.best, self.best_score = text, score
        if self.success(score):
            self.succeeded = True

    @property
    def done(self) -> bool:
        """The attack has succeeded or spent its budget: stop searching."""
        return self.succeeded or self.remaining <= 0


@dataclass(frozen=True)
class DocumentAttack(Attack, ABC):
    """Base class of the black-box document attacks on rankers.

    Subclasses validate their fields in ``_check`` and implement ``_search`` for one (query,
    document) pair: every ranker call goes through the oracle, which keeps the best text seen, so
    ``_attack`` only searches; the run (:func:`robustlab.ranking.attacks.attack_documents`) does
    the rest (candidate lists, target choice, the fresh check, ranks, edits and similarity).
    """

    modality: ClassVar[str] = "ranking"
    needs: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def owner(cls) -> str:
        return f"document attack {cls.name!r}"

    @abstractmethod
    def _search(self, oracle: DocumentOracle, tokens: Tokenized, rng: np.random.Generator) -> None:
        """Search adversarial variants of ``tokens`` (the document) through ``oracle`` until
        ``oracle.done`` or nothing is left to try. :class:`BudgetExhausted` may escape."""


def diff_edits(original: str, adversarial: str) -> tuple[Edit, ...]:
    """The word-level edits turning ``original`` into ``adversarial``: spans of the adversarial
    text (``adversarial[start:end] == after``) with the original words they replaced (an
    insertion has ``before == ""``, a deletion ``start == end``)."""
    a, b = Tokenized.parse(original), Tokenized.parse(adversarial)
    spans_a, spans_b = a.spans(a.words), b.spans(b.words)
    out = []
    matcher = difflib.SequenceMatcher(a=a.words, b=b.words, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        before = original[spans_a[i1][0] : spans_a[i2 - 1][1]] if i2 > i1 else ""
        if j2 > j1:
            start, end = spans_b[j1][0], spans_b[j2 - 1][1]
        else:
            start = end = spans_b[j1][0] if j1 < len(spans_b) else len(adversarial)
        out.append(Edit(start, end, before, adversarial[start:end]))
    return tuple(out)
