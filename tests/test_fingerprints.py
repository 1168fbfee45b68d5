"""A FunctionModel's fingerprint follows the state its function reads, so a refitted model behind
the same function never resumes the old run (issue 19, item 1)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from robustlab import ArrayDataset, FunctionModel, scan

CLEAN = {"name": "clean-only", "version": 1, "probes": ["clean"]}


def _data() -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).random((60, 4))
    return x, (x[:, 0] > 0.5).astype(int)


def _wrap(fn, **kw) -> FunctionModel:
    return FunctionModel(fn, num_classes=2, modality="tabular", bounds=None, name="svc", **kw)


def test_a_refitted_estimator_behind_the_same_method_is_a_new_model() -> None:
    x, y = _data()
    clf = LogisticRegression().fit(x, y)
    before = _wrap(clf.predict_proba).fingerprint()
    assert _wrap(clf.predict_proba).fingerprint() == before  # same state, same model
    clf.fit(x, 1 - y)
    assert _wrap(clf.predict_proba).fingerprint() != before


def test_closures_and_globals_count_and_plain_functions_do_not_change() -> None:
    weights = [np.array([1.0, 0, 0, 0])]

    def make(w):
        return lambda b: np.stack([-(b @ w), b @ w], axis=1)

    assert _wrap(make(weights[0])).fingerprint() != _wrap(make(-weights[0])).fingerprint()
    net = torch.nn.Linear(4, 2)

    def call(b):
        return net(torch.as_tensor(b, dtype=torch.float32)).detach().numpy()

    first = _wrap(call).fingerprint()
    with torch.no_grad():
        net.weight.add_(1.0)
    assert _wrap(call).fingerprint() != first
    assert _wrap(call, version="v1").fingerprint() == _wrap(call, version="v1").fingerprint()


def test_a_scan_of_the_refitted_model_does_not_resume_the_stale_run(tmp_path) -> None:
    x, y = _data()
    data = ArrayDataset(x, y, name="rows", modality="tabular")
    store = f"sqlite:///{tmp_path}/s.db"
    clf = LogisticRegression().fit(x, y)
    first = scan(_wrap(clf.predict_proba), data, CLEAN, store=store, progress=False)
    clf.fit(x, 1 - y)  # now wrong on every example
    second = scan(_wrap(clf.predict_proba), data, CLEAN, store=store, progress=False)
    assert second.run_id != first.run_id

    def acc(r):
        return next(m["value"] for m in r.metrics if m["metric"] == "accuracy")

    assert acc(first) > 0.9 and acc(second) < 0.1
