"""Ranking and retrieval robustness: collections, judgements, rankers, probes (issue 12)."""

from robustlab.ranking.base import Collection, QuerySet, Ranker
from robustlab.ranking.rankers import BM25Ranker, DenseRanker, as_ranker

__all__ = ["BM25Ranker", "Collection", "DenseRanker", "QuerySet", "Ranker", "as_ranker"]
