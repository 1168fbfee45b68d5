"""PRADA-like word substitution: important words by score drop, replaced by MiniLM neighbours."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.attacks._registry import register_attack
from robustlab.attacks.text._base import STOPWORDS, Tokenized, check_number
from robustlab.ranking.attacks._base import DocumentAttack, DocumentOracle


def word_importance(oracle: DocumentOracle, tokens: Tokenized, indices: list[int]) -> np.ndarray:
    """How much deleting each word of ``indices`` helps the attacker (the change of the
    objective), leave-one-out, one query per word; when the words outnumber half the remaining
    budget, neighbouring words are deleted in groups sharing one score."""
    if not indices:
        return np.zeros(0)
    allowance = max(1, oracle.remaining // 2)
    size = math.ceil(len(indices) / allowance)
    groups = [indices[i : i + size] for i in range(0, len(indices), size)]
    texts = [tokens.without(g[0], g[-1] + 1) for g in groups]
    base = oracle.objective(oracle.score(tokens.text))
    gains = oracle.objective(oracle.scores(texts, probe=True)) - base
    return np.repeat(gains, [len(g) for g in groups])[: len(indices)]


def query_terms(query: str) -> list[str]:
    """The query's content words (lowercase, stopwords left out, in order, once each)."""
    words = [w.lower() for w in Tokenized.parse(query).words if w.isalpha()]
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS))


@register_attack("word_substitution")
@dataclass(frozen=True)
class WordSubstitution(DocumentAttack):
    """Greedy word substitution in the document, visiting words by importance.

    Importance is the change of the ranker's score when the word is deleted (leave-one-out, one
    query per word, grouped when the document is long), in the attack's favour: when demoting,
    the words whose loss lowers the score most (the query's terms and their relatives) come first;
    when promoting, the words whose loss raises it (or costs least). Each visited word's
    candidates are its ``neighbours`` nearest MiniLM vocabulary words with cosine at least
    ``word_similarity`` (:func:`~robustlab.text.embeddings.word_neighbours`); when promoting,
    the query's terms with cosine at least ``word_similarity`` to the word join them, and
    candidates are tried most query-like first. The candidate that helps most (one query each)
    is kept if it helps at all; the search stops at the first success, after
    ``max_words_perturbed`` of the words, or when the budget is spent.

    PRADA ranks words by a surrogate model's gradient and substitutes counter-fitted embedding
    neighbours; here importance comes from the ranker's own scores (black box, counted) and the
    neighbours from MiniLM's vocabulary, as the text attacks use them.

    Args:
        neighbours: Candidate words per visited word.
        word_similarity: Least MiniLM cosine of a candidate to the word it replaces.
        max_words_perturbed: Most fraction of the document's words substituted.

    References:
        Wu et al., PRADA: Practical Black-Box Adversarial Attacks against Neural Ranking Models,
        ACM TOIS 2023.
    """

    neighbours: int = 8
    word_similarity: float = 0.6
    max_words_perturbed: float = 0.1

    quick_params: ClassVar[dict[str, Any]] = {"neighbours": 4}

    def _check(self, owner: str) -> None:
        check_number(owner, "neighbours", self.neighbours, integer=True, low=1, low_inclusive=True)
        check_number(
            owner, "word_similarity", self.word_similarity, low=-1.0, high=1.0, low_inclusive=True
        )
        check_number(owner, "max_words_perturbed", self.max_words_perturbed, high=1.0)

    def _limit(self, oracle: DocumentOracle, tokens: Tokenized) -> int:
        own = max(1, int(self.max_words_perturbed * len(tokens)))
        return min(own, oracle.word_limit(len(tokens)))

    def _candidates(self, word: str, oracle: DocumentOracle, terms: list[str]) -> list[str]:
        from robustlab.text.embeddings import match_case, word_neighbours, word_vectors

        options = [w for w, _ in word_neighbours(word, self.neighbours, self.word_similarity)]
        if oracle.direction != "promote":
            return options
        vocab = word_vectors()
        row = vocab.index.get(word.lower())
        for t in terms:
            col = vocab.index.get(t)
            if row is None or col is None or t == word.lower():
                continue
            if float(vocab.vectors[row] @ vocab.vectors[col]) >= self.word_similarity:
                options.append(match_case(word, t))
        options = list(dict.fromkeys(options))
        goal = _query_vector(oracle.query)
        cols = [vocab.index.get(w.lower()) for w in options]
        closeness = [-1.0 if c is None else float(vocab.vectors[c] @ goal) for c in cols]
        order = np.argsort(-np.asarray(closeness), kind="stable")
        return [options[int(i)] for i in order]

    def _search(self, oracle: DocumentOracle, tokens: Tokenized, rng: np.random.Generator) -> None:
        indices = [i for i in tokens.eligible(skip_stopwords=True) if tokens.words[i].isalpha()]
        limit = self._limit(oracle, tokens)
        if not indices or limit < 1:
            return
        gains = word_importance(oracle, tokens, indices)
        order = [indices[j] for j in np.argsort(-gains, kind="stable")]
        terms = query_terms(oracle.query)
        words = list(tokens.words)
        best = float(oracle.objective(oracle.score(tokens.text)))
        changed = 0
        for i in order:
            if changed >= limit or oracle.done:
                return
            options = self._candidates(words[i], oracle, terms)[: oracle.remaining]
            if not options:
                continue
            trials = []
            for w in options:
                trial = words.copy()
                trial[i] = w
                trials.append(tokens.render(trial))
            values = oracle.objective(oracle.scores(trials))
            j = int(np.argmax(values))
            if values[j] > best:
                words[i] = options[j]
                best = float(values[j])
                changed += 1


@functools.lru_cache(maxsize=4096)
def _query_vector(query: str) -> np.ndarray:
    """The query's unit MiniLM embedding (cached: every document of a query asks for it)."""
    from robustlab.text.embeddings import encode

    return encode([query])[0].astype(np.float32)
