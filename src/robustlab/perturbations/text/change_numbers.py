"""Number change: amounts written in digits replaced by other plausible amounts."""

from __future__ import annotations

import math
import random
import re

from robustlab.perturbations.text._base import Replacement, choose, transformation

__all__ = ["changeable_numbers", "changed_number", "protected"]

# ASCII digits only; "1920s", "9th" or "A4" are not numbers here, "95-minute", "$14", "20%" are.
_NUMBER = re.compile(r"(?<![\w.,])(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?(?![\w])")

_MONTHS = (
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|may|june|"
    "july|august|september|october|november|december"
)
# What stands right before a number that is a rating, version, date or identifier rather than
# an amount: "/" or ":" ("10/10", "3:1", "12/05"), a digit and "." or "-" ("1.2.3",
# "2020-05-12"), "out of", a month ("May 5"), a version or identifier word ("version 2",
# "No. 5", "#12", "ID 4411"), or a capitalised word that is no plain word ("Windows 95").
_BEFORE = re.compile(
    r"(?:[/:]|[0-9][.\-]|\bout of |\b(?:" + _MONTHS + r")\.? |"
    r"\b(?:v|ver|version|release|build|model|no|nr|number|id|isbn|ticket|order|flight|"
    r"chapter|episode|season|level|rank|ranked|grade|step|part|vol|volume)\.? ?|#|"
    r"(?-i:\b[A-Z][\w'’.-]*) )$",
    re.IGNORECASE,
)
# ... and right after it: "/", ":" or "." and "-" before a digit, "out of", "stars" or "points"
# (a rating), a month ("5 May") or a version suffix ("3.11.2" is caught by "." above).
_AFTER = re.compile(
    r"^(?:[/:]|[.\-][0-9]| ?out of\b| ?(?:stars?|points?|pts)\b| (?:" + _MONTHS + r")\b)",
    re.IGNORECASE,
)
# A capitalised word that starts a clause and so says nothing about what follows it.
_CAPITALISED = re.compile(r"\b([A-Z][\w'’.-]*) $")
_PLAIN_TEXT = """a an the it i we they he she you this that these those only about after over under
    all just almost nearly around some my our their his her its your in on at for by with from
    to and but or so then than every each another costs cost paid"""
_PLAIN_CAPITALISED = frozenset(_PLAIN_TEXT.split())
#: Digits in a row from which a number is taken for an identifier (phone, account, ISBN).
IDENTIFIER_DIGITS = 7


def protected(text: str, start: int, end: int) -> bool:
    """Whether the number ``text[start:end]`` belongs to a fraction or rating ("10/10", "4 out
    of 5", "5 stars"), a version ("Windows 95", "v2", "3.11.2"), a date ("12/05/2020",
    "2020-05-12", "May 5"), a ratio or time ("3:1", "10:30") or an identifier ("#12", "No. 5",
    seven digits or more): changing it could change what the text says, not just an amount."""
    number = text[start:end]
    if number.isdigit() and len(number) >= IDENTIFIER_DIGITS:
        return True
    before, after = text[max(0, start - 40) : start], text[end : end + 12]
    if _AFTER.search(after):
        return True
    found = _BEFORE.search(before)
    if found is None:
        return False
    word = _CAPITALISED.search(before)
    # a capitalised word before the number is a name only when it is no plain word
    return (
        word is None
        or found.start() != word.start()
        or (word.group(1).lower().rstrip(".") not in _PLAIN_CAPITALISED)
    )


def changeable_numbers(text: str, *, everything: bool = False) -> list[re.Match[str]]:
    """The numbers of ``text`` that :func:`change_numbers` may change: all of them with
    ``everything``, else those that are not :func:`protected`."""
    found = _NUMBER.finditer(text)
    return [m for m in found if everything or not protected(text, m.start(), m.end())]


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


def replace_numbers(
    text: str, rate: float, rng: random.Random, *, everything: bool = False
) -> list[Replacement]:
    """Each chosen number of :func:`changeable_numbers` replaced by a different number written
    the same way."""
    found = changeable_numbers(text, everything=everything)
    return [(m.start(), m.end(), changed_number(m.group(), rng)) for m in choose(found, rate, rng)]


@transformation(
    "change_numbers",
    description="amounts written in digits replaced by other numbers of similar size (ratings, "
    "versions, dates and identifiers left alone)",
    unit="number",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (INV: change numbers)",
)
def change_numbers(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen amount (digits, optional thousands separators and decimals) is replaced by a
    different number written the same way. Numbers inside fractions, ratings, versions, dates,
    ratios and identifiers (see :func:`protected`) are not eligible: "10/10" -> "6/12" or
    "Windows 95" -> "Windows 126" can change the label; ``change_all_numbers`` changes them too.
    """
    return replace_numbers(text, rate, rng)
