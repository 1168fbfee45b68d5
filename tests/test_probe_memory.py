"""Probe memory is bounded by the batch, not the image size or the shard (issue 20)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

SCRIPT = """
import resource, sys
import numpy as np
import robustlab
from robustlab import ArrayDataset, FunctionModel

def fn(x):
    return np.asarray(x).mean(axis=(2, 3)) * 10

rng = np.random.default_rng(0)
data = ArrayDataset(rng.random((4, 3, 224, 224), dtype=np.float32), [0, 1, 2, 0], name="big")
model = FunctionModel(fn, num_classes=3, output="logits", name="means", batch_size=4)
suite = {"name": "m", "version": 1, "probes": [
    {"probe": "attack", "attack": "square", "norm": "linf", "epsilon": "8/255", "n_queries": 30}]}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
robustlab.scan(model, data, suite, store="sqlite://", progress=False)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024)
"""


@pytest.mark.slow
def test_square_on_224px_images_needs_memory_for_its_batch_only(tmp_path: Path) -> None:
    # before: a mask of every window position (P x 224 x 224 bools) took gigabytes
    script = tmp_path / "square.py"
    script.write_text(textwrap.dedent(SCRIPT))
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": SRC, "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    grown_mib = int(out.stdout.strip().splitlines()[-1])
    assert grown_mib < 300, f"Square grew the process by {grown_mib} MiB on 4 images"
