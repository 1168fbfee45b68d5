"""The English contractions the contract and expand transformations use, both ways."""

from __future__ import annotations

import re

__all__ = ["CONTRACTABLE", "EXPANSIONS", "contractable_pattern", "contraction_pattern"]

#: Phrase -> contraction, applied when contracting. Pronoun + "have" is left out: as a main verb
#: ("I have a dog") it does not contract in most English.
CONTRACTABLE: dict[str, str] = {
    "do not": "don't",
    "does not": "doesn't",
    "did not": "didn't",
    "is not": "isn't",
    "are not": "aren't",
    "was not": "wasn't",
    "were not": "weren't",
    "have not": "haven't",
    "has not": "hasn't",
    "had not": "hadn't",
    "will not": "won't",
    "would not": "wouldn't",
    "could not": "couldn't",
    "should not": "shouldn't",
    "must not": "mustn't",
    "cannot": "can't",
    "i am": "I'm",
    "i will": "I'll",
    "i would": "I'd",
    "you are": "you're",
    "you will": "you'll",
    "we are": "we're",
    "we will": "we'll",
    "they are": "they're",
    "they will": "they'll",
    "it is": "it's",
    "it will": "it'll",
    "that is": "that's",
    "there is": "there's",
    "what is": "what's",
    "he is": "he's",
    "she is": "she's",
    "let us": "let's",
}

#: Contraction (straight apostrophe, lower case) -> expansion, applied when expanding. "'d" is
#: read as "would" and "it's" as "it is" (as "it has" before "been").
EXPANSIONS: dict[str, str] = {
    **{short.lower(): long for long, short in CONTRACTABLE.items()},
    "can't": "cannot",
    "i've": "I have",
    "you've": "you have",
    "we've": "we have",
    "they've": "they have",
    "you'd": "you would",
    "we'd": "we would",
    "they'd": "they would",
    "he'll": "he will",
    "she'll": "she will",
    "he'd": "he would",
    "she'd": "she would",
    "who's": "who is",
    "here's": "here is",
    "where's": "where is",
    "isn't": "is not",
}
EXPANSIONS["i'm"] = "I am"
EXPANSIONS["i'll"] = "I will"
EXPANSIONS["i'd"] = "I would"


def contractable_pattern() -> re.Pattern[str]:
    """Matches any phrase of :data:`CONTRACTABLE` as whole words, any case, any spacing."""
    alternatives = sorted(CONTRACTABLE, key=len, reverse=True)
    body = "|".join(r"\s+".join(map(re.escape, p.split())) for p in alternatives)
    return re.compile(rf"(?<![\w'’])(?:{body})(?![\w'’])", re.IGNORECASE)


def contraction_pattern() -> re.Pattern[str]:
    """Matches any contraction of :data:`EXPANSIONS`, with a straight or curly apostrophe."""
    alternatives = sorted(EXPANSIONS, key=len, reverse=True)
    body = "|".join(re.escape(c).replace("'", "['’]") for c in alternatives)
    return re.compile(rf"(?<![\w'’])(?:{body})(?![\w'’])", re.IGNORECASE)
