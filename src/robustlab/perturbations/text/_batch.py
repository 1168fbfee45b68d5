"""Vectorised transformations: a whole batch of texts edited at once on a NumPy array of code points.

A character-level transformation here is a *kernel*: it reads a :class:`TextBatch` (every text
joined into one UTF-32 array, with character classes and word spans found in one pass) and
returns :class:`BatchEdits`, the replacements for the whole batch. :func:`char_transformation`
registers a kernel with a batched ``apply`` and a per-text adapter, so both run the same code.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from robustlab.perturbations.text._base import (
    Edit,
    Replacement,
    Transformation,
    Transformed,
    add_transformation,
    check_rate,
)
from robustlab.seeding import ExampleSeeds, as_seeds

__all__ = [
    "BatchEdits",
    "Kernel",
    "TextBatch",
    "char_transformation",
    "code_table",
    "run_kernel",
]

Kernel = Callable[["TextBatch", float], "BatchEdits"]
"""(batch, rate in [0, 1]) -> the non-overlapping replacements for every text of the batch."""

_LETTER = 1  # ``[^\W\d_]``: a letter of any script (the word regex's character class)
_COMBINING = 2  # a combining mark (``unicodedata.combining() != 0``)
_SPACE = 4  # ``\s``: whitespace of any kind
_SPACE_RE = re.compile(r"\s")
_LETTER_RE = re.compile(r"[^\W\d_]")
_CLASSES: dict[int, int] = {}
"""Character classes of the code points seen so far (memo; the first texts fill it)."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _classify(code: int) -> int:
    cls = _CLASSES.get(code)
    if cls is None:
        char = chr(code)
        cls = (
            (_LETTER if _LETTER_RE.fullmatch(char) else 0)
            | (_COMBINING if unicodedata.combining(char) else 0)
            | (_SPACE if _SPACE_RE.fullmatch(char) else 0)
        )
        _CLASSES[code] = cls
    return cls


_ASCII_SPACE = np.array([_classify(c) & _SPACE != 0 for c in range(128)])


def code_table(mapping: dict[str, str]) -> np.ndarray:
    """``mapping`` of ASCII characters to single characters as a 128-entry code-point table
    (0 where a character has no entry)."""
    table = np.zeros(128, dtype=np.uint32)
    for key, value in mapping.items():
        table[ord(key)] = ord(value)
    return table


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (Steele et al., OOPSLA 2014): a counter to 64 random bits."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


