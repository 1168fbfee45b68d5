"""Stop-word removal: chosen English function words deleted (a question becomes keywords)."""

from __future__ import annotations

import random

from robustlab.perturbations.text._base import Replacement, choose, transformation, words

#: English function words (articles, pronouns, auxiliaries, prepositions, conjunctions,
#: question words), lower case.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "it",
        "its",
        "they",
        "them",
        "their",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "out",
        "off",
        "over",
        "under",
        "again",
        "further",
        "then",
        "once",
        "here",
        "there",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "s",
        "t",
        "just",
        "and",
        "but",
        "if",
        "or",
        "because",
        "as",
        "until",
        "while",
        "one",
        "get",
        "some",
        "way",
    ]
)


def drop_words(chosen: list[int], spans: list[tuple[int, int]]) -> list[Replacement]:
    """Replacements deleting the words at ``chosen`` (indices into ``spans``, not all of them)
    with the spaces that separate them: a run of deleted words goes with the space after it, or
    before it at the end of the text."""
    out: list[Replacement] = []
    picked = sorted(set(chosen))
    runs: list[list[int]] = []
    for i in picked:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        a, b = run[0], run[-1]
        if b + 1 < len(spans):
            out.append((spans[a][0], spans[b + 1][0], ""))
        else:
            out.append((spans[a - 1][1], spans[b][1], ""))
    return out


@transformation(
    "stopword_removal",
    description="English stop words deleted (at least one word kept)",
    references="Penha, Camara & Hauff, Evaluating the Robustness of Retrieval Pipelines with "
    "Query Variation Generators, ECIR 2022 (naturality: stop-word removal)",
)
def stopword_removal(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """``ceil(rate * s)`` of a text's ``s`` stop words deleted, never every word."""
    found = words(text)
    spans = [m.span() for m in found]
    eligible = [i for i, m in enumerate(found) if m.group(0).lower() in STOPWORDS]
    if not eligible or len(spans) < 2:
        return []
    chosen = choose(eligible, rate, rng)
    if len(chosen) >= len(spans):
        chosen = chosen[: len(spans) - 1]
    return drop_words(chosen, spans)
