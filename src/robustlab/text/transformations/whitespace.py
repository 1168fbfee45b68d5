"""Whitespace noise: the space between two words doubled, or dropped so the words run together."""

from __future__ import annotations

import random
import re

from robustlab.text.transformations._base import Replacement, choose, transformation

_GAP = re.compile(r"(?<=\S)[ \t]+(?=\S)")


@transformation(
    "whitespace",
    description="spaces between words removed (words run together) or doubled",
    unit="gap",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (robustness to noise)",
)
def whitespace(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen gap of spaces between two non-space characters is, with equal chance,
    removed or widened by one or two extra spaces."""
    out: list[Replacement] = []
    for m in choose(list(_GAP.finditer(text)), rate, rng):
        new = "" if rng.random() < 0.5 else m.group() + " " * rng.randint(1, 2)
        out.append((m.start(), m.end(), new))
    return out
