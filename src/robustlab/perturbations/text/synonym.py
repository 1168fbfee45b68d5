"""Synonym substitution: words replaced by their nearest neighbours in MiniLM's embedding space."""

from __future__ import annotations

import functools
import random
import re

from robustlab.perturbations.text._base import Replacement, choose, transformation

#: Cosine similarity a neighbour must reach to count as a synonym (see
#: :func:`robustlab.text.embeddings.word_neighbours`, which finds them).
MIN_SIMILARITY = 0.75
#: Neighbours considered per word; the replacement is drawn among those above the threshold.
NEIGHBOURS = 5

# Function words and negations are never substituted: their neighbours are other function words
# ("not" -> "never", "and" -> "or") that change what a sentence says.
STOPWORDS = frozenset(
    (
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
        "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "down", "during", "each",
        "either", "even", "ever", "every", "few", "for", "from", "further", "had", "has", "have",
        "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however",
        "i", "if", "in", "into", "is", "it", "its", "itself", "just", "least", "less", "many", "me",
        "more", "most", "much", "must", "my", "myself", "neither", "never", "no", "nor", "not", "now",
        "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over",
        "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
        "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through",
        "to", "too", "under", "until", "up", "upon", "us", "very", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "whose", "why", "will", "with", "within",
        "without", "would", "yet", "you", "your", "yours", "yourself",
    )
)  # fmt: skip

#: Prefixes that negate a word ("unchanged"): such neighbours are antonyms.
_NEGATING = ("un", "dis", "non", "in", "im", "ir", "il")

_CANDIDATE = re.compile(r"(?<![\w'’-])[A-Za-z]{3,}(?![\w'’-])")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)[\"'“‘(]?$")


def _eligible(text: str, m: re.Match[str]) -> bool:
    word = m.group()
    if word.lower() in STOPWORDS:
        return False
    # a capital inside a sentence marks a name ("Emma Stone"), whose neighbours are not synonyms
    if not word.islower() and not _SENTENCE_START.search(text[: m.start()]):
        return False
    return bool(synonyms(word.lower()))


@functools.lru_cache(maxsize=65536)
def synonyms(word: str) -> tuple[str, ...]:
    """Neighbours of ``word`` (lower case) above :data:`MIN_SIMILARITY`, without inflections or
    affixed forms of the word itself ("film" -> "films", "finish" -> "unfinished")."""
    from robustlab.text.embeddings import word_neighbours

    out = []
    for other, _ in word_neighbours(word, k=NEIGHBOURS, min_similarity=MIN_SIMILARITY):
        low = other.lower()
        stem = low.removeprefix(next((p for p in _NEGATING if low.startswith(p)), ""))
        if low in STOPWORDS or low[:4] == word[:4] or stem[:4] == word[:4] or word in low:
            continue
        out.append(low)
    return tuple(out)


@transformation(
    "synonym",
    description="words replaced by near neighbours in MiniLM's embedding space (cosine >= 0.75)",
    references="Jin et al., Is BERT Really Robust? A Strong Baseline for Natural Language Attack "
    "on Text Classification and Entailment (TextFooler), AAAI 2020 (embedding-neighbour "
    "synonyms); Alzantot et al., Generating Natural Language Adversarial Examples, EMNLP 2018",
)
def synonym(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen content word (3+ ASCII letters, not a function word, not a capitalised word
    inside a sentence) that has a neighbour above the similarity threshold is replaced by one of
    them, drawn at random, in its case.

    Embedding neighbours are mostly synonyms, but words used in the same contexts can be
    antonyms or co-hyponyms ("cheap" -> "expensive", "quiet" -> "loud", "minutes" -> "seconds");
    no thesaurus is used to exclude them, so read a drop under this transformation together
    with its failing examples in the report.
    """
    from robustlab.text.embeddings import match_case

    eligible = [m for m in _CANDIDATE.finditer(text) if _eligible(text, m)]
    out: list[Replacement] = []
    for m in choose(eligible, rate, rng):
        new = rng.choice(synonyms(m.group().lower()))
        out.append((m.start(), m.end(), match_case(m.group(), new)))
    return out
