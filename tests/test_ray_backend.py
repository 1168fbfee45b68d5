"""The Ray backend on a local two-CPU cluster: the same metrics as the local backend; a worker
process killed in the middle of a unit is restarted and its unit retried, to the metrics of an
uninterrupted run; a unit that fails deterministically is reported once, not retried; a driver
stopped mid-scan resumes from the store; an unreachable address fails fast, naming it."""

from __future__ import annotations

import time

import numpy as np
import pytest

import robustlab
from robustlab.data import ArrayDataset
from robustlab.errors import ConfigError
from robustlab.models.loading import load_model
from robustlab.runner import RayBackend
from robustlab.store import Store

ray = pytest.importorskip("ray")

SHARD = 10
SUITE = {
    "name": "ray-test",
    "version": 1,
    "probes": ["clean", {"probe": "perturbation", "perturbation": "gaussian_noise", "severity": 2}],
}

#: A model file: the digits-sized linear net, which on the batch starting with example 20 (shard
#: 2 of the clean probe) either kills its own process once (KILL) or raises every time (RAISE).
MODEL = """
import os, signal
from pathlib import Path
import numpy as np
import torch
from torch import nn

HERE = Path(__file__).parent
MARK = torch.as_tensor(np.load(HERE / "mark.npy"))

class Net(nn.Module):
    def __init__(self, how):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(64, 10)
        self.how = how

    def forward(self, x):
        if self.how != "fine" and len(x) == {shard} and bool((x[0] == MARK).all()):
            with open(HERE / "attempts.txt", "a") as f:
                f.write("x")
            if self.how == "kill" and (HERE / "attempts.txt").read_text() == "x":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "raise":
                raise RuntimeError("boom on shard 2")
        return self.lin(x.flatten(1))

def fine():
    return Net("fine")

def kill():
    return Net("kill")

def broken():
    return Net("raise")
""".replace("{shard}", str(SHARD))


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def data40(small_digits) -> ArrayDataset:
    idx = np.arange(40)
    return ArrayDataset(small_digits.inputs[idx], small_digits.targets[idx], name="digits-40")


@pytest.fixture()
def net_file(tmp_path, data40):
    np.save(tmp_path / "mark.npy", data40.inputs[2 * SHARD])
    path = tmp_path / "net.py"
    path.write_text(MODEL)
    return path


def _scan(model, data, store, **kwargs):
    return robustlab.scan(
        model, data, SUITE, store=store, shard_size=SHARD, progress=False, **kwargs
    )


def _metrics(result):
    return [{k: v for k, v in r.items() if k != "model"} for r in result.metrics]


def test_unreachable_address_fails_within_seconds_naming_it() -> None:
    began = time.monotonic()
    with pytest.raises(ConfigError, match=r"127\.0\.0\.1:1'.*ray start --head"):
        RayBackend(address="ray://127.0.0.1:1").connect()
    with pytest.raises(ConfigError, match="not 'auto', HOST:PORT"):
        RayBackend(address="nowhere").connect()
    assert time.monotonic() - began < 10


@pytest.mark.slow  # about 30 s: starting actors that import torch on two busy cores
def test_ray_matches_local_and_isolates_a_deterministic_failure(
    cluster, data40, net_file, tmp_path
) -> None:
    fine = load_model(f"{net_file}:fine")
    local = _scan(fine, data40, f"sqlite:///{tmp_path}/local.db")
    on_ray = _scan(fine, data40, f"sqlite:///{tmp_path}/ray.db", backend="ray", workers=2)
    assert on_ray.metrics == local.metrics

    broken = load_model(f"{net_file}:broken")
    result = _scan(broken, data40, f"sqlite:///{tmp_path}/b.db", backend="ray", workers=2)
    assert result.status == "complete"
    (failure,) = result.failures
    assert failure["shard"] == 2 and "boom on shard 2" in failure["error"]
    assert (net_file.parent / "attempts.txt").read_text() == "x"  # reported, not retried


@pytest.mark.slow
def test_killed_worker_is_retried_to_the_metrics_of_an_uninterrupted_run(
    cluster, data40, net_file, tmp_path
) -> None:
    reference = _scan(load_model(f"{net_file}:fine"), data40, f"sqlite:///{tmp_path}/f.db")
    killer = load_model(f"{net_file}:kill")
    result = _scan(killer, data40, f"sqlite:///{tmp_path}/k.db", backend="ray", workers=2)
    assert (net_file.parent / "attempts.txt").read_text() == "xx"  # killed once, retried once
    assert result.failures == [] and result.status == "complete"
    assert _metrics(result) == _metrics(reference)


@pytest.mark.slow
def test_driver_stopped_mid_scan_resumes_from_the_store(
    cluster, data40, net_file, tmp_path, monkeypatch
) -> None:
    fine = load_model(f"{net_file}:fine")
    reference = _scan(fine, data40, f"sqlite:///{tmp_path}/r.db")
    url = f"sqlite:///{tmp_path}/d.db"
    original = Store.write_unit
    calls = {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "write_unit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _scan(fine, data40, url, backend="ray", workers=2)
    monkeypatch.setattr(Store, "write_unit", original)
    store = Store(url)
    (run,) = store.runs()
    kept = {u["id"]: u["finished_at"] for u in store.units(run["id"])}
    assert len(kept) == 3
    resumed = _scan(fine, data40, url, backend="ray", workers=2)
    assert resumed.run_id == run["id"]
    after = store.units(run["id"])
    assert len(after) == 8
    assert all(u["finished_at"] == kept[u["id"]] for u in after if u["id"] in kept)
    assert resumed.metrics == reference.metrics


def test_cli_address_needs_the_ray_backend() -> None:
    from click.testing import CliRunner

    from robustlab.cli import cli

    res = CliRunner().invoke(
        cli, ["scan", "--model", "digits-cnn", "--data", "digits", "--address", "auto"]
    )
    assert res.exit_code != 0
    assert "--address names a Ray cluster" in str(res.exception) + res.output
