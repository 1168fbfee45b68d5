"""The text-attack base: a query-counting model wrapper with a hard budget that also answers
"is this broken?" with the run's criterion, word tokens, and the text attack base class."""

from __future__ import annotations

import math
import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import torch

from robustlab import validation
from robustlab.attacks._base import Attack
from robustlab.attacks._registry import ModalityView, register_attack
from robustlab.errors import ModelError
from robustlab.models.base import Model
from robustlab.tasks.base import Criterion
from robustlab.tasks.criteria import Misclassified

if TYPE_CHECKING:
    from robustlab.attacks.text._result import TextAttackResult
    from robustlab.attacks.threat import EditBudget

__all__ = [
    "STOPWORDS",
    "TEXT",
    "BudgetExhausted",
    "QueryCounter",
    "TextAttack",
    "Tokenized",
    "build_text_attack",
    "deletion_importance",
    "register_text_attack",
]

#: The text attacks of :data:`~robustlab.attacks.ATTACKS` (0.1 had a registry of their own,
#: ``TEXT_ATTACKS``, which still reads as this view with a deprecation warning).
TEXT = ModalityView("text", "text attack")

A = TypeVar("A", bound="type[TextAttack]")


def register_text_attack(name: str) -> Callable[[A], A]:
    """Deprecated: text attacks register with :func:`robustlab.attacks.register_attack`."""
    warnings.warn(
        "register_text_attack is deprecated since RobustLab 0.2; decorate text attacks with "
        "robustlab.attacks.register_attack (one registry for image and text attacks). The old "
        "name works until 0.3.",
        DeprecationWarning,
        stacklevel=2,
    )
    return register_attack(name)


#: Function words that word-level attacks leave alone, as TextFooler and TextAttack's recipes do:
#: changing them breaks grammar, and changing a negation ("never" -> "ever") flips the meaning.
_STOPWORDS = """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves"""
STOPWORDS = frozenset(_STOPWORDS.split())

_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


class BudgetExhausted(Exception):
    """Raised by :class:`QueryCounter` instead of running a query the budget cannot pay for."""


