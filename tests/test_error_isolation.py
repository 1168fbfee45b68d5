"""Error isolation: a unit on which the model raises or returns NaN is stored as failed with its
message and the rest of the scan completes (on the local and the process backend); ``fail_fast``
restores abort-on-first-error; the failure reaches the result, the console, the JSON and HTML
reports; resuming the run retries the failed units, after which its metrics equal those of a run
that never failed."""

from __future__ import annotations

import json
import multiprocessing
from typing import ClassVar

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

import robustlab
from robustlab.data import ArrayDataset
from robustlab.errors import ModelError
from robustlab.models import TorchModel
from robustlab.store import Store

SHARD = 10
SUITE = {
    "name": "isolation-test",
    "version": 1,
    "probes": ["clean", {"probe": "perturbation", "perturbation": "gaussian_noise", "severity": 2}],
}


class NaNOnShard(nn.Module):
    """The digits CNN, returning NaN logits for a batch that starts with ``marker`` while
    ``SWITCH["broken"]`` is set (the same class, hence the same fingerprint, when fixed)."""

    SWITCH: ClassVar[dict[str, bool]] = {"broken": True}

    def __init__(self, inner: nn.Module, marker: torch.Tensor) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("marker", marker.clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.inner(x)
        if self.SWITCH["broken"] and bool((x[0] == self.marker).all()):
            return torch.full_like(logits, float("nan"))
        return logits


class RaisesInWorker(nn.Module):
    """The digits CNN, raising on the batch that starts with ``marker`` (in any process)."""

    def __init__(self, inner: nn.Module, marker: torch.Tensor) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("marker", marker.clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool((x[0] == self.marker).all()):
            raise RuntimeError("boom on shard 2")
        return self.inner(x)


@pytest.fixture(scope="module")
def data40(small_digits) -> ArrayDataset:
    idx = np.arange(40)
    return ArrayDataset(
        small_digits.inputs[idx],
        small_digits.targets[idx],
        ids=[small_digits.ids[i] for i in idx],
        name="digits-40",
    )


@pytest.fixture()
def broken(cnn, data40):
    NaNOnShard.SWITCH["broken"] = True
    module = NaNOnShard(cnn.module, torch.as_tensor(data40.inputs[2 * SHARD]))
    yield TorchModel(module, name="nan-cnn")
    NaNOnShard.SWITCH["broken"] = True


def _scan(model, data, store, **kwargs):
    return robustlab.scan(
        model, data, SUITE, store=store, shard_size=SHARD, progress=False, **kwargs
    )


def test_nan_unit_is_recorded_and_the_scan_completes(broken, data40, tmp_path) -> None:
    result = _scan(broken, data40, f"sqlite:///{tmp_path}/a.db")
    assert result.status == "complete"
    (failure,) = result.failures
    assert failure["probe"] == "clean" and failure["shard"] == 2
    assert failure["examples"] == [20, 30]
    assert "ModelError" in failure["error"] and "NaN" in failure["error"]
    assert "examples 20..29" in failure["error"]  # which probe and examples
    clean = {r["metric"]: r for r in result.metrics if r["probe_key"] == "clean"}
    assert clean["accuracy"]["n"] == 30  # the three shards that ran
    assert clean["accuracy"]["details"]["failed_units"] == 1
    noisy = [r for r in result.metrics if r["probe_key"] != "clean" and r["metric"] == "accuracy"]
    assert noisy and noisy[0]["n"] == 40  # the noisy inputs do not match the marker
    assert "failed on examples 20..29" in str(result)
    doc = json.loads(result.to_json(tmp_path / "r.json").read_text())
    assert doc["runs"][0]["failures"][0]["shard"] == 2
    html = result.to_html(tmp_path / "r.html").read_text()
    assert "Failures</h3>" in html and "returned NaN" in html


def test_fail_fast_aborts_on_the_first_error(broken, data40, tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/b.db"
    with pytest.raises(ModelError, match="NaN"):
        _scan(broken, data40, url, fail_fast=True)
    (run,) = Store(url).runs()
    assert run["status"] == "failed"


def test_resume_retries_failed_units_to_the_metrics_of_a_clean_run(
    broken, data40, tmp_path
) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    first = _scan(broken, data40, url)
    assert len(first.failures) == 1
    NaNOnShard.SWITCH["broken"] = False  # the model is fixed (same fingerprint)
    kept = {u["id"] for u in Store(url).units(first.run_id) if u["status"] == "done"}
    resumed = _scan(broken, data40, url)
    assert resumed.run_id == first.run_id and resumed.failures == []
    units = Store(url).units(first.run_id)
    assert len(units) == 8 and all(u["status"] == "done" for u in units)
    assert kept <= {u["id"] for u in units}  # finished units were not redone
    reference = _scan(broken, data40, f"sqlite:///{tmp_path}/ref.db")
    assert resumed.metrics == reference.metrics


@pytest.mark.slow
def test_process_backend_isolates_a_unit_and_keeps_its_workers(cnn, data40, tmp_path) -> None:
    model = TorchModel(RaisesInWorker(cnn.module, torch.as_tensor(data40.inputs[2 * SHARD])))
    result = _scan(model, data40, f"sqlite:///{tmp_path}/p.db", backend="process", workers=2)
    assert result.status == "complete"
    (failure,) = result.failures
    assert failure["shard"] == 2 and "RuntimeError: boom on shard 2" in failure["error"]
    done = [u for u in result.store.units(result.run_id) if u["status"] == "done"]
    assert len(done) == 7
    assert multiprocessing.active_children() == []


def test_cli_reports_failures_and_fail_fast_exits_nonzero(tmp_path) -> None:
    from robustlab.cli import cli

    (tmp_path / "net.py").write_text(
        "import torch\n"
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        torch.manual_seed(0)\n"
        "        self.lin = nn.Linear(64, 10)\n"
        "    def forward(self, x):\n"
        "        out = self.lin(x.flatten(1))\n"
        "        return torch.full_like(out, float('nan')) if x.shape[0] == 100 else out\n"
        "def make():\n"
        "    return Net()\n"
    )
    args = [
        "scan",
        "--model",
        f"{tmp_path / 'net.py'}:make",
        "--data",
        "digits",
        "--suite",
        str(_suite_file(tmp_path)),
        "--store",
        f"sqlite:///{tmp_path}/cli.db",
        "--shard-size",
        "100",  # full shards fail; the preflight's 64 inputs and the last shard pass
        "--no-progress",
    ]
    ok = CliRunner().invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    assert "failed" in ok.output and "NaN" in ok.output
    bad = CliRunner().invoke(cli, [*args, "--fail-fast", "--fresh"])
    assert bad.exit_code != 0 and isinstance(bad.exception, ModelError)
    assert "NaN" in str(bad.exception)


def _suite_file(tmp_path):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "one", "probes": ["clean"]}))
    return path


def test_one_bad_candidate_does_not_lose_the_other_texts() -> None:
    from robustlab.attacks.text import run
    from robustlab.models import FunctionModel

    texts = ["this movie was good", "a great film", "loved it, wonderful acting"]

    def predict(batch):
        for t in batch:
            if "movie" in t and t != texts[0]:  # any candidate derived from the first text
                raise ValueError(f"cannot score {t!r}")
        p = np.array(
            [0.9 if any(w in t for w in ("good", "great", "loved")) else 0.1 for t in batch]
        )
        return np.stack([1 - p, p], axis=1)

    model = FunctionModel(predict, modality="text", num_classes=2, name="picky")
    result = run(model, texts, [1, 1, 1], "deepwordbug", budget=60, similarity=False)
    first, *rest = result.examples
    assert first.error is not None and "ValueError: cannot score" in first.error
    assert not first.success and first.adversarial == texts[0]
    assert all(e.error is None and e.queries > 1 for e in rest)
    assert any("text 0: the model failed on a candidate" in n for n in result.notes)
    assert result.examples[0].to_dict()["error"] == first.error
    with pytest.raises(ValueError, match="cannot score"):
        run(model, texts, [1, 1, 1], "deepwordbug", budget=60, similarity=False, fail_fast=True)
