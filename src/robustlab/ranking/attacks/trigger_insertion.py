"""Trigger sentence insertion: a sentence built from the query's terms (or, to demote, from words
far from the query), inserted at a sentence boundary and refined word by word."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.attacks._registry import register_attack
from robustlab.attacks.text._base import Tokenized, check_number
from robustlab.ranking.attacks._base import DocumentAttack, DocumentOracle
from robustlab.ranking.attacks.word_substitution import _query_vector, query_terms

_BOUNDARY = re.compile(r"(?<=[.!?])\s+|\n+")


def boundaries(text: str, most: int) -> list[int]:
    """Up to ``most`` character offsets where a sentence may go: the end (one point), the start
    and the end (two), then sentence ends spread evenly between them."""
    if most < 2:
        return [len(text)]
    inner = [m.end() for m in _BOUNDARY.finditer(text) if 0 < m.end() < len(text)]
    points = [0, len(text)]
    if most > 2 and inner:
        take = np.linspace(0, len(inner) - 1, num=min(most - 2, len(inner)))
        points += [inner[round(float(t))] for t in take]
    return sorted(set(points))


def insert(text: str, at: int, sentence: str) -> str:
    """``text`` with ``sentence`` inserted at offset ``at`` (a space on each side as needed)."""
    left, right = text[:at], text[at:]
    if left and not left[-1].isspace():
        left += " "
    if right and not right[0].isspace():
        sentence += " "
    return left + sentence + right


def render(words: list[str]) -> str:
    """Trigger words as a sentence: capitalised, ending with a full stop."""
    if not words:
        return ""
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]]) + "."


@register_attack("trigger_insertion")
@dataclass(frozen=True)
class TriggerInsertion(DocumentAttack):
    """Insert a trigger sentence into the document and refine it word by word.

    The trigger's words come from a pool: when promoting, the query's terms and each term's
    ``neighbours`` nearest MiniLM words (the trigger starts as the terms themselves); when
    demoting, the ``pool`` words least similar to the query among ``4 * pool`` words drawn at
    random from MiniLM's vocabulary (off-topic filler that dilutes the document). The first
    trigger is scored at up to ``positions`` sentence boundaries (start, end, evenly spread
    sentence ends) and the best position kept; then each trigger slot in turn tries
    ``candidates`` pool words (one query each), keeping the best if it helps, until success, two
    rounds without a gain, or the budget is spent. An edit budget's word limit caps the
    trigger's length.

    Args:
        length: Trigger words (0: the query's terms plus two, at least three).
        positions: Insertion points tried.
        neighbours: Neighbours per query term in the promoting pool.
        pool: Words in the demoting pool.
        candidates: Pool words tried per slot and round.

    References:
        Liu et al., Order-Disorder: Imitation Adversarial Attacks for Black-box Neural Ranking
        Models, ACM CCS 2022 (trigger generation); Song et al., Adversarial Semantic Collisions,
        EMNLP 2020.
    """

    length: int = 0
    positions: int = 3
    neighbours: int = 5
    pool: int = 50
    candidates: int = 4

    quick_params: ClassVar[dict[str, Any]] = {"candidates": 2}

    def _check(self, owner: str) -> None:
        check_number(owner, "length", self.length, integer=True, low=0, low_inclusive=True)
        for name in ("positions", "neighbours", "pool", "candidates"):
            check_number(owner, name, getattr(self, name), integer=True, low=1, low_inclusive=True)

    def _pool(
        self, oracle: DocumentOracle, terms: list[str], rng: np.random.Generator
    ) -> list[str]:
        from robustlab.text.embeddings import word_neighbours, word_vectors

        if oracle.direction == "promote":
            out = list(terms)
            for t in terms:
                out += [w for w, _ in word_neighbours(t, self.neighbours, 0.5)]
            return list(dict.fromkeys(out))
        vocab = word_vectors()
        draw = rng.choice(
            len(vocab.words), size=min(4 * self.pool, len(vocab.words)), replace=False
        )
        sims = vocab.vectors[draw] @ _query_vector(oracle.query)
        far = draw[np.argsort(sims, kind="stable")[: self.pool]]
        return [vocab.words[int(j)] for j in far]

    def _search(self, oracle: DocumentOracle, tokens: Tokenized, rng: np.random.Generator) -> None:
        terms = query_terms(oracle.query)
        pool = self._pool(oracle, terms, rng)
        if not pool:
            return
        length = self.length or max(3, len(terms) + 2)
        length = min(length, oracle.word_limit(len(tokens)))
        if length < 1:
            return
        if oracle.direction == "promote":
            trigger = (terms + [w for w in pool if w not in terms])[:length]
        else:
            trigger = pool[:length]
        while len(trigger) < length:
            trigger.append(pool[int(rng.integers(len(pool)))])
        text = tokens.text
        points = boundaries(text, self.positions)
        texts = [insert(text, p, render(trigger)) for p in points][: oracle.remaining]
        values = oracle.objective(oracle.scores(texts))
        at = points[int(np.argmax(values))]
        best = float(values.max())
        stale = 0
        while not oracle.done and stale < 2:
            improved = False
            for slot in range(length):
                if oracle.done:
                    return
                picks = rng.choice(len(pool), size=min(self.candidates, len(pool)), replace=False)
                options = [pool[int(p)] for p in picks if pool[int(p)] != trigger[slot]]
                options = options[: oracle.remaining]
                if not options:
                    continue
                trials = []
                for w in options:
                    t = trigger.copy()
                    t[slot] = w
                    trials.append(t)
                values = oracle.objective(
                    oracle.scores([insert(text, at, render(t)) for t in trials])
                )
                j = int(np.argmax(values))
                if values[j] > best:
                    trigger, best, improved = trials[j], float(values[j]), True
            stale = 0 if improved else stale + 1
