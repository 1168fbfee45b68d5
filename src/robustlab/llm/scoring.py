"""Short-answer scoring: exact match and token F1 (SQuAD normalisation), regex, numeric match,
a user's scorer, and MiniLM embedding similarity.

Every scorer maps ``(prediction, references) -> float`` in [0, 1] (the best over the
references). :func:`score_answers` scores a list and never crashes on a scorer that raises: that
answer gets ``NaN`` and its error message, counted as a failure (:class:`Scores`).

SQuAD normalisation and F1 follow Rajpurkar et al., "SQuAD: 100,000+ Questions for Machine
Comprehension of Text", EMNLP 2016 (the official evaluation script's rules).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from robustlab import validation
from robustlab.errors import ConfigError
from robustlab.registry import Registry

__all__ = [
    "SCORERS",
    "ExactMatch",
    "NumericMatch",
    "RegexMatch",
    "Scorer",
    "Scores",
    "Similarity",
    "TokenF1",
    "UserScorer",
    "answer_and_score",
    "get_scorer",
    "normalize_answer",
    "parse_number",
    "score_answers",
]

SCORERS: Registry[type[Scorer]] = Registry("scorer")

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


class Scorer:
    """One way of scoring a short answer against its reference answers.

    Class attributes:
        name: Registry name (suites and the command line use it).
        description: One line for listings and the report.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def score(self, prediction: str, references: Sequence[str]) -> float:
        """The best score of ``prediction`` over ``references``, in [0, 1]."""
        return max((self.score_one(prediction, r) for r in references), default=0.0)

    def score_one(self, prediction: str, reference: str) -> float:
        """The score of ``prediction`` against one reference; a scorer overrides this or
        :meth:`score`."""
        raise ConfigError(
            f"Scorer {type(self).__name__} defines neither score_one(prediction, reference) nor "
            "score(prediction, references); implement one of them."
        )

    def score_many(
        self, predictions: Sequence[str], references: Sequence[Sequence[str]]
    ) -> list[float]:
        """Scores of aligned lists (override to batch, as the embedding scorer does)."""
        return [self.score(p, r) for p, r in zip(predictions, references)]


@SCORERS.register("exact_match")
@dataclass(frozen=True)
class ExactMatch(Scorer):
    """1 when the answer equals a reference after SQuAD normalisation (``normalize=False``:
    after stripping surrounding white space only)."""

    normalize: bool = True
    name: ClassVar[str] = "exact_match"
    description: ClassVar[str] = "answer equals a reference (SQuAD normalisation)"

    def score_one(self, prediction: str, reference: str) -> float:
        if self.normalize:
            return float(normalize_answer(prediction) == normalize_answer(reference))
        return float(prediction.strip() == reference.strip())


@SCORERS.register("token_f1")
@dataclass(frozen=True)
class TokenF1(Scorer):
    """Harmonic mean of token precision and recall after SQuAD normalisation (SQuAD F1)."""

    name: ClassVar[str] = "token_f1"
    description: ClassVar[str] = "token-overlap F1 with the best reference (SQuAD)"

    def score_one(self, prediction: str, reference: str) -> float:
        pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
        if not pred or not ref:  # SQuAD: two empty answers agree, one empty one does not
            return float(pred == ref)
        common = sum((Counter(pred) & Counter(ref)).values())
        if common == 0:
            return 0.0
        precision, recall = common / len(pred), common / len(ref)
        return 2 * precision * recall / (precision + recall)


@SCORERS.register("regex")
@dataclass(frozen=True)
class RegexMatch(Scorer):
    """1 when ``pattern`` is found in the answer (``fullmatch=True``: matches all of it, white
    space stripped). Without a pattern, each reference is the pattern."""

    pattern: str | None = None
    fullmatch: bool = False
    ignore_case: bool = True
    name: ClassVar[str] = "regex"
    description: ClassVar[str] = "answer matches a regular expression"

    def __post_init__(self) -> None:
        if self.pattern is not None:
            self._compile(self.pattern)

    def _compile(self, pattern: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern, re.IGNORECASE if self.ignore_case else 0)
        except re.error as exc:
            raise validation.fail(
                "scorer 'regex'", "pattern", "a valid regular expression", pattern, f"({exc})."
            ) from None

    def score(self, prediction: str, references: Sequence[str]) -> float:
        patterns = [self.pattern] if self.pattern is not None else list(references)
        return max((self.score_one(prediction, p) for p in patterns), default=0.0)

    def score_one(self, prediction: str, reference: str) -> float:
        rx = self._compile(reference)
        found = rx.fullmatch(prediction.strip()) if self.fullmatch else rx.search(prediction)
        return float(found is not None)


