"""Deletion typo: one letter of a word dropped."""

from __future__ import annotations

import numpy as np

from robustlab.perturbations.text._batch import BatchEdits, TextBatch, char_transformation
from robustlab.perturbations.text._chars import typo_edit_sites


@char_transformation(
    "typo_delete",
    description="one letter of a word deleted",
    references="Gao et al., Black-box Generation of Adversarial Text Sequences to Evade Deep "
    "Learning Classifiers (DeepWordBug), IEEE S&P Workshops 2018 (deletion)",
)
def typo_delete(batch: TextBatch, rate: float) -> BatchEdits:
    """Each chosen word (3+ letters) loses one of its ASCII letters."""
    _, pos = typo_edit_sites(batch, rate)
    ones = np.ones(len(pos), dtype=np.int64)
    return BatchEdits(pos, ones, np.empty(0, dtype=np.uint32), ones * 0)
