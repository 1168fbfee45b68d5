"""Negation: "not" inserted after auxiliary verbs, reversing what a sentence says."""

from __future__ import annotations

import random
import re

from robustlab.perturbations.text._base import Replacement, choose, transformation

#: Auxiliaries and forms of "be" that take a following "not"; "can" becomes "cannot".
AUXILIARIES = (
    "am", "is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "will", "would",
    "can", "could", "should", "must", "may", "might",
)  # fmt: skip

_AUX = re.compile(rf"(?<![\w'’-])(?:{'|'.join(AUXILIARIES)})(?![\w'’-])", re.IGNORECASE)
_NEGATED = re.compile(r"\s+(?:not|never|n['’]t)\b", re.IGNORECASE)
#: "do" and "have" are main verbs before an object ("does exactly what", "had a view"); those
#: are not negated by an inserted "not".
_MAIN_VERBS = {"do", "does", "did", "has", "have", "had"}
_OBJECT = re.compile(
    r"\s+(?:a|an|the|my|your|his|her|its|our|their|this|that|these|those|it|them|us|me|you|"
    r"everything|nothing|something|anything|exactly|what|some|any|no|lots|plenty|enough|"
    r"[0-9]+)\b",
    re.IGNORECASE,
)


@transformation(
    "negate",
    description="'not' inserted after auxiliary verbs (is -> is not, can -> cannot); changes "
    "the meaning, so it is a directional CheckList test, not an invariance",
    unit="clause",
    preserves_label=False,
    references="Ribeiro et al., Beyond Accuracy: Behavioral Testing of NLP Models with "
    "CheckList, ACL 2020 (negation)",
)
def negate(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen auxiliary that is not negated already gets "not" after it ("cannot" for
    "can"), so "The food was great" becomes "The food was not great"."""
    found = [
        m
        for m in _AUX.finditer(text)
        if not _NEGATED.match(text, m.end())
        and not (m.group().lower() in _MAIN_VERBS and _OBJECT.match(text, m.end()))
    ]
    out: list[Replacement] = []
    for m in choose(found, rate, rng):
        word = m.group()
        if word.lower() == "can":
            out.append((m.end(), m.end(), "NOT" if word.isupper() else "not"))
        else:
            out.append((m.end(), m.end(), " NOT" if word.isupper() and len(word) > 1 else " not"))
    return out
