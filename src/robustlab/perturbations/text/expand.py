"""Expansion: "don't" becomes "do not", "it's" becomes "it is", and so on."""

from __future__ import annotations

import random
import re

from robustlab.perturbations.text._base import Replacement, choose, match_case, transformation
from robustlab.perturbations.text._contractions import EXPANSIONS, contraction_pattern

_PATTERN = contraction_pattern()
_BEEN = re.compile(r"\s+been\b", re.IGNORECASE)


def expanded(contraction: str, after: str = "") -> str:
    """The expansion of ``contraction`` cased like it; ``after`` is the text that follows (``it's
    been`` expands to ``it has been``)."""
    key = contraction.lower().replace("’", "'")
    long = EXPANSIONS[key]
    if key.endswith("'s") and key not in ("let's",) and _BEEN.match(after):
        long = long[: -len("is")] + "has"
    if long.startswith("I "):
        return long.upper() if contraction.isupper() and len(contraction) > 2 else long
    return match_case(contraction, long)


@transformation(
    "expand",
    description="contractions such as 'don't' or 'it's' written out as 'do not', 'it is'",
    unit="phrase",
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (contractions)",
)
def expand(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen contraction (straight or curly apostrophe) is written out, keeping its case."""
    found: list[re.Match[str]] = list(_PATTERN.finditer(text))
    return [
        (m.start(), m.end(), expanded(m.group(), text[m.end() :])) for m in choose(found, rate, rng)
    ]
