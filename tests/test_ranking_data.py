"""Bundled ranking collections, loaders (TREC, JSONL) and the checks on ranking data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from robustlab.errors import ConfigError, DataError
from robustlab.ranking import Collection, QuerySet
from robustlab.ranking.data import (
    RankingDataset,
    bundled_collection,
    bundled_dataset,
    bundled_queries,
    check_judgements,
    load_jsonl,
    load_trec,
    make_collection,
)


def test_bundled_collections_are_big_enough_and_judged():
    std, npy = bundled_collection("stdlib"), bundled_collection("numpy")
    assert len(std.docs) >= 1000 and len(npy.docs) >= 500
    assert "os.path.join" in std.docs and std.docs["os.path.join"].startswith("os.path.join\n")
    kw, qu = bundled_queries("stdlib", "keyword"), bundled_queries("stdlib", "question")
    assert len(kw.queries) >= 50 and list(kw.qrels) == list(qu.qrels)
    assert kw.queries["s01"] != qu.queries["s01"] and kw.qrels["s01"] == qu.qrels["s01"]
    for qs, coll in ((kw, std), (bundled_queries("numpy"), npy)):
        check_judgements(coll, qs)
        grades = {g for q in qs.qrels.values() for g in q.values()}
        assert grades <= {1, 2} and all(2 in q.values() for q in qs.qrels.values())
    with pytest.raises(ConfigError, match="styles"):
        bundled_queries("numpy", "question")
    with pytest.raises(ConfigError, match="No bundled"):
        bundled_collection("marco")


def test_bundled_dataset_targets_are_document_positions():
    ds = bundled_dataset()
    assert len(ds) >= 50 and set(ds.companions) == {"ood-queries", "ood-documents"}
    first = ds.targets[0]
    assert {ds.doc_id(p) for p in first} == set(bundled_queries().qrels[ds.ids[0]])
    batch = ds.batch([0, 1])
    assert batch.inputs == [ds.texts[0], ds.texts[1]] and batch.ranking is ds
    assert ds.fingerprint() == bundled_dataset().fingerprint()


def test_bm25_ndcg_on_the_bundled_collection_is_above_a_sanity_floor():
    pytest.importorskip("bm25s")
    from robustlab.ranking.model import RankerModel
    from robustlab.ranking.rankers import BM25Ranker
    from robustlab.tasks import get_task

    ds = bundled_dataset(companions=False)
    model = RankerModel(BM25Ranker(), ds.collection)
    batch = ds.batch(np.arange(len(ds)))
    fields = get_task("ranking").record_fields(model.predict_outputs(batch.inputs), batch.targets)
    assert fields["ndcg"].mean() > 0.5  # measured 0.63 (random ranking: about 0.0)


def _coll() -> Collection:
    return make_collection("c", [("d1", "alpha beta"), ("d2", "gamma"), ("d3", "delta")])


def test_bad_ranking_data_is_refused_naming_the_problem():
    with pytest.raises(DataError, match="'d1' appears twice"):
        make_collection("c", [("d1", "a"), ("d1", "b")])
    with pytest.raises(DataError, match="document 'd2' is empty"):
        make_collection("c", [("d1", "a"), ("d2", "  ")])
    coll = _coll()
    unknown = QuerySet("q", {"q1": "alpha"}, {"q1": {"d9": 1}}, "c")
    with pytest.raises(DataError, match="judges document 'd9'"):
        RankingDataset(coll, unknown)
    partly = QuerySet("q", {"q1": "alpha", "q2": "beta", "q3": "x"}, {"q1": {"d1": 1}}, "c")
    with pytest.raises(DataError, match="2 of 3 queries have no judgements"):
        RankingDataset(coll, partly)
    ds = RankingDataset(coll, partly, allow_unjudged=True)
    assert ds.ids == ["q1"] and ds.describe()["unjudged_queries"] == 2


def test_load_trec_topics_qrels_and_run(tmp_path):
    (tmp_path / "topics").write_text(
        "<top>\n<num> Number: 301\n<title> alpha beta\n<desc> ...\n</top>\n"
        "<top>\n<num> Number: 302\n<title> gamma\n</top>\n"
    )
    (tmp_path / "qrels").write_text("301 0 d1 2\n301 0 d2 0\n302 0 d2 1\n")
    (tmp_path / "run").write_text("301 Q0 d1 1 3.5 bm25\n301 Q0 d3 2 1.0 bm25\n")
    got = load_trec(tmp_path / "topics", tmp_path / "qrels", tmp_path / "run")
    assert got.queries.queries == {"301": "alpha beta", "302": "gamma"}
    assert got.queries.qrels["301"] == {"d1": 2.0, "d2": 0.0}
    assert got.run == {"301": {"d1": 3.5, "d3": 1.0}}
    assert len(RankingDataset(_coll(), got.queries)) == 2
    (tmp_path / "tsv").write_text("1\tfirst query\n2\tsecond\n")
    (tmp_path / "bad").write_text("9 0 d1 1\n")
    with pytest.raises(DataError, match="without a topic"):
        load_trec(tmp_path / "tsv", tmp_path / "bad")
    (tmp_path / "badrun").write_text("1 Q0 d1 1 x tag\n")
    with pytest.raises(DataError, match="'x' is not a number"):
        load_trec(tmp_path / "topics", tmp_path / "qrels", tmp_path / "badrun")


def test_load_jsonl_beir_layout(tmp_path):
    docs = tmp_path / "corpus.jsonl"
    docs.write_text(
        "\n".join(
            json.dumps(r)
            for r in [{"_id": "a", "title": "T", "text": "x y"}, {"_id": "b", "text": "z"}]
        )
    )
    (tmp_path / "queries.jsonl").write_text(json.dumps({"_id": "q", "text": "y"}))
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq\ta\t1\n")
    coll, qs = load_jsonl(docs, tmp_path / "queries.jsonl", tmp_path / "qrels.tsv")
    assert coll.docs == {"a": "T\nx y", "b": "z"} and qs.qrels == {"q": {"a": 1.0}}
    docs.write_text(
        json.dumps({"_id": "a", "text": "x"}) + "\n" + json.dumps({"_id": "a", "text": "y"})
    )
    with pytest.raises(DataError, match="'a' appears twice"):
        load_jsonl(docs, tmp_path / "queries.jsonl", tmp_path / "qrels.tsv")


def test_bundled_ranking_names_load_through_as_dataset_and_a_bare_ranker_is_explained():
    pytest.importorskip("bm25s")
    from robustlab.data.loading import as_dataset
    from robustlab.models.loading import as_model
    from robustlab.ranking.rankers import BM25Ranker

    ds = as_dataset("ranking-stdlib-questions")
    assert isinstance(ds, RankingDataset) and ds.query_set.name == "stdlib-question"
    with pytest.raises(ConfigError, match="RankerModel"):
        as_model(BM25Ranker())
