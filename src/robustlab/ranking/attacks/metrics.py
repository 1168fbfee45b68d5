"""Metrics of the document-attack records (one record per attacked document, ``group`` its
direction, ``value`` its rank change in the attacker's favour): success, top-k shares, rank
change, queries per success and similarity, each with an interval."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records

__all__ = ["ATTACK_METRICS", "attacked"]

#: The metrics the ``ranking_attack`` probe computes by default.
ATTACK_METRICS = (
    "document_attack_success",
    "pushed_out_of_top_k",
    "pushed_into_top_k",
    "document_rank_change",
    "document_queries_per_success",
    "document_attack_similarity",
)


def attacked(records: Records, direction: str | None = None) -> np.ndarray:
    """Mask of the records of attacked documents (of one ``direction`` if given)."""
    groups = np.asarray(records.group, dtype=object)
    mask = np.isin(groups, ["demote", "promote"]) & np.isfinite(records.queries)
    return mask if direction is None else mask & (groups == direction)


def _rate(broken: np.ndarray) -> Estimate:
    n, k = len(broken), int(broken.sum())
    low, high = clopper_pearson(k, n)
    return Estimate(k / n, low, high, n, "clopper-pearson")


@dataclass(frozen=True)
class _DocumentMetric(Metric):
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)
    direction: ClassVar[str | None] = None

    def applies(self, records: Records) -> bool:
        return bool(attacked(records, self.direction).any())


@METRICS.register("document_attack_success")
@dataclass(frozen=True)
class DocumentAttackSuccess(_DocumentMetric):
    """Share of the attacked documents moved across the top-k border (either direction)."""

    name = "document_attack_success"
    higher_is_better = False
    description = "attacked documents demoted out of / promoted into the top k"

    def _compute(self, records: Records, seed: int) -> Estimate:
        return _rate(records.broken[attacked(records)])


@METRICS.register("pushed_out_of_top_k")
@dataclass(frozen=True)
class PushedOutOfTopK(_DocumentMetric):
    """Share of the relevant top-k documents a demotion attack pushed out of the top k."""

    name = "pushed_out_of_top_k"
    higher_is_better = False
    description = "relevant documents pushed out of the top k"
    direction = "demote"

    def _compute(self, records: Records, seed: int) -> Estimate:
        return _rate(records.broken[attacked(records, "demote")])


@METRICS.register("pushed_into_top_k")
@dataclass(frozen=True)
class PushedIntoTopK(_DocumentMetric):
    """Share of the irrelevant documents a promotion attack pushed into the top k."""

    name = "pushed_into_top_k"
    higher_is_better = False
    description = "irrelevant documents pushed into the top k"
    direction = "promote"

    def _compute(self, records: Records, seed: int) -> Estimate:
        return _rate(records.broken[attacked(records, "promote")])


@METRICS.register("document_rank_change")
@dataclass(frozen=True)
class DocumentRankChange(_DocumentMetric):
    """Mean rank change of the attacked documents in the attacker's favour (places down for a
    demoted document, up for a promoted one), with a bootstrap interval."""

    name = "document_rank_change"
    higher_is_better = False
    description = "mean ranks gained by the attacker per attacked document"

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.value[attacked(records)], seed)


@METRICS.register("document_queries_per_success")
@dataclass(frozen=True)
class DocumentQueriesPerSuccess(_DocumentMetric):
    """Mean ranker queries the attack spent on the documents it moved across the border."""

    name = "document_queries_per_success"
    higher_is_better = True
    description = "mean ranker queries per successful document attack"

    def applies(self, records: Records) -> bool:
        return bool((attacked(records) & records.broken).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.queries[attacked(records) & records.broken], seed)


@METRICS.register("document_attack_similarity")
@dataclass(frozen=True)
class DocumentAttackSimilarity(_DocumentMetric):
    """Mean MiniLM similarity of the changed documents to their originals."""

    name = "document_attack_similarity"
    higher_is_better = True
    description = "mean MiniLM similarity of attacked documents to the originals"

    def _changed(self, records: Records) -> np.ndarray:
        return attacked(records) & np.isfinite(records.similarity) & (records.perturbation > 0)

    def applies(self, records: Records) -> bool:
        return bool(self._changed(records).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.similarity[self._changed(records)], seed)
