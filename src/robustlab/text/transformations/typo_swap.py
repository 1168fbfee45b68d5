"""Swap typo: two adjacent, different letters of a word exchanged."""

from __future__ import annotations

import random

from robustlab.text.transformations._base import Replacement, choose, transformation
from robustlab.text.transformations._chars import letter_positions, typo_words


def _pairs(text: str, start: int, end: int) -> list[int]:
    letters = set(letter_positions(text, start, end))
    return [
        i
        for i in range(start, end - 1)
        if i in letters and i + 1 in letters and text[i].lower() != text[i + 1].lower()
    ]


@transformation(
    "typo_swap",
    description="two adjacent letters of a word swapped",
    references="Belinkov & Bisk, Synthetic and Natural Noise Both Break Neural Machine "
    "Translation, ICLR 2018 (swap noise)",
)
def typo_swap(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen word (3+ letters) gets one pair of adjacent, different ASCII letters swapped."""
    eligible = [(m.start(), m.end()) for m in typo_words(text) if _pairs(text, m.start(), m.end())]
    out: list[Replacement] = []
    for start, end in choose(eligible, rate, rng):
        i = rng.choice(_pairs(text, start, end))
        out.append((i, i + 2, text[i + 1] + text[i]))
    return out
