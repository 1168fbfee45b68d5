"""Whitespace noise: the space between two words doubled, or dropped so the words run together."""

from __future__ import annotations

import numpy as np

from robustlab.perturbations.text._batch import (
    BatchEdits,
    TextBatch,
    char_transformation,
    ramp,
)


@char_transformation(
    "whitespace",
    description="spaces between words removed (words run together) or doubled",
    unit="gap",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (robustness to noise)",
)
def whitespace(batch: TextBatch, rate: float) -> BatchEdits:
    """Each chosen gap of spaces between two non-space characters is, with equal chance,
    removed or widened by one or two extra spaces."""
    codes, space = batch.codes, batch.space
    starts, ends = batch.runs((codes == 32) | (codes == 9))  # runs of spaces and tabs
    text = np.searchsorted(batch.starts, starts, side="right") - 1
    inside = (starts > batch.starts[text]) & (ends < batch.starts[text] + batch.lengths[text])
    # a gap lies between two non-space characters of its own text (``(?<=\S)[ \t]+(?=\S)``)
    gap = inside & ~space[starts - 1] & ~space[np.minimum(ends, len(codes) - 1)]
    chosen = batch.choose(starts, gap, rate)
    at, end = starts[chosen[2]], ends[chosen[2]]
    widen = batch.uniform(chosen[0], chosen[1], 2) >= 0.5
    extra = np.where(widen, 1 + (batch.uniform(chosen[0], chosen[1], 3) < 0.5), 0)
    kept = np.where(widen, end - at, 0)
    new = np.full(int((kept + extra).sum()), 32, dtype=np.uint32)
    new[np.repeat(np.cumsum(kept + extra) - kept - extra, kept) + ramp(kept)] = codes[
        batch.spans(at[widen], end[widen])
    ]
    return BatchEdits(at, end - at, new, kept + extra)
