"""Bad ranking input named before any work: collections built directly, scans of broken
scorers and retrievers (nothing stored), document attacks on bad data."""

from __future__ import annotations

import numpy as np
import pytest

import robustlab
from robustlab.errors import DataError, ModelError
from robustlab.ranking import Collection, QuerySet
from robustlab.ranking.attacks import attack_documents
from robustlab.ranking.data import RankingDataset, check_collection
from robustlab.ranking.rankers import BM25Ranker, as_ranker
from robustlab.store import Store

COLL = Collection("c", {"d1": "alpha beta", "d2": "gamma delta", "d3": "alpha epsilon"})
QS = QuerySet("q", {"q1": "alpha", "q2": "gamma"}, {"q1": {"d1": 1}, "q2": {"d2": 2}}, "c")
SUITE = {"name": "c", "probes": ["clean"]}


@pytest.mark.parametrize(
    ("docs", "message"),
    [
        ({"d1": "alpha", "d2": ""}, "document 'd2' is empty"),
        ({"d1": "alpha", "d2": "   \n"}, "document 'd2' is empty"),
        ({"d1": "alpha", "d2": 3}, "document 'd2' is a int, not text"),
        ({}, "'c' has no documents"),
    ],
)
def test_a_collection_built_directly_is_checked_like_make_collection(docs, message):
    coll = Collection("c", docs)
    with pytest.raises(DataError, match=message):
        check_collection(coll)
    with pytest.raises(DataError, match=message):
        RankingDataset(coll, QuerySet("q", {"q1": "alpha"}, {"q1": {"d1": 1}}, "c"))
    with pytest.raises(DataError, match=message):
        attack_documents(BM25Ranker(), coll, QuerySet("q", {"q1": "alpha"}, {"q1": {"d1": 1}}, "c"))


def test_document_attacks_refuse_judgements_of_unknown_documents():
    qs = QuerySet("q", {"q1": "alpha"}, {"q1": {"d9": 1}}, "c")
    with pytest.raises(DataError, match="judges document 'd9'"):
        attack_documents(BM25Ranker(), COLL, qs)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda q, d: [1.0], r"returned \(1,\) scores for query 'alpha', which has 3 documents"),
        (lambda q, d: [np.nan] * len(d), "NaN or infinite scores for 3 of 3 documents"),
        (lambda q, d: ["high"] * len(d), "non-numeric scores"),
        (lambda q, d: None, "non-numeric scores"),
        (lambda q, k: [("d1", 1.0), ("d2", 0.5), ("d3", 0.1), ("d1", 0.0)][: k + 1], "but k=3"),
        (lambda q, k: [("d1", 1.0), ("d1", 0.5)], "'d1' twice for query 'alpha'"),
        (lambda q, k: [("zz", 1.0)], "'zz' for query 'alpha', which is not in collection 'c'"),
    ],
    ids=["short", "nan", "text", "none", "more-than-k", "duplicate", "unknown"],
)
def test_a_scan_of_a_broken_scorer_or_retriever_fails_before_any_run_is_stored(
    tmp_path, fn, message
):
    store = Store(str(tmp_path / "s.db"))
    with pytest.raises(ModelError, match=message):
        robustlab.scan(as_ranker(fn), RankingDataset(COLL, QS), SUITE, store=store, progress=False)
    assert store.runs() == []
