"""Ranking and retrieval robustness: collections, judgements, rankers, probes (issue 12)."""

from robustlab.ranking.base import Collection, QuerySet, Ranker

__all__ = ["Collection", "QuerySet", "Ranker"]
