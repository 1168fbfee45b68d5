"""Random word substitution: the baseline the document attacks are compared with at equal budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.attacks._registry import register_attack
from robustlab.attacks.text._base import Tokenized, check_number
from robustlab.ranking.attacks._base import DocumentAttack, DocumentOracle


@register_attack("random_substitution")
@dataclass(frozen=True)
class RandomSubstitution(DocumentAttack):
    """Independent random variants, the best kept: each substitutes ``max_words_perturbed`` of
    the document's content words, picked at random, by a random one of their ``neighbours``
    nearest MiniLM words (the candidates ``word_substitution`` uses), without looking at the
    ranker's scores to choose words or candidates. One query per variant, until success or the
    budget is spent; the oracle keeps the variant that helps the attacker most.

    PRADA compares its attack with such random substitutions of the same number of words.

    Args:
        neighbours: Candidate words per substituted word.
        word_similarity: Least MiniLM cosine of a candidate to the word it replaces.
        max_words_perturbed: Fraction of the document's words substituted per variant.

    References:
        Wu et al., PRADA: Practical Black-Box Adversarial Attacks against Neural Ranking Models,
        ACM TOIS 2023 (the random-substitution baseline).
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

    def _search(self, oracle: DocumentOracle, tokens: Tokenized, rng: np.random.Generator) -> None:
        from robustlab.text.embeddings import word_neighbours

        indices = [i for i in tokens.eligible(skip_stopwords=True) if tokens.words[i].isalpha()]
        count = min(
            max(1, int(self.max_words_perturbed * len(tokens))),
            oracle.word_limit(len(tokens)),
            len(indices),
        )
        if count < 1:
            return
        options: dict[int, list[str]] = {}  # neighbours looked up lazily: only sampled words

        def neighbours(i: int) -> list[str]:
            if i not in options:
                found = word_neighbours(tokens.words[i], self.neighbours, self.word_similarity)
                options[i] = [w for w, _ in found]
            return options[i]

        tries = 0
        while not oracle.done and tries < 4 * oracle.budget:
            tries += 1
            words = list(tokens.words)
            picked = 0
            for i in rng.permutation(indices):
                cands = neighbours(int(i))
                if cands:
                    words[int(i)] = cands[int(rng.integers(len(cands)))]
                    picked += 1
                    if picked == count:
                        break
            if not picked:
                return  # no word of the document has a neighbour
            text = tokens.render(words)
            if not oracle.known(text):
                oracle.score(text)
