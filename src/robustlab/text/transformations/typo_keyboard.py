"""Keyboard typo: one letter of a word replaced by a key next to it on a QWERTY keyboard."""

from __future__ import annotations

import random

from robustlab.text.transformations._base import Replacement, choose, transformation
from robustlab.text.transformations._chars import keyboard_neighbours, letter_positions, typo_words


@transformation(
    "typo_keyboard",
    description="one letter of a word replaced by a neighbouring QWERTY key",
    references="Belinkov & Bisk, Synthetic and Natural Noise Both Break Neural Machine "
    "Translation, ICLR 2018 (keyboard typos)",
)
def typo_keyboard(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen word (3+ letters) gets one ASCII letter replaced by a QWERTY neighbour."""
    spans = [(m.start(), m.end()) for m in typo_words(text)]
    eligible = [s for s in spans if letter_positions(text, *s)]
    out: list[Replacement] = []
    for start, end in choose(eligible, rate, rng):
        pos = rng.choice(letter_positions(text, start, end))
        out.append((pos, pos + 1, rng.choice(keyboard_neighbours(text[pos]))))
    return out
