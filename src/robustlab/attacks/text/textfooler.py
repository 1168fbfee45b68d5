"""TextFooler: rank words by deletion, then swap them for MiniLM neighbours that keep the
sentence's meaning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.attacks._registry import register_attack
from robustlab.attacks.text._base import (
    QueryCounter,
    TextAttack,
    Tokenized,
    check_number,
    deletion_importance,
)


@register_attack("textfooler")
@dataclass(frozen=True)
class TextFooler(TextAttack):
    """Greedy word-substitution attack under a sentence-similarity constraint.

    Words (stopwords excluded) are scored by leave-one-out deletion and visited from most to least
    important. Each word's candidates are its ``neighbours`` nearest MiniLM word neighbours with
    cosine similarity at least ``word_similarity`` (:func:`~robustlab.text.embeddings.
    word_neighbours`). A candidate survives only if the ``window``-word span around it, with all
    substitutions so far, keeps MiniLM sentence similarity at least ``sentence_similarity`` to the
    same span of the original (TextFooler's USE check, here with MiniLM; it is what filters the
    antonyms that embedding neighbours include, though not all of them: "cheap" and "expensive"
    are neighbours, and sentences that differ by them stay similar). Candidates that are the word
    with a negating prefix ("unfinished" for "finished") are dropped outright. Surviving candidates are queried one at a
    time, most similar first, so the first that changes the prediction is the most similar of
    those that would (the paper's choice, found with fewer queries) and ends the attack; if none
    does, the one lowering the true class's probability most is kept if it lowers it at all.

    Same-part-of-speech filtering, which the paper also applies, is left out: it would need a
    tagger model the package does not ship; the sentence check covers part of its purpose.

    Args:
        neighbours: Candidate words per word (the paper's N = 50).
        word_similarity: Least word-embedding cosine of a candidate.
        sentence_similarity: Least MiniLM cosine of the substituted window to the original one
            (-1 turns the check off; candidates are then tried in word-similarity order).
        window: Words in the similarity window around the substituted word (the paper's 15).
        max_words_perturbed: Most fraction of the words substituted.

    References:
        Jin et al., Is BERT Really Robust? A Strong Baseline for Natural Language Attack on Text
        Classification and Entailment, AAAI 2020.
    """

    neighbours: int = 30
    word_similarity: float = 0.6
    sentence_similarity: float = 0.8
    window: int = 15
    max_words_perturbed: float = 0.3

    quick_params: ClassVar[dict[str, Any]] = {"neighbours": 10}

    def _check(self, owner: str) -> None:
        check_number(owner, "neighbours", self.neighbours, integer=True, low=1, low_inclusive=True)
        check_number(
            owner, "word_similarity", self.word_similarity, low=-1.0, high=1.0, low_inclusive=True
        )
        check_number(
            owner,
            "sentence_similarity",
            self.sentence_similarity,
            low=-1.0,
            high=1.0,
            low_inclusive=True,
        )
        check_number(owner, "window", self.window, integer=True, low=1, low_inclusive=True)
        check_number(owner, "max_words_perturbed", self.max_words_perturbed, high=1.0)

    def _attack(
        self,
        oracle: QueryCounter,
        tokens: Tokenized,
        target: int,
        p_clean: np.ndarray,
        rng: np.random.Generator,
    ) -> list[str] | None:
        from robustlab.text.embeddings import cosine, encode, word_neighbours

        indices = [i for i in tokens.eligible(skip_stopwords=True) if tokens.words[i].isalpha()]
        held_clean = float(oracle.holds(p_clean, target)[0])
        scores = deletion_importance(oracle, tokens, target, held_clean, indices)
        order = [indices[j] for j in np.argsort(-scores, kind="stable")]
        words = list(tokens.words)
        best = held_clean
        limit = min(
            max(1, int(self.max_words_perturbed * len(tokens))), oracle.word_limit(len(tokens))
        )
        changed = 0
        half = self.window // 2
        for i in order:
            if changed >= limit or oracle.remaining == 0:
                break
            options = [
                w
                for w, _ in word_neighbours(words[i], self.neighbours, self.word_similarity)
                if not _negation_of(w, tokens.words[i])
            ]
            if not options:
                continue
            lo = max(0, min(i - half, len(tokens) - self.window))
            hi = min(len(tokens), lo + self.window)
            reference = tokens.window(tokens.words, lo, hi)
            trials = []
            for w in options:
                trial = words.copy()
                trial[i] = w
                trials.append(trial)
            if self.sentence_similarity > -1.0:
                emb = encode([reference, *[tokens.window(t, lo, hi) for t in trials]])
                sims = cosine(np.repeat(emb[:1], len(trials), axis=0), emb[1:])
            else:  # no sentence check: candidates in the order of their word similarity
                sims = np.linspace(1.0, 0.0, len(trials))
            keep = np.flatnonzero(sims >= self.sentence_similarity)
            if not len(keep):
                continue
            # Most similar first, one query at a time: the first candidate that changes the
            # prediction is the most similar of those that would, as the paper picks.
            keep = keep[np.argsort(-sims[keep], kind="stable")]
            rows = []
            for k in keep:
                rows.append(oracle.prob(tokens.render(trials[int(k)])))
                if oracle.broken(rows[-1], target):
                    return trials[int(k)]
            held = oracle.holds(np.stack(rows), target)
            j = int(np.argmin(held))
            if held[j] < best:
                words = trials[int(keep[j])]
                best = float(held[j])
                changed += 1
        return None


_NEGATING_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "non", "mis")


def _negation_of(a: str, b: str) -> bool:
    """Whether one word is the other with a negating prefix ("finished" / "unfinished")."""
    a, b = a.lower(), b.lower()
    return any(a == p + b or b == p + a for p in _NEGATING_PREFIXES)
