"""The LLM demo: the tiny trained causal LM (trained once, cached in the user cache directory)
and two rule-based reference answerers scanned with ``llm-standard`` on fact-lookup questions;
the report's LLM section shows formats, paraphrases, option order and position bias."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

__all__ = ["DEMO_N", "reference_models", "run_llm_demo"]

#: Questions in the demo's test set.
DEMO_N = 80


def _always_first(prompts: list[str]) -> list[str]:
    """Answers the first option's label, whatever the question."""
    out = []
    for p in prompts:
        block = p.split("\n\n")[-1]
        m = re.search(r"^\(?([A-Za-z0-9]{1,4})[\)\.]", block.split("\n", 1)[-1].strip())
        out.append(" " + (m.group(1) if m else "A"))
    return out


def _rule_reader(prompts: list[str]) -> list[str]:
    """Reads the options line by line (one option per line, "X) word") and answers the label of
    the first fruit it knows; breaks where the format puts the options on one line."""
    from robustlab.llm.tiny import CATEGORIES

    out = []
    for p in prompts:
        block = p.split("\n\n")[-1]
        answer = ""
        for line in block.splitlines():
            m = re.match(r"^\(?([A-Za-z0-9]{1,4})[\)\.]\s+(\w+)$", line.strip())
            if m and m.group(2) in CATEGORIES["fruit"]:
                answer = m.group(1)
                break
        out.append(" " + answer)
    return out


def reference_models() -> list[Any]:
    """Two rule-based answerers (FunctionLLM) that rank differently across formats."""
    from robustlab.llm.models import FunctionLLM

    return [
        FunctionLLM(_rule_reader, name="rule-reader", version="1"),
        FunctionLLM(_always_first, name="always-first", version="1"),
    ]


def run_llm_demo(
    *,
    store: Any = None,
    out: str | Path = "robustlab-report",
    suite: str = "llm-standard",
    seed: int = 0,
    progress: bool = True,
    n: int = DEMO_N,
    cache_dir: str | Path | None = None,
) -> tuple[list[Any], Path, Path]:
    """Train (or load) the tiny model, scan it and the reference answerers, write the report."""
    from robustlab.llm.cache import CachedLLM
    from robustlab.llm.data import lookup_dataset
    from robustlab.llm.metrics import rank_stability
    from robustlab.llm.models import HFCausalLM
    from robustlab.llm.tiny import tiny_model
    from robustlab.report import write_report
    from robustlab.runner import scan
    from robustlab.store import open_store

    start = time.perf_counter()
    path = tiny_model(cache_dir=cache_dir)
    trained = time.perf_counter() - start
    db = open_store(store)
    data = lookup_dataset(n, seed=1234 + seed)
    # the tiny model's generations and scores are cached in the store: a re-run pays nothing
    tiny = CachedLLM(HFCausalLM.from_directory(path, name="tiny-llama"), db)
    models = [tiny, *reference_models()]
    results = [scan(m, data, suite, store=db, seed=seed, progress=progress) for m in models]
    html, js = write_report(db, [r.run_id for r in results], out)
    formats = {m.name: _format_records(db, r.run_id) for m, r in zip(models, results)}
    formats = {k: v for k, v in formats.items() if v is not None}
    tau = rank_stability(formats, seed=seed) if len(formats) >= 3 else None
    for r in results:  # what the CLI prints: the ranks' stability across formats, training time
        r.rank_stability = tau  # type: ignore[attr-defined]
        r.tiny_model_seconds = trained  # type: ignore[attr-defined]
    return results, html, js


def _format_records(db: Any, run_id: str) -> Any:
    """The records of the run's format probe (or None)."""
    for key in dict.fromkeys(u["probe_key"] for u in db.units(run_id)):
        if key.startswith("llm_prompts(family=format"):
            return db.load_records(run_id, key)
    return None
