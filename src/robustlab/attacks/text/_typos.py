"""Character edits of one word (swap, substitute, delete, insert), seeded; shared by the typo
attacks."""

from __future__ import annotations

import numpy as np

__all__ = ["TYPO_OPS", "typo"]

TYPO_OPS = ("swap", "substitute", "delete", "insert")

_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_POS = {c: (r, i) for r, row in enumerate(_QWERTY) for i, c in enumerate(row)}


def _neighbours(c: str) -> str:
    """Keys next to ``c`` on a QWERTY keyboard (any lowercase letter if ``c`` is not a key)."""
    low = c.lower()
    if low not in _POS:
        return "abcdefghijklmnopqrstuvwxyz"
    r, i = _POS[low]
    out = [
        _QWERTY[rr][ii]
        for rr in (r - 1, r, r + 1)
        if 0 <= rr < 3
        for ii in (i - 1, i, i + 1)
        if 0 <= ii < len(_QWERTY[rr]) and (rr, ii) != (r, i)
    ]
    return "".join(out)


def _case(template: str, c: str) -> str:
    return c.upper() if template.isupper() else c


def typo(word: str, op: str, rng: np.random.Generator) -> str:
    """``word`` with one character edit ``op`` at a random position; the word itself when the
    edit is impossible (a one-letter word cannot lose or swap a letter).

    ``swap`` exchanges two neighbouring letters, ``substitute`` replaces a letter by a
    neighbouring key, ``delete`` drops a letter and ``insert`` adds a neighbouring key's letter.
    """
    n = len(word)
    if op == "swap":
        pairs = [i for i in range(n - 1) if word[i] != word[i + 1]]
        if not pairs:
            return word
        i = int(rng.choice(pairs))
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == "substitute":
        i = int(rng.integers(n))
        keys = _neighbours(word[i])
        return word[:i] + _case(word[i], keys[int(rng.integers(len(keys)))]) + word[i + 1 :]
    if op == "delete":
        if n < 2:
            return word
        i = int(rng.integers(n))
        return word[:i] + word[i + 1 :]
    if op == "insert":
        i = int(rng.integers(n + 1))
        near = word[min(i, n - 1)]
        keys = _neighbours(near)
        return word[:i] + _case(near, keys[int(rng.integers(len(keys)))]) + word[i:]
    raise ValueError(f"unknown typo operation {op!r}")
