"""docs/ARCHITECTURE.md's worked examples are real plugins: each block is one file's content, and
a fresh interpreter registering all of them can scan models with them end to end."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"

PRELUDE = """
import math
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import ImageAttack
from robustlab.errors import DataError
from robustlab.metrics.base import METRICS, Estimate, Metric, bootstrap_ci
from robustlab.perturbations.base import Perturbation, Perturbed, register
from robustlab.runner.backends import BACKENDS
from robustlab.runner.jobs import Finished, run_job
from robustlab.tasks.base import CRITERIA, TASKS, Criterion, Task
from robustlab.validation import check_number
"""

CHECKS = """
import robustlab
from robustlab import ArrayDataset, FunctionModel
from robustlab.data.demo import load_digits
from robustlab.demo import train_digits_cnn
from robustlab.tasks import get_task

# the task: records with its declared fields, broken by its criterion
task = get_task("multilabel")
out = np.array([[0.9, 0.2], [0.4, 0.8]])
rec = task.records(out, np.array([[1, 0], [1, 1]]), ["a", "b"])
assert rec.hamming.tolist() == [0.0, 0.5] and rec.broken.tolist() == [False, True]
crit = task.make_criterion()
assert crit.broken(torch.tensor(out), torch.tensor([[1, 0], [1, 1]])).tolist() == [False, True]

# the perturbation and the attack, through a scan on the threads backend
test = load_digits("test")
batch = test.batch(np.arange(24))
data = ArrayDataset(batch.inputs.numpy(), batch.targets.numpy(), name="digits-24")
cnn = train_digits_cnn(seed=0, epochs=1)
suite = {
    "name": "architecture-examples",
    "version": 1,
    "probes": [
        "clean",
        {"probe": "perturbation", "perturbation": "invert", "amount": 0.5},
        {"probe": "attack", "attack": "rfgsm", "epsilon": "8/255"},
    ],
}
res = robustlab.scan(cnn, data, suite, store="sqlite://", progress=False, backend="threads")
local = robustlab.scan(cnn, data, suite, store="sqlite://", progress=False)
acc = {r["probe_key"]: r["value"] for r in res.metrics if r["metric"] == "accuracy"}
assert acc == {r["probe_key"]: r["value"] for r in local.metrics if r["metric"] == "accuracy"}
assert len(acc) == 3 and acc["attack(rfgsm,norm=linf,epsilon=0.03137254901960784)"] <= acc["clean"]

# the metric, on a regression model
x = np.linspace(0, 1, 40).reshape(-1, 1)
reg = FunctionModel(lambda b: b[:, 0] * 2, task="regression", modality="tabular", bounds=None)
rdata = ArrayDataset(x, x[:, 0] * 2 + 0.1, name="line", task="regression", modality="tabular")
rows = robustlab.scan(
    reg, rdata, {"name": "r", "version": 1, "probes": ["clean"],
                 "metrics": ["median_absolute_error"]},
    store="sqlite://", progress=False,
).metrics
assert [round(r["value"], 6) for r in rows if r["metric"] == "median_absolute_error"] == [0.1]
print("examples ok")
"""


def _blocks() -> list[str]:
    text = DOC.read_text()
    section = text[text.index("## Worked examples") :]
    return re.findall(r"```python\n(# src/robustlab/.*?)```", section, re.S)


def test_every_worked_example_is_one_plugin_file() -> None:
    blocks = _blocks()
    assert len(blocks) == 5  # task, perturbation, attack, metric, backend
    for block in blocks:
        assert block.startswith("# src/robustlab/") and "register" in block.lower()


def test_the_worked_examples_register_and_scan(tmp_path: Path) -> None:
    script = PRELUDE + "\n".join(_blocks()) + textwrap.dedent(CHECKS)
    path = tmp_path / "examples.py"
    path.write_text(script)
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "examples ok" in done.stdout
