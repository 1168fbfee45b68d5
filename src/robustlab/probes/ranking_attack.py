"""The ``ranking_attack`` probe: black-box document attacks on a ranker (Wu et al.'s task 3b)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, NotApplicable, Probe, coerce
from robustlab.ranking.attacks import metrics as _metrics  # noqa: F401  (registers them)
from robustlab.records import Records

__all__ = ["RANKING_ATTACK_MEDIA_TYPE", "RankingAttack", "ranker_and_data"]

#: Media type of the stored attacked documents (JSON text, one per attacked document).
RANKING_ATTACK_MEDIA_TYPE = "application/vnd.robustlab.ranking-attack+json"

_OWN = (
    "attack",
    "direction",
    "budget",
    "k",
    "depth",
    "per_query",
    "max_words_changed",
    "options",
)
#: Attacked documents kept as artifacts per unit (the report shows them with their edits).
KEEP_PER_UNIT = 4


def ranker_and_data(model: Model, batch: Batch, owner: str) -> tuple[Any, Any]:
    """The scan model's :class:`~robustlab.ranking.Ranker` and the batch's ranking dataset (its
    collection and judged queries), or NotApplicable saying what is missing."""
    ranker = getattr(model, "ranker", None)
    data = getattr(batch, "ranking", None)
    from robustlab.ranking.base import Ranker

    if not isinstance(ranker, Ranker) or data is None:
        raise NotApplicable(
            f"{owner} attacks a Ranker's documents; scan a robustlab Ranker (wrapped as a "
            "RankerModel) on ranking data (a RankingDataset such as bundled_dataset())"
        )
    return ranker, data


@PROBES.register("ranking_attack")
@dataclass(frozen=True)
class RankingAttack(Probe):
    """Attack the documents of each query through ``Ranker.score`` only, within ``budget``
    ranker queries per document: demote a relevant top-k document, promote an irrelevant one
    from below the top k, or both (:func:`robustlab.ranking.attacks.attack_documents`).

    One record per attacked document: ``broken`` (moved across the top-k border), ``group`` (the
    direction), ``value`` (ranks gained by the attacker), ``queries``, ``similarity`` (MiniLM
    cosine to the original), ``perturbation`` (share of words changed) and ``ndcg`` (the query's
    nDCG@k over its candidates after the attack). The attacked documents with their edits are
    stored for the report.

    Args:
        attack: A document attack (``word_substitution``, ``trigger_insertion``,
            ``genetic_typo_document``, ``random_substitution``).
        direction: ``demote``, ``promote`` or ``both``.
        budget: Most ranker queries per attacked document.
        k: The top-k border.
        depth: Candidates per query.
        per_query: Documents attacked per query and direction.
        max_words_changed: Edit budget: most fraction of a document's words changed.
        options: The attack's own parameters (given as extra key=value pairs).
    """

    attack: str = "word_substitution"
    direction: str = "both"
    budget: int = 100
    k: int = 10
    depth: int = 100
    per_query: int = 1
    max_words_changed: float | None = None
    options: tuple[tuple[str, Any], ...] = ()

    name = "ranking_attack"
    axis: ClassVar[str] = "document attacks"
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)
    modalities: ClassVar[tuple[str, ...]] = ("ranking",)
    covers_batch: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = (
        "ndcg",  # the query's nDCG@10 after the attack, averaged over the attacked documents
        "document_attack_success",
        "pushed_out_of_top_k",
        "pushed_into_top_k",
        "document_rank_change",
        "document_queries_per_success",
        "document_attack_similarity",
    )

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Keep the probe's own parameters; the others are the attack's, typed and validated."""
        import dataclasses
        import typing

        from robustlab.ranking.attacks import build_document_attack

        mine = {k: v for k, v in params.items() if k in _OWN}
        extra = {k: v for k, v in params.items() if k not in _OWN}
        attack = str(mine.get("attack", "word_substitution"))
        from robustlab.attacks import ATTACKS

        cls_ = ATTACKS.get(attack)
        fields = {f.name for f in dataclasses.fields(cls_)}
        unknown = sorted(set(extra) - fields)
        if unknown:
            raise ConfigError(
                f"Probe 'ranking_attack' with attack {attack!r} has no parameter "
                f"{', '.join(map(repr, unknown))}. Its parameters: "
                f"{', '.join([*_OWN[:-1], *sorted(fields)])}."
            )
        hints = typing.get_type_hints(cls_)
        typed = {
            k: coerce(v, hints[k], f"{k!r} parameter of attack {attack!r}")
            for k, v in extra.items()
        }
        build_document_attack(attack, **typed)  # names a document attack, values valid
        merged = dict(mine.get("options", ())) | typed
        mine["options"] = tuple(sorted(merged.items()))
        return mine

    def __post_init__(self) -> None:
        from robustlab.ranking.attacks import DIRECTIONS, build_document_attack
        from robustlab.validation import check_int

        build_document_attack(self.attack, **dict(self.options))
        if self.direction not in (*DIRECTIONS, "both"):
            raise ConfigError(
                f"The 'direction' parameter of probe 'ranking_attack' must be 'demote', "
                f"'promote' or 'both'. Got {self.direction!r} instead."
            )
        for name, low in (("budget", 1), ("k", 1), ("depth", 2), ("per_query", 1)):
            check_int("probe 'ranking_attack'", name, getattr(self, name), low)
        if self.depth <= self.k:
            raise ConfigError(
                f"Probe 'ranking_attack' needs depth > k; got depth={self.depth}, k={self.k}."
            )

    @classmethod
    def example(cls) -> RankingAttack:
        return cls("genetic_typo_document", budget=10, depth=30, options=(("population", 4),))

    @property
    def label(self) -> str:
        return f"{self.attack} ({self.direction}, {self.budget} queries)"

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        from robustlab.ranking.base import Ranker

        if not isinstance(getattr(model, "ranker", None), Ranker):
            raise NotApplicable(
                f"{self.key} attacks a Ranker's documents; {type(model).__name__} "
                f"{model.name!r} has no ranker (scan a robustlab Ranker on ranking data)"
            )

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.attacks.threat import EditBudget
        from robustlab.ranking.attacks import attack_documents
        from robustlab.ranking.base import QuerySet

        ranker, data = ranker_and_data(model, batch, self.key)
        qs = data.query_set
        ids = [str(i) for i in batch.ids]
        subset = QuerySet(
            qs.name,
            {q: qs.queries[q] for q in ids},
            {q: qs.qrels[q] for q in ids},
            qs.collection,
            qs.meta,
        )
        threat = None if self.max_words_changed is None else EditBudget(self.max_words_changed)
        result = attack_documents(
            ranker,
            data.collection,
            subset,
            self.attack,
            direction=self.direction,
            budget=self.budget,
            k=self.k,
            depth=min(self.depth, len(data.collection.docs)),
            per_query=self.per_query,
            seed=seed,
            threat=threat,
            **dict(self.options),
        )
        return self.records(result)

    def records(self, result: Any) -> Records:
        """One record per attacked document of a :class:`DocumentAttackResult`."""
        ex = result.examples
        gained = [e.rank_change if e.direction == "demote" else -e.rank_change for e in ex]
        records = Records(
            [f"{e.query_id}/{e.doc_id}/{e.direction}" for e in ex],
            task="ranking",
            group=[e.direction for e in ex],
            value=np.asarray(gained, dtype=np.float64),
            queries=np.asarray([e.queries for e in ex], dtype=np.float64),
            similarity=np.asarray([e.similarity for e in ex], dtype=np.float64),
            perturbation=np.asarray([e.words_perturbed for e in ex], dtype=np.float64),
            broken=np.asarray([e.success for e in ex], dtype=bool),
            ndcg=np.asarray([e.ndcg_after for e in ex], dtype=np.float64),
        )
        records.warnings.extend(
            {"code": "ranking-attack-note", "message": n, "advice": ""} for n in result.notes[:20]
        )
        keep = sorted(ex, key=lambda e: (not e.success, -abs(e.rank_change)))[:KEEP_PER_UNIT]
        for e in keep:
            data = e.to_dict()
            data["attack"] = result.attack
            records.artifacts.append(
                {
                    "name": f"ranking-attack/{e.query_id}/{e.doc_id}/{e.direction}",
                    "media_type": RANKING_ATTACK_MEDIA_TYPE,
                    "data": json.dumps(data, ensure_ascii=False),
                    "meta": {
                        "example_id": f"{e.query_id}/{e.doc_id}/{e.direction}",
                        "probe": self.key,
                        "label": self.label,
                    },
                }
            )
        return records
