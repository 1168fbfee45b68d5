"""Casing noise: words written in capitals (or, if already capitals, in lower case)."""

from __future__ import annotations

import random

from robustlab.text.transformations._base import Replacement, choose, transformation
from robustlab.text.transformations._base import words as find_words


def _recase(word: str) -> str:
    return word.lower() if word.isupper() else word.upper()


@transformation(
    "casing",
    description="words switched to UPPER case (lower case if they already are upper case)",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (robustness to casing)",
)
def casing(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen word becomes upper case, or lower case if it is all capitals already."""
    eligible = [m for m in find_words(text) if _recase(m.group()) != m.group()]
    return [(m.start(), m.end(), _recase(m.group())) for m in choose(eligible, rate, rng)]
