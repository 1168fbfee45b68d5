"""GARAG-like genetic typo search on a document: a population of misspelt variants evolved towards
the target rank (fitness: the ranker's score in the attack's direction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.attacks._registry import register_attack
from robustlab.attacks.text._base import Tokenized, check_number
from robustlab.attacks.text._typos import TYPO_OPS, typo
from robustlab.ranking.attacks._base import DocumentAttack, DocumentOracle
from robustlab.ranking.attacks.word_substitution import query_terms


@register_attack("genetic_typo_document")
@dataclass(frozen=True)
class GeneticTypoDocument(DocumentAttack):
    """Genetic search over typo patterns in a document.

    An individual is the document with some words misspelt (character swaps, keyboard
    substitutions, deletions, insertions). The first population misspells ``rate`` of the
    eligible words (at least one) per individual. Each generation keeps the ``elite`` fittest
    (fitness: the ranker's score, negated when demoting), then breeds children from two
    tournament-picked parents by uniform word-wise crossover, mutates them (with probability
    ``mutation`` one more typo; with the same probability one misspelt word restored) and caps
    them at ``max_words_perturbed`` of the words. A mutation lands on one of the query's terms in
    the document with probability ``focus`` (the words a ranker matches on; 0 gives GARAG's
    uniform choice). Each new individual costs one query; the search stops at the first success
    or when the budget is spent, and the oracle keeps the fittest variant.

    GARAG optimises two objectives of a RAG pipeline (the retriever's score and the reader's
    answer); this is its retriever objective alone, for any ranker (the RAG probe measures the
    reader).

    Args:
        population: Individuals per generation.
        rate: Fraction of the eligible words misspelt in the first population.
        mutation: Probability of each mutation step.
        elite: Fittest individuals carried over unchanged.
        focus: Probability that a mutation picks a query term present in the document.
        max_words_perturbed: Most fraction of the words misspelt.

    References:
        Cho et al., Typos that Broke the RAG's Back: Genetic Attack on RAG Pipeline by Simulating
        Documents in the Wild via Low-level Perturbations, Findings of EMNLP 2024.
    """

    population: int = 10
    rate: float = 0.05
    mutation: float = 0.5
    elite: int = 2
    focus: float = 0.5
    max_words_perturbed: float = 0.2

    quick_params: ClassVar[dict[str, Any]] = {"population": 6}

    def _check(self, owner: str) -> None:
        from robustlab.attacks.text.genetic_typo import check_genetic_params

        check_genetic_params(owner, self)
        check_number(owner, "focus", self.focus, high=1.0, low_inclusive=True)

    def _search(self, oracle: DocumentOracle, tokens: Tokenized, rng: np.random.Generator) -> None:
        eligible = tokens.eligible(skip_stopwords=False, min_length=2)
        original = tokens.words
        limit = min(
            max(1, int(self.max_words_perturbed * len(tokens))), oracle.word_limit(len(tokens))
        )
        if not eligible or limit < 1:
            return
        terms = set(query_terms(oracle.query))
        matched = [i for i in eligible if original[i].lower() in terms]
        start = max(1, min(limit, round(self.rate * len(eligible))))

        def pick() -> int:
            if matched and rng.random() < self.focus:
                return int(matched[int(rng.integers(len(matched)))])
            return int(eligible[int(rng.integers(len(eligible)))])

        def misspell(words: list[str], i: int) -> None:
            words[i] = typo(words[i], TYPO_OPS[int(rng.integers(len(TYPO_OPS)))], rng)

        def changed(words: list[str]) -> list[int]:
            return [i for i in eligible if words[i] != original[i]]

        def repair(words: list[str]) -> list[str]:
            extra = changed(words)
            while len(extra) > limit:
                i = extra.pop(int(rng.integers(len(extra))))
                words[i] = original[i]
            return words

        def fitness(pop: list[list[str]]) -> np.ndarray:
            texts: list[str] = []
            new: set[str] = set()
            for words in pop:  # keep the individuals the remaining budget can pay for
                text = tokens.render(words)
                cost = 0 if oracle.known(text) or text in new else 1
                if len(new) + cost > oracle.remaining:
                    break
                if cost:
                    new.add(text)
                texts.append(text)
            del pop[len(texts) :]
            return oracle.objective(oracle.scores(texts)) if texts else np.zeros(0)

        pop = []
        for _ in range(self.population):
            words = list(original)
            for _ in range(start):
                misspell(words, pick())
            pop.append(repair(words))
        fit = fitness(pop)
        while not oracle.done and len(pop) > 1:
            ranked = np.argsort(-fit, kind="stable")
            children = [list(pop[j]) for j in ranked[: self.elite]]
            while len(children) < self.population:
                a, b = (self._tournament(fit, rng) for _ in range(2))
                take = rng.random(len(original)) < 0.5
                child = [pop[a][i] if take[i] else pop[b][i] for i in range(len(original))]
                if rng.random() < self.mutation:
                    misspell(child, pick())
                edited = changed(child)
                if edited and rng.random() < self.mutation:
                    i = edited[int(rng.integers(len(edited)))]
                    child[i] = original[i]
                children.append(repair(child))
            pop = children
            fit = fitness(pop)

    @staticmethod
    def _tournament(fitness: np.ndarray, rng: np.random.Generator) -> int:
        a, b = rng.integers(len(fitness), size=2)
        return int(a if fitness[a] >= fitness[b] else b)
