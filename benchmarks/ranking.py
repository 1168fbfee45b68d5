"""Benchmark: RobustLab's ranking path against bm25s + ir-measures called directly, document attacks
against a random-substitution baseline at equal budget, BM25 / dense effectiveness, RAG.

(a) Scan throughput, query-document pairs scored per second: ``robustlab.scan`` of a
``BM25Ranker`` on the bundled stdlib collection with the ``clean`` probe (every query scores every
document; records, metrics and the store included) against bm25s's own ``get_scores`` per query
plus per-query ``ir_measures.iter_calc`` (nDCG@10, RR, R@100, AP@1000, P@10) on the same run, the same
BM25 variant (Lucene, k1 = 1.2, b = 0.75, Snowball English, bm25s stop words). Both indexes are
built before timing; medians of ``--repeats`` alternating runs. The two nDCG@10 must agree.

(b) Document attacks on BM25 (and the dense ranker with ``--attack-rankers bm25 dense``): each attack in both
directions on the first ``--attack-queries`` keyword queries, ``--budget`` ranker queries per
document; ``word_substitution`` against ``random_substitution`` (the same MiniLM candidate words,
the same number of words changed, no importance or greedy choice) at the same budget, with the
trigger and typo attacks beside.

(c) nDCG@10 of BM25 and of the MiniLM bi-encoder on the bundled collection, keyword and question
queries, per-query values from ir-measures with a 95% percentile-bootstrap interval over queries.

(d) RAG: BM25 top 3 + the MiniLM extractive reader on the 37 bundled questions, clean and under
typos in the gold passages / in the questions, with the failures attributed.

Run:  python benchmarks/ranking.py [--repeats 3] [--attack-queries 20] [--budget 50]
          [--attack-rankers bm25 dense] [--json benchmarks/results/ranking.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

#: The measures the ranking task records per query (``robustlab.tasks.ranking.IR_MEASURES``).
MEASURES = ("nDCG@10", "RR", "R@100", "AP@1000", "P@10")


def _direct(texts: list[str], ids: list[str], queries: dict[str, str], qrels: Any) -> tuple:
    """bm25s + ir-measures with nothing of RobustLab: index (untimed), then timed scoring of
    every document for every query, the top 1,000 of each as the run, and the per-query
    measures of the run (``ir_measures.iter_calc``, as the scan records them) with their means."""
    import bm25s
    import ir_measures
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index(
        bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    vocab = retriever.vocab_dict
    measures = [ir_measures.parse_measure(m) for m in MEASURES]

    def run() -> tuple[float, dict[str, float]]:
        start = time.perf_counter()
        trec: dict[str, dict[str, float]] = {}
        for qid, text in queries.items():
            toks = bm25s.tokenize(
                [text], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
            )[0]
            scores = retriever.get_scores([t for t in toks if t in vocab])
            top = np.argsort(-scores, kind="stable")[:1000]
            trec[qid] = {ids[j]: float(scores[j]) for j in top}
        # per-query values, as the scan records them, then their means
        per: dict[str, list[float]] = {str(m): [] for m in measures}
        for metric in ir_measures.iter_calc(measures, qrels, trec):
            per[str(metric.measure)].append(float(metric.value))
        agg = {m: float(np.mean(v)) for m, v in per.items()}
        return time.perf_counter() - start, agg

    return run


def _ours(ranker: Any, data: Any, store: Any) -> Any:
    """``robustlab.scan`` with the clean probe into an open store (created once, untimed: the
    migrations of a new store are a one-off cost, not throughput)."""
    import robustlab

    suite = {"name": "bench-ranking", "version": 1, "probes": ["clean"]}

    def run() -> tuple[float, float]:
        start = time.perf_counter()
        res = robustlab.scan(ranker, data, suite, progress=False, store=store, resume=False)
        seconds = time.perf_counter() - start
        ndcg = [m["value"] for m in res.metrics if m["metric"] == "ndcg"]
        return seconds, float(ndcg[0]) if ndcg else float("nan")

    return run


def _scoring_only(ranker: Any, coll: Any, queries: list[str]) -> float:
    """Seconds RobustLab's RankerModel (the scan's forward pass) takes to score every document
    for every query."""
    from robustlab.ranking.model import RankerModel

    model = RankerModel(ranker, coll)
    start = time.perf_counter()
    model.scores_for(queries)
    return time.perf_counter() - start


def throughput(repeats: int) -> dict[str, Any]:
    from robustlab.ranking.data import RankingDataset, bundled_collection, bundled_queries
    from robustlab.ranking.rankers import BM25Ranker

    coll = bundled_collection("stdlib")
    qs = bundled_queries("stdlib", "keyword")
    ids, texts = list(coll.docs), list(coll.docs.values())
    qrels = {q: {d: int(g) for d, g in qs.qrels[q].items()} for q in qs.queries}
    direct = _direct(texts, ids, dict(qs.queries), qrels)
    ranker = BM25Ranker()
    ranker.index(coll)
    from robustlab.store import Store

    tmp = tempfile.mkdtemp()
    store = Store(f"{tmp}/bench.db")
    ours = _ours(ranker, RankingDataset(coll, qs), store)
    direct(), ours()  # warm-up: imports, caches
    d_times, o_times = [], []
    for _ in range(repeats):
        t, agg = direct()
        d_times.append(t)
        t, ndcg = ours()
        o_times.append(t)
    pairs = len(qs.queries) * len(ids)
    d, o = statistics.median(d_times), statistics.median(o_times)
    scoring = statistics.median(
        _scoring_only(ranker, coll, list(qs.queries.values())) for _ in range(repeats)
    )
    return {
        "queries": len(qs.queries),
        "documents": len(ids),
        "pairs": pairs,
        "direct_s": d,
        "ours_s": o,
        "direct_pairs_per_s": pairs / d,
        "ours_pairs_per_s": pairs / o,
        "overhead": o / d,
        "ours_scoring_only_s": scoring,
        "ours_scoring_pairs_per_s": pairs / scoring,
        "direct_ndcg10": agg["nDCG@10"],
        "ours_ndcg10": ndcg,
        "direct_measures": agg,
        "direct_times_s": d_times,
        "ours_times_s": o_times,
    }


def attacks(n_queries: int, budget: int, names: list[str]) -> list[dict[str, Any]]:
    from robustlab.ranking import QuerySet
    from robustlab.ranking.attacks import attack_documents
    from robustlab.ranking.data import bundled_collection, bundled_queries
    from robustlab.ranking.rankers import BM25Ranker, DenseRanker

    coll = bundled_collection("stdlib")
    full = bundled_queries("stdlib", "keyword")
    ids = list(full.queries)[:n_queries]
    qs = QuerySet(
        full.name, {q: full.queries[q] for q in ids}, {q: full.qrels[q] for q in ids}, coll.name
    )
    built = {"bm25": BM25Ranker, "dense": DenseRanker}
    rankers: list[tuple[str, Any]] = [(n, built[n]()) for n in names]
    out = []
    for rname, ranker in rankers:
        for attack, params in (
            ("word_substitution", {}),
            ("random_substitution", {}),
            ("random_substitution", {"max_words_perturbed": 0.02}),
            ("trigger_insertion", {}),
            ("genetic_typo_document", {}),
        ):
            label = attack + (" 2%" if params else "")
            start = time.perf_counter()
            res = attack_documents(ranker, coll, qs, attack, budget=budget, seed=0, **params)
            for direction in ("demote", "promote"):
                s = res.summary(direction)
                out.append(
                    {
                        "ranker": rname,
                        "attack": label,
                        "direction": direction,
                        "seconds": time.perf_counter() - start,
                        **s,
                    }
                )
            print(f"  {rname} {label}: {time.perf_counter() - start:.0f} s", flush=True)
    return out


def effectiveness() -> list[dict[str, Any]]:
    import ir_measures

    from robustlab.metrics.base import bootstrap_ci
    from robustlab.ranking.data import bundled_collection, bundled_queries
    from robustlab.ranking.rankers import BM25Ranker, DenseRanker

    coll = bundled_collection("stdlib")
    out = []
    for rname, ranker in (("bm25", BM25Ranker()), ("dense", DenseRanker())):
        ranker.index(coll)
        for style in ("keyword", "question"):
            qs = bundled_queries("stdlib", style)
            run = {q: dict(ranker.retrieve(t, 100)) for q, t in qs.queries.items()}
            qrels = {q: {d: int(g) for d, g in qs.qrels[q].items()} for q in qs.queries}
            per = {
                m.query_id: float(m.value)
                for m in ir_measures.iter_calc([ir_measures.nDCG @ 10], qrels, run)
            }
            values = np.array([per.get(q, 0.0) for q in qs.queries])
            low, high = bootstrap_ci(values, seed=0)
            out.append(
                {
                    "ranker": rname,
                    "queries": style,
                    "n": len(values),
                    "ndcg10": float(values.mean()),
                    "low": low,
                    "high": high,
                }
            )
    return out


def rag() -> list[dict[str, Any]]:
    from robustlab.ranking.data import bundled_collection
    from robustlab.ranking.rag import MiniLMReader, RAGPipeline, bundled_qa, evaluate_rag
    from robustlab.ranking.rankers import BM25Ranker

    coll = bundled_collection("stdlib")
    pipe = RAGPipeline(BM25Ranker(), MiniLMReader(), k=3)
    out = []
    for label, cond in (
        ("gold passages: typo_swap 0.3", {"documents": {"name": "typo_swap", "rate": 0.3}}),
        ("gold passages: typo_swap 1.0", {"documents": {"name": "typo_swap", "rate": 1.0}}),
        ("questions: typo_keyboard 0.3", {"query": {"name": "typo_keyboard", "rate": 0.3}}),
    ):
        s = evaluate_rag(pipe, coll, bundled_qa(), seed=0, **cond).summary()  # type: ignore[arg-type]
        out.append({"condition": label, **{k: v for k, v in s.items() if k != "condition"}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--attack-queries", type=int, default=20)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--attack-rankers", nargs="+", default=["bm25"], choices=["bm25", "dense"])
    ap.add_argument(
        "--skip", nargs="*", default=[], choices=["throughput", "attacks", "ndcg", "rag"]
    )
    ap.add_argument("--json", default="benchmarks/results/ranking.json")
    args = ap.parse_args()
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        },
        "args": vars(args),
    }
    if "throughput" not in args.skip:
        t = result["throughput"] = throughput(args.repeats)
        print("\n(a) Scan throughput, BM25 on the bundled stdlib collection")
        print(f"{'path':<34}{'seconds':>9}{'pairs/s':>12}{'nDCG@10':>9}")
        print(
            f"{'bm25s + ir-measures (direct)':<34}{t['direct_s']:>9.2f}{t['direct_pairs_per_s']:>12,.0f}{t['direct_ndcg10']:>9.4f}"
        )
        print(
            f"{'robustlab.scan (clean probe)':<34}{t['ours_s']:>9.2f}{t['ours_pairs_per_s']:>12,.0f}{t['ours_ndcg10']:>9.4f}"
        )
        print(
            f"{'RankerModel scoring only':<34}{t['ours_scoring_only_s']:>9.2f}"
            f"{t['ours_scoring_pairs_per_s']:>12,.0f}"
        )
        print(
            f"overhead {t['overhead']:.2f}x ({t['queries']} queries x {t['documents']} documents)"
        )
    if "attacks" not in args.skip:
        print("\n(b) Document attacks", flush=True)
        rows = result["attacks"] = attacks(args.attack_queries, args.budget, args.attack_rankers)
        print(
            f"{'ranker':<7}{'attack':<26}{'dir':<9}{'n':>4}{'success':>9}{'rank chg':>10}"
            f"{'q/succ':>8}{'queries':>9}{'sim':>7}{'words':>7}"
        )
        for r in rows:

            def f(v: Any, fmt: str) -> str:
                return "-" if v is None else format(v, fmt)

            print(
                f"{r['ranker']:<7}{r['attack']:<26}{r['direction']:<9}{r['n']:>4}"
                f"{f(r['success_rate'], '.2f'):>9}{f(r['mean_rank_change'], '+.1f'):>10}"
                f"{f(r['queries_per_success'], '.1f'):>8}{f(r['mean_queries'], '.1f'):>9}"
                f"{f(r['similarity'], '.3f'):>7}{f(r['words_perturbed'], '.3f'):>7}"
            )
    if "ndcg" not in args.skip:
        rows = result["effectiveness"] = effectiveness()
        print("\n(c) nDCG@10 on the bundled stdlib collection (95% bootstrap interval)")
        for r in rows:
            print(
                f"{r['ranker']:<7}{r['queries']:<10}{r['n']:>4}  {r['ndcg10']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
            )
    if "rag" not in args.skip:
        rows = result["rag"] = rag()
        print("\n(d) RAG: BM25 top 3 + MiniLM extractive reader, 37 questions (F1)")
        for r in rows:
            print(
                f"{r['condition']:<32} F1 {r['clean_score']:.3f} -> {r['perturbed_score']:.3f}  "
                f"recall@3 {r['clean_recall_at_k']:.2f} -> {r['perturbed_recall_at_k']:.2f}  "
                f"failures {r['failures']} (retriever {r['failures_by']['retriever']}, "
                f"reader {r['failures_by']['reader']})"
            )
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=float))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
