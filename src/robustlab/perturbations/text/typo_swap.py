"""Swap typo: two adjacent, different letters of a word exchanged."""

from __future__ import annotations

import numpy as np

from robustlab.perturbations.text._batch import BatchEdits, TextBatch, char_transformation
from robustlab.perturbations.text._chars import typo_edit_sites


@char_transformation(
    "typo_swap",
    description="two adjacent letters of a word swapped",
    references="Belinkov & Bisk, Synthetic and Natural Noise Both Break Neural Machine "
    "Translation, ICLR 2018 (swap noise)",
)
def typo_swap(batch: TextBatch, rate: float) -> BatchEdits:
    """Each chosen word (3+ letters) gets one pair of adjacent, different ASCII letters swapped."""
    codes, editable = batch.codes, batch.editable
    pair = editable[:-1] & editable[1:] & ((codes[:-1] | 0x20) != (codes[1:] | 0x20))
    _, pos = typo_edit_sites(batch, rate, np.append(pair, False))
    twos = np.full(len(pos), 2, dtype=np.int64)
    new = np.stack([codes[pos + 1], codes[pos]], axis=1).reshape(-1)
    return BatchEdits(pos, twos, new, twos)
