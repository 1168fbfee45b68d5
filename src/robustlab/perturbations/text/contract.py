"""Contraction: "do not" becomes "don't", "it is" becomes "it's", and so on."""

from __future__ import annotations

import random
import re

from robustlab.perturbations.text._base import Replacement, choose, match_case, transformation
from robustlab.perturbations.text._contractions import CONTRACTABLE, contractable_pattern

_PATTERN = contractable_pattern()


def contracted(phrase: str) -> str:
    """The contraction of ``phrase`` (a :data:`CONTRACTABLE` key in any case and spacing), cased
    like it."""
    short = CONTRACTABLE[" ".join(phrase.lower().split())]
    if short.startswith("I'"):
        return short.upper() if phrase.isupper() else short
    return match_case(phrase, short)


@transformation(
    "contract",
    description="phrases such as 'do not' or 'it is' contracted to 'don't', 'it's'",
    unit="phrase",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (contractions)",
)
def contract(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen contractable phrase is replaced by its contraction, keeping its case."""
    found: list[re.Match[str]] = list(_PATTERN.finditer(text))
    return [(m.start(), m.end(), contracted(m.group())) for m in choose(found, rate, rng)]
