"""Benchmark: scan overhead on a local causal LM, and the tiny model's PDR per prompt family.

Times the ``clean`` probe of a scan of the tiny trained model (HFCausalLM) against calling the
model directly on the same prompts (generation + option log-probabilities, the same batches),
and prints the tiny model's PDR table across the ``llm-standard`` families next to PromptBench's
published ordering of attack levels (Zhu et al. 2023: character- and word-level attacks hurt
more than sentence-level ones), as a qualitative comparison only.

Run:  python benchmarks/llm_prompts.py [--n 80] [--out benchmarks/results/llm_prompts.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from robustlab import scan
from robustlab.llm.adapter import MC_DECODING
from robustlab.llm.data import lookup_dataset
from robustlab.llm.models import HFCausalLM
from robustlab.llm.tiny import tiny_model


def direct(lm: HFCausalLM, data, batch: int) -> float:
    """Seconds to answer every query directly: generate, then score the option labels."""
    queries = data.queries(range(len(data)))
    start = time.perf_counter()
    for i in range(0, len(queries), batch):
        prompts = [q.prompt() for q in queries[i : i + batch]]
        texts = [p.text for p in prompts]
        lm.generate(texts, MC_DECODING)
        lm.score_batch(texts, [p.continuations for p in prompts])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/llm_prompts.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    path = tiny_model()
    load_s = time.perf_counter() - start
    lm = HFCausalLM.from_directory(path, name="tiny-llama")
    data = lookup_dataset(args.n, seed=4321)
    times = {"direct": [], "scan": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):  # alternate, so both see the same background load
            times["direct"].append(direct(lm, data, 32))
            t = time.perf_counter()
            scan(lm, data, {"name": "clean", "probes": ["clean"]}, store=f"{tmp}/{r}.db",
                 progress=False, shard_size=args.n)  # fmt: skip
            times["scan"].append(time.perf_counter() - t)
        result = scan(lm, data, "llm-standard", store=f"{tmp}/std.db", progress=False)
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    # a scan also runs preflight's one pass over (up to 64 of) the examples
    pdr = [
        {"probe": m["label"], "pdr": m["value"], "ci": [m["ci_low"], m["ci_high"]]}
        for m in result.metrics
        if m["metric"] == "pdr"
    ]
    out = {
        "machine": f"{platform.machine()} {platform.processor()}, torch threads 1",
        "n": args.n,
        "tiny_model_load_or_train_s": load_s,
        "median_s": med,
        "overhead": med["scan"] / med["direct"],
        "pdr": sorted(pdr, key=lambda r: -r["pdr"]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
