"""Tabular probes end to end: criterion checks, column sensitivity, metamorphic tests, and the
report's tabular section (sensitivity bars, fragile rows with changed cells, violations)."""

from __future__ import annotations

import re

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_diabetes  # noqa: E402
from sklearn.ensemble import GradientBoostingRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import robustlab  # noqa: E402
from robustlab.errors import ConfigError  # noqa: E402
from robustlab.tabular import Schema, TableDataset, TableModel  # noqa: E402


def _linear_table(n: int = 120) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "x0": rng.normal(size=n),
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "kind": rng.choice(["a", "b"], n),
        }
    )
    return df, (df["x1"] > 0).to_numpy().astype(int)


def _uses_only_x1(frame: pd.DataFrame) -> np.ndarray:
    """A real (hand-set) logistic model of x1 alone: P(class 1) rises with x1."""
    p1 = 1.0 / (1.0 + np.exp(-4.0 * frame["x1"].to_numpy(dtype=float)))
    return np.stack([1 - p1, p1], axis=1)


def _scan(model, data, probes, store=None):  # type: ignore[no-untyped-def]
    return robustlab.scan(
        model, data, {"name": "t", "probes": probes}, store=store or "sqlite://", progress=False
    )


def test_regressor_given_a_classification_criterion_is_refused_before_any_work() -> None:
    from robustlab.attacks.tabular import attack_rows

    dia = load_diabetes(as_frame=True)
    rdata = TableDataset(dia.data, dia.target.to_numpy(), task="regression", name="diabetes")
    reg = TableModel(
        GradientBoostingRegressor(n_estimators=10).fit(dia.data, dia.target), rdata.schema
    )
    with pytest.raises(ConfigError, match=r"'misclassified'.*regressor.*'score_changed'"):
        attack_rows(reg, rdata.rows[:5], rdata.targets[:5], criterion="misclassified")
    with pytest.raises(ConfigError, match=r"'misclassified'.*regressor"):
        _scan(reg, rdata, [{"probe": "tabular_attack", "criterion": "misclassified"}])
    df, y = _linear_table()
    data = TableDataset(df, y, name="lin")
    clf = TableModel(_uses_only_x1, data.schema, task="classification", num_classes=2)
    with pytest.raises(ConfigError, match=r"'score_changed'.*classifier.*'misclassified'"):
        _scan(clf, data, [{"probe": "tabular_attack", "criterion": "score_changed"}])
    with pytest.raises(ConfigError, match="must be one of"):
        attack_rows(clf, data.rows[:5], data.targets[:5], criterion="demoted")


def test_column_sensitivity_names_the_only_column_the_model_reads() -> None:
    df, y = _linear_table()
    data = TableDataset(df, y, name="lin")
    model = TableModel(_uses_only_x1, data.schema, task="classification", num_classes=2)
    from robustlab.report.data import run_data
    from robustlab.report.tabular import tabular_section
    from robustlab.store import open_store

    db = open_store("sqlite://")
    res = _scan(model, data, ["clean", {"probe": "column_sensitivity", "scale": 0.5}], db)

    acc = {m["label"]: m["value"] for m in res.metrics if m["metric"] == "accuracy"}
    sens_acc = next(v for k, v in acc.items() if "column_sensitivity" in k)
    assert sens_acc < acc["clean"]  # the worst one-column change costs accuracy
    run = run_data(db, res.run_id, artifacts=True)
    section = tabular_section(run)
    assert section is not None
    table = section["sensitivity"][0]["rows"]
    assert table[0]["column"] == "x1" and table[0]["share"] > 0.05
    assert {r["column"]: r["share"] for r in table[1:]} == {"x0": 0.0, "x2": 0.0, "kind": 0.0}
    assert table[0]["rows"] == len(df)  # the shards' counts add up to every row


