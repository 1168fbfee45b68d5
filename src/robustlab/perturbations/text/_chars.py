"""Character-level helpers for the typo transformations: QWERTY neighbours and edit sites."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from robustlab.perturbations.text._batch import TextBatch

__all__ = [
    "NEIGHBOUR_COUNTS",
    "NEIGHBOUR_TABLE",
    "QWERTY_ROWS",
    "keyboard_neighbours",
    "typo_edit_sites",
]

QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
"""The letter rows of a US QWERTY keyboard."""

_ROW_OFFSETS = (0.0, 0.25, 0.75)
"""Horizontal stagger of each row in key widths, as on a physical keyboard."""


def _build_neighbours() -> dict[str, str]:
    pos = {
        key: (r, i + _ROW_OFFSETS[r])
        for r, row in enumerate(QWERTY_ROWS)
        for i, key in enumerate(row)
    }
    table = {}
    for key, (r, x) in pos.items():
        near = [
            other
            for other, (r2, x2) in pos.items()
            if other != key and abs(r2 - r) <= 1 and abs(x2 - x) < (1.01 if r2 == r else 1.0)
        ]
        table[key] = "".join(sorted(near))
    return table


_NEIGHBOURS = _build_neighbours()


def keyboard_neighbours(char: str) -> str:
    """The keys touching ``char`` on a QWERTY keyboard, in ``char``'s case ("" for non-letters)."""
    near = _NEIGHBOURS.get(char.lower(), "")
    return near.upper() if char.isupper() else near


def _neighbour_table() -> tuple[np.ndarray, np.ndarray]:
    width = max(len(n) for n in _NEIGHBOURS.values())
    table = np.zeros((128, width), dtype=np.uint32)
    counts = np.zeros(128, dtype=np.int64)
    for key in _NEIGHBOURS:
        for char in (key, key.upper()):
            near = keyboard_neighbours(char)
            table[ord(char), : len(near)] = [ord(c) for c in near]
            counts[ord(char)] = len(near)
    return table, counts


NEIGHBOUR_TABLE, NEIGHBOUR_COUNTS = _neighbour_table()
"""``NEIGHBOUR_TABLE[code, :NEIGHBOUR_COUNTS[code]]``: the code points of
:func:`keyboard_neighbours` of the ASCII character ``code``."""


def typo_edit_sites(
    batch: TextBatch, rate: float, sites: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For the words of at least three letters (short words such as "a" or "is" are left alone
    by typos) that have an edit site, ``ceil(rate * n)`` of each text's ``n`` such words, and
    one site drawn in each.

    Args:
        batch: The texts.
        rate: The fraction of the eligible words to edit.
        sites: Where an edit may be made (default :attr:`TextBatch.editable`: ASCII letters
            that no combining mark follows, so an accented character is never split).

    Returns:
        ``(text position, word within the text)`` of each chosen word (for further draws with
        :meth:`TextBatch.uniform`) and the position in ``batch.codes`` of its site.
    """
    starts, ends = batch.typo_words()
    return batch.choose_sites(starts, ends, batch.editable if sites is None else sites, rate)
