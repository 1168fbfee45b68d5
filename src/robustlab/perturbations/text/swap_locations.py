"""Location swap: cities and countries replaced by others, consistently within a text."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from robustlab.perturbations.text._base import Replacement, transformation
from robustlab.perturbations.text._entities import (
    CITIES,
    COUNTRIES,
    alternation,
    swap_consistently,
)

_PLACE = re.compile(rf"(?<![\w-])(?:{alternation(CITIES + COUNTRIES)})(?![\w-])")
_POOLS = {
    **{" ".join(c.split()): CITIES for c in CITIES},
    **{c: COUNTRIES for c in COUNTRIES},
}


def place_occurrences(text: str) -> list[tuple[int, int, str, Sequence[str]]]:
    """Every listed city or country in ``text`` with the list its replacement comes from."""
    return [
        (m.start(), m.end(), m.group(), _POOLS[" ".join(m.group().split())])
        for m in _PLACE.finditer(text)
    ]


@transformation(
    "swap_locations",
    description="cities swapped for other cities and countries for other countries",
    unit="location",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (INV: change locations)",
)
def swap_locations(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Chosen distinct places from the project's lists are replaced by other places of the same
    kind, the same everywhere in the text."""
    return swap_consistently(place_occurrences(text), rate, rng)
