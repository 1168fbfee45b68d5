"""Number change without exceptions: every number in digits, ratings and versions included."""

from __future__ import annotations

import random

from robustlab.perturbations.text._base import Replacement, transformation
from robustlab.perturbations.text.change_numbers import replace_numbers


@transformation(
    "change_all_numbers",
    description="every number written in digits replaced by another of similar size, ratings, "
    "versions, dates and identifiers included",
    unit="number",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (INV: change numbers)",
)
def change_all_numbers(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """``change_numbers`` for those who ask for it: numbers in "10/10", "Windows 95" or
    "2020-05-12" change too (which may change what the text says)."""
    return replace_numbers(text, rate, rng, everything=True)
