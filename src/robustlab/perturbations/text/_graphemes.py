"""Grapheme clusters for text edits: a letter and the combining marks after it are one unit.

Decomposed Unicode (NFD) writes "é" as "e" + U+0301. A transformation that treats code points
as characters then puts a mark between the letter and its accent, splits a word at the accent,
or puts the accent on a digit. These helpers say where the marks are, so edits land between
clusters only (a simplification of Unicode's extended grapheme clusters, UAX #29: base + marks).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from robustlab.perturbations.text._batch import TextBatch

__all__ = [
    "cluster_spans",
    "extend_over_marks",
    "is_mark",
    "mark_mask",
    "marked_base",
    "word_spans",
]


def is_mark(char: str) -> bool:
    """Whether ``char`` is a combining mark (Unicode category M*: nonspacing, spacing or
    enclosing), which belongs to the character before it."""
    return unicodedata.category(char).startswith("M")


def mark_mask(codes: np.ndarray) -> np.ndarray:
    """Where the code points ``codes`` (uint32) are combining marks; ASCII never is."""
    out = np.zeros(len(codes), dtype=bool)
    where = np.flatnonzero(codes >= 0x300)
    if len(where):
        seen, inverse = np.unique(codes[where], return_inverse=True)
        table = np.array([is_mark(chr(int(c))) for c in seen.tolist()], dtype=bool)
        out[where] = table[inverse.reshape(-1)]
    return out


def extend_over_marks(mask: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """``mask`` with every run of marks that follows a True position set True too, so a word
    mask covers its letters' accents ("cre" + U+0301 + "me" becomes one run)."""
    out = mask.copy()
    run = np.flatnonzero(marks & ~out)
    while len(run):
        grow = run[(run > 0) & out[np.maximum(run - 1, 0)]]
        if not len(grow):
            break
        out[grow] = True
        run = np.setdiff1d(run, grow, assume_unique=True)
    return out


def marked_base(marks: np.ndarray) -> np.ndarray:
    """Where a code point is followed by a combining mark: the base of an accented cluster,
    which an edit must not replace on its own."""
    out = np.zeros(len(marks), dtype=bool)
    out[:-1] = marks[1:]
    return out & ~marks


def cluster_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each cluster of ``text``: a code point and the marks after it."""
    spans: list[tuple[int, int]] = []
    for i, char in enumerate(text):
        if spans and is_mark(char):
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def word_spans(batch: TextBatch) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` of the words of a batch with their accents: the words that
    ``batch.words()`` finds, extended over the combining marks after their letters (so an NFD
    word is one word, as its NFC form is). Without marks in the batch, exactly ``batch.words()``."""
    marks = mark_mask(batch.codes)
    if not marks.any():
        return batch.words()
    letter, codes = extend_over_marks(batch.letter, marks), batch.codes
    inner = (codes == 39) | (codes == 0x2019)
    inner[1:-1] &= letter[:-2] & letter[2:]
    inner[:1] = inner[-1:] = False
    return batch.runs(letter | inner)
