"""Scan memory follows the batch and the shard, not the number of examples (issue 20 item 4).

The causes found with benchmarks/memory.py: the dataset's fingerprint copied every input into
one bytes object, the preflight bounds check built masks as large as the dataset, and the
bootstrap intervals (metrics and summaries) drew every resample's indices at once, a
(1000, N) array. Each is checked here: its result unchanged, its working memory bounded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

from robustlab import ArrayDataset
from robustlab.metrics.base import bootstrap_ci
from robustlab.runner import preflight as preflight_module
from robustlab.summaries.base import _resampled_rates

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _peak_mib(fn, *args, **kwargs):
    tracemalloc.start()
    try:
        out = fn(*args, **kwargs)
        return out, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _bootstrap_reference(values, statistic=np.mean, resamples=1000, seed=0, level=0.95):
    """The interval as computed before: every resample's indices drawn in one array."""
    idx = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    stats = (
        values[idx].mean(axis=1)
        if statistic is np.mean
        else np.array([statistic(values[i]) for i in idx])
    )
    alpha = (1 - level) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


@pytest.mark.parametrize("n", [1, 3, 999, 2001, 5000])
def test_bootstrap_interval_is_unchanged_by_drawing_resamples_in_blocks(n: int) -> None:
    values = np.random.default_rng(n).random(n)
    pct = {"method": "percentile"}  # the plain percentile bootstrap the reference computes
    assert bootstrap_ci(values, seed=7, **pct) == _bootstrap_reference(values, seed=7)
    flags = values > 0.3
    assert bootstrap_ci(flags, seed=8, **pct) == _bootstrap_reference(flags, seed=8)
    assert bootstrap_ci(values, np.median, seed=9, resamples=40, **pct) == _bootstrap_reference(
        values, np.median, resamples=40, seed=9
    )


def test_bootstrap_interval_memory_does_not_grow_with_the_records() -> None:
    # before: 1000 x 100,000 int64 indices (763 MiB) plus the resampled values
    values = np.random.default_rng(0).random(100_000) > 0.5
    _, peak = _peak_mib(bootstrap_ci, values, seed=1)
    assert peak < 40, f"bootstrap_ci held {peak:.0f} MiB for 100,000 records"


def test_summary_resamples_are_paired_and_bounded_in_memory() -> None:
    rng = np.random.default_rng(3)
    errors = {"a": rng.random(2_000) > 0.4, "b": rng.random(2_000) > 0.6}
    # the same stream as 100 rows at a time (the former chunk): identical rates
    ref: dict[str, list[np.ndarray]] = {k: [] for k in errors}
    gen = np.random.default_rng(5)
    for _ in range(10):
        idx = gen.integers(0, 2_000, size=(100, 2_000))
        for k, e in errors.items():
            ref[k].append(e[idx].mean(axis=1))
    got = _resampled_rates(errors, 1000, 5)
    for k in errors:
        assert np.array_equal(got[k], np.concatenate(ref[k]))
    big = {"a": rng.random(100_000) > 0.5, "b": rng.random(100_000) > 0.5}
    _, peak = _peak_mib(_resampled_rates, big, 1000, 5)
    assert peak < 20, f"summary resamples held {peak:.0f} MiB for 100,000 examples"


def test_fingerprint_hashes_the_inputs_without_copying_them() -> None:
    x = np.random.default_rng(0).random((4_000, 3, 32, 32), dtype=np.float32)  # 47 MiB
    data = ArrayDataset(x, np.zeros(4_000, dtype=int), name="fp")
    fp, peak = _peak_mib(data.fingerprint)
    assert peak < 5, f"fingerprint() allocated {peak:.0f} MiB for a 47 MiB dataset"
    # the same fingerprint as before (a hash of the bytes)
    import hashlib

    h = hashlib.sha256()
    h.update(data.targets.tobytes())
    h.update("\x00".join(data.ids).encode())
    h.update(repr([]).encode())
    h.update(repr(tuple(data.inputs.shape)).encode())
    h.update(x.tobytes())
    assert fp == h.hexdigest()[:16]


