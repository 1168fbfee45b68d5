"""Built-in rankers and as_ranker: BM25 agrees with bm25s, validation names the query."""

from __future__ import annotations

import numpy as np
import pytest

from robustlab.errors import ConfigError, ModelError
from robustlab.ranking import Collection
from robustlab.ranking.rankers import BM25Ranker, as_ranker, full_scores

pytest.importorskip("bm25s")

DOCS = Collection(
    "toy",
    {
        "a": "The quick brown fox jumps over the lazy dog",
        "b": "Sorting a list of numbers quickly with a key function",
        "c": "Return a new sorted list; sort numbers in ascending order",
        "d": "Foxes and dogs are animals",
        "e": "Open a file and return a stream",
    },
)


def test_bm25_score_matches_bm25s_and_retrieve_orders():
    r = BM25Ranker()
    r.index(DOCS)
    for q in ("sort numbers", "fox dog", "open the file stream", "zzz unknown"):
        mine = r.score(q, list(DOCS.docs.values()))
        theirs = r.collection_scores(q)
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    top = r.retrieve("sort numbers", 2)
    assert [d for d, _ in top] == ["c", "b"]
    assert top[0][1] >= top[1][1]
    desc = r.describe()
    assert desc["method"] == "lucene" and desc["k1"] == 1.2 and desc["b"] == 0.75
    assert "english" in str(desc["stemmer"])
    assert BM25Ranker(k1=0.9).fingerprint() != r.fingerprint()
    # the stemmer matches inflections
    assert r.tokenize("Sorting sorted sorts") == ["sort", "sort", "sort"]


def test_bm25_scores_an_edited_document_with_the_collection_statistics():
    r = BM25Ranker()
    r.index(DOCS)
    edited = r.score("sort numbers", ["sort sort numbers"])
    assert edited[0] > r.score("sort numbers", [DOCS.docs["c"]])[0]


def test_bm25_index_is_cached_per_collection():
    a, b = BM25Ranker(), BM25Ranker()
    a.index(DOCS)
    b.index(DOCS)
    assert a._state is b._state


def test_bm25_refuses_other_variants():
    with pytest.raises(ConfigError, match="lucene"):
        BM25Ranker(method="atire")


def test_as_ranker_score_callable_is_validated():
    ok = as_ranker(lambda query, docs: np.arange(len(docs), dtype=float), name="ok")
    assert ok.score("q", ["x", "y"]).tolist() == [0.0, 1.0]
    ok.index(DOCS)
    assert full_scores(ok, "q", DOCS).shape == (5,)
    cases = {
        "wrong length": (lambda q, docs: [1.0], r"\(1,\) scores for query 'hello'"),
        "nan": (lambda q, docs: [np.nan] * len(docs), "NaN or infinite .* query 'hello'"),
        "text": (lambda q, docs: ["a"] * len(docs), "non-numeric .* query 'hello'"),
    }
    for fn, match in cases.values():
        with pytest.raises(ModelError, match=match):
            as_ranker(fn).score("hello", ["x", "y"])


def test_as_ranker_retrieve_callable_is_validated():
    good = as_ranker(lambda query, k: [("a", 0.2), ("c", 0.9)][:k], name="good")
    good.index(DOCS)
    assert good.retrieve("q", 2) == [("c", 0.9), ("a", 0.2)]
    scores = full_scores(good, "q", DOCS)
    assert np.argmax(scores) == 2 and scores[1] < 0.2
    bad = {
        "more than k": (lambda q, k: [("a", 1.0), ("b", 0.5), ("c", 0.1)], "3 results .* k=2"),
        "duplicates": (lambda q, k: [("a", 1.0), ("a", 0.5)], "'a' twice for query 'hello'"),
        "unknown": (lambda q, k: [("zz", 1.0)], "'zz' for query 'hello', which is not in"),
        "nan": (lambda q, k: [("a", float("nan"))], "must be finite"),
        "text": (lambda q, k: [("a", "high")], "non-numeric score"),
    }
    for fn, match in bad.values():
        r = as_ranker(fn)
        r.index(DOCS)
        with pytest.raises(ModelError, match=match):
            r.retrieve("hello", 2)
    with pytest.raises(ConfigError):
        as_ranker(3)  # type: ignore[arg-type]
