"""Punctuation noise: the punctuation after a word dropped, or a stray mark added after it."""

from __future__ import annotations

import numpy as np

from robustlab.perturbations.text._batch import BatchEdits, TextBatch, char_transformation
from robustlab.perturbations.text._graphemes import word_spans

#: Marks removed after a word when present.
MARKS = ".,;:!?"
#: Marks inserted after a word: neutral ones, so the noise adds no emphasis or question.
INSERTED = ".,;:"

_MARK_CODES = np.array([ord(c) for c in MARKS], dtype=np.uint32)
_INSERTED_CODES = np.array([ord(c) for c in INSERTED], dtype=np.uint32)


@char_transformation(
    "punctuation",
    description="the punctuation mark after a word deleted, or a stray . , ; or : added",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (robustness to punctuation)",
)
def punctuation(batch: TextBatch, rate: float) -> BatchEdits:
    """Each chosen word loses the punctuation mark right after it, or gains one if it has none.
    A word ends after its last letter's combining marks, so no mark lands inside an accented
    letter of decomposed (NFD) text."""
    starts, ends = word_spans(batch)
    chosen = batch.choose(starts, np.ones(len(starts), dtype=bool), rate)
    end = ends[chosen[2]]
    # a text's last word is followed by the separator (no mark) or by the end of the codes
    after = np.append(batch.codes, np.uint32(0))[end]
    drop = np.isin(after, _MARK_CODES)
    pick = (batch.uniform(chosen[0], chosen[1], 2) * len(INSERTED)).astype(np.int64)
    add = (~drop).astype(np.int64)
    return BatchEdits(end, drop.astype(np.int64), _INSERTED_CODES[pick[~drop]], add)
