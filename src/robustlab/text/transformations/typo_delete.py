"""Deletion typo: one letter of a word dropped."""

from __future__ import annotations

import random

from robustlab.text.transformations._base import Replacement, choose, transformation
from robustlab.text.transformations._chars import letter_positions, typo_words


@transformation(
    "typo_delete",
    description="one letter of a word deleted",
    references="Gao et al., Black-box Generation of Adversarial Text Sequences to Evade Deep "
    "Learning Classifiers (DeepWordBug), IEEE S&P Workshops 2018 (deletion)",
)
def typo_delete(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen word (3+ letters) loses one of its ASCII letters."""
    eligible = [(m.start(), m.end()) for m in typo_words(text) if letter_positions(text, *m.span())]
    out: list[Replacement] = []
    for start, end in choose(eligible, rate, rng):
        pos = rng.choice(letter_positions(text, start, end))
        out.append((pos, pos + 1, ""))
    return out
