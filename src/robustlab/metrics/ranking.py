"""Ranking metrics over per-query records: nDCG@10, MRR, Recall@100, MAP, P@10 (per-query values
from ir-measures, see :mod:`robustlab.ranking.evaluate`), each the mean over queries with a
bootstrap interval over queries; the spread over random query subsets (Wu et al., "Are Neural
Ranking Models Robust?", TOIS 2022, task 1); and clean-vs-perturbed rank agreement (Kendall's
tau over the top-10 union, rank-biased overlap)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.records import Records


@dataclass(frozen=True)
class _QueryMean(Metric):
    """Mean of one per-query field over the queries where it was measured."""

    field: ClassVar[str] = "ndcg"
    higher_is_better: ClassVar[bool] = True
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)

    def _values(self, records: Records) -> np.ndarray:
        v = np.asarray(records.fields[self.field], dtype=np.float64)
        return v[np.isfinite(v)]

    def applies(self, records: Records) -> bool:
        return len(self._values(records)) > 0

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(self._values(records), seed)


@METRICS.register("ndcg")
@dataclass(frozen=True)
class NDCG(_QueryMean):
    """nDCG@10 averaged over queries."""

    name = "ndcg"
    description = "nDCG@10 (mean over queries)"
    field = "ndcg"


@METRICS.register("mrr")
@dataclass(frozen=True)
class MRR(_QueryMean):
    """Mean reciprocal rank of the first relevant document."""

    name = "mrr"
    description = "mean reciprocal rank of the first relevant document"
    field = "reciprocal_rank"


@METRICS.register("recall_at_100")
@dataclass(frozen=True)
class RecallAt100(_QueryMean):
    """Recall@100 averaged over queries."""

    name = "recall_at_100"
    description = "Recall@100 (mean over queries)"
    field = "recall"


@METRICS.register("map")
@dataclass(frozen=True)
class MAP(_QueryMean):
    """Mean average precision (AP@1000)."""

    name = "map"
    description = "mean average precision (AP@1000)"
    field = "average_precision"


@METRICS.register("precision_at_10")
@dataclass(frozen=True)
class PrecisionAt10(_QueryMean):
    """P@10 averaged over queries."""

    name = "precision_at_10"
    description = "precision at 10 (mean over queries)"
    field = "precision"


@METRICS.register("kendall_tau")
@dataclass(frozen=True)
class KendallTau(_QueryMean):
    """Kendall's tau between each query's clean and perturbed top-10 (union), averaged."""

    name = "kendall_tau"
    description = "Kendall tau of clean vs perturbed top-10 rankings"
    field = "kendall_tau"


@METRICS.register("rbo")
@dataclass(frozen=True)
class RBO(_QueryMean):
    """Rank-biased overlap (p = 0.9) of each query's clean and perturbed rankings, averaged."""

    name = "rbo"
    description = "rank-biased overlap of clean vs perturbed rankings (p=0.9)"
    field = "rbo"


@METRICS.register("ndcg_subset_spread")
@dataclass(frozen=True)
class NDCGSubsetSpread(Metric):
    """Standard deviation of mean nDCG@10 over random half-size query subsets (Wu et al.'s
    i.i.d. variance task); its interval is the 5-95% range of the subset means."""

    fraction: float = 0.5
    subsets: int = 1000
    name = "ndcg_subset_spread"
    higher_is_better = False
    description = "std of mean nDCG@10 over random half-size query subsets"
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)

    def applies(self, records: Records) -> bool:
        return int(np.isfinite(np.asarray(records.fields["ndcg"], float)).sum()) >= 2

    def _compute(self, records: Records, seed: int) -> Estimate:
        from robustlab.ranking.evaluate import subset_spread

        v = np.asarray(records.fields["ndcg"], dtype=np.float64)
        v = v[np.isfinite(v)]
        s = subset_spread(v, fraction=self.fraction, subsets=self.subsets, seed=seed)
        return Estimate(
            s["std"],
            s["std"],
            s["std"],
            len(v),
            "subsets",
            details={"subset_mean_range": [s["p05"], s["p95"]], **s},
        )


@METRICS.register("ndcg_change")
@dataclass(frozen=True)
class NDCGChange(Metric):
    """Mean per-query change of nDCG@10 from the clean query to the perturbed one (the records'
    ``value``), with a bootstrap interval and a paired randomisation test (Smucker et al., CIKM
    2007) of "no change" in its details."""

    name = "ndcg_change"
    higher_is_better = True
    description = "mean nDCG@10 change, perturbed minus clean (paired over queries)"
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(np.asarray(records.value, dtype=np.float64)).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        from robustlab.ranking.evaluate import paired_test

        delta = np.asarray(records.value, dtype=np.float64)
        after = np.asarray(records.fields["ndcg"], dtype=np.float64)
        keep = np.isfinite(delta) & np.isfinite(after)
        test = paired_test(after[keep] - delta[keep], after[keep], seed=seed)
        return Estimate(
            test.difference,
            test.low,
            test.high,
            test.n,
            "bootstrap",
            details={
                "clean_ndcg": test.mean_a,
                "perturbed_ndcg": test.mean_b,
                "p_randomisation": test.p_randomisation,
                "p_ttest": test.p_ttest,
            },
        )
