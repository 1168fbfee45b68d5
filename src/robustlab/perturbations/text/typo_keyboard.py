"""Keyboard typo: one letter of a word replaced by a key next to it on a QWERTY keyboard."""

from __future__ import annotations

from robustlab.perturbations.text._batch import BatchEdits, TextBatch, char_transformation
from robustlab.perturbations.text._chars import NEIGHBOUR_COUNTS, NEIGHBOUR_TABLE, typo_edit_sites


@char_transformation(
    "typo_keyboard",
    description="one letter of a word replaced by a neighbouring QWERTY key",
    references="Belinkov & Bisk, Synthetic and Natural Noise Both Break Neural Machine "
    "Translation, ICLR 2018 (keyboard typos)",
)
def typo_keyboard(batch: TextBatch, rate: float) -> BatchEdits:
    """Each chosen word (3+ letters) gets one ASCII letter replaced by a QWERTY neighbour."""
    chosen, pos = typo_edit_sites(batch, rate)
    letter = batch.codes[pos]
    pick = (batch.uniform(chosen[0], chosen[1], 2) * NEIGHBOUR_COUNTS[letter]).astype(int)
    return BatchEdits.substitute(pos, NEIGHBOUR_TABLE[letter, pick])
