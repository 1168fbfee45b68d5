"""Number change: numbers written in digits replaced by other plausible numbers."""

from __future__ import annotations

import math
import random
import re

from robustlab.perturbations.text._base import Replacement, choose, transformation

# ASCII digits only; "1920s", "9th" or "A4" are not numbers here, "95-minute", "$14", "20%" are.
_NUMBER = re.compile(r"(?<![\w.,])(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?(?![\w])")


def _other_int(n: int, rng: random.Random, *, year: bool) -> int:
    if year and 1800 <= n <= 2100:  # a year: a few years earlier or later
        low, high = n - 10, n + 10
    else:
        low, high = max(0, math.floor(n * 0.5)), max(n + 2, math.ceil(n * 1.5))
    value = n
    while value == n:
        value = rng.randint(low, high)
    return value


def changed_number(number: str, rng: random.Random) -> str:
    """A different number written like ``number``: same decimal places, thousands separators
    and zero padding. Values move to a random other value within half to one and a half times
    themselves (at least 0..n+2); four-digit years (1800-2100) by up to ten years."""
    digits, _, decimals = number.replace(",", "").partition(".")
    value = _other_int(int(digits + decimals), rng, year=not decimals)
    if decimals:
        whole, frac = divmod(value, 10 ** len(decimals))
        head = f"{whole:,}" if "," in number else str(whole)
        return f"{head}.{frac:0{len(decimals)}d}"
    if "," in number:
        return f"{value:,}"
    padded = len(digits) > 1 and digits.startswith("0")
    return str(value).zfill(len(digits)) if padded else str(value)


@transformation(
    "change_numbers",
    description="numbers written in digits replaced by other numbers of similar size",
    unit="number",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (INV: change numbers)",
)
def change_numbers(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen number (digits, optional thousands separators and decimals) is replaced by a
    different number written the same way."""
    found = list(_NUMBER.finditer(text))
    return [(m.start(), m.end(), changed_number(m.group(), rng)) for m in choose(found, rate, rng)]
