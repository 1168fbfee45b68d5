"""Document attacks on rankers (issue 12, task 3b): budgets, directions, ranks, edits, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ranking_attack_helpers import Counting, TestBM25, stdlib_collection, stdlib_queries
from robustlab.attacks import ATTACKS, EditBudget
from robustlab.errors import ConfigError, ModelError, UnknownNameError
from robustlab.ranking import Ranker
from robustlab.ranking.attacks import (
    DocumentAttack,
    attack_documents,
    build_document_attack,
    diff_edits,
    document_attacks,
    rank_of,
)

NAMES = ["genetic_typo_document", "random_substitution", "trigger_insertion", "word_substitution"]
BUDGET = 30
QUERIES = 5


@pytest.fixture(scope="module")
def bm25():
    ranker = TestBM25()
    ranker.index(stdlib_collection())
    return ranker


@pytest.fixture(scope="module")
def results(bm25):
    """Each attack, both directions, on the first queries, through a pair-counting wrapper."""
    out = {}
    for name in NAMES:
        counting = Counting(bm25)
        params = ATTACKS.get(name).quick_params
        res = attack_documents(
            counting, stdlib_collection(), stdlib_queries(), name, budget=BUDGET,
            max_queries=QUERIES, seed=1, **params,
        )  # fmt: skip
        out[name] = (res, counting)
    return out


def test_the_document_attacks_are_registered_as_ranking_attacks():
    assert sorted(document_attacks()) == NAMES
    for name in NAMES:
        cls = ATTACKS.get(name)
        assert issubclass(cls, DocumentAttack) and cls.modality == "ranking"
        assert cls.modalities() == ("ranking",)
    with pytest.raises(ConfigError, match="not a document attack"):
        build_document_attack("pgd")
    with pytest.raises(UnknownNameError, match="word_substitution"):
        build_document_attack("word_substitutoin")
    with pytest.raises(ConfigError, match="neighbours"):
        build_document_attack("word_substitution", neighbours=0)


@pytest.mark.parametrize("name", NAMES)
def test_queries_are_counted_exactly_and_never_exceed_the_budget(results, name):
    res, counting = results[name]
    assert len(res) == 2 * QUERIES  # one relevant document to demote, one to promote, per query
    assert (res.queries >= 1).all() and (res.queries <= BUDGET).all()
    queries = stdlib_queries().queries
    for qid in list(queries)[:QUERIES]:
        mine = [e for e in res.examples if e.query_id == qid]
        fresh = sum(e.adversarial != e.original for e in mine)  # the uncounted fresh check
        assert counting.pairs[queries[qid]] == res.depth + sum(e.queries for e in mine) + fresh


@pytest.mark.parametrize("name", NAMES)
def test_ranks_and_success_agree_with_a_fresh_scoring(results, bm25, name):
    res, _ = results[name]
    coll, qs = stdlib_collection(), stdlib_queries()
    for e in res.examples:
        ids = [d for d, _ in bm25.retrieve(e.query, res.depth)]
        scores = bm25.score(e.query, [coll.docs[d] for d in ids])
        j = ids.index(e.doc_id)
        others = np.delete(scores, j)
        assert e.rank_before == rank_of(scores[j], others)
        new = float(bm25.score(e.query, [e.adversarial])[0])
        assert e.score_after == pytest.approx(new)
        assert e.rank_after == rank_of(new, others)
        relevant = qs.qrels[e.query_id].get(e.doc_id, 0) > 0
        if e.direction == "demote":
            assert relevant and e.rank_before <= 10
            assert e.success == (e.rank_after > 10)
        else:
            assert not relevant and e.rank_before >= 20
            assert e.success == (e.rank_after <= 10)
        if e.adversarial == e.original:
            assert not e.edits and e.similarity == 1.0 and e.rank_after == e.rank_before
        else:
            assert e.edits and 0.0 <= e.similarity < 1.0


def test_trigger_insertion_promotes_irrelevant_documents_into_the_top_10(results):
    res, _ = results["trigger_insertion"]
    assert res.success_rate("promote") >= 0.8
    assert res.share_into_top() == res.success_rate("promote")
    assert res.mean_rank_change("promote") < -10
    for e in res.examples:
        if e.direction == "promote" and e.success:
            (edit,) = e.edits  # one inserted sentence
            assert edit.before == "" and e.adversarial[edit.start : edit.end] == edit.after
            sentence = edit.after + "."
            assert e.adversarial.replace(sentence, "").split() == e.original.split()


def test_typos_demote_relevant_documents_and_substitutions_only_replace_words(results):
    typo, _ = results["genetic_typo_document"]
    assert typo.success_rate("demote") >= 0.4 and typo.mean_rank_change("demote") > 5
    assert typo.share_out_of_top() == typo.success_rate("demote")
    subst, _ = results["word_substitution"]
    for e in subst.examples:
        assert len(e.adversarial.split()) == len(e.original.split())
        assert all(ed.before and ed.after and ed.before != ed.after for ed in e.edits)
        n = len(e.original.split())
        assert len(e.edits) <= max(1, int(0.1 * n))  # at least one word, at most a tenth
    summary = subst.to_dict()
    assert set(summary["by_direction"]) == {"demote", "promote"}
    assert "pushed_out_of_top10" in summary and "pushed_into_top10" in summary
    assert len(summary["examples"]) == len(subst)


def test_the_edit_budget_holds_for_every_adversarial_document(bm25):
    threat = EditBudget(max_words_changed=0.05)
    res = attack_documents(
        bm25, stdlib_collection(), stdlib_queries(), "genetic_typo_document", budget=20,
        max_queries=4, threat=threat, population=4,
    )  # fmt: skip
    assert all(threat.allows(e.original, e.adversarial) for e in res.examples)
    assert res.to_dict()["threat"] == threat.spec


def test_same_seed_same_documents(bm25):
    def run(seed):
        return attack_documents(
            bm25, stdlib_collection(), stdlib_queries(), "genetic_typo_document", budget=15,
            max_queries=3, seed=seed, similarity=False, population=4,
        ).examples  # fmt: skip

    a, b = run(4), run(4)
    assert [e.adversarial for e in a] == [e.adversarial for e in b]
    assert [e.queries for e in a] == [e.queries for e in b]


def test_diff_edits_marks_replacements_insertions_and_deletions():
    (rep,) = diff_edits("push item onto heap", "push iten onto heap")
    assert (rep.before, rep.after, rep.start, rep.end) == ("item", "iten", 5, 9)
    (ins,) = diff_edits("push item.", "Heap push. push item.")
    assert ins.before == "" and ins.after == "Heap push"
    (dele,) = diff_edits("push the item", "push item")
    assert dele.before == "the" and dele.after == "" and dele.start == dele.end


class _Broken(Ranker):
    """The BM25 ranker, but scoring attacked variants wrongly (``mode``)."""

    def __init__(self, inner: TestBM25, mode: str) -> None:
        super().__init__()
        self.inner, self.mode = inner, mode

    def index(self, collection):
        super().index(collection)
        self.inner.index(collection)

    def retrieve(self, query, k):
        got = self.inner.retrieve(query, k)
        return got[:-1] + got[:1] if self.mode == "duplicate" else got

    def score(self, query, docs):
        out = self.inner.score(query, docs)
        if len(docs) < 50:  # the candidate list (100 documents) is scored correctly
            if self.mode == "nan":
                out[0] = np.nan
            elif self.mode == "short":
                out = out[:-1]
        return out

    def fingerprint(self):
        return "broken"


@pytest.mark.parametrize(("mode", "message"), [("nan", "non-finite"), ("short", "scores for")])
def test_bad_scores_name_the_query_and_document(bm25, mode, message):
    ranker = _Broken(bm25, mode)
    args = (ranker, stdlib_collection(), stdlib_queries(), "trigger_insertion")
    with pytest.raises(ModelError, match=f"{message}.*query 'q1', document"):
        attack_documents(*args, budget=5, max_queries=1, fail_fast=True, similarity=False)
    res = attack_documents(*args, budget=5, max_queries=1, similarity=False)
    assert all(e.error and not e.success for e in res.examples)
    assert any("the ranker failed" in n for n in res.notes)


def test_bad_retrievals_and_parameters_are_refused(bm25):
    coll, qs = stdlib_collection(), stdlib_queries()
    with pytest.raises(ModelError, match="twice for query 'q1'"):
        attack_documents(_Broken(bm25, "duplicate"), coll, qs, budget=5, max_queries=1)
    with pytest.raises(ConfigError, match="direction"):
        attack_documents(bm25, coll, qs, direction="sideways")
    with pytest.raises(ConfigError, match="depth > k"):
        attack_documents(bm25, coll, qs, depth=10, k=10)
    with pytest.raises(ConfigError, match="budget"):
        attack_documents(bm25, coll, qs, budget=0)
    with pytest.raises(ConfigError, match="Ranker"):
        attack_documents(lambda q, d: [0.0] * len(d), coll, qs)  # type: ignore[arg-type]


# -- the probe --------------------------------------------------------------------------------


def test_the_probe_records_one_row_per_attacked_document(bm25):
    from types import SimpleNamespace

    from robustlab.metrics import METRICS
    from robustlab.probes import make_probe
    from robustlab.probes.ranking_attack import RANKING_ATTACK_MEDIA_TYPE

    probe = make_probe(
        "ranking_attack attack=trigger_insertion budget=12 depth=40 candidates=2 direction=both"
    )
    assert probe.options == (("candidates", 2),) and probe.axis == "document attacks"
    model = SimpleNamespace(ranker=bm25)
    data = SimpleNamespace(collection=stdlib_collection(), query_set=stdlib_queries())
    batch = SimpleNamespace(ids=["q1", "q2", "q3"], ranking=data)
    records = probe.run(model, batch, seed=0)  # type: ignore[arg-type]
    assert records.task == "ranking" and len(records) == 6
    assert list(records.group) == ["demote", "promote"] * 3
    assert (records.queries <= 12).all() and records.broken.dtype == bool
    promoted = records.group == "promote"
    assert records.broken[promoted].all() and (records.value[promoted] > 0).all()
    values = {m: METRICS.get(m)().compute(records).value for m in probe.metrics[:4]}
    assert values["pushed_into_top_k"] == 1.0
    assert values["document_attack_success"] == records.broken.mean()
    arts = [a for a in records.artifacts if a["media_type"] == RANKING_ATTACK_MEDIA_TYPE]
    assert 1 <= len(arts) <= 4 and '"edits"' in arts[0]["data"]
    with pytest.raises(ConfigError, match="no parameter 'bogus'"):
        make_probe("ranking_attack attack=word_substitution bogus=1")
    with pytest.raises(ConfigError, match="not a document attack"):
        make_probe("ranking_attack attack=pgd")


def test_the_report_section_highlights_the_edits_of_attacked_documents(bm25):
    from types import SimpleNamespace

    from robustlab.probes import make_probe
    from robustlab.report.ranking_attacks import ranking_attack_section

    probe = make_probe("ranking_attack attack=genetic_typo_document budget=20 population=4")
    model = SimpleNamespace(ranker=bm25)
    data = SimpleNamespace(collection=stdlib_collection(), query_set=stdlib_queries())
    records = probe.run(model, SimpleNamespace(ids=["q1", "q2"], ranking=data), seed=0)  # type: ignore[arg-type]
    arts = [{**a, "probe_key": probe.key} for a in records.artifacts]
    metrics = [{"probe_key": probe.key, "metric": "document_attack_success", "value": 0.5,
                "low": 0.1, "high": 0.9}]  # fmt: skip
    html = str(ranking_attack_section({"id": "r1", "artifacts": arts, "metrics": metrics}))
    assert 'id="run-r1-ranking-attacks"' in html and "Document attacks" in html
    assert "0.50 [0.10, 0.90]" in html and "rank 1 →" in html
    changed = [a for a in arts if '"edits": [{' in a["data"]]
    assert changed and html.count("<mark>") >= 1
    assert str(ranking_attack_section({"id": "r2", "artifacts": [], "metrics": []})) == ""
    bad = [{"probe_key": "p", "media_type": arts[0]["media_type"], "data": "{not json"}]
    assert str(ranking_attack_section({"id": "r3", "artifacts": bad, "metrics": []})) == ""


@pytest.mark.slow  # about 35 s on the shared 2-core machine (index, MiniLM reader, similarity)
def test_a_scan_stores_document_attacks_and_rag_failures_and_reports_them(tmp_path):
    import robustlab
    from robustlab.ranking import QuerySet
    from robustlab.ranking.data import RankingDataset, bundled_collection, bundled_queries
    from robustlab.ranking.rag import QASet, bundled_qa
    from robustlab.ranking.rankers import BM25Ranker
    from robustlab.result import ScanResult

    coll, full = bundled_collection("stdlib"), bundled_queries("stdlib", "keyword")
    ids = list(full.queries)[:4]
    qs = QuerySet(full.name, {q: full.queries[q] for q in ids}, {q: full.qrels[q] for q in ids},
                  full.collection)  # fmt: skip
    data = RankingDataset(coll, qs)
    data.qa = QASet("qa", bundled_qa().examples[:4], "stdlib")  # type: ignore[attr-defined]
    suite = {"name": "r2", "version": 1, "probes": [
        {"probe": "ranking_attack", "attack": "trigger_insertion", "budget": 8, "depth": 30},
        {"probe": "rag", "documents": "typo_swap", "rate": 1.0, "k": 3},
    ]}  # fmt: skip
    store = tmp_path / "s.db"
    res = robustlab.scan(BM25Ranker(), data, suite, progress=False, store=str(store))
    assert not res.failures
    rows = {(m["kind"], m["metric"]): m for m in res.metrics}
    success = rows[("ranking_attack", "pushed_into_top_k")]
    assert success["n"] == 4 and success["value"] >= 0.75 and success["ci_low"] <= success["value"]
    assert rows[("rag", "rag_failure_rate")]["n"] == 4
    html = ScanResult(robustlab.store.Store(str(store)), res.run_id).to_html(tmp_path / "r.html")
    text = html.read_text()
    assert "Document attacks" in text and "RAG failures" in text and "<mark>" in text
    assert text.count("ranking-attacks") >= 2  # the section and its entry in the run's sub-nav


def test_the_attack_probe_points_document_attacks_to_the_ranking_attack_probe():
    from robustlab.probes import make_probe

    with pytest.raises(ConfigError, match="use the 'ranking_attack' probe"):
        make_probe("attack attack=trigger_insertion")
