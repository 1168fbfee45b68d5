"""Peak working memory (RSS) of each probe at two data sizes: it should follow the batch size,
not the number of examples (issue 20). Each (probe, size) runs in a fresh process.

    python benchmarks/memory.py --sizes 2000 20000 --image 3x16x16

Working memory = peak RSS during the scan minus RSS after the data is built (the data itself
grows with its size, by design); the target is < 10 % growth from 2k to 20k examples. Writes
benchmarks/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PROBES = {
    "clean": "clean",
    "corruption": {"probe": "corruption", "corruption": "gaussian_noise", "severity": 3},
    "pgd": {"probe": "attack", "attack": "pgd", "epsilon": "8/255", "steps": 5},
    "square": {
        "probe": "attack",
        "attack": "square",
        "norm": "linf",
        "epsilon": "8/255",
        "n_queries": 20,
    },
}

CHILD = """
import json, resource, sys
import numpy as np, torch
import robustlab
from robustlab import ArrayDataset

n, c, h, w = (int(v) for v in sys.argv[1:5])
probe = json.loads(sys.argv[5])
rng = np.random.default_rng(0)
data = ArrayDataset(rng.random((n, c, h, w), dtype=np.float32), rng.integers(0, 10, n), name="syn")
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(c * h * w, 10))
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
base = rss()
robustlab.scan(net, data, {"name": "mem", "version": 1, "probes": [probe]}, store="sqlite://",
               progress=False, shard_size=256)
with open("/proc/self/status") as f:  # VmHWM: ru_maxrss counts the parent's RSS at fork
    peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
print(json.dumps({"working_mib": peak - base}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=(2000, 20000))
    parser.add_argument("--image", default="3x16x16")
    parser.add_argument("--probes", nargs="*", default=list(PROBES))
    args = parser.parse_args()
    c, h, w = args.image.split("x")
    src = str(Path(__file__).resolve().parents[1] / "src")
    rows = []
    for name in args.probes:
        figures = []
        for n in args.sizes:
            out = subprocess.run(
                [
                    sys.executable,
                    "-W",
                    "ignore",
                    "-c",
                    CHILD,
                    str(n),
                    c,
                    h,
                    w,
                    json.dumps(PROBES[name]),
                ],
                capture_output=True,
                text=True,
                check=True,
                env={"PYTHONPATH": src, "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
            )
            figures.append(json.loads(out.stdout.strip().splitlines()[-1])["working_mib"])
        growth = (figures[-1] - figures[0]) / max(figures[0], 1.0)
        rows.append(
            {"probe": name, "sizes": list(args.sizes), "working_mib": figures, "growth": growth}
        )
        cells = " ".join(f"{f:8.0f} MiB" for f in figures)
        print(f"{name:<12} {cells}  growth {growth:+.1%}", flush=True)
    out_dir = Path(__file__).with_name("results")
    out_dir.mkdir(exist_ok=True)
    (out_dir / "memory.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
