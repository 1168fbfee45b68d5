"""Benchmark: the same scan on the local backend and on the process backend with 1 and 2 workers.

The scan: the digits CNN on the first ``--n`` test digits (default: all 540) with a moderate
suite (clean, ten ImageNet-C corruptions at severity 3, PGD L-infinity 8/255 and L2 0.5 with 50
steps each), ``--shard-size`` examples per unit (default 60: 117 units). Each configuration runs ``--repeats`` times (default
3), configurations alternating run by run so that background load hits all alike; each run writes
a fresh SQLite store. Wall time (``time.perf_counter``), the CPU time of the scan's own process
(``resource.getrusage``: with workers, what storing and coordinating costs) and the sum of the
units' stored probe times are recorded; the table uses medians. The local
backend runs with 1 torch thread (as each worker does) and with one thread per CPU. Every run's
metrics are compared with the first local run's: the backends must agree exactly.

The process backend's fixed cost is estimated from one-unit scans: ``startup_s`` for this
process's first pool (with the default ``forkserver`` start, the server imports torch and
RobustLab once), ``warm_startup_s`` for a later one (workers fork from the server and only
rebuild the model and data).

Run:  python benchmarks/backends.py [--n 360] [--shard-size 30] [--repeats 3] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

# Before torch loads GNU OpenMP (see benchmarks/README.md, Corruptions): with libgomp's default
# spin-then-sleep policy, threads wait a scheduler tick whenever other processes keep the cores
# busy. Worker processes inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

SUITE: dict[str, Any] = {
    "name": "backends-benchmark",
    "version": 1,
    "probes": [
        "clean",
        *(
            {"probe": "corruption", "corruption": c, "severity": 3}
            for c in (
                "gaussian_noise",
                "shot_noise",
                "defocus_blur",
                "glass_blur",
                "zoom_blur",
                "fog",
                "contrast",
                "elastic_transform",
                "pixelate",
                "jpeg_compression",
            )
        ),
        {"probe": "attack", "attack": "pgd", "norm": "linf", "epsilon": 8 / 255, "steps": 50},
        {"probe": "attack", "attack": "pgd", "norm": "l2", "epsilon": 0.5, "steps": 50},
    ],
}


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def run_once(
    model: Any,
    data: Any,
    suite: Any,
    backend: str,
    workers: int | None,
    threads: int,
    shard_size: int,
    tmp: str,
) -> dict[str, Any]:
    import robustlab

    torch.set_num_threads(threads)
    store = f"sqlite:///{tempfile.mkdtemp(dir=tmp)}/store.db"
    wall, cpu = time.perf_counter(), _cpu_seconds()
    result = robustlab.scan(
        model,
        data,
        suite,
        store=store,
        shard_size=shard_size,
        progress=False,
        backend=backend,
        workers=workers,
        resume=False,
    )
    units = result.store.units(result.run_id)
    return {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": _cpu_seconds() - cpu,
        "unit_s": sum(u["seconds"] for u in units),
        "units": len(units),
        "metrics": result.metrics,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=540, help="test digits scanned (all: 540)")
    parser.add_argument("--shard-size", type=int, default=60, help="examples per unit")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per configuration")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="pool sizes")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "backends.json"))
    args = parser.parse_args()

    from robustlab.data import ArrayDataset, load_digits
    from robustlab.demo import train_digits_cnn

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    torch.set_num_threads(1)
    digits = load_digits("test")
    n = min(args.n, len(digits))
    data = ArrayDataset(digits.inputs[:n], digits.targets[:n], ids=digits.ids[:n], name=f"d{n}")
    model = train_digits_cnn(epochs=2, seed=0)
    configs: list[tuple[str, str, int | None, int]] = [("local, 1 thread", "local", None, 1)]
    if cpus > 1:
        configs.append((f"local, {cpus} threads", "local", None, cpus))
    configs += [(f"process, {w} worker{'s' * (w > 1)}", "process", w, 1) for w in args.workers]

    load_before = os.getloadavg()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        one_unit = {"name": "one", "version": 1, "probes": ["clean"]}
        small = ArrayDataset(data.inputs[:8], data.targets[:8], name="d8")
        local_one = run_once(model, small, one_unit, "local", None, 1, 8, tmp)["wall_s"]
        first = run_once(model, small, one_unit, "process", 1, 1, 8, tmp)["wall_s"]
        again = run_once(model, small, one_unit, "process", 1, 1, 8, tmp)["wall_s"]
        startup, warm_startup = first - local_one, again - local_one
        print(
            f"process backend start-up (one-unit scan, 1 worker): {startup:.1f}s for this "
            f"process's first pool, {warm_startup:.2f}s for later ones"
        )
        for rep in range(args.repeats):
            for label, backend, workers, threads in configs:
                row = run_once(model, data, SUITE, backend, workers, threads, args.shard_size, tmp)
                metrics = row.pop("metrics")
                reference = reference or metrics
                row |= {"config": label, "repeat": rep, "identical": metrics == reference}
                rows.append(row)
                print(
                    f"  {label:<22} repeat {rep}: wall {row['wall_s']:6.1f}s "
                    f"scan-process cpu {row['cpu_s']:6.1f}s units {row['unit_s']:6.1f}s "
                    f"({row['units']}) "
                    f"{'identical' if row['identical'] else 'DIFFERENT METRICS'}"
                )
    load_after = os.getloadavg()

    base = statistics.median(r["wall_s"] for r in rows if r["config"] == configs[0][0])
    units = rows[0]["units"]
    print(
        "\n| backend | wall (s) | scan-process CPU (s) | sum of unit times (s) | "
        "speed-up vs local 1 thread | identical metrics |"
    )
    print("|---|---|---|---|---|---|")
    summary = []
    for label, backend, workers, threads in configs:
        mine = [r for r in rows if r["config"] == label]
        wall = statistics.median(r["wall_s"] for r in mine)
        cpu = statistics.median(r["cpu_s"] for r in mine)
        unit_s = statistics.median(r["unit_s"] for r in mine)
        same = all(r["identical"] for r in mine)
        summary.append(
            {
                "config": label,
                "backend": backend,
                "workers": workers,
                "torch_threads": threads,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "unit_s": round(unit_s, 2),
                "speedup": round(base / wall, 3),
                "identical": same,
            }
        )
        print(f"| {label} | {wall:.1f} | {cpu:.1f} | {unit_s:.1f} | {base / wall:.2f}x | {same} |")
    elapsed = time.perf_counter() - started
    print(
        f"{units} units of {args.shard_size} examples; start-up {startup:.1f}s; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; {elapsed:.0f}s"
    )
    report = {
        "benchmark": "backends",
        "machine": {
            "platform": platform.platform(),
            "cpus": cpus,
            "gpu": torch.cuda.is_available(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in load_after],
        },
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "n": n,
        "shard_size": args.shard_size,
        "units": units,
        "repeats": args.repeats,
        "suite": SUITE,
        "startup_s": round(startup, 2),
        "warm_startup_s": round(warm_startup, 3),
        "elapsed_s": round(elapsed, 1),
        "summary": summary,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
