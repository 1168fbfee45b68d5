"""Leetspeak: the letters of a word that have digit look-alikes written as digits ("g00d")."""

from __future__ import annotations

from robustlab.perturbations.text._batch import (
    BatchEdits,
    TextBatch,
    char_transformation,
    code_table,
)
from robustlab.perturbations.text._graphemes import mark_mask, marked_base, word_spans

#: Letters and the digits that stand in for them in leetspeak.
LEET: dict[str, str] = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}

# both cases; no non-ASCII character lower-cases to one of these letters
_TABLE = code_table(LEET | {k.upper(): v for k, v in LEET.items()})


@char_transformation(
    "leetspeak",
    description="every letter of a word that has a digit look-alike written as that digit",
    references="Eger et al., Text Processing Like Humans Do: Visually Attacking and Shielding "
    "NLP Systems (VIPER), NAACL 2019 (visual perturbations)",
)
def leetspeak(batch: TextBatch, rate: float) -> BatchEdits:
    """Each chosen word gets all its letters a, e, i, o, s, t (either case) replaced by digits.
    A letter that carries a combining accent (decomposed "e" + U+0301) is an accented letter, not
    one of these, and is left alone, as its composed form would be."""
    starts, ends = word_spans(batch)
    digit = batch.ascii_table(_TABLE)
    marks = mark_mask(batch.codes)
    if marks.any():
        digit[marked_base(marks)] = 0
    index = batch.choose(starts, batch.count(starts, ends, digit != 0)[1] > 0, rate)[2]
    at, end = starts[index], ends[index]
    where = batch.spans(at, end)
    new = digit[where]
    new[new == 0] = batch.codes[where][new == 0]
    return BatchEdits(at, end - at, new, end - at)
