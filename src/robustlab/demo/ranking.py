"""The ranking demo: BM25 and the MiniLM bi-encoder on the bundled stdlib docstring collection,
scanned with ``ranking-standard`` (Wu et al.'s robustness tasks, Penha et al.'s query variations),
and the report with its ranking section and the rankers' leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["run_ranking_demo"]


def run_ranking_demo(
    *,
    store: Any = None,
    out: str | Path = "robustlab-report",
    suite: str = "ranking-standard",
    seed: int = 0,
    progress: bool = True,
    dense: bool = True,
) -> tuple[list[Any], Path, Path]:
    """Scan BM25 (and, with ``dense``, the MiniLM ranker) on the bundled collection; write the
    report. The bundled collections' MiniLM embeddings ship with the package, so only the queries
    are encoded."""
    from robustlab.ranking.data import bundled_dataset
    from robustlab.ranking.rankers import BM25Ranker, DenseRanker
    from robustlab.report import write_report
    from robustlab.runner import scan
    from robustlab.store import open_store

    db = open_store(store)
    data = bundled_dataset("keyword")
    rankers: list[Any] = [BM25Ranker()]
    if dense:
        rankers.append(DenseRanker())
    results = [
        scan(r, data, suite, store=db, seed=seed, progress=progress, shard_size=128)
        for r in rankers
    ]
    html, js = write_report(db, [r.run_id for r in results], out)
    return results, html, js
