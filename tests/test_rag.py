"""RAG end to end (issue 12, item 5): SQuAD scoring, the pipeline, perturbations, attribution."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ranking_attack_helpers import TestBM25, stdlib_collection
from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.ranking import Collection
from robustlab.ranking.rag import (
    QAExample,
    QASet,
    RAGPipeline,
    bundled_qa,
    evaluate_rag,
    exact_match,
    f1_score,
    normalize_answer,
)


def test_squad_normalisation_exact_match_and_f1_known_answers():
    assert normalize_answer("The  Heap, invariant!") == "heap invariant"
    assert exact_match("the heap invariant", ["Heap invariant."]) == 1.0
    assert exact_match("heap", ["heap invariant"]) == 0.0
    # pred {heap, invariant, holds} vs gold {heap, invariant}: P = 2/3, R = 1, F1 = 0.8
    assert f1_score("heap invariant holds", ["the heap invariant"]) == pytest.approx(0.8)
    assert f1_score("nothing", ["heap invariant", "nothing at all"]) == pytest.approx(0.5)
    assert f1_score("", [""]) == 1.0 and f1_score("x", ["y"]) == 0.0


def test_the_bundled_qa_set_has_enough_questions_whose_answers_are_in_their_passages():
    from robustlab.ranking.data import bundled_collection

    qa = bundled_qa()
    assert len(qa) >= 30 and len({e.id for e in qa.examples}) == len(qa)
    assert len({e.question for e in qa.examples}) == len(qa)
    coll = bundled_collection(qa.collection)
    qa.check(coll)  # every gold passage is in the bundled collection
    for e in qa.examples:
        text = normalize_answer(" ".join(coll.docs[g] for g in e.gold))
        assert all(normalize_answer(a) in text for a in e.answers), e.id


def _small_qa() -> tuple[Collection, QASet]:
    coll = stdlib_collection()
    examples = tuple(e for e in bundled_qa().examples if all(g in coll.docs for g in e.gold))
    return coll, QASet("stdlib-qa", examples[:10], "stdlib")


def _oracle_reader(question, passages):
    """A reader that answers right exactly when a gold passage was retrieved (known answers)."""
    for e in bundled_qa().examples:
        if e.question == question or normalize_answer(e.question) == normalize_answer(question):
            docs = stdlib_collection().docs
            if any(docs[g] in passages for g in e.gold):
                return e.answers[0]
    return "no idea"


@pytest.fixture(scope="module")
def bm25():
    ranker = TestBM25()
    ranker.index(stdlib_collection())
    return ranker


def test_failures_are_attributed_to_the_retriever_when_the_gold_passage_is_lost(bm25):
    coll, qa = _small_qa()
    pipe = RAGPipeline(bm25, _oracle_reader, k=5)
    clean = evaluate_rag(pipe, coll, qa)
    for o in clean.outcomes:  # the oracle reader is right iff the gold passage is retrieved
        assert o.clean_correct == (o.gold_rank_clean is not None)
        assert o.clean_attribution in (None, "retriever")
        assert not o.failure and o.perturbed_score == o.clean_score
    hit = evaluate_rag(pipe, coll, qa, documents={"name": "typo_swap", "rate": 1.0}, seed=3)
    assert hit.summary()["perturbed_recall_at_k"] < hit.summary()["clean_recall_at_k"]
    assert hit.attribution_counts()["reader"] == 0 and hit.attribution_counts()["retriever"] > 0
    for o in hit.outcomes:
        assert o.failure == (o.gold_rank_clean is not None and o.gold_rank_perturbed is None)
        assert all(e[1] != e[2] for e in o.edits) and {e[0] for e in o.edits} <= set(o.gold)
    assert stdlib_collection().docs is coll.docs  # the collection itself is never modified
    assert [d for d, _ in bm25.retrieve(qa.examples[0].question, 3)] == list(
        clean.outcomes[0].clean.retrieved[:3]
    )  # the retriever is indexed on the clean collection again


def test_failures_are_attributed_to_the_reader_when_the_gold_passage_stays(bm25):
    coll, qa = _small_qa()

    def fragile(question, passages):  # right on the clean question only
        return _oracle_reader(question, passages) if question.endswith("?") else "no idea"

    pipe = RAGPipeline(bm25, fragile, k=20, scorer="exact_match")
    res = evaluate_rag(pipe, coll, qa, query={"name": "punctuation", "rate": 1.0})
    changed = [o for o in res.outcomes if not o.perturbed_question.endswith("?")]
    assert changed, "the punctuation perturbation changed no question"
    for o in changed:
        if o.clean_correct and o.gold_rank_perturbed is not None:
            assert o.failure and o.attribution == "reader"
    assert res.summary()["failures_by"]["reader"] >= 1
    assert res.to_dict()["condition"]["query"]["name"] == "punctuation"


def test_the_minilm_reader_answers_some_questions_end_to_end(bm25):
    from robustlab.ranking.rag import MiniLMReader

    coll, qa = _small_qa()
    res = evaluate_rag(RAGPipeline(bm25, MiniLMReader(), k=3), coll, qa)
    s = res.summary()
    assert 0.0 < s["clean_score"] <= 1.0 and s["n"] == len(qa)
    assert all(isinstance(o.clean.answer, str) and o.clean.answer for o in res.outcomes)


def test_bad_pipelines_and_data_are_refused(bm25):
    coll, qa = _small_qa()
    with pytest.raises(ConfigError, match="Ranker"):
        RAGPipeline(lambda q, k: [], _oracle_reader)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="scorer"):
        RAGPipeline(bm25, _oracle_reader, scorer="bleu")
    with pytest.raises(DataError, match=r"'bad'.*'nowhere\.at_all'"):
        evaluate_rag(
            RAGPipeline(bm25, _oracle_reader),
            coll,
            QASet("x", (QAExample("bad", "q?", ("a",), ("nowhere.at_all",)),), "stdlib"),
        )
    with pytest.raises(ModelError, match="reader returned a int"):
        evaluate_rag(RAGPipeline(bm25, lambda q, p: 3), coll, qa)  # type: ignore[arg-type,return-value]
    with pytest.raises(ModelError, match=r"scorer returned 2\.0"):
        evaluate_rag(RAGPipeline(bm25, _oracle_reader, scorer=lambda a, g: 2.0), coll, qa)
    with pytest.raises(ConfigError, match="text perturbation"):
        evaluate_rag(RAGPipeline(bm25, _oracle_reader), coll, qa, documents=3)


def test_the_rag_probe_records_one_row_per_question(bm25):
    from robustlab.metrics import METRICS
    from robustlab.probes import make_probe

    probe = make_probe("rag documents=typo_swap rate=1.0 k=5")
    coll, qa = _small_qa()
    model = SimpleNamespace(ranker=bm25, reader=_oracle_reader)
    data = type("D", (), {"collection": coll, "qa": qa, "__len__": lambda self: 4})()
    batch = SimpleNamespace(ids=["a", "b"], indices=np.array([0, 1]), ranking=data)
    records = probe.run(model, batch, seed=3)  # type: ignore[arg-type]
    # questions 0, 1, 4, 5, 8, 9 of the ten fall in positions 0 and 1 of a four-query dataset
    assert list(records.example_id) == [qa.examples[i].id for i in (0, 1, 4, 5, 8, 9)]
    assert set(records.group[records.broken]) <= {"retriever"}
    rate = METRICS.get("rag_failure_rate")().compute(records).value
    assert rate == records.broken.mean()
    assert METRICS.get("rag_reader_failures")().compute(records).value == 0.0
    assert any(a["media_type"].endswith("rag+json") for a in records.artifacts)
    with pytest.raises(ConfigError, match="needs a perturbation"):
        make_probe("rag documents=none")


def test_the_report_section_attributes_rag_failures(bm25):
    from robustlab.probes import make_probe
    from robustlab.report.ranking_attacks import ranking_attack_section

    probe = make_probe("rag documents=typo_swap rate=1.0 k=5")
    coll, qa = _small_qa()
    data = type("D", (), {"collection": coll, "qa": qa, "__len__": lambda self: 1})()
    batch = SimpleNamespace(ids=["a"], indices=np.array([0]), ranking=data)
    records = probe.run(SimpleNamespace(ranker=bm25, reader=_oracle_reader), batch, seed=3)  # type: ignore[arg-type]
    arts = [{**a, "probe_key": probe.key} for a in records.artifacts]
    html = str(ranking_attack_section({"id": "r", "artifacts": arts, "metrics": []}))
    assert "RAG failures" in html and "gold rank" in html
    if records.broken.any():
        assert "failure: retriever" in html
