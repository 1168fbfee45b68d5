"""Insertion typo: a key next to one of a word's letters pressed as well (a fat-finger slip)."""

from __future__ import annotations

import numpy as np

from robustlab.perturbations.text._batch import BatchEdits, TextBatch, char_transformation
from robustlab.perturbations.text._chars import NEIGHBOUR_COUNTS, NEIGHBOUR_TABLE, typo_edit_sites


@char_transformation(
    "typo_insert",
    description="a QWERTY neighbour of one letter inserted next to it",
    references="Gao et al., Black-box Generation of Adversarial Text Sequences to Evade Deep "
    "Learning Classifiers (DeepWordBug), IEEE S&P Workshops 2018 (insertion)",
)
def typo_insert(batch: TextBatch, rate: float) -> BatchEdits:
    """Each chosen word (3+ letters) gets a neighbour of one of its ASCII letters inserted just
    before or after that letter."""
    chosen, pos = typo_edit_sites(batch, rate)
    letter = batch.codes[pos]
    pick = (batch.uniform(chosen[0], chosen[1], 2) * NEIGHBOUR_COUNTS[letter]).astype(int)
    # before or after the letter it slipped from
    after = batch.uniform(chosen[0], chosen[1], 3) < 0.5
    ones = np.ones(len(pos), dtype=np.int64)
    return BatchEdits(pos + after, ones * 0, NEIGHBOUR_TABLE[letter, pick], ones)
