"""Casing noise: words written in capitals (or, if already capitals, in lower case)."""

from __future__ import annotations

import numpy as np

from robustlab.perturbations.text._batch import (
    BatchEdits,
    TextBatch,
    char_transformation,
    ramp,
)


def _recase(word: str) -> str:
    return word.lower() if word.isupper() else word.upper()


@char_transformation(
    "casing",
    description="words switched to UPPER case (lower case if they already are upper case)",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (robustness to casing)",
)
def casing(batch: TextBatch, rate: float) -> BatchEdits:
    """Each chosen word becomes upper case, or lower case if it is all capitals already."""
    codes = batch.codes
    starts, ends = batch.words()
    # a word of ASCII letters (and ') always changes; a word with other letters is recased as a
    # str, as the per-text definition does (its length may change: "ß" -> "SS")
    ascii_word = batch.count(starts, ends, codes >= 128)[1] == 0
    joined = batch.joined
    other = np.flatnonzero(~ascii_word).tolist()
    words = [joined[starts[i] : ends[i]] for i in other]
    recased = {i: _recase(w) for i, w in zip(other, words)}
    eligible = ascii_word.copy()
    eligible[[i for i, w in zip(other, words) if recased[i] != w]] = True
    index = batch.choose(starts, eligible, rate)[2]
    at, end = starts[index], ends[index]
    plain = ascii_word[index]
    is_lower = ((codes - np.uint32(97)) < 26) & (codes < 128)
    capitals = batch.count(at, end, is_lower)[1] == 0
    new_len = end - at
    foreign = [recased[i] for i in index[~plain].tolist()]
    new_len[~plain] = [len(w) for w in foreign]
    offset = np.cumsum(new_len) - new_len
    new = np.empty(int(new_len.sum()), dtype=np.uint32)
    # ASCII words: flip the case of each letter that is in the wrong case
    span = (end - at)[plain]
    chars = codes[batch.spans(at[plain], end[plain])]
    lower_all = np.repeat(capitals[plain], span)
    flip = np.where(lower_all, ((chars - np.uint32(65)) < 26), ((chars - np.uint32(97)) < 26))
    chars = np.where(flip, chars ^ np.uint32(0x20), chars)
    new[np.repeat(offset[plain], span) + ramp(span)] = chars
    if foreign:
        lengths = new_len[~plain]
        text = "".join(foreign).encode("utf-32-le", "surrogatepass")
        new[np.repeat(offset[~plain], lengths) + ramp(lengths)] = np.frombuffer(
            text, dtype=np.uint32
        )
    return BatchEdits(at, end - at, new, new_len)
