"""LLM generation overheads: the generation cache and the OpenAI-compatible endpoint against
calling the local model directly, the cache hit rate of a resumed run, and the code sandbox.

    python benchmarks/llm.py --prompts 400 --repeats 3

Model: the tests' trained 2-layer GPT-2 adder (``tests/_llm_real.py``, trained once and kept on
disk). Every path gets the same prompts, greedy, in chunks of 32; each time is the best of
``--repeats``. Writes benchmarks/results/llm.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--code-problems", type=int, default=24)
    ap.add_argument("--scan-items", type=int, default=200)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from _llm_real import Adder, addition_prompts
    from robustlab.llm.base import Completion, Decoding
    from robustlab.llm.cache import CachedLLM
    from robustlab.llm.code import PROBLEMS, evaluate_code
    from robustlab.llm.openai import OpenAIEndpoint
    from robustlab.llm.server import serve
    from robustlab.store import Store

    model = Adder()
    decoding = Decoding(max_new_tokens=3, stop=(";",))
    # distinct prompts: the two-digit sums with a varying prefix, so no two are the same
    base = [p for p, _ in addition_prompts(args.prompts, seed=0)]
    prompts = [f"{i % 7}{p}" if i >= 100 else p for i, p in enumerate(base)]
    prompts = list(dict.fromkeys(prompts))
    n = len(prompts)
    chunk = 32

    def direct() -> None:
        for s in range(0, n, chunk):
            model.generate(prompts[s : s + chunk], decoding)

    out: dict[str, object] = {
        "prompts": n,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
    }
    t_direct = best(direct, args.repeats)
    out["direct_s"] = t_direct

    with tempfile.TemporaryDirectory() as folder:
        misses = []
        for r in range(args.repeats):  # a fresh store each time: every prompt a miss
            store = Store(f"sqlite:///{folder}/miss{r}.db")
            cached = CachedLLM(model, store, chunk_size=chunk)
            t = time.perf_counter()
            cached.generate(prompts, decoding)
            misses.append(time.perf_counter() - t)
            store.engine.dispose()
        t_miss = min(misses)
        store = Store(f"sqlite:///{folder}/miss0.db")
        calls = model.calls
        hits = CachedLLM(model, store, chunk_size=chunk)
        t_hit = best(lambda: hits.generate(prompts, decoding), args.repeats)
        assert model.calls == calls, "a cache hit called the model"
        out.update(
            cache_miss_s=t_miss,
            cache_miss_overhead=t_miss / t_direct,
            cache_hit_s=t_hit,
            cache_hit_vs_direct=t_hit / t_direct,
            cache_hit_us_per_prompt=1e6 * t_hit / n,
        )

        # a resumed run: the first run stopped after 60% of the prompts
        resumed_store = Store(f"sqlite:///{folder}/resume.db")
        cut = int(0.6 * n)
        CachedLLM(model, resumed_store, chunk_size=chunk).generate(prompts[:cut], decoding)
        seen = model.prompts_seen
        resumed = CachedLLM(model, resumed_store, chunk_size=chunk)
        resumed.generate(prompts, decoding)
        out.update(
            resume_hit_rate=resumed.stats.hit_rate,
            resume_prompts_generated=model.prompts_seen - seen,
            resume_expected_generated=n - cut,
        )

    with serve(model) as server:
        ep = OpenAIEndpoint(server.url, "adder", batch_size=chunk, concurrency=1)
        t_ep = best(lambda: ep.generate(prompts, decoding), args.repeats)
        out.update(endpoint_s=t_ep, endpoint_overhead=t_ep / t_direct)

    from robustlab.llm.base import LanguageModel

    items = list(PROBLEMS[: args.code_problems])

    class Reference(LanguageModel):
        name = "reference"

        def fingerprint(self) -> str:
            return "reference"

        def generate(self, ps, dec):
            out = []
            for p in ps:
                body = next(x.solution for x in items if f"def {x.entry_point}(" in p)
                out.append([Completion(body)])
            return out

    t = time.perf_counter()
    ev = evaluate_code(Reference(), items, workers=2)
    t_code = time.perf_counter() - t
    out.update(
        code_runs=len(ev.samples),
        code_s=t_code,
        code_runs_per_s=len(ev.samples) / t_code,
        code_reasons=ev.reasons(),
        code_robust_pass_at_1=ev.robust_pass_at(1)["value"],
    )

    out.update(scan_benchmark(args.scan_items, args.repeats))

    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "llm.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


def scan_benchmark(n_items: int, repeats: int) -> dict[str, object]:
    """A ``clean`` scan of multiple-choice addition questions (LLMModel on HFCausalLM over the
    adder's directory) against the adapter's own calls made directly (generate + score_batch
    on the same prompts, chunks of 32); then the same scan through CachedLLM, cold and warm."""
    import random

    import robustlab
    from _llm_real import addition_prompts, model_dir
    from robustlab.llm.adapter import MC_DECODING, LLMModel
    from robustlab.llm.cache import CachedLLM
    from robustlab.llm.data import MCDataset
    from robustlab.llm.models import HFCausalLM
    from robustlab.store import Store

    rng = random.Random(0)
    items = []
    for p, a in addition_prompts(n_items, seed=5):
        v = int(a)
        opts = list(dict.fromkeys([a, str(v + 1), str(v + 2), str(v + 3)]))
        rng.shuffle(opts)
        items.append({"question": p, "options": opts, "answer": opts.index(a)})
    data = MCDataset(items, name=f"adder-mc-{n_items}")
    llm = HFCausalLM.from_directory(model_dir())
    prompts = [q.prompt() for q in data.queries(range(len(data)))]
    texts, conts = [p.text for p in prompts], [p.continuations for p in prompts]

    def direct() -> None:
        for s in range(0, len(texts), 32):
            llm.generate(texts[s : s + 32], MC_DECODING)
            llm.score_batch(texts[s : s + 32], conts[s : s + 32])

    t_direct = best(direct, repeats)
    suite = {"name": "bench", "version": 1, "probes": ["clean"]}
    out: dict[str, object] = {"scan_items": len(data), "scan_direct_s": t_direct}
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/scan.db")
        plain = []
        for r in range(repeats):  # a new seed is a new run: nothing is resumed
            t = time.perf_counter()
            robustlab.scan(LLMModel(llm), data, suite, store=store, progress=False, seed=10 + r)
            plain.append(time.perf_counter() - t)
        cold = CachedLLM(llm, store)
        t = time.perf_counter()
        robustlab.scan(LLMModel(cold), data, suite, store=store, progress=False, seed=100)
        t_cold = time.perf_counter() - t
        warm = CachedLLM(llm, store)
        t = time.perf_counter()
        robustlab.scan(LLMModel(warm), data, suite, store=store, progress=False, seed=101)
        t_warm = time.perf_counter() - t
    out.update(
        scan_s=min(plain),
        scan_overhead=min(plain) / t_direct,
        scan_cached_cold_s=t_cold,
        scan_cached_cold_overhead=t_cold / t_direct,
        scan_cached_cold_stats=cold.stats.as_dict(),
        scan_cached_warm_s=t_warm,
        scan_cached_warm_vs_direct=t_warm / t_direct,
        scan_cached_warm_stats=warm.stats.as_dict(),
    )
    return out


if __name__ == "__main__":
    main()