class TextBatch:
    """A list of texts as one array of code points, with what the kernels ask about it.

    The texts are joined by a NUL (not a letter, so no word crosses from one text to the next).
    Random numbers come from a counter-based generator keyed by ``(text key, unit within the
    text, stream)``, where each text's key comes from :mod:`robustlab.seeding` (a hash of the
    seed and the text's example id, or of its position for a plain int seed): a text's edits
    depend on its key and itself only, never on the other texts of the batch.

    Attributes:
        texts: The texts.
        joined: The texts joined by NULs.
        codes: Its code points (uint32).
        starts: Where each text starts in ``codes``.
    """

    def __init__(self, texts: list[str], keys: np.ndarray) -> None:
        self.texts = texts
        self.joined = joined = "\0".join(texts)
        self.codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.lengths = lengths
        self.starts = np.cumsum(lengths + 1) - lengths - 1
        self._keys = np.asarray(keys, dtype=np.uint64).reshape(len(texts))

    @functools.cached_property
    def _non_ascii(self) -> tuple[np.ndarray, np.ndarray]:
        """Where the non-ASCII code points are, and their character classes."""
        where = np.flatnonzero(self.codes >= 128)
        seen, inverse = np.unique(self.codes[where], return_inverse=True)
        table = np.array([_classify(int(c)) for c in seen.tolist()], dtype=np.uint8)
        return where, table[inverse.reshape(-1)]

    @functools.cached_property
    def ascii_letter(self) -> np.ndarray:
        """Where an ASCII letter is."""
        return ((self.codes | np.uint32(0x20)) - np.uint32(97)) < 26

    @functools.cached_property
    def letter(self) -> np.ndarray:
        """Where a letter of any script is (``[^\\W\\d_]``)."""
        where, classes = self._non_ascii
        if not len(where):
            return self.ascii_letter
        out = self.ascii_letter.copy()
        out[where] = (classes & _LETTER) != 0
        return out

    @functools.cached_property
    def editable(self) -> np.ndarray:
        """Where an ASCII letter is that no combining mark follows: editing it never splits an
        accented character."""
        where, classes = self._non_ascii
        marks = where[(classes & _COMBINING) != 0]
        if not len(marks):
            return self.ascii_letter
        out = self.ascii_letter.copy()
        out[marks[marks > 0] - 1] = False
        return out

    @functools.cached_property
    def space(self) -> np.ndarray:
        """Where whitespace of any kind is (``\\s``)."""
        out = _ASCII_SPACE[np.minimum(self.codes, 127)]
        where, classes = self._non_ascii
        if len(where):
            out[where] = (classes & _SPACE) != 0
        return out

    def ascii_table(self, table: np.ndarray) -> np.ndarray:
        """``table[code]`` for the ASCII code points (from a 128-entry table), 0 elsewhere."""
        codes = self.codes
        return np.where(codes < 128, table[np.minimum(codes, 127)], 0)

    def runs(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(starts, ends)`` of the maximal runs of True in ``mask``."""
        padded = np.concatenate([[False], mask, [False]])
        steps = np.flatnonzero(padded[1:] != padded[:-1])
        return steps[0::2], steps[1::2]

    def typo_words(self) -> tuple[np.ndarray, np.ndarray]:
        """Spans of the words of at least three letters (``[^\\W\\d_]{3,}``): typos leave
        short words ("a", "is") alone."""
        starts, ends = self.runs(self.letter)
        keep = ends - starts >= 3
        return starts[keep], ends[keep]

    def words(self) -> tuple[np.ndarray, np.ndarray]:
        """Spans of the words as :func:`robustlab.perturbations.text._base.words` finds them:
        letters of any script with inner apostrophes (``don't``)."""
        letter, codes = self.letter, self.codes
        inner = (codes == 39) | (codes == 0x2019)
        inner[1:-1] &= letter[:-2] & letter[2:]
        inner[:1] = inner[-1:] = False
        return self.runs(letter | inner)

    def uniform(self, text: np.ndarray, unit: np.ndarray, stream: int) -> np.ndarray:
        """Uniform floats in [0, 1), one per ``(text position, unit within it)`` pair, from the
        counter-based generator keyed by each text's key; ``stream`` tells apart the draws made
        for the same unit."""
        # the text's own key, not its position, tells texts apart
        counter = (unit.astype(np.uint64) << np.uint64(3)) | np.uint64(stream)
        with np.errstate(over="ignore"):
            bits = _splitmix(self._keys[text] + counter * _GOLDEN)
        return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)

    def choose(self, starts: np.ndarray, eligible: np.ndarray, rate: float) -> np.ndarray:
        """Of the units starting at ``starts`` (sorted, each within one text) where
        ``eligible`` is True, ``ceil(rate * n)`` of each text's ``n`` drawn without replacement
        (as :func:`robustlab.perturbations.text._base.choose` does per text).

        Returns:
            Rows ``text position``, ``unit within the text`` (for further draws with
            :meth:`uniform`) and ``index in starts`` of each chosen unit, in text order.
        """
        index = np.flatnonzero(eligible)
        # eligible units per text, counted on a per-character mark of their starts
        mark = np.zeros(len(self.codes) + 1, dtype=np.int8)
        mark[starts[index]] = 1
        n = np.add.reduceat(mark, self.starts, dtype=np.int64)
        text = np.repeat(np.arange(len(n)), n)
        text_first = np.repeat(np.cumsum(n) - n, n)
        unit = np.arange(len(index)) - text_first
        k = np.minimum(n, np.ceil(rate * n - 1e-9).astype(np.int64))
        if not (k == n).all():
            # the k smallest of each text's keys; ``text`` is sorted, so one sort ranks all texts
            order = np.argsort(text + 0.5 * self.uniform(text, unit, 0), kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            keep = rank - text_first < k[text]
            text, unit, index = text[keep], unit[keep], index[keep]
        return np.stack([text, unit, index])

    def count(
        self, starts: np.ndarray, ends: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """How many True values of ``mask`` come before each unit ``[starts, ends)``, and how
        many are inside it."""
        if not len(starts):
            return starts, starts
        upto = np.cumsum(mask, dtype=np.int32 if len(mask) < 2**31 else np.int64)
        first = upto[starts] - mask[starts]
        return first, upto[ends - 1] - first

    def choose_sites(
        self, starts: np.ndarray, ends: np.ndarray, sites: np.ndarray, rate: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`choose` among the units ``[starts, ends)`` that hold a site (``sites`` True),
        and one site of each chosen unit drawn uniformly.

        Returns:
            The chosen units as :meth:`choose` gives them, and where each one's site is in
            :attr:`codes`.
        """
        first, counts = self.count(starts, ends, sites)
        chosen = self.choose(starts, counts > 0, rate)
        index = chosen[2]
        u = self.uniform(chosen[0], chosen[1], 1)
        nth = first[index] + (u * counts[index]).astype(np.int64)
        return chosen, np.flatnonzero(sites)[nth]

    def spans(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The positions in :attr:`codes` of the units ``[starts, ends)``, concatenated."""
        return np.repeat(starts, ends - starts) + ramp(ends - starts)


@dataclass(frozen=True)
class BatchEdits:
    """Replacements for a whole batch: ``codes[at:at + span]`` becomes the next ``new_len``
    code points of ``new``.

    Attributes:
        at: Where each replacement starts in the joined codes, ascending, non-overlapping.
        span: How many original code points it replaces (0 inserts).
        new: The new code points of all replacements, concatenated (uint32).
        new_len: How many of them each replacement puts in (0 deletes).
    """

    at: np.ndarray
    span: np.ndarray
    new: np.ndarray
    new_len: np.ndarray

    @classmethod
    def substitute(cls, at: np.ndarray, new: np.ndarray) -> BatchEdits:
        """One code point replaced at each of ``at``."""
        ones = np.ones(len(at), dtype=np.int64)
        return cls(at, ones, new.astype(np.uint32), ones)


class _EditTable:
    """The edits of a batch in per-text coordinates, turned into :class:`Edit` on request."""

    __slots__ = ("first", "new_len", "new_start", "orig_start", "span")

    def __init__(
        self,
        first: np.ndarray,
        orig_start: np.ndarray,
        span: np.ndarray,
        new_start: np.ndarray,
        new_len: np.ndarray,
    ) -> None:
        self.first, self.orig_start, self.span = first, orig_start, span
        self.new_start, self.new_len = new_start, new_len

    def edits(self, row: int, original: str) -> tuple[Edit, ...]:
        lo, hi = int(self.first[row]), int(self.first[row + 1])
        if lo == hi:
            return ()
        return tuple(
            Edit(s, s + n, original[o : o + w], o)
            for o, w, s, n in zip(
                self.orig_start[lo:hi].tolist(),
                self.span[lo:hi].tolist(),
                self.new_start[lo:hi].tolist(),
                self.new_len[lo:hi].tolist(),
            )
        )


def _check(batch: TextBatch, edits: BatchEdits, where: str) -> None:
    """The kernel's output is well formed (internal invariant: a failure is a bug)."""
    at, span, new_len = edits.at, edits.span, edits.new_len
    end = at + span
    text = np.searchsorted(batch.starts, at, side="right") - 1
    bad = (at < 0) | (end > batch.starts[text] + batch.lengths[text])
    if bad.any() or (at[1:] < end[:-1]).any() or len(edits.new) != new_len.sum():
        raise AssertionError(f"{where} returned overlapping or out-of-range edits")
    # an edit that keeps its length must change at least one code point
    same = np.flatnonzero(span == new_len)
    offset = np.cumsum(new_len) - new_len
    differs = (
        batch.codes[batch.spans(at[same], end[same])]
        != edits.new[batch.spans(offset[same], offset[same] + span[same])]
    )
    changed = np.bincount(np.repeat(np.arange(len(same)), span[same]), differs, len(same))
    if (changed == 0).any():
        raise AssertionError(f"{where} returned an edit that changes nothing")


def build(batch: TextBatch, edits: BatchEdits) -> list[Transformed]:
    """The transformed texts, with their edits computed from the arrays when first asked for."""
    texts = batch.texts
    if not len(edits.at):
        return [Transformed(t, t) for t in texts]
    codes, at, span, new_len = batch.codes, edits.at, edits.span, edits.new_len
    if (span == new_len).all():
        out = codes.copy()
        out[np.repeat(at, span) + ramp(span)] = edits.new
    else:
        kept = np.ones(len(codes), dtype=bool)
        kept[np.repeat(at, span) + ramp(span)] = False
        where = np.repeat(at, new_len)
        out = np.insert(codes, where, edits.new)[np.insert(kept, where, True)]
    text = np.searchsorted(batch.starts, at, side="right") - 1
    first = np.searchsorted(text, np.arange(len(texts) + 1))
    shift = np.concatenate([[0], np.cumsum(new_len - span)])
    joined = out.tobytes().decode("utf-32-le", "surrogatepass")
    if np.count_nonzero(codes == 0) == len(texts) - 1:  # no text holds a NUL of its own
        pieces = joined.split("\0")
    else:
        lengths = batch.lengths + shift[first[1:]] - shift[first[:-1]]
        starts = np.cumsum(lengths + 1) - lengths - 1
        pieces = [joined[s : s + n] for s, n in zip(starts.tolist(), lengths.tolist())]
    orig_start = at - batch.starts[text]
    table = _EditTable(
        first, orig_start, span, orig_start + shift[:-1] - shift[first[text]], new_len
    )
    return list(
        map(Transformed._deferred, texts, pieces, itertools.repeat(table), range(len(texts)))
    )


def ramp(counts: np.ndarray) -> np.ndarray:
    """``0, 1, ..., c - 1`` for each ``c`` of ``counts``, concatenated."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    ends = np.cumsum(counts)
    return np.arange(total) - np.repeat(ends - counts, counts)


def run_kernel(
    kernel: Kernel, texts: list[str], rate: float, seed: int | ExampleSeeds, where: str
) -> list[Transformed]:
    """``kernel`` applied to ``texts`` as one batch, each text keyed by its own seed."""
    if not texts:
        return []
    batch = TextBatch(texts, as_seeds(where, seed, len(texts)).keys)
    edits = kernel(batch, rate)
    _check(batch, edits, where)
    return build(batch, edits)


def _per_text(
    kernel: Kernel, name: str
) -> Callable[[str, float, random.Random], list[Replacement]]:
    """The kernel as a per-text transformation (see ``TransformFn``), seeded from ``rng``."""

    def fn(text: str, rate: float, rng: random.Random) -> list[Replacement]:
        batch = TextBatch([text], np.array([rng.getrandbits(64)], dtype=np.uint64))
        edits = kernel(batch, rate)
        _check(batch, edits, name)
        ends = np.cumsum(edits.new_len).tolist()
        news = [
            edits.new[e - n : e].tobytes().decode("utf-32-le", "surrogatepass")
            for e, n in zip(ends, edits.new_len.tolist())
        ]
        return [(a, a + w, new) for a, w, new in zip(edits.at.tolist(), edits.span.tolist(), news)]

    fn.__name__, fn.__qualname__, fn.__doc__ = kernel.__name__, kernel.__qualname__, kernel.__doc__
    return fn


def char_transformation(
    name: str,
    *,
    description: str,
    unit: str = "word",
    preserves_label: bool = True,
    references: str = "",
) -> Callable[[Kernel], Kernel]:
    """Decorator registering a batch kernel as a transformation: ``apply`` runs it once
    over all the texts, a per-text call runs it on a batch of one."""

    def decorator(kernel: Kernel) -> Kernel:
        def batched(
            texts: Sequence[str], rate: float, seed: int | ExampleSeeds
        ) -> list[Transformed]:
            return run_kernel(kernel, list(texts), check_rate(name, rate), seed, name)

        add_transformation(
            Transformation(
                name,
                _per_text(kernel, name),
                description,
                unit,
                preserves_label,
                references,
                batch=batched,
            )
        )
        return kernel

    return decorator
