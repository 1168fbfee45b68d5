"""Word order: chosen pairs of neighbouring words swapped."""

from __future__ import annotations

import random

from robustlab.perturbations.text._base import Replacement, choose, transformation, words


@transformation(
    "word_order",
    description="pairs of neighbouring words swapped",
    references="Penha, Camara & Hauff, Evaluating the Robustness of Retrieval Pipelines with "
    "Query Variation Generators, ECIR 2022 (word order: swap neighbouring words)",
)
def word_order(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Of the ``n // 2`` disjoint pairs (words 1-2, 3-4, ...) whose words differ,
    ``ceil(rate * pairs)`` are swapped, the text between them kept."""
    found = words(text)
    pairs = [i for i in range(0, len(found) - 1, 2) if found[i].group(0) != found[i + 1].group(0)]
    out: list[Replacement] = []
    for i in choose(pairs, rate, rng):
        a, b = found[i], found[i + 1]
        between = text[a.end() : b.start()]
        out.append((a.start(), b.end(), b.group(0) + between + a.group(0)))
    return out
