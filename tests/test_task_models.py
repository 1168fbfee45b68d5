"""Models and datasets declare their task: regression adapters, real-valued targets, unchanged
classification fingerprints, and clear errors for a model, data or metric of another task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression
from torch import nn

from robustlab import ArrayDataset, FunctionModel, SklearnModel, TextDataset, TorchModel, scan
from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.models.base import Model


def toy_predictor(x):
    return np.stack([1 - x.mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3))], axis=1)


X_SMALL = np.arange(24, dtype=np.float32).reshape(6, 4) / 24
CLEAN = {"name": "r", "version": 1, "probes": ["clean"]}


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray, LinearRegression]:
    x, y = load_diabetes(return_X_y=True)
    x = x.astype(np.float32)
    return x[300:], y[300:], LinearRegression().fit(x[:300], y[:300])


# -- classification fingerprints: exactly those of the release before tasks ---------------------


def test_classification_fingerprints_are_those_of_release_0_1_0() -> None:
    """Values computed with RobustLab at ace8163 (before tasks): resume and baselines match
    stored runs by them."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    assert FunctionModel(toy_predictor, num_classes=2, name="toy").fingerprint() == (
        "365f990920abfce4"
    )
    assert TorchModel(net, num_classes=3, modality="tabular", bounds=None).fingerprint() == (
        "2eaf43170fbd0ba2"
    )
    data = ArrayDataset(X_SMALL, [0, 1, 2, 0, 1, 2], modality="tabular", meta={"group": "aabbcc"})
    assert data.fingerprint() == "c659a48b0a473d89"
    assert TextDataset(["a b", "c d"], [0, 1]).fingerprint() == "0d90dee4c32de289"
    assert "task" not in data.describe() and "task" not in FunctionModel(toy_predictor).describe()


def test_sklearn_classifier_fingerprint_formula_is_unchanged() -> None:
    import pickle

    clf = LogisticRegression().fit(X_SMALL, [0, 1, 0, 1, 0, 1])
    model = SklearnModel(clf)
    assert model.task == "classification"
    assert model.fingerprint() == Model._hash(pickle.dumps(clf, protocol=4), "None", "True")


def test_the_task_is_part_of_other_tasks_fingerprints() -> None:
    y = [0.0, 1.0, 2.0, 0.0, 1.0, 2.0]
    a = ArrayDataset(X_SMALL, y, modality="tabular")
    b = ArrayDataset(X_SMALL, y, modality="tabular", task="regression")
    assert a.fingerprint() != b.fingerprint()
    assert b.describe()["task"] == "regression" and b.num_classes is None
    f = FunctionModel(lambda x: x.sum(1), task="regression", modality="tabular", bounds=None)
    assert f.describe()["task"] == "regression" and f.output == "values"


# -- regression models ---------------------------------------------------------------------------


def test_sklearn_regressor_is_wrapped_as_a_regression_model(diabetes: tuple) -> None:
    x, _, reg = diabetes
    model = SklearnModel(reg)
    assert (model.task, model.output, model.num_classes) == ("regression", "values", None)
    assert model.capabilities == frozenset({"scores"})
    values = model.predict_values(x[:5])
    assert values.dtype == torch.float64 and values.shape == (5,)
    np.testing.assert_array_equal(values.numpy(), reg.predict(x[:5]))
    np.testing.assert_array_equal(model.predict_outputs(x[:5]), reg.predict(x[:5]))
    with pytest.raises(ModelError, match="regression model returning values, not class scores"):
        model.predict_scores(x[:5])


def test_torch_and_function_regressors(diabetes: tuple) -> None:
    x, _, _ = diabetes
    torch.manual_seed(0)
    net = nn.Linear(x.shape[1], 1)  # (n, 1) outputs are read as (n,)
    model = TorchModel(net, task="regression", modality="tabular", bounds=None)
    out = model.predict_values(torch.as_tensor(x[:7]))
    assert out.shape == (7,) and model.output == "values"
    assert "gradients" in model.capabilities
    f = FunctionModel(lambda b: b[:, 0] * 2, task="regression", modality="tabular", bounds=None)
    np.testing.assert_allclose(f.predict_values(x[:3]).numpy(), x[:3, 0] * 2, rtol=1e-6)


