"""What a document attack returns: per attacked document its ranks before and after, edits,
queries and similarity, and the summary figures (success, rank change, top-k shares)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustlab.attacks.text._result import Edit

__all__ = ["DocumentAdversarial", "DocumentAttackResult"]


@dataclass(frozen=True)
class DocumentAdversarial:
    """The attack's outcome on one (query, document) pair.

    Attributes:
        query_id, doc_id: The pair attacked.
        direction: ``demote`` (a relevant document of the top k) or ``promote`` (an irrelevant
            document from below the top k).
        query: The query text.
        original: The document's text.
        adversarial: The best variant found within the budget and the edit budget (the original
            when none improved the ranker's score in the attack's direction).
        success: The fresh score of ``adversarial`` moves the document across the top-k border
            (out of it when demoting, into it when promoting).
        rank_before, rank_after: 1-based ranks among the query's candidates (the others keep
            their scores; ties rank the attacked document below).
        score_before, score_after: The ranker's scores of the original and the adversarial text.
        queries: Ranker calls spent on this document (texts scored, the original included);
            never more than the budget.
        edits: The word-level edits, in text order.
        words_perturbed: Changed (replaced or inserted) words over the original's words.
        similarity: MiniLM cosine of the adversarial document to the original (1.0 when
            unchanged, NaN when not measured).
        ndcg_before, ndcg_after: The query's nDCG@k over its candidates before and after.
        error: The ranker's error on one of the candidates, if it failed (the attack stopped).
    """

    query_id: str
    doc_id: str
    direction: str
    query: str
    original: str
    adversarial: str
    success: bool
    rank_before: int
    rank_after: int
    score_before: float
    score_after: float
    queries: int
    edits: tuple[Edit, ...] = ()
    words_perturbed: float = 0.0
    similarity: float = float("nan")
    ndcg_before: float = float("nan")
    ndcg_after: float = float("nan")
    error: str | None = None

    @property
    def rank_change(self) -> int:
        """``rank_after - rank_before``: positive when the document went down."""
        return self.rank_after - self.rank_before

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if np.isnan(v) else float(v)

        return {
            "query_id": self.query_id,
            "doc_id": self.doc_id,
            "direction": self.direction,
            "query": self.query,
            "original": self.original,
            "adversarial": self.adversarial,
            "success": self.success,
            "rank_before": self.rank_before,
            "rank_after": self.rank_after,
            "score_before": self.score_before,
            "score_after": self.score_after,
            "queries": self.queries,
            "edits": [e.to_dict() for e in self.edits],
            "words_perturbed": self.words_perturbed,
            "similarity": num(self.similarity),
            "ndcg_before": num(self.ndcg_before),
            "ndcg_after": num(self.ndcg_after),
            **({"error": self.error} if self.error is not None else {}),
        }


@dataclass
class DocumentAttackResult:
    """Outcome of a document attack on a ranker: one :class:`DocumentAdversarial` per attacked
    (query, document) pair, and the figures of Wu et al.'s task 3b."""

    examples: list[DocumentAdversarial]
    attack: str
    params: dict[str, Any]
    budget: int
    seed: int
    k: int
    depth: int
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    threat: dict[str, Any] | None = None
    #: Query-document pairs scored to build the candidate lists (not part of any budget).
    pairs_scored: int = 0

    def __len__(self) -> int:
        return len(self.examples)

    def _of(self, direction: str | None) -> list[DocumentAdversarial]:
        return [e for e in self.examples if direction is None or e.direction == direction]

    def success_rate(self, direction: str | None = None) -> float:
        ex = self._of(direction)
        return float(np.mean([e.success for e in ex])) if ex else float("nan")

    def mean_rank_change(self, direction: str | None = None) -> float:
        """Mean ``rank_after - rank_before`` (positive: demoted)."""
        ex = self._of(direction)
        return float(np.mean([e.rank_change for e in ex])) if ex else float("nan")

    def share_out_of_top(self) -> float:
        """Share of the demoted documents (all in the top k before) now out of the top k."""
        ex = self._of("demote")
        return float(np.mean([e.rank_after > self.k for e in ex])) if ex else float("nan")

    def share_into_top(self) -> float:
        """Share of the promoted documents (all below the top k before) now in the top k."""
        ex = self._of("promote")
        return float(np.mean([e.rank_after <= self.k for e in ex])) if ex else float("nan")

    def mean_queries(self, direction: str | None = None) -> float:
        ex = self._of(direction)
        return float(np.mean([e.queries for e in ex])) if ex else float("nan")

    def queries_per_success(self, direction: str | None = None) -> float:
        ex = [e for e in self._of(direction) if e.success]
        return float(np.mean([e.queries for e in ex])) if ex else float("nan")

    def mean_similarity(self, direction: str | None = None) -> float:
        """Mean similarity of the changed documents to their originals."""
        sims = [e.similarity for e in self._of(direction) if e.adversarial != e.original]
        sims = [s for s in sims if not np.isnan(s)]
        return float(np.mean(sims)) if sims else float("nan")

    def mean_words_perturbed(self, direction: str | None = None) -> float:
        """Mean share of words changed in the changed documents."""
        ex = [e for e in self._of(direction) if e.adversarial != e.original]
        return float(np.mean([e.words_perturbed for e in ex])) if ex else float("nan")

    @property
    def queries(self) -> np.ndarray:
        return np.array([e.queries for e in self.examples], dtype=np.int64)

    @property
    def success(self) -> np.ndarray:
        return np.array([e.success for e in self.examples], dtype=bool)

    def summary(self, direction: str | None = None) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if np.isnan(v) else v

        out: dict[str, Any] = {
            "n": len(self._of(direction)),
            "success_rate": num(self.success_rate(direction)),
            "mean_rank_change": num(self.mean_rank_change(direction)),
            "mean_queries": num(self.mean_queries(direction)),
            "queries_per_success": num(self.queries_per_success(direction)),
            "similarity": num(self.mean_similarity(direction)),
            "words_perturbed": num(self.mean_words_perturbed(direction)),
        }
        if direction in (None, "demote"):
            out[f"pushed_out_of_top{self.k}"] = num(self.share_out_of_top())
        if direction in (None, "promote"):
            out[f"pushed_into_top{self.k}"] = num(self.share_into_top())
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (overall and per direction) with every example."""
        return {
            "attack": self.attack,
            "params": dict(self.params),
            "budget": self.budget,
            "seed": self.seed,
            "k": self.k,
            "depth": self.depth,
            **self.summary(),
            "by_direction": {d: self.summary(d) for d in ("demote", "promote") if self._of(d)},
            "elapsed_s": self.elapsed_s,
            "pairs_scored": self.pairs_scored,
            "notes": list(self.notes),
            "examples": [e.to_dict() for e in self.examples],
            **({} if self.threat is None else {"threat": dict(self.threat)}),
        }
