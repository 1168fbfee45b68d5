"""Insertion typo: a key next to one of a word's letters pressed as well (a fat-finger slip)."""

from __future__ import annotations

import random

from robustlab.text.transformations._base import Replacement, choose, transformation
from robustlab.text.transformations._chars import keyboard_neighbours, letter_positions, typo_words


@transformation(
    "typo_insert",
    description="a QWERTY neighbour of one letter inserted next to it",
    references="Gao et al., Black-box Generation of Adversarial Text Sequences to Evade Deep "
    "Learning Classifiers (DeepWordBug), IEEE S&P Workshops 2018 (insertion)",
)
def typo_insert(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen word (3+ letters) gets a neighbour of one of its ASCII letters inserted just
    before or after that letter."""
    eligible = [(m.start(), m.end()) for m in typo_words(text) if letter_positions(text, *m.span())]
    out: list[Replacement] = []
    for start, end in choose(eligible, rate, rng):
        pos = rng.choice(letter_positions(text, start, end))
        extra = rng.choice(keyboard_neighbours(text[pos]))
        at = pos + rng.randrange(2)  # before or after the letter it slipped from
        out.append((at, at, extra))
    return out