def test_bounds_check_of_valid_data_builds_no_per_element_mask(monkeypatch) -> None:
    from robustlab.models.torch_model import TorchModel

    model = TorchModel(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2)))
    calls = []
    real = torch.isfinite
    monkeypatch.setattr(torch, "isfinite", lambda t: calls.append(t.shape) or real(t))
    preflight_module.check_bounds(torch.rand(50, 3, 2, 2), model, "here")
    assert calls == []
    bad = torch.rand(50, 3, 2, 2)
    bad[7, 0, 0, 0] = float("nan")
    with pytest.raises(Exception, match=r"1 of 50 inputs contain NaN.*position 7"):
        preflight_module.check_bounds(bad, model, "here")
    with pytest.raises(Exception, match="inputs range"):
        preflight_module.check_bounds(torch.rand(5, 3, 2, 2) * 3, model, "here")


CHILD = """
import json, resource, sys
import numpy as np, torch
import robustlab
from robustlab import ArrayDataset

n = int(sys.argv[1])
rng = np.random.default_rng(0)
data = ArrayDataset(rng.random((n, 3, 16, 16), dtype=np.float32), rng.integers(0, 10, n))
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(768, 10))
with open("/proc/self/status") as f:
    base = next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
robustlab.scan(net, data, {"name": "m", "version": 1, "probes": ["clean"]}, store="sqlite://", progress=False)
with open("/proc/self/status") as f:  # VmHWM: ru_maxrss counts pytest's RSS at the fork
    peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
print(json.dumps(peak - base))
"""


@pytest.mark.slow
def test_clean_scan_working_memory_is_flat_from_2k_to_20k_examples() -> None:
    # before: 101 MiB at 2,000 examples, 220+ MiB at 20,000 (fingerprint copy, bootstrap)
    env = {"PYTHONPATH": SRC, "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    work = []
    for n in (2_000, 20_000):
        out = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", CHILD, str(n)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        work.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert work[1] < work[0] * 1.10 + 2, f"working memory {work[0]:.0f} -> {work[1]:.0f} MiB"


@pytest.mark.filterwarnings("ignore:.*near chance")
def test_store_assembles_a_probes_records_exactly_as_concat(tmp_path) -> None:
    """The store joins a probe's blocks column by column (half the peak of concat): the same
    records, explicit ``broken`` flags included."""
    import robustlab
    from robustlab.records import Records
    from robustlab.store._blocks import decode_block
    from robustlab.store.store import t

    rng = np.random.default_rng(1)
    data = ArrayDataset(rng.random((70, 1, 8, 8), dtype=np.float32), rng.integers(0, 3, 70))
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    suite = {
        "name": "m",
        "version": 1,
        "probes": ["clean", {"probe": "attack", "attack": "fgsm", "epsilon": "8/255"}],
    }
    res = robustlab.scan(net, data, suite, store="sqlite://", progress=False, shard_size=16)
    db = res.store
    for unit in {u["probe_key"] for u in db.units(res.run_id)}:
        got = db.load_records(res.run_id, unit)
        with db.engine.connect() as conn:
            rows = conn.execute(
                t.record_blocks.select()
                .join(t.units, t.units.c.id == t.record_blocks.c.unit_id)
                .where(t.units.c.probe_key == unit)
                .order_by(t.units.c.shard)
            ).all()
        want = Records.concat(decode_block(r.data, r.encoding) for r in rows)
        assert len(rows) == 5 and got.column_names == want.column_names
        for c in want.column_names:
            a, b = got.column(c), want.column(c)
            assert a.dtype == b.dtype and (
                np.array_equal(a, b, equal_nan=True) if a.dtype.kind == "f" else (a == b).all()
            ), c
