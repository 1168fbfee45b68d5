"""Datasets with identical content share one stored row; each run keeps the name it was given."""

from __future__ import annotations

import robustlab
from robustlab.data import ArrayDataset
from robustlab.report import collect


def test_each_run_shows_the_dataset_name_it_was_scanned_under(small_digits, store_url) -> None:
    from robustlab.demo import train_digits_logreg

    model = train_digits_logreg(name="m")
    suite = {"name": "names", "probes": ["clean"]}
    first = ArrayDataset(small_digits.inputs, small_digits.targets, name="digits-a")
    second = ArrayDataset(small_digits.inputs, small_digits.targets, name="digits-b")
    a = robustlab.scan(model, first, suite, store=store_url, progress=False, seed=1)
    b = robustlab.scan(model, second, suite, store=store_url, progress=False, seed=2)
    store = a.store
    assert store.run(a.run_id)["dataset_fingerprint"] == store.run(b.run_id)["dataset_fingerprint"]
    assert store.run(a.run_id)["dataset_name"] == "digits-a"
    assert store.run(b.run_id)["dataset_name"] == "digits-b"
    doc = collect(store, [a.run_id, b.run_id])
    assert [r["dataset"]["name"] for r in doc["runs"]] == ["digits-a", "digits-b"]