class QueryCounter:
    """The only door from an attack to the model: counts every text sent and refuses to exceed
    the budget.

    Answers are cached per text, so asking again about a text already scored costs nothing;
    ``used`` counts the texts the model actually evaluated. A request that would push ``used``
    past ``budget`` raises :class:`BudgetExhausted` before the model sees any of it.

    The counter also answers for the run's criterion: :meth:`broken` (has a text's prediction
    been broken?) and :meth:`holds` (how firmly it still holds, lower is closer to broken: the
    true class's probability for plain misclassification, else the criterion's margin), and it
    carries the run's edit budget (:meth:`word_limit`).
    """

    def __init__(
        self,
        model: Model,
        budget: int,
        criterion: Criterion | None = None,
        threat: EditBudget | None = None,
    ) -> None:
        self._model = model
        self.budget = budget
        self.used = 0
        self._cache: dict[str, np.ndarray] = {}
        self.criterion = criterion if criterion is not None else Misclassified()
        self.threat = threat
        #: The criterion is plain misclassification (attacks may use their paper's objective).
        self.plain = type(self.criterion) is Misclassified

    def broken(self, probs: np.ndarray, target: int) -> Any:
        """Whether the criterion counts each row of ``probs`` as broken (a bool for one row)."""
        rows = np.atleast_2d(probs)
        if self.plain:
            out = rows.argmax(axis=1) != target
        else:
            t = torch.full((len(rows),), int(target), dtype=torch.long)
            out = self.criterion.broken(torch.from_numpy(rows), t).numpy()
        return bool(out[0]) if np.ndim(probs) == 1 else out

    def holds(self, probs: np.ndarray, target: int) -> np.ndarray:
        """How firmly each row of ``probs`` still holds (lower is closer to broken)."""
        rows = np.atleast_2d(probs)
        if self.plain:
            return rows[:, target]
        t = torch.full((len(rows),), int(target), dtype=torch.long)
        return self.criterion.margin(torch.from_numpy(rows), t).numpy().astype(np.float64)

    def word_limit(self, n_words: int) -> int:
        """Most words the edit budget lets an attack change in a text of ``n_words`` words."""
        return n_words if self.threat is None else self.threat.word_limit(n_words)

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def probs(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities ``(len(texts), K)``; raises :class:`BudgetExhausted` if the new
        texts among ``texts`` cost more queries than remain."""
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if len(new) > self.remaining:
            raise BudgetExhausted(f"{len(new)} queries asked, {self.remaining} left")
        if new:
            out = self._model.predict_proba(new).numpy().astype(np.float64)
            if out.ndim != 2 or out.shape[1] < 2:
                raise ModelError(
                    f"Model {self._model.name!r} returned {out.shape[-1]} score per text; text "
                    f"attacks need class probabilities (N, K) with K >= 2. For a binary model "
                    f"that returns p(positive), return [1 - p, p] per text."
                )
            self.used += len(new)
            for text, row in zip(new, out, strict=True):
                self._cache[text] = row
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 0))

    def prob(self, text: str) -> np.ndarray:
        return self.probs([text])[0]

    def known(self, text: str) -> bool:
        """Whether ``text`` was scored already (asking again is free)."""
        return text in self._cache

    def paid(self, text: str, probs: np.ndarray) -> None:
        """Count and cache a query the caller already ran (the batched first predictions)."""
        if self.remaining < 1:
            raise BudgetExhausted("no query left")
        self.used += 1
        self._cache[text] = np.asarray(probs, dtype=np.float64)


@dataclass(frozen=True)
class Tokenized:
    """A text cut into words (runs of letters, digits and inner apostrophes) and the separators
    between them, so word-level edits re-render everything else byte for byte."""

    text: str
    words: tuple[str, ...]
    seps: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Tokenized:
        words, seps, pos = [], [], 0
        for m in _WORD.finditer(text):
            seps.append(text[pos : m.start()])
            words.append(m.group())
            pos = m.end()
        seps.append(text[pos:])
        return cls(text, tuple(words), tuple(seps))

    def __len__(self) -> int:
        return len(self.words)

    def render(self, words: Sequence[str]) -> str:
        parts = [self.seps[0]]
        for w, s in zip(words, self.seps[1:], strict=True):
            parts.append(w)
            parts.append(s)
        return "".join(parts)

    def spans(self, words: Sequence[str]) -> list[tuple[int, int]]:
        """Character span of each word in ``self.render(words)``."""
        out, pos = [], len(self.seps[0])
        for w, s in zip(words, self.seps[1:], strict=True):
            out.append((pos, pos + len(w)))
            pos += len(w) + len(s)
        return out

    def window(self, words: Sequence[str], start: int, stop: int) -> str:
        """Words ``start..stop-1`` of ``words`` with the separators between them."""
        parts = []
        for i in range(start, stop):
            parts.append(words[i])
            if i + 1 < stop:
                parts.append(self.seps[i + 1])
        return "".join(parts)

    def without(self, start: int, stop: int) -> str:
        """The text with words ``start..stop-1`` and the separators after them removed."""
        parts = [self.seps[0]]
        for i, w in enumerate(self.words):
            if start <= i < stop:
                continue
            parts.append(w)
            parts.append(self.seps[i + 1])
        if stop == len(self.words) and start > 0:
            parts.append(self.seps[-1])
        return "".join(parts)

    def eligible(self, *, skip_stopwords: bool, min_length: int = 1) -> list[int]:
        """Indices of the words an attack may change: alphabetic, long enough, not stopwords."""
        return [
            i
            for i, w in enumerate(self.words)
            if any(c.isalpha() for c in w)
            and len(w) >= min_length
            and not (skip_stopwords and w.lower() in STOPWORDS)
        ]


def deletion_importance(
    oracle: QueryCounter, tokens: Tokenized, target: int, p_target: float, indices: list[int]
) -> np.ndarray:
    """How much deleting each word of ``indices`` lowers how firmly the text holds (the true
    class's probability for plain misclassification; ``p_target`` is the clean value), leave-one-
    out, one query per word. When the words outnumber half the remaining budget, consecutive
    words are deleted in groups that share a score, so ranking never spends more than half.

    References:
        Gao et al., Black-box Generation of Adversarial Text Sequences to Evade Deep Learning
        Classifiers (DeepWordBug), IEEE S&P Workshops 2018.
    """
    if not indices:
        return np.zeros(0)
    allowance = max(1, oracle.remaining // 2)
    size = math.ceil(len(indices) / allowance)
    groups = [indices[i : i + size] for i in range(0, len(indices), size)]
    texts = [tokens.without(g[0], g[-1] + 1) for g in groups]
    drops = p_target - oracle.holds(oracle.probs(texts), target)
    return np.repeat(drops, [len(g) for g in groups])[: len(indices)]


@dataclass(frozen=True)
class TextAttack(Attack, ABC):
    """Base class of the black-box text attacks.

    Subclasses validate their fields in ``_check`` and implement ``_attack`` for one text the
    criterion does not yet count as broken; :meth:`run` does the rest (input checks, the query
    counter, seeding, the fresh check of each success, the edit budget, edits, similarity).

    Class attributes:
        name: Registered name (set by ``register_attack``).
        quick_params: Parameters for a fast smoke run (tests, the quick suite).
    """

    modality: ClassVar[str] = "text"
    needs: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def _attack(
        self,
        oracle: QueryCounter,
        tokens: Tokenized,
        target: int,
        p_clean: np.ndarray,
        rng: np.random.Generator,
    ) -> list[str] | None:
        """New words for ``tokens`` that break the text, or ``None`` if none was found.

        ``p_clean`` is the model's (already paid) probabilities on the original; every further
        model call must go through ``oracle``, which raises :class:`BudgetExhausted` when the
        budget is spent (the run then counts the text as not broken). ``oracle.broken`` and
        ``oracle.holds`` judge probabilities with the run's criterion, and ``oracle.word_limit``
        gives the edit budget's most changed words.
        """

    def run(
        self,
        model: Model,
        texts: Sequence[str],
        targets: Any,
        *,
        budget: int = 500,
        seed: int = 0,
        max_chars: int | None = 20_000,
        similarity: bool = True,
        threat: EditBudget | None = None,
        criterion: Criterion | str | None = None,
        fail_fast: bool = False,
    ) -> TextAttackResult:
        """Attack each text within ``budget`` queries; see :func:`robustlab.attacks.text.run`."""
        from robustlab.attacks.text._run import attack_texts

        return attack_texts(
            self,
            model,
            texts,
            targets,
            budget=budget,
            seed=seed,
            max_chars=max_chars,
            similarity=similarity,
            threat=threat,
            criterion=criterion,
            fail_fast=fail_fast,
        )


def check_number(
    owner: str,
    param: str,
    value: object,
    *,
    integer: bool = False,
    low: float = 0.0,
    high: float = math.inf,
    low_inclusive: bool = False,
) -> None:
    """Raise ConfigError unless ``value`` is a finite int (or float) in the given range (the
    shared checks of :mod:`robustlab.validation`)."""
    if not integer:
        validation.check_number(
            owner, param, value, low=low, high=high, low_inclusive=low_inclusive
        )
        return
    minimum = math.ceil(low) if low_inclusive else math.floor(low) + 1
    maximum = None if high == math.inf else math.floor(high)
    validation.check_int(owner, param, value, minimum, maximum)


def build_text_attack(name: str, **params: Any) -> TextAttack:
    """Deprecated: :func:`robustlab.attacks.build_attack` builds image and text attacks."""
    warnings.warn(
        "build_text_attack is deprecated since RobustLab 0.2; use robustlab.attacks.build_attack "
        "(one registry for image and text attacks). The old name works until 0.3.",
        DeprecationWarning,
        stacklevel=2,
    )
    return TEXT.build(name, **params)


def __getattr__(name: str) -> Any:
    if name == "TEXT_ATTACKS":
        warnings.warn(
            "TEXT_ATTACKS is deprecated since RobustLab 0.2; image and text attacks share "
            "robustlab.attacks.ATTACKS (attacks_for('text') lists the text ones). The old name "
            "works until 0.3.",
            DeprecationWarning,
            stacklevel=2,
        )
        return TEXT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
