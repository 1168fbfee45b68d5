"""Ranking probes end to end: scan a Ranker on the bundled collection -> store -> report."""

from __future__ import annotations

import numpy as np
import pytest

import robustlab
from robustlab.errors import ConfigError
from robustlab.probes.ranking import RankingQueryPerturbation, penha_class
from robustlab.ranking.data import bundled_dataset
from robustlab.store import open_store

pytest.importorskip("bm25s")
pytest.importorskip("ir_measures")

SUITE = {
    "name": "ranking-test",
    "probes": [
        "clean",
        "ranking_variance",
        {"probe": "ranking_ood", "grid": {"companion": ["ood-queries", "ood-documents"]}},
        {
            "probe": "ranking_query_perturbation",
            "grid": {"perturbation": ["typo_keyboard", "casing", "word_order"], "rate": [0.3]},
        },
    ],
}


@pytest.fixture(scope="module")
def bm25_run(tmp_path_factory):
    from robustlab.ranking.rankers import BM25Ranker

    path = tmp_path_factory.mktemp("ranking") / "store.db"
    res = robustlab.scan(BM25Ranker(), bundled_dataset(), SUITE, store=str(path), progress=False)
    return res, open_store(str(path))


def _value(res, probe: str, metric: str) -> float:
    return next(
        m["value"] for m in res.metrics if m["probe_key"] == probe and m["metric"] == metric
    )


def test_scan_of_a_ranker_stores_every_task(bm25_run):
    res, db = bm25_run
    clean = _value(res, "clean", "ndcg")
    assert clean > 0.5 and _value(res, "ranking_variance", "ndcg") == clean
    assert _value(res, "ranking_variance", "ndcg_subset_spread") > 0
    questions = _value(res, "ranking_ood(companion=ood-queries)", "ndcg")
    assert questions < clean  # BM25 loses on natural-language questions
    numpy_docs = db.load_records(res.run_id, "ranking_ood(companion=ood-documents)")
    assert len(numpy_docs) == 30 and all(
        i.startswith("ood-documents:") for i in numpy_docs.example_id
    )
    typo = "ranking_query_perturbation(perturbation=typo_keyboard,rate=0.3)"
    assert _value(res, typo, "ndcg") < clean and _value(res, typo, "ndcg_change") < 0
    recs = db.load_records(res.run_id, typo)
    assert (recs.perturbation > 0).all() and np.isfinite(recs.kendall_tau).all()
    card = {row["axis"]: row for row in res.scorecard}
    assert card["clean"]["value"] == pytest.approx(clean) and "ranking" in card


def test_casing_is_a_no_op_for_lower_casing_bm25(bm25_run):
    """Invariant: BM25 lower-cases, so recased queries rank exactly as the clean ones."""
    res, db = bm25_run
    key = "ranking_query_perturbation(perturbation=casing,rate=0.3)"
    recs = db.load_records(res.run_id, key)
    assert (recs.perturbation > 0).any()
    assert np.allclose(recs.value, 0.0) and np.allclose(recs.kendall_tau, 1.0)
    assert np.allclose(recs.rbo, 1.0) and not recs.broken.any()


def test_word_order_is_a_no_op_for_a_bag_of_words_ranker(bm25_run):
    res, db = bm25_run
    recs = db.load_records(
        res.run_id, "ranking_query_perturbation(perturbation=word_order,rate=0.3)"
    )
    # the same bag of words; only float32 summation order can flip near-ties
    assert np.abs(recs.value).mean() < 0.01 and recs.rbo.mean() > 0.95


def test_report_has_the_ranking_section(bm25_run, tmp_path):
    res, _ = bm25_run
    html = res.to_html(tmp_path / "report.html").read_text()
    assert "Ranking robustness" in html and "leaderboard" in html
    assert "3a query variations" in html and "misspelling" in html


def test_query_perturbation_probe_validates_its_parameters():
    assert penha_class("typo_swap") == "misspelling" and penha_class("synonym") == "paraphrase"
    with pytest.raises(ConfigError, match="rate"):
        RankingQueryPerturbation("typo_swap", 0.0)
    with pytest.raises(ConfigError):
        RankingQueryPerturbation("gaussian_noise", 0.2)


def test_cli_demo_offers_the_ranking_demo():
    from click.testing import CliRunner

    from robustlab.cli import cli

    out = CliRunner().invoke(cli, ["demo", "--help"])
    assert "--ranking" in out.output


@pytest.mark.slow
def test_dense_ranker_beats_a_floor_and_reads_the_shipped_embeddings():
    from robustlab.ranking.rankers import DenseRanker

    res = robustlab.scan(
        DenseRanker(),
        bundled_dataset(companions=False),
        {"name": "c", "probes": ["clean"]},
        store=None,
        progress=False,
    )
    assert _value(res, "clean", "ndcg") > 0.5  # measured 0.680
