"""Scale-out benchmark (issue 17): a corruption-heavy suite on the local backend, the process
backend (2 workers) and Ray (1 and 2 actors); Ray's per-unit overhead against the local backend;
peak RSS of reading an ``.npz`` batch by batch, memory-mapped vs in memory, as N grows.

    PYTHONPATH=src python benchmarks/scale.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CORRUPTIONS = [
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "contrast",
    "brightness",
]


def _suite(corruptions: list[str]) -> dict:
    probes = [
        {"probe": "perturbation", "perturbation": c, "severity": s}
        for c in corruptions
        for s in (1, 3, 5)
    ]
    return {"name": "scale-bench", "version": 1, "probes": probes, "metrics": ["accuracy"]}


def _timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def backends(quick: bool) -> dict:
    import ray

    import robustlab
    from robustlab.demo.digits import train_digits_cnn
    from robustlab.runner import RayBackend

    model = train_digits_cnn(epochs=2, seed=0)
    suite = _suite(CORRUPTIONS[:3] if quick else CORRUPTIONS)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:

        def scan(backend, name, **kw):
            return robustlab.scan(
                model,
                "digits",
                suite,
                store=f"sqlite:///{tmp}/{name}.db",
                shard_size=64,
                progress=False,
                backend=backend,
                **kw,
            )

        out["local_s"] = _timed(lambda: scan("local", "local"))
        out["process2_s"] = _timed(lambda: scan("process", "proc", workers=2))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            out["ray1_s"] = _timed(lambda: scan(RayBackend(workers=1), "ray1"))
            out["ray2_s"] = _timed(lambda: scan(RayBackend(workers=2), "ray2"))
            # per-unit overhead: many tiny units of a cheap probe
            tiny = {"name": "tiny", "probes": ["clean"], "metrics": ["accuracy"]}
            n_units = -(-539 // 8)

            def small(backend, name):
                return robustlab.scan(
                    model,
                    "digits",
                    tiny,
                    store=f"sqlite:///{tmp}/{name}.db",
                    shard_size=8,
                    progress=False,
                    backend=backend,
                )

            local = _timed(lambda: small("local", "tl"))
            on_ray = _timed(lambda: small(RayBackend(workers=1), "tr"))
            out["units"] = int(suite["probes"].__len__() * -(-539 // 64))
            out["tiny_units"] = n_units
            out["ray_overhead_ms_per_unit"] = 1000 * (on_ray - local) / n_units
        finally:
            ray.shutdown()
    out["speedup_process2"] = out["local_s"] / out["process2_s"]
    out["speedup_ray2_vs_ray1"] = out["ray1_s"] / out["ray2_s"]
    return out


_RSS = """
import resource, sys
import numpy as np
sys.path.insert(0, {src!r})
from robustlab.data import load_npz
from robustlab.data.streaming import load_npz_mmap
ds = (load_npz_mmap if {mmap} else load_npz)({path!r})
total = 0.0
for lo in range(0, len(ds), 256):
    total += float(ds.batch(np.arange(lo, min(lo + 256, len(ds)))).inputs.sum())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def rss(sizes: list[int]) -> dict:
    src = str(Path(__file__).resolve().parents[1] / "src")
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = f"{tmp}/d{n}.npz"
            rng = np.random.default_rng(0)
            x = np.lib.format.open_memmap(f"{tmp}/x.npy", "w+", np.uint8, (n, 3, 32, 32))
            for lo in range(0, n, 10_000):
                hi = min(lo + 10_000, n)
                x[lo:hi] = rng.integers(0, 255, (hi - lo, 3, 32, 32), dtype=np.uint8)
            np.savez(path, x=x, y=np.arange(n) % 10)
            del x
            for mmap in (True, False):
                if not mmap and n > 10_000:
                    continue  # in memory: 12 GB of float32 at 1M; 1.2 GB at 100k is enough shown
                code = _RSS.format(src=src, mmap=mmap, path=path)
                mb = float(subprocess.check_output([sys.executable, "-c", code]).strip())
                out[f"{'mmap' if mmap else 'memory'}_{n}_MB"] = round(mb, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = {"rss": rss([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])}
    result["backends"] = backends(args.quick)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
