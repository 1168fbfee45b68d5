"""XGBoost and LightGBM through the one TableModel adapter (missing values, attacks, regression)."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_diabetes  # noqa: E402

import robustlab  # noqa: E402
from robustlab.tabular import TableDataset, TableModel  # noqa: E402

SUITE = {
    "name": "boost",
    "probes": [
        "clean",
        {"probe": "perturbation", "perturbation": "missing_mcar", "rate": 0.2, "impute": "none"},
        {"probe": "tabular_attack", "attack": "search", "epsilon": 0.5, "generations": 5},
    ],
}


def _models() -> list[tuple[str, object]]:
    out = []
    xgb = pytest.importorskip("xgboost")
    out.append(("xgboost", xgb.XGBClassifier(n_estimators=30, max_depth=3, n_jobs=1)))
    lgb = pytest.importorskip("lightgbm")
    out.append(("lightgbm", lgb.LGBMClassifier(n_estimators=30, n_jobs=1, verbose=-1)))
    return out


@pytest.mark.parametrize("name", ["xgboost", "lightgbm"])
def test_boosted_trees_scan_with_missing_values_and_attack(name: str) -> None:
    est = dict(_models())[name]
    bc = load_breast_cancer(as_frame=True)
    data = TableDataset(bc.data, bc.target.to_numpy(), name="bc")
    est.fit(bc.data, bc.target)  # type: ignore[attr-defined]
    model = TableModel(est, data.schema, name=name)
    assert model.accepts_nan and model.num_classes == 2
    direct = est.predict_proba(bc.data)  # type: ignore[attr-defined]
    np.testing.assert_allclose(model.predict_proba(data.rows).numpy(), direct, rtol=1e-6)
    res = robustlab.scan(model, data, SUITE, store="sqlite://", progress=False)
    acc = {m["label"]: m["value"] for m in res.metrics if m["metric"] == "accuracy"}
    assert acc["clean"] > 0.95
    attacked = next(v for k, v in acc.items() if "tabular_attack" in k)
    assert attacked < acc["clean"]  # the search breaks some rows of the boosted trees


def test_xgboost_regressor_is_a_regression_model() -> None:
    xgb = pytest.importorskip("xgboost")
    dia = load_diabetes(as_frame=True)
    reg = xgb.XGBRegressor(n_estimators=30, max_depth=3, n_jobs=1).fit(dia.data, dia.target)
    data = TableDataset(dia.data, dia.target.to_numpy(), task="regression", name="diabetes")
    model = TableModel(reg, data.schema)
    assert model.task == "regression"
    np.testing.assert_allclose(
        model.predict_values(data.rows).numpy().reshape(-1), reg.predict(dia.data), rtol=1e-5
    )
