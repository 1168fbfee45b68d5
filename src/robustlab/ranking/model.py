"""A Ranker as the model under test: scores every document of its collection for each query."""

from __future__ import annotations

from typing import Any

import numpy as np

from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.ranking.base import Collection, Ranker

__all__ = ["RankerModel", "as_ranking_model"]


class RankerModel(Model):
    """Wraps a :class:`Ranker` over a collection as a ``ranking`` model.

    Inputs are query texts; the outputs are ``(n, N)`` scores of the collection's ``N`` documents
    in the collection's order (the ranking task's candidates). Retrievers that only return their
    top ``depth`` give the other documents scores below their last one
    (:func:`robustlab.ranking.rankers.full_scores`).
    """

    def __init__(
        self,
        ranker: Ranker | Any,
        collection: Collection,
        *,
        name: str | None = None,
        depth: int = 1000,
        batch_size: int = 32,
    ) -> None:
        from robustlab.ranking.rankers import as_ranker

        ranker = as_ranker(ranker)
        if not isinstance(collection, Collection):
            raise ConfigError(
                f"RankerModel needs a robustlab.ranking.Collection; got {type(collection).__name__}."
            )
        if len(collection.docs) < 2:
            raise ConfigError(f"Collection {collection.name!r} needs at least two documents.")
        super().__init__(
            name=name or ranker.name,
            modality="ranking",
            num_classes=len(collection.docs),
            bounds=None,
            output="logits",
            batch_size=batch_size,
            task="ranking",
        )
        self.ranker = ranker
        self.collection = collection
        self.depth = depth
        ranker.index(collection)

    def scores_for(self, queries: list[str], collection: Collection | None = None) -> np.ndarray:
        """``(len(queries), N)`` scores over ``collection`` (default: the model's own; another
        one is indexed, cached, and the model's own index restored afterwards)."""
        from robustlab.ranking.rankers import full_scores

        coll = collection or self.collection
        if coll is not self.collection:
            self.ranker.index(coll)
        try:
            many = getattr(self.ranker, "collection_scores_many", None)
            if many is not None:
                return np.asarray(many(list(queries)), dtype=np.float64)
            return np.stack([full_scores(self.ranker, q, coll, self.depth) for q in queries])
        finally:
            if coll is not self.collection:
                self.ranker.index(self.collection)

    def _forward_batch(self, inputs: Any) -> np.ndarray:
        return self.scores_for(list(inputs))

    def fingerprint(self) -> str:
        from robustlab.ranking.rankers import collection_fingerprint

        return self._hash(
            "ranker",
            self.ranker.fingerprint(),
            collection_fingerprint(self.collection),
            str(self.depth),
            *self._task_parts(),
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "ranker": self.ranker.describe(),
            "collection": self.collection.name,
        }


def as_ranking_model(model: Any, data: Any) -> Any:
    """``model`` as the model of a ranking scan on ``data``: a Ranker (or user ranking callable
    when ``data`` is ranking data) wrapped in :class:`RankerModel` over the data's collection;
    anything else unchanged."""
    collection = getattr(data, "collection", None)
    if isinstance(model, Ranker):
        if not isinstance(collection, Collection):
            raise ConfigError(
                f"A Ranker ({type(model).__name__}) is scanned on ranking data: pass a "
                "robustlab.ranking.data.RankingDataset (e.g. bundled_dataset()), or wrap it "
                "yourself with RankerModel(ranker, collection)."
            )
        return RankerModel(model, collection)
    return model