_NUMBER = re.compile(
    r"""(?<![\w.])[-+−]?\$?\s?
        (?: \d{1,3}(?:,\d{3})+(?:\.\d+)?   # 1,000 and 1,000.50
          | \d+(?:\.\d+)?                   # 3 and 3.50
          | \.\d+ )                         # .5
        (?:\s*/\s*\d+(?:\.\d+)?)?            # a fraction: 3/4, 1 / 2
        (?:[eE][-+]?\d+)?
        \s?%?""",
    re.VERBOSE,
)


def parse_number(text: str, *, which: str = "last") -> float | None:
    """A number written in ``text`` (``"1,000"``, ``"3.50"``, ``"3/4"``, ``"-2"``, ``"$5"``,
    ``"1e3"``, ``"50%"`` = 0.5), the ``first`` or ``last`` one found; None when there is none."""
    found = list(_NUMBER.finditer(text))
    if not found:
        return None
    raw = (found[0] if which == "first" else found[-1]).group(0)
    raw = raw.replace("−", "-").replace("$", "").replace(",", "").replace(" ", "")
    percent = raw.endswith("%")
    raw = raw.rstrip("%")
    try:
        if "/" in raw:
            num, den = raw.split("/")
            if float(den) == 0:
                return None
            value = float(Fraction(num) / Fraction(den))
        else:
            value = float(raw)
    except (ValueError, ZeroDivisionError):
        return None
    return value / 100 if percent else value


@SCORERS.register("numeric")
@dataclass(frozen=True)
class NumericMatch(Scorer):
    """1 when the number in the answer equals the reference's within ``abs_tol`` or
    ``rel_tol`` (numbers parsed by :func:`parse_number`; ``which``: the answer's first or last
    number, the final answer being usually last)."""

    abs_tol: float = 1e-6
    rel_tol: float = 0.0
    which: str = "last"
    name: ClassVar[str] = "numeric"
    description: ClassVar[str] = "the answer's number equals the reference's (with a tolerance)"

    def __post_init__(self) -> None:
        owner = "scorer 'numeric'"
        validation.check_number(owner, "abs_tol", self.abs_tol, low_inclusive=True)
        validation.check_number(owner, "rel_tol", self.rel_tol, low_inclusive=True)
        validation.check_choice(owner, "which", self.which, ("first", "last"))

    def score_one(self, prediction: str, reference: str) -> float:
        want = parse_number(reference, which="last")
        if want is None:
            raise ConfigError(
                f"scorer 'numeric': the reference answer {reference!r} holds no number; use "
                "scorer 'exact_match' for answers that are not numbers."
            )
        got = parse_number(prediction, which=self.which)
        if got is None:
            return 0.0
        return float(math.isclose(got, want, rel_tol=self.rel_tol, abs_tol=self.abs_tol))


@SCORERS.register("similarity")
@dataclass(frozen=True)
class Similarity(Scorer):
    """Cosine similarity of MiniLM sentence embeddings (all-MiniLM-L6-v2, offline), clipped to
    [0, 1]; with ``threshold``, 1 at or above it and 0 below (Reimers & Gurevych, Sentence-BERT,
    EMNLP 2019)."""

    threshold: float | None = None
    name: ClassVar[str] = "similarity"
    description: ClassVar[str] = "MiniLM embedding cosine similarity with the best reference"

    def __post_init__(self) -> None:
        validation.check_number(
            "scorer 'similarity'", "threshold", self.threshold, low=-1.0, optional=True
        )

    def _finish(self, cosine: float) -> float:
        if self.threshold is not None:
            return float(cosine >= self.threshold)
        return float(min(1.0, max(0.0, cosine)))

    def score_one(self, prediction: str, reference: str) -> float:
        return self.score_many([prediction], [[reference]])[0]

    def score(self, prediction: str, references: Sequence[str]) -> float:
        return self.score_many([prediction], [references])[0]

    def score_many(
        self, predictions: Sequence[str], references: Sequence[Sequence[str]]
    ) -> list[float]:
        from robustlab.text.embeddings import encode

        refs = [str(r) for rs in references for r in rs]
        if not predictions:
            return []
        vectors = encode([*map(str, predictions), *refs])
        pred, ref = vectors[: len(predictions)], vectors[len(predictions) :]
        out, at = [], 0
        for i, rs in enumerate(references):
            sims = ref[at : at + len(rs)] @ pred[i]
            at += len(rs)
            out.append(self._finish(float(sims.max())) if len(rs) else 0.0)
        return out


