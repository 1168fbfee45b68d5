"""Punctuation noise: the punctuation after a word dropped, or a stray mark added after it."""

from __future__ import annotations

import random

from robustlab.text.transformations._base import Replacement, choose, transformation
from robustlab.text.transformations._base import words as find_words

#: Marks removed after a word when present.
MARKS = ".,;:!?"
#: Marks inserted after a word: neutral ones, so the noise adds no emphasis or question.
INSERTED = ".,;:"


@transformation(
    "punctuation",
    description="the punctuation mark after a word deleted, or a stray . , ; or : added",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (robustness to punctuation)",
)
def punctuation(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen word loses the punctuation mark right after it, or gains one if it has none."""
    out: list[Replacement] = []
    for m in choose(find_words(text), rate, rng):
        end = m.end()
        if end < len(text) and text[end] in MARKS:
            out.append((end, end + 1, ""))
        else:
            out.append((end, end, rng.choice(INSERTED)))
    return out
