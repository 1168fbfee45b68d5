"""Genetic typo attack: evolve a population of misspelt variants towards misclassification."""

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
)
from robustlab.attacks.text._typos import TYPO_OPS, typo


@register_attack("genetic_typo")
@dataclass(frozen=True)
class GeneticTypo(TextAttack):
    """Genetic search over typo patterns, with the true class's loss as fitness.

    An individual is the text with some words misspelt (one or more character edits each). The
    first population misspells a random ``rate`` of the eligible words in each individual. Every
    generation keeps the ``elite`` fittest (fitness ``-log p(target)``, or the criterion's
    negative margin for goals other than misclassification), then fills the population with children: two parents
    picked by binary tournaments, uniform word-wise crossover (each word from either parent),
    then mutation (with probability ``mutation``, one more typo on a random word; with the same
    probability, one misspelt word restored, which keeps the edits few). Individuals never
    misspell more than ``max_words_perturbed`` of the words. Fitness, ``-log p(target)``, costs one
    query per new individual; the search stops at the first misclassified individual (the one with
    the fewest misspelt words if several appear together), or when the budget is spent.

    GARAG attacks a retrieval-augmented generator with two objectives (retrieval and answer); this
    is the same genetic typo search with one objective, a classifier's loss.

    Args:
        population: Individuals per generation.
        rate: Fraction of the eligible words misspelt in the first population (at least one).
        mutation: Probability of each mutation step.
        elite: Fittest individuals carried over unchanged.
        max_words_perturbed: Most fraction of the words misspelt in any individual.

    References:
        Cho et al., Typos that Broke the RAG's Back: Genetic Attack on RAG Pipeline by Simulating
        Documents in the Wild via Low-level Perturbations, Findings of EMNLP 2024.
    """

    population: int = 20
    rate: float = 0.1
    mutation: float = 0.5
    elite: int = 2
    max_words_perturbed: float = 0.3

    quick_params: ClassVar[dict[str, Any]] = {"population": 8}

    def _check(self, owner: str) -> None:
        check_genetic_params(owner, self)

    def _attack(
        self,
        oracle: QueryCounter,
        tokens: Tokenized,
        target: int,
        p_clean: np.ndarray,
        rng: np.random.Generator,
    ) -> list[str] | None:
        eligible = tokens.eligible(skip_stopwords=False, min_length=2)
        if not eligible:
            return None
        original = tokens.words
        limit = min(
            max(1, int(self.max_words_perturbed * len(tokens))), oracle.word_limit(len(tokens))
        )
        if limit < 1:
            return None
        start = max(1, min(limit, round(self.rate * len(eligible))))

        def misspell(words: list[str], i: int) -> None:
            words[i] = typo(words[i], TYPO_OPS[int(rng.integers(4))], rng)

        def changed(words: list[str]) -> list[int]:
            return [i for i in eligible if words[i] != original[i]]

        def repair(words: list[str]) -> list[str]:
            extra = changed(words)
            while len(extra) > limit:
                i = extra.pop(int(rng.integers(len(extra))))
                words[i] = original[i]
            return words

        def score(pop: list[list[str]]) -> tuple[np.ndarray, list[str] | None]:
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
            if not pop:
                return np.zeros(0), None
            probs = oracle.probs(texts)
            broken = oracle.broken(probs, target)
            fooled = [k for k in range(len(pop)) if broken[k]]
            winner = min(fooled, key=lambda k: len(changed(pop[k]))) if fooled else None
            held = oracle.holds(probs, target)
            fitness = -np.log(np.clip(held, 1e-12, None)) if oracle.plain else -held
            return fitness, None if winner is None else pop[winner]

        pop = []
        for _ in range(self.population):
            words = list(original)
            for i in rng.choice(eligible, size=min(start, len(eligible)), replace=False):
                misspell(words, int(i))
            pop.append(words)
        fitness, won = score(pop)
        while won is None and oracle.remaining > 0 and len(pop) > 1:
            ranked = np.argsort(-fitness, kind="stable")
            children = [list(pop[k]) for k in ranked[: self.elite]]
            while len(children) < self.population:
                a, b = (self._tournament(fitness, rng) for _ in range(2))
                take = rng.random(len(original)) < 0.5
                child = [pop[a][i] if take[i] else pop[b][i] for i in range(len(original))]
                if rng.random() < self.mutation:
                    misspell(child, int(rng.choice(eligible)))
                edited = changed(child)
                if edited and rng.random() < self.mutation:
                    i = edited[int(rng.integers(len(edited)))]
                    child[i] = original[i]
                children.append(repair(child))
            pop = children
            fitness, won = score(pop)
        return won

    @staticmethod
    def _tournament(fitness: np.ndarray, rng: np.random.Generator) -> int:
        a, b = rng.integers(len(fitness), size=2)
        return int(a if fitness[a] >= fitness[b] else b)


def check_genetic_params(owner: str, attack: Any) -> None:
    """The parameters of a genetic typo search (this attack's and the document attack's):
    ``population`` >= 2, ``rate`` and ``max_words_perturbed`` in (0, 1], ``mutation`` in
    [0, 1], ``elite`` in [0, population)."""
    check_number(owner, "population", attack.population, integer=True, low=2, low_inclusive=True)
    check_number(owner, "rate", attack.rate, high=1.0)
    check_number(owner, "mutation", attack.mutation, high=1.0, low_inclusive=True)
    check_number(owner, "elite", attack.elite, integer=True, low=0, low_inclusive=True)
    check_number(owner, "max_words_perturbed", attack.max_words_perturbed, high=1.0)
    if attack.elite >= attack.population:
        check_number(owner, "elite", attack.elite, integer=True, high=attack.population - 1)
