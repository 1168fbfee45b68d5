"""The offline text demo: the review classifiers trained, scanned with a text suite, reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["demo"]


def demo(
    *,
    store: Any = None,
    out: str | Path = "robustlab-text-report",
    suite: str = "text-quick",
    seed: int = 0,
    progress: bool = True,
    device: str = "cpu",
) -> tuple[list[Any], Path, Path]:
    """Train the MiniLM and TF-IDF review classifiers, scan both on the reviews' test split
    (sliced by topic, so every probe reports worst-group accuracy) and write the report.

    Needs ``pip install 'robustlab[text]'`` for the MiniLM encoder (offline). About a minute on
    a CPU with ``text-quick``.

    Args:
        store: Store URL or path (default ``./robustlab.db``) or an open Store.
        out: Report folder.
        suite: Suite name or YAML file (``text-quick``, ``text-standard``).
        seed: Seeds the scans.
        progress: Show progress bars.
        device: Where the MiniLM encoder runs (``cpu``, ``cuda``, ``auto``).

    Returns:
        The two ScanResults (MiniLM first), and the paths of the HTML report and the JSON export.
    """
    from robustlab.report import write_report
    from robustlab.runner import scan
    from robustlab.store import open_store
    from robustlab.text.models import minilm_model, tfidf_model
    from robustlab.text.reviews import load_reviews
    from robustlab.text.slices import by_meta

    db = open_store(store)
    train = load_reviews("train")
    test = by_meta(load_reviews("test"), "topic")
    results = [
        scan(model, test, suite, store=db, seed=seed, progress=progress)
        for model in (minilm_model(train, device=device), tfidf_model(train))
    ]
    html, js = write_report(db, [r.run_id for r in results], out)
    return results, html, js
