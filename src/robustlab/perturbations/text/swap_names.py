"""Name swap: people's names replaced by other names, consistently within a text."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from robustlab.perturbations.text._base import Replacement, transformation
from robustlab.perturbations.text._entities import (
    FEMALE_NAMES,
    MALE_NAMES,
    SURNAMES,
    alternation,
    swap_consistently,
)

_FIRST = re.compile(rf"(?<![\w-])(?:{alternation(FEMALE_NAMES + MALE_NAMES)})(?![\w-])")
_SURNAME = re.compile(rf" (?:{alternation(SURNAMES)})(?![\w-])")
_POOLS = {**dict.fromkeys(FEMALE_NAMES, FEMALE_NAMES), **dict.fromkeys(MALE_NAMES, MALE_NAMES)}


def name_occurrences(text: str) -> list[tuple[int, int, str, Sequence[str]]]:
    """Every listed first name, and every listed surname directly after one, with its pool."""
    found: list[tuple[int, int, str, Sequence[str]]] = []
    for m in _FIRST.finditer(text):
        found.append((m.start(), m.end(), m.group(), _POOLS[m.group()]))
        last = _SURNAME.match(text, m.end())
        if last:
            found.append((last.start() + 1, last.end(), last.group()[1:], SURNAMES))
    return found


@transformation(
    "swap_names",
    description="people's names swapped for other names of the same gender (and surnames)",
    unit="name",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (INV: change names); Balasubramanian et al., What's in a Name? Are "
    "BERT Named Entity Representations just as Good for any other Name?, RepL4NLP 2020",
)
def swap_names(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Chosen distinct names (first names from the project's lists, and listed surnames right
    after them) are replaced by other names from the same list, the same everywhere in the text."""
    return swap_consistently(name_occurrences(text), rate, rng)
