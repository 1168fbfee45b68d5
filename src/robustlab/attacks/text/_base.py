"""The text-attack base: a query-counting model wrapper with a hard budget, word tokens, and the
attack base class with its registry."""

from __future__ import annotations

import dataclasses
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from robustlab.errors import ConfigError, ModelError
from robustlab.models.base import Model
from robustlab.registry import Registry

__all__ = [
    "STOPWORDS",
    "TEXT_ATTACKS",
    "BudgetExhausted",
    "QueryCounter",
    "TextAttack",
    "Tokenized",
    "build_text_attack",
    "deletion_importance",
    "register_text_attack",
]

TEXT_ATTACKS: Registry[type[TextAttack]] = Registry("text attack")

A = TypeVar("A", bound="type[TextAttack]")


def register_text_attack(name: str) -> Callable[[A], A]:
    """Class decorator registering a :class:`TextAttack` subclass under ``name``."""

    def decorator(cls: A) -> A:
        cls.name = name
        TEXT_ATTACKS.add(name, cls)
        return cls

    return decorator


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
    """

    def __init__(self, model: Model, budget: int) -> None:
        self._model = model
        self.budget = budget
        self.used = 0
        self._cache: dict[str, np.ndarray] = {}

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
    """How much deleting each word of ``indices`` lowers the true class's probability (leave-one-
    out), one query per word. When the words outnumber half the remaining budget, consecutive
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
    drops = p_target - oracle.probs(texts)[:, target]
    return np.repeat(drops, [len(g) for g in groups])[: len(indices)]


@dataclass(frozen=True)
class TextAttack(ABC):
    """Base class of every text attack: a frozen dataclass whose fields are its parameters.

    Subclasses validate their fields in ``_check`` and implement ``_attack`` for one correctly
    classified text; :func:`robustlab.attacks.text.run` does the rest (input checks, the query
    counter, seeding, the fresh check of each success, edits, similarity).

    Class attributes:
        name: Registered name (set by ``register_text_attack``).
        quick_params: Parameters for a fast smoke run (tests, the quick suite).
    """

    name: ClassVar[str] = "text_attack"
    quick_params: ClassVar[dict[str, Any]] = {}

    def __post_init__(self) -> None:
        self._check(f"text attack {self.name!r}")

    def _check(self, owner: str) -> None:
        """Validate the fields; raise ConfigError with the standard message."""
        return None

    @abstractmethod
    def _attack(
        self,
        oracle: QueryCounter,
        tokens: Tokenized,
        target: int,
        p_clean: np.ndarray,
        rng: np.random.Generator,
    ) -> list[str] | None:
        """New words for ``tokens`` that the model misclassifies, or ``None`` if none was found.

        ``p_clean`` is the model's (already paid) probabilities on the original; every further
        model call must go through ``oracle``, which raises :class:`BudgetExhausted` when the
        budget is spent (the run then counts the text as not broken).
        """

    @property
    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
    """Raise ConfigError unless ``value`` is a finite int (or float) in the given range."""
    ok = isinstance(value, int if integer else int | float) and not isinstance(value, bool)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = math.isfinite(v) and (v >= low if low_inclusive else v > low) and v <= high
    if not ok:
        if high == math.inf:
            bound = f" {'>=' if low_inclusive else '>'} {low:g}"
        else:
            bound = f" in {'[' if low_inclusive else '('}{low:g}, {high:g}]"
        raise ConfigError(
            f"The {param!r} parameter of {owner} must be {'an int' if integer else 'a float'}"
            f"{bound}. Got {value!r} instead."
        )


def build_text_attack(name: str, **params: Any) -> TextAttack:
    """Construct the registered text attack ``name`` from keyword parameters."""
    return TEXT_ATTACKS.build(name, **params)