def test_metamorphic_probe_passes_and_fails_on_known_answers() -> None:
    df, y = _linear_table()
    data = TableDataset(df, y, name="lin")
    model = TableModel(_uses_only_x1, data.schema, task="classification", num_classes=2)
    probes = [
        {"probe": "tabular_metamorphic", "column": "x1", "expect": "increasing"},
        {"probe": "tabular_metamorphic", "column": "x1", "expect": "decreasing"},
        {"probe": "tabular_metamorphic", "column": "x0", "amount": 3.0},  # invariant
        {"probe": "tabular_metamorphic", "column": "kind", "change": "set", "level": "b"},
    ]
    res = _scan(model, data, probes)
    rate = {m["label"]: (m["value"], m["n"]) for m in res.metrics if m["metric"] == "pass_rate"}
    values = list(rate.values())
    # rows already at a column's maximum stay there (clipped to the schema): not recorded
    below = lambda c: int((df[c] < df[c].max()).sum())  # noqa: E731
    assert values[0] == (1.0, below("x1"))  # P(class 1) rises with x1 on every row
    assert values[1][0] == 0.0  # so "decreasing" fails on every row
    assert values[2] == (1.0, below("x0"))  # x0 is ignored
    assert values[3] == (1.0, int((df["kind"] == "a").sum()))  # only rows that changed count
    with pytest.raises(ConfigError, match="level 'c'"):
        _scan(
            model,
            data,
            [{"probe": "tabular_metamorphic", "column": "kind", "change": "set", "level": "c"}],
        )
    with pytest.raises(ConfigError, match="Did you mean 'x1'"):
        _scan(model, data, [{"probe": "tabular_metamorphic", "column": "x11"}])
    with pytest.raises(ConfigError, match="threshold"):
        _scan(model, data, [{"probe": "tabular_metamorphic", "column": "x1", "threshold": 0}])


def test_metamorphic_on_a_regressor() -> None:
    dia = load_diabetes(as_frame=True)
    data = TableDataset(dia.data, dia.target.to_numpy(), task="regression", name="diabetes")
    reg = TableModel(
        GradientBoostingRegressor(n_estimators=30, random_state=0).fit(dia.data, dia.target),
        data.schema,
    )
    res = _scan(
        reg,
        data,
        [
            {
                "probe": "tabular_metamorphic",
                "column": "bmi",
                "amount": 1.0,
                "expect": "increasing",
                "tolerance": 0.02,
            },
        ],
    )
    (m,) = [m for m in res.metrics if m["metric"] == "pass_rate"]
    # a higher BMI predicts more disease progression for most patients, not for all
    assert 0.5 < m["value"] < 1.0
    assert m["n"] == int((dia.data["bmi"] < dia.data["bmi"].max()).sum())


def test_breast_cancer_report_shows_the_tabular_section(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from robustlab.report import write_report
    from robustlab.store import open_store

    bc = load_breast_cancer(as_frame=True)
    frame = bc.frame.sample(200, random_state=0).reset_index(drop=True)
    schema = Schema.infer(bc.data, relations=["`mean radius` <= `worst radius`"])
    data = TableDataset(frame, "target", schema=schema, name="bc")
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model = TableModel(pipe.fit(bc.data, bc.target), schema, name="logreg")
    db = open_store(f"sqlite:///{tmp_path / 'bc.db'}")
    suite = {
        "name": "tab",
        "probes": [
            "clean",
            {"probe": "column_sensitivity", "scale": 1.0},
            {
                "probe": "tabular_metamorphic",
                "column": "mean radius",
                "amount": 2.0,
                "expect": "decreasing",
                "class_index": 1,
                "threshold": 0.95,
            },
            {"probe": "perturbation", "perturbation": "column_noise", "scale": 0.5},
            {"probe": "tabular_attack", "epsilon": 0.5, "generations": 5},
        ],
    }
    res = robustlab.scan(model, data, suite, store=db, progress=False)
    feas = [m for m in res.metrics if m["metric"] == "feasibility_rate"]
    assert feas and feas[0]["value"] == 1.0
    html, _ = write_report(db, [res.run_id], tmp_path / "report")
    page = html.read_text()
    assert "Tabular: columns, rules and fragile rows" in page
    assert "Column sensitivity" in page and "mean radius" in page
    assert re.search(r"0 of \d+ adversarial rows break the schema", page)
    # fragile rows show their changed cells with the new value highlighted
    assert re.search(r'<span class="col">[^<]+</span> [^<]+ → <mark>[^<]+</mark>', page)
    assert "Metamorphic tests" in page and re.search(
        r"<td class=\"(held|failed)\">(pass|FAIL)", page
    )
    assert 'href="#run-' in page and '-tabular">Tabular</a>' in page