def test_regression_outputs_of_the_wrong_shape_or_not_finite_are_refused() -> None:
    wide = FunctionModel(lambda b: np.ones((len(b), 2)), task="regression", modality="tabular")
    with pytest.raises(ModelError, match=r"must return one value per input, shape \(3,\)"):
        wide.predict_values(np.zeros((3, 2), dtype=np.float32))
    nan = FunctionModel(lambda b: np.full(len(b), np.nan), task="regression", modality="tabular")
    with pytest.raises(ModelError, match="NaN or infinite values for 3 of 3 inputs"):
        nan.predict_values(np.zeros((3, 2), dtype=np.float32))
    clf = FunctionModel(toy_predictor, num_classes=2)
    with pytest.raises(ModelError, match="not one value per input"):
        clf.predict_values(np.zeros((2, 1, 2, 2), dtype=np.float32))


def test_a_model_declares_a_known_task_and_a_matching_output() -> None:
    with pytest.raises(ConfigError) as info:
        FunctionModel(toy_predictor, task="regresion")
    from robustlab.tasks import TASKS

    assert str(info.value) == (
        f"The 'task' parameter of FunctionModel must be one of {TASKS.names()}. "
        "Got 'regresion' instead."
    )
    with pytest.raises(
        ConfigError,
        match=r"'output' parameter of FunctionModel must be one of "
        r"\['values'\] for a regression model\. Got 'logits' instead\.",
    ):
        FunctionModel(toy_predictor, task="regression", output="logits")
    with pytest.raises(ConfigError, match=r"for a classification model\. Got 'values'"):
        FunctionModel(toy_predictor, output="values")
    with pytest.raises(ConfigError, match=r"is a classifier .*task='classification'"):
        SklearnModel(LogisticRegression().fit(X_SMALL, [0, 1] * 3), task="regression")


# -- datasets carry targets of their task --------------------------------------------------------


def test_datasets_take_targets_of_their_task() -> None:
    y = np.array([1.5, -2.0, 0.25, 3.0, 4.0, 5.0])
    ds = ArrayDataset(X_SMALL, y, modality="tabular", task="regression", name="reg")
    assert ds.task == "regression" and ds.targets.dtype == np.float64
    np.testing.assert_array_equal(ds.batch(np.array([2, 0])).targets.numpy(), [0.25, 1.5])
    with pytest.raises(DataError, match=r"Dataset 'reg': regression target 1 is nan"):
        ArrayDataset(
            X_SMALL, [1.0, np.nan, 0, 0, 0, 0], modality="tabular", task="regression", name="reg"
        )
    # classification keeps the messages it always had
    with pytest.raises(DataError) as info:
        ArrayDataset(X_SMALL, y, modality="tabular", name="cls")
    assert str(info.value) == (
        "Dataset 'cls': targets must be integer class indices; got dtype float64. Encode string "
        "labels as 0..K-1 first."
    )
    with pytest.raises(ConfigError, match="The 'task' parameter of ArrayDataset must be one of"):
        ArrayDataset(X_SMALL, y, modality="tabular", task="forecasting")


# -- bad input before any work -------------------------------------------------------------------


def test_a_regression_model_on_class_ids_is_refused_before_any_work(
    diabetes: tuple, tmp_path: Path
) -> None:
    x, y, reg = diabetes
    classes = ArrayDataset(x, (y > 150).astype(int), modality="tabular", name="high-or-low")
    store = tmp_path / "never.db"
    with pytest.raises(ConfigError) as info:
        scan(SklearnModel(reg, name="ridge"), classes, CLEAN, store=str(store), progress=False)
    msg = str(info.value)
    assert msg.startswith(
        "Model 'ridge' is a regression model but dataset 'high-or-low' holds classification targets"
    )
    assert "wrap the model with task='classification'" in msg and "task='regression'" in msg
    assert not store.exists()  # nothing was started


