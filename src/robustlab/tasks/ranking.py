"""Ranking: the model scores the candidate documents of a query; targets are relevance grades."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from robustlab.errors import ConfigError, DataError
from robustlab.tasks.base import TASKS, Task

if TYPE_CHECKING:
    from robustlab.models.base import Model


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
        # through ir-measures when it is installed (robustlab[ranking]); NaN without it
        "recall": "float",
        "average_precision": "float",
        "precision": "float",
        # agreement of a perturbed ranking with the clean one (perturbation probes only)
        "kendall_tau": "float",
        "rbo": "float",
    }
    score_field: ClassVar[str] = "ndcg"
    metrics: ClassVar[tuple[str, ...]] = ("ndcg", "mrr", "recall_at_100", "map", "precision_at_10")
    criterion: ClassVar[str] = "demoted"
    outputs: ClassVar[tuple[str, ...]] = ("logits",)
    #: Rank cutoff of ``ndcg`` and of the default ``broken`` (a relevant document in the top k).
    cutoff: ClassVar[int] = 10

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

    def predict(self, model: Model, inputs: Any) -> np.ndarray:
        return model.predict_scores(inputs).numpy()

    def reference_of(self, model: Model, inputs: Any) -> np.ndarray:
        raise ConfigError(
            "Ranking records have no 'reference' field: a reference model is not measured for "
            "rankers; scan without reference=."
        )

    def record_fields(
        self,
        outputs: Any,
        targets: Any,
        *,
        reference: Any = None,
        doc_ids: Sequence[Any] | None = None,
        kendall_tau: Any = None,
        rbo: Any = None,
        **options: Any,
    ) -> dict[str, np.ndarray]:
        """Per-query nDCG@10 (linear gains, ``log2(rank + 1)`` discount, ideal ranking from all
        of the query's judgements, as trec_eval's ``ndcg_cut``), reciprocal rank and the rank of
        the first relevant document (grade > 0; missing when no candidate is relevant).

        Args:
            outputs: ``(n, D)`` scores of each query's ``D`` candidate documents; ties keep the
                candidates' order.
            targets: Per-query judgements ``{doc_id: grade}``.
            reference: Not defined for ranking (must be None).
            doc_ids: The candidates' ids: ``D`` ids shared by every query or ``n`` lists of
                ``D``; by default the column positions ``"0"``..``"D-1"``.
            kendall_tau, rbo: Per-query agreement of these rankings with the clean ones, from
                a perturbation probe (:mod:`robustlab.ranking.evaluate`); NaN when not given.
        """
        if reference is not None:
            self.reference_of(None, None)  # type: ignore[arg-type]
        scores = np.asarray(outputs, dtype=np.float64)
        qrels = list(targets)
        n = len(qrels)
        if scores.ndim != 2:
            raise DataError(
                f"ranking outputs must be (n, D) document scores per query; got shape "
                f"{scores.shape}."
            )
        self._check_outputs(scores, n, "(n, D)")
        d = scores.shape[1]
        if doc_ids is None:
            per_query = [[str(j) for j in range(d)]] * n
        else:
            ids = list(doc_ids)
            nested = len(ids) > 0 and not isinstance(ids[0], str) and np.ndim(ids[0]) == 1
            per_query = (
                [[str(x) for x in row] for row in ids] if nested else [list(map(str, ids))] * n
            )
            if len(per_query) != n or any(len(row) != d for row in per_query):
                raise DataError(
                    f"doc_ids must name the {d} candidates of each query ({d} ids, or {n} lists "
                    f"of {d}); got {len(per_query)} lists of lengths "
                    f"{sorted({len(r) for r in per_query})}."
                )
        k = self.cutoff
        discount = 1.0 / np.log2(np.arange(2, d + 2))
        ndcg = np.zeros(n)
        rr = np.zeros(n)
        first = np.full(n, np.nan)
        positions = np.arange(d)
        columns: dict[int, dict[str, int]] = {}
        for i in range(n):
            grades = qrels[i]
            if not isinstance(grades, Mapping):
                raise DataError(
                    f"ranking targets are per-query judgements {{doc_id: grade}}; query {i} has "
                    f"{grades!r}. Check them with the ranking task's check_targets first."
                )
            row = per_query[i]
            if id(row) not in columns:  # one id -> column map per distinct candidate list
                columns[id(row)] = {doc: j for j, doc in enumerate(row)}
            where = columns[id(row)]
            rel = [(where[doc], float(g)) for doc, g in grades.items() if g > 0 and doc in where]
            ideal = np.sort(np.array(list(grades.values()), dtype=np.float64))[::-1][:k]
            idcg = float((ideal * discount[: len(ideal)]).sum()) if len(ideal) else 0.0
            if rel:
                # the 0-based rank of each relevant candidate in a stable descending sort: the
                # candidates scored higher, and the tied ones listed before it
                js = np.array([j for j, _ in rel])
                gs = np.array([g for _, g in rel])
                s, sj = scores[i], scores[i][js]
                rank = (s[None, :] > sj[:, None]).sum(axis=1) + (
                    (s[None, :] == sj[:, None]) & (positions[None, :] < js[:, None])
                ).sum(axis=1)
                top = rank < k
                dcg = float((gs[top] * discount[rank[top]]).sum())
                ndcg[i] = dcg / idcg if idcg > 0 else 0.0
                first[i] = rank.min() + 1
                rr[i] = 1.0 / first[i]
        out = {"ndcg": ndcg, "reciprocal_rank": rr, "relevant_rank": first}
        out.update(_ir_measures_fields(scores, qrels, per_query))
        for key, given in (("kendall_tau", kendall_tau), ("rbo", rbo)):
            col = np.full(n, np.nan) if given is None else np.asarray(given, dtype=np.float64)
            if col.shape != (n,):
                raise DataError(f"ranking {key} needs one value per query ({n}); got {col.shape}.")
            out[key] = col
        return out

    def default_broken(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        rank = np.asarray(fields["relevant_rank"], dtype=np.float64)
        return ~(rank <= self.cutoff)  # no relevant document ranked in the top k (NaN: none)


#: Task field -> ir-measures measure: nDCG@10 and RR as computed above, and the rest.
IR_MEASURES = {
    "ndcg": "nDCG@10",
    "reciprocal_rank": "RR",
    "recall": "R@100",
    "average_precision": "AP@1000",
    "precision": "P@10",
}


def _ir_measures_fields(
    scores: np.ndarray, qrels: list[Any], doc_ids: list[list[str]]
) -> dict[str, np.ndarray]:
    """nDCG@10, RR, Recall@100, AP and P@10 per query from ir-measures (pytrec_eval); NaN
    columns for the three not computed here when it is not installed."""
    n = len(qrels)
    try:
        import ir_measures  # noqa: F401
    except ModuleNotFoundError:
        return {f: np.full(n, np.nan) for f in ("recall", "average_precision", "precision")}
    from robustlab.ranking.evaluate import per_query

    return per_query(scores, qrels, doc_ids, IR_MEASURES)
