"""Scale-out benchmark (issue 17): a corruption-heavy suite on the local backend, the process
backend (2 workers) and Ray (1 and 2 actors); Ray's per-unit overhead against the local backend;
peak RSS of reading an ``.npz`` batch by batch, memory-mapped vs in memory, as N grows; peak
RSS of WebDataset tar shards and Parquet / Arrow tables (read batch by batch, and scanned) at
1k, 10k and 100k synthetic 3x16x16 PNG images.

    PYTHONPATH=src python benchmarks/scale.py [--quick] [--only streaming|backends|rss]
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


HEAVY_CORRUPTIONS = [
    "glass_blur",
    "zoom_blur",
    "elastic_transform",
    "motion_blur",
    "defocus_blur",
    "gaussian_noise",
]


def _heavy_workload(n: int = 2048, side: int = 64):
    """Synthetic 3xSIDExSIDE images (smooth random fields) and a seeded random-init small CNN:
    enough work per unit that worker start-up does not dominate."""
    import torch

    import robustlab
    from robustlab.data import ArrayDataset

    rng = np.random.default_rng(0)
    coarse = rng.random((n, 3, 8, 8)).astype(np.float32)
    x = np.kron(coarse, np.ones((1, 1, side // 8, side // 8), np.float32))
    x = np.clip(x + 0.05 * rng.standard_normal(x.shape).astype(np.float32), 0, 1)
    data = ArrayDataset(x, rng.integers(0, 10, n), name="synthetic32")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(256, 10),
    ).eval()
    return robustlab.TorchModel(net, bounds=(0.0, 1.0), name="cnn32"), data


def backends(quick: bool, heavy: bool = False) -> dict:
    import ray

    import robustlab
    from robustlab.demo.digits import train_digits_cnn
    from robustlab.runner import RayBackend

    if heavy:
        model, data = _heavy_workload(512 if quick else 2048)
        suite = _suite(HEAVY_CORRUPTIONS[:3] if quick else HEAVY_CORRUPTIONS)
    else:
        model = train_digits_cnn(epochs=2, seed=0)
        data = "digits"
        suite = _suite(CORRUPTIONS[:3] if quick else CORRUPTIONS)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:

        def scan(backend, name, **kw):
            return robustlab.scan(
                model,
                data,
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
            n_units = -(-(539 if not heavy else len(data)) // 8)

            def small(backend, name):
                return robustlab.scan(
                    model,
                    data,
                    tiny,
                    store=f"sqlite:///{tmp}/{name}.db",
                    shard_size=8,
                    progress=False,
                    backend=backend,
                )

            local = _timed(lambda: small("local", "tl"))
            on_ray = _timed(lambda: small(RayBackend(workers=1), "tr"))
            out["units"] = int(len(suite["probes"]) * -(-(539 if not heavy else len(data)) // 64))
            out["workload"] = "synthetic 3x64x64, heavy corruptions" if heavy else "digits 8x8"
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
with open("/proc/self/status") as f:  # VmHWM: ru_maxrss includes the parent's peak at fork
    print(next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024)
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


_STREAM = """
import json, os, resource, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {src!r})
import numpy as np, torch
import robustlab
from robustlab.data import load_dataset
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
base = rss()
began = time.perf_counter()
ds = load_dataset({path!r})
loaded, load_s = rss(), time.perf_counter() - began
out = {{"n": len(ds), "base_MB": base, "after_load_MB": loaded, "load_s": load_s}}
if {scan}:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(768, 10))
    began = time.perf_counter()
    robustlab.scan(net, ds, {{"name": "s", "version": 1, "probes": ["clean"]}}, store="sqlite://",
                   progress=False)
    out["scan_s"] = time.perf_counter() - began
else:
    total = 0.0
    for lo in range(0, len(ds), 256):
        total += float(ds.batch(np.arange(lo, min(lo + 256, len(ds)))).inputs.sum())
# VmHWM, not ru_maxrss: Linux carries the parent's peak into a forked child's ru_maxrss
with open("/proc/self/status") as f:
    out["peak_MB"] = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
print(json.dumps(out))
"""


def write_streaming(tmp: str, n: int) -> dict[str, str]:
    """N synthetic 3x16x16 PNG images as tar shards (10k per shard), Parquet (row groups of
    1,000) and Arrow (record batches of 1,000)."""
    import io
    import tarfile

    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    rng = np.random.default_rng(0)
    blobs: list[bytes] = []
    for lo in range(0, n, 1000):
        chunk = rng.integers(0, 256, (min(1000, n - lo), 16, 16, 3), dtype=np.uint8)
        for im in chunk:
            buf = io.BytesIO()
            Image.fromarray(im).save(buf, format="PNG", compress_level=1)
            blobs.append(buf.getvalue())
    labels = np.arange(n) % 10
    root = Path(tmp) / f"wds{n}"
    root.mkdir()
    for s, lo in enumerate(range(0, n, 10_000)):
        with tarfile.open(root / f"shard-{s:04d}.tar", "w") as tar:
            for i in range(lo, min(lo + 10_000, n)):
                for name, data in ((f"{i:07d}.png", blobs[i]), (f"{i:07d}.cls", b"%d" % labels[i])):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    table = pa.table({"image": pa.array(blobs, type=pa.binary()), "label": pa.array(labels)})
    del blobs
    pq.write_table(table, f"{tmp}/t{n}.parquet", row_group_size=1000)
    with pa.ipc.new_file(f"{tmp}/t{n}.arrow", table.schema) as writer:
        for batch in table.to_batches(max_chunksize=1000):
            writer.write_batch(batch)
    return {"tar": str(root), "parquet": f"{tmp}/t{n}.parquet", "arrow": f"{tmp}/t{n}.arrow"}


def streaming(
    sizes: list[int], scan_kinds: tuple[str, ...] = ("tar", "parquet", "arrow")
) -> list[dict]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            began = time.perf_counter()
            paths = write_streaming(tmp, n)
            print(f"wrote {n} images in {time.perf_counter() - began:.1f} s", flush=True)
            for kind, path in paths.items():
                for scan in (False, True) if kind in scan_kinds else (False,):
                    code = _STREAM.format(src=src, path=path, scan=scan)
                    out = json.loads(subprocess.check_output([sys.executable, "-c", code]))
                    row = {"kind": kind, "mode": "scan" if scan else "read", **out}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["rss", "backends", "streaming"])
    parser.add_argument(
        "--heavy",
        action="store_true",
        help="backends on 3x64x64 images with the costly corruptions",
    )
    parser.add_argument("--sizes", type=int, nargs="+", help="N for the rss and streaming parts")
    parser.add_argument(
        "--scan-kinds",
        nargs="*",
        default=["tar", "parquet", "arrow"],
        help="streaming kinds also scanned (clean probe), not only read",
    )
    args = parser.parse_args()
    sizes = args.sizes or ([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    result: dict = {"loadavg_before": os.getloadavg()}
    if args.only in (None, "rss"):
        result["rss"] = rss(sizes)
    if args.only in (None, "streaming"):
        result["streaming"] = streaming(sizes, tuple(args.scan_kinds))
    if args.only in (None, "backends"):
        result["backends"] = backends(args.quick, args.heavy)
    result["loadavg_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
