"""Character-level helpers for the typo transformations: QWERTY neighbours and safe positions."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["QWERTY_ROWS", "keyboard_neighbours", "letter_positions", "typo_words"]

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


_TYPO_WORD = re.compile(r"[^\W\d_]{3,}")


def typo_words(text: str) -> list[re.Match[str]]:
    """Words of at least three letters: short words ("a", "is") are left alone by typos."""
    return list(_TYPO_WORD.finditer(text))


def letter_positions(text: str, start: int, end: int) -> list[int]:
    """Positions in ``text[start:end]`` holding an ASCII letter that no combining mark follows
    (editing those never splits an accented character)."""
    return [
        i
        for i in range(start, end)
        if text[i].isascii()
        and text[i].isalpha()
        and not (i + 1 < len(text) and unicodedata.combining(text[i + 1]))
    ]
