"""The runner end to end: stored units, resume without recomputation, and bad input up front."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import robustlab
from robustlab.data import ArrayDataset
from robustlab.errors import ConfigError, DataError, ModelError, StoreError, UnknownNameError
from robustlab.models import FunctionModel
from robustlab.probes.clean import Clean

SUITE = {
    "name": "runner-test",
    "version": 1,
    "probes": [
        "clean",
        {"probe": "corruption", "corruption": "gaussian_noise", "severity": 3},
        {"probe": "attack", "attack": "pgd", "epsilon": 0.1, "steps": 5},
    ],
}


def test_scan_stores_every_unit_and_metric(cnn, small_digits, store_url) -> None:
    result = robustlab.scan(
        cnn, small_digits, SUITE, store=store_url, shard_size=50, progress=False
    )
    assert result.status == "complete"
    units = result.store.units(result.run_id)
    assert len(units) == 3 * 3  # three probes x ceil(120 / 50) shards
    probes = {m["probe_key"] for m in result.metrics} - {"summary"}
    assert probes == {robustlab.make_probe(p).key for p in SUITE["probes"]}
    # Clean accuracy in the store is exactly the accuracy of the model's own predictions.
    preds = cnn.predict_scores(small_digits.inputs).argmax(1).numpy()
    assert result.value("clean") == pytest.approx(np.mean(preds == small_digits.targets))
    for row in result.metrics:
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
    assert result.value("clean") >= result.value(robustlab.make_probe(SUITE["probes"][2]).key)


def test_rerun_resumes_without_recomputing(cnn, small_digits, store_url, monkeypatch) -> None:
    calls: list[int] = []
    original = Clean.run

    def counting(self, model, batch, seed):
        calls.append(len(batch))
        return original(self, model, batch, seed)

    monkeypatch.setattr(Clean, "run", counting)
    suite = {"name": "clean-only", "probes": ["clean"]}
    first = robustlab.scan(cnn, small_digits, suite, store=store_url, shard_size=40, progress=False)
    assert calls == [40, 40, 40]
    second = robustlab.scan(
        cnn, small_digits, suite, store=store_url, shard_size=40, progress=False
    )
    assert calls == [40, 40, 40]  # nothing recomputed
    assert second.run_id == first.run_id
    assert second.metrics == first.metrics
    fresh = robustlab.scan(
        cnn, small_digits, suite, store=store_url, shard_size=40, progress=False, resume=False
    )
    assert fresh.run_id != first.run_id and len(calls) == 6


def test_interrupt_keeps_finished_units_and_resume_matches(
    cnn, small_digits, tmp_path, monkeypatch
) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    reference = robustlab.scan(
        cnn, small_digits, SUITE, store=f"sqlite:///{tmp_path}/b.db", shard_size=30, progress=False
    )
    original = Clean.run
    calls = {"n": 0}

    def interrupted(self, model, batch, seed):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, model, batch, seed)

    monkeypatch.setattr(Clean, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        robustlab.scan(cnn, small_digits, SUITE, store=url, shard_size=30, progress=False)
    store = robustlab.Store(url)
    (run,) = store.runs()
    assert run["status"] == "interrupted"
    kept = store.units(run["id"])
    assert len(kept) == 2
    monkeypatch.setattr(Clean, "run", original)
    resumed = robustlab.scan(cnn, small_digits, SUITE, store=url, shard_size=30, progress=False)
    assert resumed.run_id == run["id"]
    after = store.units(run["id"])
    assert len(after) == 12
    before = {u["id"]: u["finished_at"] for u in kept}
    assert all(u["finished_at"] == before[u["id"]] for u in after if u["id"] in before)
    strip = [{k: v for k, v in m.items()} for m in resumed.metrics]
    assert strip == reference.metrics


def test_black_box_model_skips_gradient_probes_with_reason(logreg, small_digits, store_url) -> None:
    result = robustlab.scan(logreg, small_digits, SUITE, store=store_url, progress=False)
    assert result.status == "complete"
    (key,) = result.skipped
    assert key.startswith("attack(pgd")
    assert "needs gradients" in result.skipped[key]
    assert {m["probe_key"] for m in result.metrics} - {"summary"} == {
        "clean",
        "corruption(gaussian_noise,severity=3)",
    }


# -- bad input: each a one-line error naming the problem and the fix, before any work ----------


def _no_runs(url: str) -> bool:
    return robustlab.Store(url).count_runs() == 0


def test_model_with_wrong_output_shape(small_digits, store_url) -> None:
    model = FunctionModel(lambda x: np.zeros((len(x), 3)), num_classes=10, name="bad-shape")
    with pytest.raises(ModelError, match=r"returned 3 scores per input but num_classes=10"):
        robustlab.scan(model, small_digits, "quick", store=store_url, progress=False)
    assert _no_runs(store_url)


def test_model_returning_nan(small_digits, store_url) -> None:
    model = FunctionModel(lambda x: np.full((len(x), 10), np.nan), output="logits", name="nan")
    with pytest.raises(ModelError, match=r"returned NaN or infinite scores for 64 of 64 inputs"):
        robustlab.scan(model, small_digits, "quick", store=store_url, progress=False)
    assert _no_runs(store_url)


def test_labels_out_of_range(cnn, small_digits, store_url) -> None:
    targets = small_digits.targets.copy()
    targets[5] = 12
    data = ArrayDataset(small_digits.inputs, targets, name="bad-labels")
    with pytest.raises(DataError, match=r"labels up to 12 but model 'digits-cnn' has 10 classes"):
        robustlab.scan(cnn, data, "quick", store=store_url, progress=False)
    assert _no_runs(store_url)


def test_inputs_outside_bounds(cnn, small_digits, store_url) -> None:
    data = ArrayDataset(small_digits.inputs * 255, small_digits.targets, name="uint8-range")
    with pytest.raises(
        DataError,
        match=r"inputs range 0\.\.255 but model 'digits-cnn' declares bounds \(0, 1\).*divide by 255",
    ):
        robustlab.scan(cnn, data, "quick", store=store_url, progress=False)
    assert _no_runs(store_url)


def test_empty_dataset() -> None:
    with pytest.raises(DataError, match=r"Dataset 'empty' is empty; pass at least one example"):
        ArrayDataset(torch.zeros(0, 1, 8, 8), [], name="empty")


def test_unknown_suite_fails_before_work(cnn, small_digits, store_url) -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'standard'"):
        robustlab.scan(cnn, small_digits, "standart", store=store_url, progress=False)


def test_unopenable_store(cnn, small_digits, tmp_path) -> None:
    with pytest.raises(StoreError, match=r"Cannot open store .* does not exist; create it"):
        robustlab.scan(cnn, small_digits, "quick", store=f"sqlite:///{tmp_path}/no/such/s.db")


def test_modality_mismatch(cnn, store_url) -> None:
    data = ArrayDataset(np.random.rand(10, 64), np.arange(10) % 10, modality="tabular", name="rows")
    with pytest.raises(
        ConfigError, match=r"declared for image inputs but dataset 'rows' holds tabular"
    ):
        robustlab.scan(cnn, data, "quick", store=store_url, progress=False)


def test_renamed_model_and_data_resume_under_the_new_names(cnn, small_digits, store_url) -> None:
    """Names are metadata, not identity: re-scanning the same weights and arrays under new model,
    dataset and class names resumes the run and renames it everywhere (issue 24 item 7)."""
    suite = {"name": "clean-only", "probes": ["clean"]}
    old = robustlab.TorchModel(cnn.module, name="old-model")
    first = robustlab.scan(old, small_digits, suite, store=store_url, progress=False)
    new = robustlab.TorchModel(cnn.module, name="new-model")
    renamed = ArrayDataset(
        small_digits.inputs,
        small_digits.targets,
        ids=small_digits.ids,
        meta=small_digits.meta,
        class_names=[f"digit {c}" for c in range(10)],
        name="new-data",
    )
    second = robustlab.scan(new, renamed, suite, store=store_url, progress=False)
    assert second.run_id == first.run_id  # resumed: same weights, same data
    run = second.store.run(second.run_id)
    assert (run["model_name"], run["dataset_name"]) == ("new-model", "new-data")
    assert run["dataset_spec"]["class_names"][3] == "digit 3"
    assert second._doc()["runs"][0]["model"]["name"] == "new-model"
    assert [r["model_name"] for r in second.store.runs()] == ["new-model"]
