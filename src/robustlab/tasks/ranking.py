"""Ranking: the model scores the candidate documents of a query; targets are relevance grades."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from robustlab.errors import DataError
from robustlab.tasks.base import TASKS, Task


@TASKS.register("ranking")
class Ranking(Task):
    """Order documents by relevance to a query; an example (a query) breaks when a relevant
    document is demoted past rank ``k``. Targets are per-query ``{doc_id: grade}`` judgements."""

    name: ClassVar[str] = "ranking"
    output: ClassVar[str] = "one score per candidate document of each query"
    target: ClassVar[str] = "relevance judgements per query: a mapping {doc_id: grade >= 0}"
    fields: ClassVar[dict[str, str]] = {
        "ndcg": "float",
        "reciprocal_rank": "float",
        "relevant_rank": "int",
    }
    score_field: ClassVar[str] = "ndcg"
    metrics: ClassVar[tuple[str, ...]] = ("ndcg", "mrr")
    criterion: ClassVar[str] = "demoted"

    def check_targets(self, targets: Any, where: str) -> np.ndarray:
        out = np.empty(len(targets), dtype=object)
        if len(out) == 0:
            raise DataError(f"{where} is empty; pass at least one query.")
        for i, qrels in enumerate(targets):
            if not isinstance(qrels, dict) or not qrels:
                raise DataError(
                    f"{where}: the judgements of query {i} must be a non-empty mapping "
                    f"{{doc_id: grade}}; got {qrels!r}."
                )
            grades = {}
            for doc, grade in qrels.items():
                if isinstance(grade, bool) or not isinstance(grade, (int, float)) or grade < 0:
                    raise DataError(
                        f"{where}: query {i}, document {doc!r} has grade {grade!r}; grades are "
                        "numbers >= 0 (0 = not relevant)."
                    )
                grades[str(doc)] = float(grade)
            out[i] = grades
        return out