@dataclass(frozen=True)
class UserScorer(Scorer):
    """A user's function ``(prediction, references) -> float | bool``; its result must be in
    [0, 1]. One that raises fails that answer only (see :func:`score_answers`)."""

    fn: Callable[[str, Sequence[str]], Any] = field(default=lambda p, r: 0.0)
    label: str = "user"
    name: ClassVar[str] = "user"
    description: ClassVar[str] = "a user-supplied scoring function"

    def score(self, prediction: str, references: Sequence[str]) -> float:
        value = self.fn(prediction, references)
        if isinstance(value, (bool, np.bool_)):
            return float(value)
        if not isinstance(value, (int, float, np.number)) or not 0 <= float(value) <= 1:
            raise ConfigError(
                f"scorer {self.label!r} returned {value!r}; a scorer must return a number in "
                "[0, 1] or a bool."
            )
        return float(value)


def get_scorer(scorer: str | Scorer | Callable[..., Any], **params: Any) -> Scorer:
    """A scorer from its registry name (with ``params``), a :class:`Scorer`, or a function."""
    if isinstance(scorer, Scorer):
        return scorer
    if isinstance(scorer, str):
        return SCORERS.build(scorer, **params)
    if callable(scorer):
        return UserScorer(scorer, getattr(scorer, "__name__", "user"))
    raise ConfigError(
        f"A scorer must be a name ({', '.join(SCORERS.names())}), a Scorer or a function "
        f"(prediction, references) -> float. Got {type(scorer).__name__} instead."
    )


@dataclass(frozen=True)
class Scores:
    """Scores of a list of answers.

    Attributes:
        values: One score per answer in [0, 1]; NaN where the scorer failed.
        errors: One entry per answer: None, or the scorer's error message.
    """

    values: np.ndarray
    errors: list[str | None]

    @property
    def failed(self) -> np.ndarray:
        return np.array([e is not None for e in self.errors], dtype=bool)

    @property
    def failures(self) -> int:
        return int(self.failed.sum())

    def mean(self) -> float:
        """Mean over the answers that were scored (NaN when none was)."""
        ok = self.values[~self.failed]
        return float(ok.mean()) if ok.size else float("nan")


def score_answers(
    scorer: str | Scorer | Callable[..., Any],
    predictions: Sequence[str],
    references: Sequence[str | Sequence[str]],
) -> Scores:
    """Score ``predictions`` against their ``references`` (one str or a list per answer).

    A scorer that raises on an answer fails that answer only: its value is NaN and its error
    (``TypeName: message``) is recorded; a completion that is not text fails the same way.
    """
    s = get_scorer(scorer)
    if len(predictions) != len(references):
        raise ConfigError(
            f"score_answers: {len(predictions)} predictions but {len(references)} references; "
            "pass one reference (or a list of them) per prediction."
        )
    refs = [[r] if isinstance(r, str) else [str(x) for x in r] for r in references]
    values = np.full(len(predictions), np.nan)
    errors: list[str | None] = [None] * len(predictions)
    ok = [i for i, p in enumerate(predictions) if isinstance(p, str)]
    for i, p in enumerate(predictions):
        if not isinstance(p, str):
            errors[i] = f"the completion is not text ({type(p).__name__})"
    try:  # batched first (embeddings); per answer on any error, to find the failing ones
        batch = s.score_many([predictions[i] for i in ok], [refs[i] for i in ok])
        values[ok] = batch
        return Scores(values, errors)
    except Exception:
        pass
    for i in ok:
        try:
            values[i] = s.score(predictions[i], refs[i])
        except Exception as exc:
            errors[i] = f"{type(exc).__name__}: {exc}"
    return Scores(values, errors)


def answer_and_score(
    model: Any,
    prompts: Sequence[str],
    references: Sequence[str | Sequence[str]],
    scorer: str | Scorer | Callable[..., Any] = "exact_match",
    decoding: Any = None,
) -> tuple[list[str], Scores]:
    """Ask ``model`` (a :class:`~robustlab.llm.base.LanguageModel`) for a short answer to each
    prompt (greedy, 32 tokens, up to the end of the line unless ``decoding`` says otherwise)
    and score each answer's first completion; returns the answers and their scores."""
    from robustlab.llm.base import Decoding

    if decoding is None:
        decoding = Decoding(max_new_tokens=32, temperature=0.0, stop=("\n",))
    if len(prompts) != len(references):
        raise ConfigError(
            f"answer_and_score: {len(prompts)} prompts but {len(references)} references; pass "
            "one reference (or a list of them) per prompt."
        )
    generated = model.generate(list(prompts), decoding)
    answers = [row[0].text if row else "" for row in generated]
    return answers, score_answers(scorer, answers, references)
