"""The ``rag`` probe: a retrieval-augmented pipeline (the scanned ranker + a reader) end to end
under document typos or query perturbations, with each failure attributed to its component."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, NotApplicable, Probe
from robustlab.ranking import rag as _rag  # noqa: F401  (registers the RAG metrics)
from robustlab.records import Records

__all__ = ["RAG_MEDIA_TYPE", "RAGProbe"]

#: Media type of the stored RAG outcomes (JSON text, one per question).
RAG_MEDIA_TYPE = "application/vnd.robustlab.rag+json"
#: Outcomes kept as artifacts per unit (failures first).
KEEP_PER_UNIT = 6


@PROBES.register("rag")
@dataclass(frozen=True)
class RAGProbe(Probe):
    """Answer a QA set with the scanned ranker as retriever and a reader, clean and under a
    perturbation of the documents (``documents``, e.g. ``typo_swap``: GARAG's typos in the
    passages) and / or of the questions (``query``), at ``rate``; score the answers by SQuAD F1
    or exact match (``scorer``, correct at ``threshold``) and attribute each failure to the
    retriever (every gold passage left the top ``k``) or the reader (one stayed).

    The QA set is the data's own (``qa`` on the dataset) or the bundled one when the collection
    holds its gold passages; the reader is the model's (``reader`` on the model, any
    ``reader(question, passages) -> answer``) or the bundled MiniLM extractive reader. The
    questions are spread over the dataset's shards by position. One record per question:
    ``value`` the perturbed answer's score, ``similarity`` the clean one's, ``broken`` a failure,
    ``group`` the failing component, ``relevant_rank`` the gold passage's rank under the
    perturbation.

    Args:
        documents: Text perturbation of the gold passages (``scope=gold``) or of all passages.
        query: Text perturbation of the questions.
        rate: The perturbations' rate.
        k: Passages given to the reader.
        scope: ``gold`` or ``all`` passages perturbed.
        scorer: ``f1`` or ``exact_match``.
        threshold: Least score of a correct answer.
    """

    documents: str | None = "typo_swap"
    query: str | None = None
    rate: float = 0.3
    k: int = 3
    scope: str = "gold"
    scorer: str = "f1"
    threshold: float = 0.5

    name = "rag"
    axis: ClassVar[str] = "rag"
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)
    modalities: ClassVar[tuple[str, ...]] = ("ranking",)
    covers_batch: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = (
        "rag_answer_score",
        "rag_clean_answer_score",
        "rag_failure_rate",
        "rag_retriever_failures",
        "rag_reader_failures",
    )

    def __post_init__(self) -> None:
        from robustlab.perturbations import PERTURBATIONS
        from robustlab.validation import check_int, check_number

        owner = "probe 'rag'"
        for param in ("documents", "query"):
            value = getattr(self, param)
            if value is not None and PERTURBATIONS.get(value).modality != "text":
                raise ConfigError(
                    f"The {param!r} parameter of {owner} must be a text perturbation; "
                    f"{value!r} perturbs {PERTURBATIONS.get(value).modality} data."
                )
        if self.documents is None and self.query is None:
            raise ConfigError(
                f"{owner} needs a perturbation of the documents or of the query (or both); "
                "e.g. documents=typo_swap."
            )
        check_number(owner, "rate", self.rate, low=0.0, high=1.0)
        check_int(owner, "k", self.k, 1)
        check_number(owner, "threshold", self.threshold, low=0.0, high=1.0, low_inclusive=True)
        if self.scope not in ("gold", "all"):
            raise ConfigError(f"The 'scope' parameter of {owner} must be 'gold' or 'all'.")
        if self.scorer not in ("f1", "exact_match"):
            raise ConfigError(f"The 'scorer' parameter of {owner} must be 'f1' or 'exact_match'.")

    @property
    def label(self) -> str:
        what = " + ".join(
            f"{w} {p}" for w, p in (("documents", self.documents), ("query", self.query)) if p
        )
        return f"RAG under {what} ({self.rate:g})"

    def _qa(self, dataset: Any) -> Any:
        from robustlab.errors import DataError
        from robustlab.ranking.rag import bundled_qa

        qa = getattr(dataset, "qa", None) or bundled_qa()
        try:
            qa.check(dataset.collection)
        except DataError as exc:
            raise NotApplicable(f"{self.key}: no QA set over this collection ({exc})") from None
        return qa

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        from robustlab.ranking.base import Ranker

        if not isinstance(getattr(model, "ranker", None), Ranker):
            raise NotApplicable(f"{self.key} needs a Ranker as the retriever")
        if getattr(dataset, "collection", None) is None:
            raise NotApplicable(f"{self.key} needs ranking data with a collection")
        self._qa(dataset)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.probes.ranking_attack import ranker_and_data
        from robustlab.ranking.rag import MiniLMReader, QASet, RAGPipeline, evaluate_rag

        ranker, data = ranker_and_data(model, batch, self.key)
        qa = self._qa(data)
        n = max(len(data), 1)
        mine = set(int(i) for i in np.asarray(batch.indices))
        examples = tuple(ex for i, ex in enumerate(qa.examples) if i % n in mine)
        reader = getattr(model, "reader", None) or MiniLMReader()
        pipeline = RAGPipeline(
            ranker, reader, k=self.k, scorer=self.scorer, threshold=self.threshold
        )
        documents, query = (
            None if name is None else {"name": name, "rate": self.rate}
            for name in (self.documents, self.query)
        )
        try:
            result = evaluate_rag(
                pipeline,
                data.collection,
                QASet(qa.name, examples, qa.collection),
                documents=documents,
                query=query,
                scope=self.scope,
                seed=seed,
            )
        finally:
            ranker.index(data.collection)
        out = result.outcomes
        records = Records(
            [o.id for o in out],
            task="ranking",
            value=np.asarray([o.perturbed_score for o in out], dtype=np.float64),
            similarity=np.asarray([o.clean_score for o in out], dtype=np.float64),
            broken=np.asarray([o.failure for o in out], dtype=bool),
            group=[o.attribution if o.failure else None for o in out],
            relevant_rank=[o.gold_rank_perturbed for o in out],
        )
        keep = sorted(out, key=lambda o: (not o.failure, o.perturbed_correct))[:KEEP_PER_UNIT]
        for o in keep:
            records.artifacts.append(
                {
                    "name": f"rag/{o.id}",
                    "media_type": RAG_MEDIA_TYPE,
                    "data": json.dumps(o.to_dict(), ensure_ascii=False),
                    "meta": {"example_id": o.id, "probe": self.key, "label": self.label},
                }
            )
        return records
