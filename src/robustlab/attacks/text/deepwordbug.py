"""DeepWordBug: rank words by how much deleting them hurts, then misspell them in that order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.attacks._registry import register_attack
from robustlab.attacks.text._base import (
    QueryCounter,
    TextAttack,
    Tokenized,
    check_number,
    deletion_importance,
)
from robustlab.attacks.text._typos import TYPO_OPS, typo
from robustlab.errors import ConfigError

#: Named settings. ``robustlab``: stopwords tried after the content words, a second pass over
#: every word. ``gao2018``: the published recipe as TextAttack's ``DeepWordBugGao2018`` runs it
#: (stopwords never edited, each word edited at most once, edit distance at most 30), so its
#: success rates compare with published ones.
PRESETS: dict[str, dict[str, Any]] = {
    "robustlab": {"candidates": 4, "max_edits": 30, "rounds": 2, "skip_stopwords": False},
    "gao2018": {"candidates": 4, "max_edits": 30, "rounds": 1, "skip_stopwords": True},
}


@register_attack("deepwordbug")
@dataclass(frozen=True)
class DeepWordBug(TextAttack):
    """Greedy character-level attack.

    Words are scored by leave-one-out deletion (the drop in the true class's probability, or in
    the criterion's margin for goals other than misclassification), then
    visited from most to least important: each gets ``candidates`` one-character edits (swap,
    substitute, delete, insert, in turn from a random start, at random positions) and keeps the
    one that lowers the true class's probability most, if it lowers it at all. Stopwords ("the",
    "not", ...) are scored and visited only after every other word has been, so texts that fall
    without them spend nothing on them; a second round (``rounds``) revisits every word with a
    further edit. The attack stops as soon as the prediction changes, after ``max_edits``
    character edits, or when the budget is spent.

    A success must stay close to the original: its MiniLM similarity to it (as the result
    reports it) must reach ``min_similarity``, else the text counts as not broken (a handful of
    typos keeps it above 0.5; a text whose every word is mangled does not).

    Args:
        preset: ``robustlab`` (default) or ``gao2018`` (the published recipe; see
            :data:`PRESETS`). It sets the four parameters below where they are not given;
            with ``gao2018`` a value other than the recipe's is refused. The result's
            parameters name the preset.
        candidates: Character edits tried per word visit (one query each).
        max_edits: Most character edits kept in all (TextAttack's recipe bounds the edit
            distance at 30 too).
        rounds: Passes over the words.
        skip_stopwords: Never edit stopwords (instead of trying them last).
        min_similarity: Floor on a success's MiniLM cosine similarity to the original, in
            [0, 1); 0 turns it off (and loads no encoder).

    References:
        Gao et al., Black-box Generation of Adversarial Text Sequences to Evade Deep Learning
        Classifiers, IEEE S&P Workshops 2018.
    """

    preset: str = "robustlab"
    # None until __post_init__ fills in the preset's value
    candidates: int = None  # type: ignore[assignment]
    max_edits: int = None  # type: ignore[assignment]
    rounds: int = None  # type: ignore[assignment]
    skip_stopwords: bool = None  # type: ignore[assignment]
    min_similarity: float = 0.5

    quick_params: ClassVar[dict[str, Any]] = {"candidates": 4, "max_edits": 10}

    def __post_init__(self) -> None:
        owner = f"text attack {self.name!r}"
        if self.preset not in PRESETS:
            raise ConfigError(
                f"The 'preset' parameter of {owner} must be one of {list(PRESETS)}. Got "
                f"{self.preset!r} instead."
            )
        for key, value in PRESETS[self.preset].items():
            given = getattr(self, key)
            if given is None:
                object.__setattr__(self, key, value)
            elif self.preset != "robustlab" and given != value:
                raise ConfigError(
                    f"The {key!r} parameter of {owner} is {value!r} in preset "
                    f"{self.preset!r}, the published recipe. Got {given!r}; drop it, or drop "
                    f"the preset to tune it."
                )
        super().__post_init__()

    def _check(self, owner: str) -> None:
        check_number(owner, "candidates", self.candidates, integer=True, low=1, low_inclusive=True)
        check_number(owner, "max_edits", self.max_edits, integer=True, low=1, low_inclusive=True)
        check_number(owner, "rounds", self.rounds, integer=True, low=1, low_inclusive=True)
        check_number(owner, "min_similarity", self.min_similarity, high=1.0, low_inclusive=True)
        if self.min_similarity >= 1:
            raise ConfigError(
                f"The 'min_similarity' parameter of {owner} must be a float in [0, 1). Got "
                f"{self.min_similarity!r} instead."
            )

    def _attack(
        self,
        oracle: QueryCounter,
        tokens: Tokenized,
        target: int,
        p_clean: np.ndarray,
        rng: np.random.Generator,
    ) -> list[str] | None:
        words = self._search(oracle, tokens, target, p_clean, rng)
        if words is None or self.min_similarity <= 0:
            return words
        from robustlab.attacks.text._run import _similarities, similarity_windows

        similar = _similarities([similarity_windows(tokens, words)])[0] >= self.min_similarity
        return words if similar else None

    def _search(
        self,
        oracle: QueryCounter,
        tokens: Tokenized,
        target: int,
        p_clean: np.ndarray,
        rng: np.random.Generator,
    ) -> list[str] | None:
        p_target = float(oracle.holds(p_clean, target)[0])
        content = tokens.eligible(skip_stopwords=True)
        rest = (
            []
            if self.skip_stopwords
            else sorted(set(tokens.eligible(skip_stopwords=False)) - set(content))
        )
        words = list(tokens.words)
        state = {"best": p_target, "edits": 0}
        limit = oracle.word_limit(len(tokens))
        changed: set[int] = set()

        def ranked(indices: list[int]) -> list[int]:
            scores = deletion_importance(oracle, tokens, target, p_target, indices)
            return [indices[j] for j in np.argsort(-scores, kind="stable")]

        def visit(i: int) -> bool:
            """Try edits of word ``i``; keep the best; True once the prediction changed."""
            if i not in changed and len(changed) >= limit:
                return False  # the edit budget allows no further word
            start = int(rng.integers(len(TYPO_OPS)))
            ops = [TYPO_OPS[(start + k) % len(TYPO_OPS)] for k in range(self.candidates)]
            variants = [v for v in dict.fromkeys(typo(words[i], op, rng) for op in ops)]
            variants = [v for v in variants if v != words[i]]
            if not variants:
                return False
            rows = []
            for v in variants:  # one at a time: the edit that breaks the text ends the search
                trial = words.copy()
                trial[i] = v
                rows.append(oracle.prob(tokens.render(trial)))
                if oracle.broken(rows[-1], target):
                    break
            probs = np.stack(rows)
            held = oracle.holds(probs, target)
            fooled = np.flatnonzero(oracle.broken(probs, target))
            j = int(fooled[0]) if len(fooled) else int(np.argmin(held))
            if len(fooled) or held[j] < state["best"]:
                words[i] = variants[j]
                state["best"] = float(held[j])
                state["edits"] += 1
                changed.add(i)
            return bool(len(fooled))

        order = ranked(content)
        for i in order:
            if state["edits"] >= self.max_edits:
                return None
            if visit(i):
                return words
        if rest:
            extra = ranked(rest)
            for i in extra:
                if state["edits"] >= self.max_edits:
                    return None
                if visit(i):
                    return words
            order += extra
        for _ in range(self.rounds - 1):
            for i in order:
                if state["edits"] >= self.max_edits:
                    return None
                if visit(i):
                    return words
        return None
