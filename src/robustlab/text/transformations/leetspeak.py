"""Leetspeak: the letters of a word that have digit look-alikes written as digits ("g00d")."""

from __future__ import annotations

import random

from robustlab.text.transformations._base import Replacement, choose, transformation
from robustlab.text.transformations._base import words as find_words

#: Letters and the digits that stand in for them in leetspeak.
LEET: dict[str, str] = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


@transformation(
    "leetspeak",
    description="every letter of a word that has a digit look-alike written as that digit",
    references="Eger et al., Text Processing Like Humans Do: Visually Attacking and Shielding "
    "NLP Systems (VIPER), NAACL 2019 (visual perturbations)",
)
def leetspeak(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen word gets all its letters a, e, i, o, s, t (either case) replaced by digits."""
    eligible = [m for m in find_words(text) if any(c.lower() in LEET for c in m.group())]
    out: list[Replacement] = []
    for m in choose(eligible, rate, rng):
        word = m.group()
        out.append((m.start(), m.end(), "".join(LEET.get(c.lower(), c) for c in word)))
    return out
