"""Ranking probes: Wu et al.'s robustness tasks for rankers ("Are Neural Ranking Models Robust?",
TOIS 2022): (1) i.i.d. variance, (2a) OOD queries, (2b) OOD documents, (3a) query perturbations
grouped by Penha et al.'s query-variation classes (ECIR 2022).

Each probe records one row per query with the ranking task's fields (nDCG@10, RR, Recall@100,
AP, P@10 through ir-measures, the first relevant rank, and for perturbations Kendall's tau and
RBO against the clean ranking). Document attacks (task 3b) live in ``probes/ranking_attack.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, NotApplicable, Probe
from robustlab.records import Records
from robustlab.tasks import get_task

__all__ = [
    "PENHA_CLASSES",
    "RankingOOD",
    "RankingQueryPerturbation",
    "RankingVariance",
    "penha_class",
]

#: Penha, Camara & Hauff's query-variation classes and the text perturbations that realise them.
PENHA_CLASSES: dict[str, tuple[str, ...]] = {
    "misspelling": ("typo_keyboard", "typo_swap", "typo_insert", "typo_delete"),
    "naturality": ("stopword_removal", "casing"),
    "word order": ("word_order",),
    "paraphrase": ("synonym",),
}

RANKING_METRICS = ("ndcg", "mrr", "recall_at_100", "map", "precision_at_10")


def penha_class(perturbation: str) -> str:
    """The query-variation class of a text perturbation (``other`` when none fits)."""
    return next((c for c, names in PENHA_CLASSES.items() if perturbation in names), "other")


def _ranking_data(batch: Batch, probe: Probe) -> Any:
    data = getattr(batch, "ranking", None)
    if data is None:
        raise ConfigError(
            f"Probe {probe.key!r} needs ranking data (robustlab.ranking.data.RankingDataset); "
            "the batch carries none."
        )
    return data


def _scores(model: Model, queries: list[str], collection: Any = None) -> np.ndarray:
    scorer = getattr(model, "scores_for", None)
    if scorer is not None:
        return np.asarray(scorer(queries, collection), dtype=np.float64)
    if collection is not None:
        raise ConfigError(
            f"Model {model.name!r} ranks one fixed collection; OOD documents need a "
            "RankerModel (robustlab.ranking.model), which can index another collection."
        )
    return np.asarray(model.predict_outputs(queries), dtype=np.float64)


class _RankingProbe(Probe):
    axis: ClassVar[str] = "ranking"
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)
    modalities: ClassVar[tuple[str, ...]] = ("ranking",)
    metrics: ClassVar[tuple[str, ...]] = RANKING_METRICS

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        if model.task != "ranking":
            raise NotApplicable(f"{self.key} measures rankers, not {model.task} models")


@PROBES.register("ranking_variance")
@dataclass(frozen=True)
class RankingVariance(_RankingProbe):
    """Task 1, i.i.d. variance: the clean per-query measures, read with bootstrap intervals
    over queries and the spread of the mean over random query subsets
    (``ndcg_subset_spread``)."""

    name = "ranking_variance"
    axis = "clean"
    metrics = (*RANKING_METRICS, "ndcg_subset_spread")

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        task = get_task("ranking")
        return task.records(_scores(model, list(batch.inputs)), batch.targets, batch.ids)


@PROBES.register("ranking_ood")
@dataclass(frozen=True)
class RankingOOD(_RankingProbe):
    """Tasks 2a / 2b, out of distribution: the ranker on a companion of the data, another query
    style over the same documents (``ood-queries``) or another collection with its own queries
    (``ood-documents``), each companion query once (assigned to the shard holding the query at
    its position modulo the data's size). Compare with ``ranking_variance`` for the drop."""

    companion: str = "ood-queries"
    name = "ranking_ood"
    covers_batch = False  # records the companion's queries, not the batch's

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        have = getattr(dataset, "companions", {}) or {}
        if self.companion not in have:
            raise NotApplicable(
                f"{self.key}: the data has no companion {self.companion!r} "
                f"(it has {sorted(have) or 'none'}); build a RankingDataset with companions="
            )

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.ranking.data import RankingDataset

        data = _ranking_data(batch, self)
        coll, qs = data.companions[self.companion]
        cache = data.__dict__.setdefault("_companion_data", {})
        if self.companion not in cache:
            cache[self.companion] = RankingDataset(coll, qs, allow_unjudged=True)
        other: RankingDataset = cache[self.companion]
        mine = set(int(i) for i in batch.indices)
        pick = [j for j in range(len(other)) if j % len(data) in mine]
        task = get_task("ranking")
        if not pick:
            return task.records(np.zeros((0, len(coll.docs))), [], [])
        sub = other.batch(pick)
        same = coll is data.collection
        scores = _scores(model, list(sub.inputs), None if same else coll)
        return task.records(scores, sub.targets, [f"{self.companion}:{q}" for q in sub.ids])


@PROBES.register("ranking_query_perturbation")
@dataclass(frozen=True)
class RankingQueryPerturbation(_RankingProbe):
    """Task 3a, query variations: every query perturbed by a text perturbation at ``rate``
    (Penha et al.'s classes: misspelling, naturality, word order, paraphrase). Records the
    perturbed measures, ``perturbation`` = the share of the query's words changed, ``value``
    = nDCG@10 change from the clean query, Kendall's tau (top-10 union) and RBO (top 100)
    against the clean ranking; a query is broken when its clean ranking had a relevant document
    in the top 10 and the perturbed one has none."""

    perturbation: str = "typo_keyboard"
    rate: float = 0.2
    name = "ranking_query_perturbation"
    metrics = (*RANKING_METRICS, "ndcg_change", "kendall_tau", "rbo")

    def __post_init__(self) -> None:
        from robustlab.perturbations import PERTURBATIONS

        cls = PERTURBATIONS.get(self.perturbation)  # did-you-mean on a typo
        if getattr(cls, "modality", None) != "text":
            raise ConfigError(
                f"Probe 'ranking_query_perturbation' perturbs query texts; {self.perturbation!r} "
                f"is a {cls.modality} perturbation. Pick a text one, e.g. typo_keyboard."
            )
        if (
            not isinstance(self.rate, (int, float))
            or isinstance(self.rate, bool)
            or not (0 < self.rate <= 1)
        ):
            raise ConfigError(
                f"The 'rate' parameter of probe 'ranking_query_perturbation' must be in (0, 1] "
                f"(the share of eligible words changed). Got {self.rate!r} instead."
            )

    @property
    def variation_class(self) -> str:
        return penha_class(self.perturbation)

    @property
    def label(self) -> str:
        return f"{self.perturbation}@{self.rate:g}"

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.perturbations import PERTURBATIONS
        from robustlab.ranking.evaluate import kendall_tau_topk, rbo_of_scores

        queries = list(batch.inputs)
        pert = PERTURBATIONS.get(self.perturbation)(rate=float(self.rate))  # type: ignore[call-arg]
        out = pert.apply(queries, seed)
        perturbed = [str(q) for q in out.inputs]
        clean = _scores(model, queries)
        scores = _scores(model, perturbed)
        task = get_task("ranking")
        cutoff = int(getattr(task, "cutoff", 10))
        before = task.record_fields(clean, batch.targets)
        after = task.record_fields(scores, batch.targets)
        tau = np.array([kendall_tau_topk(c, p) for c, p in zip(clean, scores)])
        overlap = np.array([rbo_of_scores(c, p) for c, p in zip(clean, scores)])
        was = np.asarray(before["relevant_rank"], float) <= cutoff
        now = np.asarray(after["relevant_rank"], float) <= cutoff
        records = task.records(
            scores,
            batch.targets,
            batch.ids,
            perturbation=np.asarray(out.size, dtype=np.float64),
            value=np.asarray(after["ndcg"]) - np.asarray(before["ndcg"]),
            broken=was & ~now,
            kendall_tau=tau,
            rbo=overlap,
        )
        return records

    @classmethod
    def example(cls) -> RankingQueryPerturbation:
        return cls("typo_keyboard", 0.2)