def test_a_classifier_on_real_valued_targets_is_refused(diabetes: tuple, tmp_path: Path) -> None:
    x, y, _ = diabetes
    values = ArrayDataset(x, y, modality="tabular", task="regression", name="diabetes")
    clf = SklearnModel(LogisticRegression().fit(x, (y > 150).astype(int)), name="logreg")
    with pytest.raises(
        ConfigError,
        match="Model 'logreg' is a classification model but dataset "
        "'diabetes' holds regression targets",
    ):
        scan(clf, values, CLEAN, store=str(tmp_path / "s.db"), progress=False)


@pytest.mark.parametrize(
    ("regression", "metric", "fits"),
    [(True, "accuracy", "mae, mse"), (False, "mse", "accuracy")],
)
def test_a_suite_metric_of_another_task_is_refused(
    diabetes: tuple, tmp_path: Path, regression: bool, metric: str, fits: str
) -> None:
    x, y, reg = diabetes
    if regression:
        model = SklearnModel(reg, name="m")
        data = ArrayDataset(x, y, modality="tabular", task="regression")
    else:
        labels = (y > 150).astype(int)
        model = SklearnModel(LogisticRegression().fit(x, labels), name="m")
        data = ArrayDataset(x, labels, modality="tabular")
    suite = {**CLEAN, "metrics": [metric]}
    store = tmp_path / "never.db"
    with pytest.raises(ConfigError) as info:
        scan(model, data, suite, store=str(store), progress=False)
    msg = str(info.value)
    task = "regression" if regression else "classification"
    assert msg.startswith(f"Suite 'r' names metric {metric!r}, which applies to ")
    assert f"model 'm' is a {task} model; remove {metric!r} from the suite's metrics" in msg
    assert fits in msg and not store.exists()


# -- a regression scan end to end ----------------------------------------------------------------


def test_a_regression_scan_stores_records_and_known_metrics(
    diabetes: tuple, tmp_path: Path
) -> None:
    x, y, reg = diabetes
    data = ArrayDataset(x, y, modality="tabular", task="regression", name="diabetes-test")
    result = scan(
        SklearnModel(reg), data, CLEAN, store=str(tmp_path / "s.db"), shard_size=50, progress=False
    )
    pred = reg.predict(x)
    rows = {r["metric"]: r for r in result.metrics}
    assert set(rows) == {"mse", "mae"}
    assert rows["mse"]["value"] == pytest.approx(float(np.mean((pred - y) ** 2)), rel=1e-12)
    assert rows["mae"]["value"] == pytest.approx(float(np.mean(np.abs(pred - y))), rel=1e-12)
    assert rows["mse"]["ci_low"] < rows["mse"]["value"] < rows["mse"]["ci_high"]
    recs = result.store.load_records(result.run_id, "clean")
    assert recs.task == "regression" and len(recs) == len(y)
    np.testing.assert_array_equal(recs.prediction, pred)
    np.testing.assert_array_equal(recs.target, y)
    assert not recs.broken.any()
    result.store.close()


def test_regression_runs_export_and_import_with_their_task(diabetes: tuple, tmp_path: Path) -> None:
    from robustlab.report.exports import export_document, import_document
    from robustlab.store import Store

    x, y, reg = diabetes
    data = ArrayDataset(x[:40], y[:40], modality="tabular", task="regression", name="d40")
    result = scan(SklearnModel(reg), data, CLEAN, store=str(tmp_path / "a.db"), progress=False)
    doc = export_document(result.store, [result.run_id])
    (unit,) = doc["runs"][0]["stored"]["units"]
    assert unit["task"] == "regression" and unit["records"]["squared_error"][0] >= 0
    target = Store(str(tmp_path / "b.db"))
    assert import_document(doc, target) == [result.run_id]
    back = target.load_records(result.run_id, "clean")
    assert back.rows() == result.store.load_records(result.run_id, "clean").rows()
    target.close()
    result.store.close()
