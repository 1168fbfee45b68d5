"""The contracts the ranking package shares: a document collection, a judged query set, a ranker.

Everything ranking-related (built-in rankers, loaders, probes, document attacks, RAG) speaks these
three types, so a user's own ranker or data plugs into every ranking probe.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Collection", "QuerySet", "Ranker"]


@dataclass(frozen=True)
class Collection:
    """A named document collection: ``docs`` maps each document id to its text (in order)."""

    name: str
    docs: Mapping[str, str]
    description: str = ""


@dataclass(frozen=True)
class QuerySet:
    """Judged queries over one collection.

    Attributes:
        name: The query set's name (e.g. ``"stdlib-keyword"``); OOD query sets get their own.
        queries: Query id -> query text.
        qrels: Query id -> ``{doc_id: grade}``, grades >= 0 (0 = judged not relevant).
        collection: Name of the collection the judgements refer to.
    """

    name: str
    queries: Mapping[str, str]
    qrels: Mapping[str, Mapping[str, float]]
    collection: str
    meta: Mapping[str, str] = field(default_factory=dict)


class Ranker(ABC):
    """A model under test for ranking: a re-ranker (``score``) and, once indexed, a retriever.

    Subclasses implement ``score`` (one float per document, higher = more relevant) and
    ``fingerprint``. First-stage retrievers also implement ``index`` and ``retrieve``; the default
    ``retrieve`` scores every document of the indexed collection with ``score``.
    """

    name: str = "ranker"

    def __init__(self) -> None:
        self._collection: Collection | None = None

    @abstractmethod
    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Scores of ``docs`` for ``query``: a float array of ``len(docs)``."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A stable hash of everything that decides the scores (weights, variant, tokeniser)."""

    def index(self, collection: Collection) -> None:
        """Prepare retrieval over ``collection`` (built once per collection and cached)."""
        self._collection = collection

    def retrieve(self, query: str, k: int) -> list[tuple[str, float]]:
        """The top ``k`` ``(doc_id, score)`` of the indexed collection, best first."""
        if self._collection is None:
            from robustlab.errors import ConfigError

            raise ConfigError(
                f"{type(self).__name__}.retrieve needs an indexed collection; call "
                ".index(collection) first."
            )
        ids = list(self._collection.docs)
        scores = np.asarray(self.score(query, [self._collection.docs[i] for i in ids]), float)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(ids[j], float(scores[j])) for j in order]

    def describe(self) -> dict[str, object]:
        """A JSON-serialisable description stored with every run."""
        return {"name": self.name, "adapter": type(self).__name__}
