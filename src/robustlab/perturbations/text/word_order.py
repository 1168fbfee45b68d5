"""Word order: chosen pairs of neighbouring words swapped."""

from __future__ import annotations

import random
import re

from robustlab.perturbations.text._base import Replacement, choose, transformation

_TOKEN = re.compile(r"\S+")


@transformation(
    "word_order",
    description="pairs of neighbouring words (whitespace-separated tokens) swapped",
    references="Penha, Camara & Hauff, Evaluating the Robustness of Retrieval Pipelines with "
    "Query Variation Generators, ECIR 2022 (word order: swap neighbouring words)",
)
def word_order(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Of the ``n // 2`` disjoint pairs of whitespace-separated tokens (1-2, 3-4, ...) that
    differ, ``ceil(rate * pairs)`` are swapped, the space between them kept (tokens move whole,
    so ``sha256`` or ``os.path`` stay intact)."""
    found = list(_TOKEN.finditer(text))
    pairs = [i for i in range(0, len(found) - 1, 2) if found[i].group(0) != found[i + 1].group(0)]
    out: list[Replacement] = []
    for i in choose(pairs, rate, rng):
        a, b = found[i], found[i + 1]
        between = text[a.end() : b.start()]
        out.append((a.start(), b.end(), b.group(0) + between + a.group(0)))
    return out
