"""Tabular robustness: schema inference, checking and repair, schema-valid perturbations, the
table model adapter, label noise and scans on scikit-learn's breast-cancer, wine and diabetes."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine  # noqa: E402
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import robustlab  # noqa: E402
from robustlab.errors import ConfigError, DataError, ModelError  # noqa: E402
from robustlab.perturbations import PERTURBATIONS  # noqa: E402
from robustlab.tabular import Schema, TableDataset, TableModel  # noqa: E402
from robustlab.tabular.label_noise import noisy_labels  # noqa: E402

TABULAR = [n for n, c in PERTURBATIONS.items() if c.modality == "tabular"]


def _loans() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    total = rng.integers(2, 20, n)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.gamma(3, 20_000, n),
            "open_accounts": np.minimum(rng.integers(0, 20, n), total),
            "total_accounts": total,
            "region": rng.choice(["north", "south", "east"], n),
            "own": (rng.random(n) < 0.5).astype(float),
            "rent": 0.0,
        }
    ).assign(rent=lambda d: 1.0 - d["own"])


def _loan_schema(df: pd.DataFrame) -> Schema:
    return Schema.infer(
        df,
        one_hot=[["own", "rent"]],
        immutable=["age"],
        relations=["open_accounts <= total_accounts"],
    )


def test_inferred_schema_kinds_ranges_and_yaml_round_trip() -> None:
    df = _loans()
    s = _loan_schema(df)
    assert s.column("age").kind == "integer" and s.column("income").kind == "numeric"
    assert s.column("region").levels == ["east", "north", "south"]
    assert s.column("age").low == df["age"].min() and s.column("age").immutable
    back = Schema.from_yaml(s.to_yaml())
    assert back.to_dict() == s.to_dict()
    assert s.check(df) == []  # the data follows its own schema
    assert s.decode(s.encode(df))["region"].tolist() == df["region"].tolist()


def test_checker_reports_each_violation_per_row_and_repair_fixes_them() -> None:
    df = _loans()
    s = _loan_schema(df)
    x = s.encode(df)
    bad = x.copy()
    j = s.index
    bad[0, j["age"]] = 5  # below range, and immutable changed
    bad[1, j["open_accounts"]] = bad[1, j["total_accounts"]] + 3  # relation
    bad[2, j["own"]] = 1.0
    bad[2, j["rent"]] = 1.0  # one-hot group with two ones
    bad[3, j["total_accounts"]] = 4.5  # not an integer
    found = s.check(bad, original=x)
    rules = {(v.row, v.rule) for v in found}
    assert (0, "below 18") in rules or any(r == 0 and "below" in t for r, t in rules)
    assert (0, "immutable column changed") in rules
    assert (1, "open_accounts <= total_accounts") in rules
    assert (2, "one-hot group") in rules
    assert (3, "not an integer") in rules
    assert {v.row for v in found} == {0, 1, 2, 3}
    fixed = s.repair(bad, original=x)
    assert s.check(fixed, original=x) == []
    assert fixed[0, j["age"]] == x[0, j["age"]]


def test_bad_input_names_column_and_row() -> None:
    df = _loans()
    s = _loan_schema(df)
    with pytest.raises(DataError, match="'extra'"):
        s.encode(df.assign(extra=1))
    unseen = df.copy()
    unseen.loc[4, "region"] = "west"
    with pytest.raises(DataError, match=r"Row 4, column 'region'.*'west'"):
        s.encode(unseen)
    with pytest.raises(ConfigError, match="'balance'"):
        s.add_relation("balance <= income")
    with pytest.raises(ConfigError, match=r"no column 'agee'.*Did you mean 'age'"):
        s.column("agee")
    wrong = Schema.infer(df, relations=["total_accounts <= open_accounts"])
    with pytest.raises(DataError, match=r"contradicted.*row"):
        TableDataset(df, np.zeros(len(df), dtype=int), schema=wrong)
    model = TableModel(lambda frame: np.full((len(frame), 2), 0.5), s, task="classification")
    x = s.encode(df)
    x[7, s.index["income"]] = np.nan
    with pytest.raises(ModelError, match=r"Row 7, column 'income'.*NaN"):
        model.predict_proba(x)


@pytest.mark.parametrize("name", TABULAR)
def test_perturbations_keep_rows_valid_on_mixed_table(name: str) -> None:
    df = _loans()
    s = _loan_schema(df)
    x = s.encode(df)
    p = PERTURBATIONS.get(name).example()
    out = p.apply(x, seed=1, schema=s)
    filled = np.where(np.isnan(out.inputs), x, out.inputs)
    assert s.check(filled, original=x) == [], name
    assert np.array_equal(out.inputs[:, s.index["age"]], x[:, s.index["age"]])  # immutable
    again = p.apply(x, seed=1, schema=s)
    assert np.array_equal(out.inputs, again.inputs, equal_nan=True)
    assert out.changed.any()


def test_noise_scale_follows_column_spread() -> None:
    df = _loans()
    s = _loan_schema(df)
    x = s.encode(df)
    out = PERTURBATIONS.build("column_noise", scale=0.01).apply(x, seed=0, schema=s)
    d = np.abs(out.inputs - x)
    assert d[:, s.index["income"]].mean() > 100 * d[:, s.index["total_accounts"]].mean() + 1


def test_mcar_rate_and_mnar_targets_large_values() -> None:
    x = np.random.default_rng(0).normal(size=(4000, 3))
    s = Schema.infer(x)
    out = PERTURBATIONS.build("missing_mcar", rate=0.2, impute="none").apply(x, seed=0, schema=s)
    assert abs(np.isnan(out.inputs).mean() - 0.2) < 0.02
    mnar = PERTURBATIONS.build("missing_mnar", rate=0.2, impute="none").apply(x, 0, schema=s)
    gone = np.isnan(mnar.inputs[:, 0])
    assert x[gone, 0].mean() > x[~gone, 0].mean() + 0.5


def test_label_noise_symmetric_and_class_conditional() -> None:
    y = np.repeat(np.arange(3), 2000)
    noisy, flipped = noisy_labels(y, rate=0.3, seed=0)
    assert abs(flipped.mean() - 0.3) < 0.02 and np.array_equal(noisy != y, flipped)
    t = np.eye(3)
    t[0] = [0.5, 0.5, 0.0]
    noisy, flipped = noisy_labels(y, transition=t, seed=0)
    assert not flipped[y != 0].any() and set(noisy[y == 0]) == {0, 1}
    assert abs(flipped[y == 0].mean() - 0.5) < 0.04
    with pytest.raises(ConfigError, match="rows sum to 1"):
        noisy_labels(y, transition=np.ones((3, 3)))


def test_scan_breast_cancer_pipeline_on_a_dataframe() -> None:
    bc = load_breast_cancer(as_frame=True)
    frame = bc.frame.sample(160, random_state=0).reset_index(drop=True)
    data = TableDataset(frame, "target", group_column="mean radius", name="breast-cancer")
    features = frame.drop(columns="target")
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    pipe.fit(features, frame["target"])
    model = TableModel(pipe, data.schema)
    suite = {
        "name": "t",
        "probes": [
            "clean",
            {"probe": "perturbation", "perturbation": "column_noise", "scale": 0.5},
            {"probe": "perturbation", "perturbation": "missing_mcar", "rate": 0.3},
        ],
    }
    res = robustlab.scan(model, data, suite, store="sqlite://", progress=False)
    acc = {m["label"]: m["value"] for m in res.metrics if m["metric"] == "accuracy"}
    assert acc["clean"] > 0.9
    noisy = next(v for k, v in acc.items() if "column_noise" in k)
    assert noisy <= acc["clean"]
    axes = {m["axis"] for m in res.metrics}
    assert "tabular" in axes
    assert len(set(data.meta["group"])) == 4


def test_wine_boosted_trees_with_nan_and_diabetes_regression() -> None:
    wine = load_wine(as_frame=True)
    x = wine.data
    data = TableDataset(x, wine.target.to_numpy(), name="wine")
    trees = HistGradientBoostingClassifier(max_iter=30).fit(x, wine.target)
    model = TableModel(trees, data.schema)
    assert model.accepts_nan
    out = PERTURBATIONS.build("missing_mcar", rate=0.3, impute="none").apply(
        data.rows, seed=0, schema=data.schema
    )
    proba = model.predict_proba(out.inputs)
    assert proba.shape == (len(x), 3) and np.isfinite(proba.numpy()).all()

    dia = load_diabetes(as_frame=True)
    reg = GradientBoostingRegressor(n_estimators=30).fit(dia.data, dia.target)
    rdata = TableDataset(dia.data, dia.target.to_numpy(), name="diabetes", task="regression")
    rmodel = TableModel(reg, rdata.schema)
    assert rmodel.task == "regression"
    suite = {
        "name": "r",
        "probes": [{"probe": "perturbation", "perturbation": "feature_drift", "column": "bmi"}],
    }
    res = robustlab.scan(rmodel, rdata, suite, store="sqlite://", progress=False)
    assert res.metrics and all(m["axis"] == "tabular" for m in res.metrics)


def test_torch_mlp_through_the_adapter() -> None:
    torch = pytest.importorskip("torch")
    df = _loans().drop(columns=["region"])
    s = Schema.infer(df)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(len(s.columns), 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)
    )
    model = TableModel(mlp, s, num_classes=2)
    p = model.predict_proba(s.encode(df))
    assert p.shape == (len(df), 2) and torch.allclose(p.sum(1), torch.ones(len(df)))


def test_tabular_standard_suite_loads() -> None:
    from robustlab.suites import load_suite

    suite = load_suite("tabular-standard")
    assert len(suite.probes) >= 8


def test_search_attack_on_trees_keeps_rows_valid_and_breaks_some() -> None:
    from robustlab.attacks.tabular import attack_rows

    bc = load_breast_cancer(as_frame=True)
    data = TableDataset(bc.data, bc.target.to_numpy(), name="bc")
    trees = HistGradientBoostingClassifier(max_iter=20).fit(bc.data, bc.target)
    model = TableModel(trees, data.schema)
    x, y = data.rows[:40], data.targets[:40]
    res = attack_rows(model, x, y, attack="search", epsilon=0.5, generations=8, seed=0)
    assert res.feasible.all()
    assert data.schema.check(res.adversarial) == []
    assert res.success.any()
    pred = model.predict_proba(res.adversarial).numpy().argmax(1)
    assert (pred[res.success] != y[res.success]).all()  # re-checked on a fresh forward pass
    eps = 0.5 * data.schema.scales
    assert (np.abs(res.adversarial - x.numpy()) <= eps + 1e-9).all()
    again = attack_rows(model, x, y, attack="search", epsilon=0.5, generations=8, seed=0)
    assert np.array_equal(again.adversarial, res.adversarial)


def test_gradient_attack_on_mlp_and_regressor_relative_change() -> None:
    torch = pytest.importorskip("torch")
    from robustlab.attacks.tabular import attack_rows

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    s = Schema.infer(x, relations=["x0 <= 5"])
    net = torch.nn.Linear(3, 2)
    with torch.no_grad():
        net.weight[:] = torch.tensor([[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]])
        net.bias.zero_()
    model = TableModel(net, s, num_classes=2)
    res = attack_rows(model, x, y, attack="gradient", epsilon=1.0, seed=0)
    assert res.feasible.all() and res.success.mean() > 0.3
    with pytest.raises(ConfigError, match="needs a torch model"):
        attack_rows(TableModel(lambda f: np.full((len(f), 2), 0.5), s), x, y, attack="gradient")
    dia = load_diabetes(as_frame=True)
    reg = GradientBoostingRegressor(n_estimators=20).fit(dia.data, dia.target)
    rdata = TableDataset(dia.data, dia.target.to_numpy(), task="regression")
    rmodel = TableModel(reg, rdata.schema)
    out = attack_rows(rmodel, rdata.rows[:30], rdata.targets[:30], epsilon=0.5, tolerance=0.1)
    clean = rmodel.predict_values(rdata.rows[:30]).numpy()
    adv = rmodel.predict_values(out.adversarial).numpy()
    rel = np.abs(adv - clean) / np.abs(clean)
    assert (rel[out.success] > 0.1).all() and out.feasible.all()


def test_tabular_attack_probe_in_a_scan() -> None:
    wine = load_wine(as_frame=True)
    data = TableDataset(wine.data, wine.target.to_numpy(), name="wine")
    trees = HistGradientBoostingClassifier(max_iter=20).fit(wine.data, wine.target)
    suite = {
        "name": "a",
        "probes": ["clean", {"probe": "tabular_attack", "epsilon": 0.5, "generations": 5}],
    }
    res = robustlab.scan(
        TableModel(trees, data.schema), data, suite, store="sqlite://", progress=False
    )
    acc = {m["label"]: m["value"] for m in res.metrics if m["metric"] == "accuracy"}
    attacked = next(v for k, v in acc.items() if "tabular_attack" in k)
    assert attacked <= acc["clean"]


def test_relation_with_backticked_names() -> None:
    from robustlab.tabular import Relation

    rel = Relation.parse("`mean radius` + 2*b <= `worst radius` - 1")
    assert dict(rel.coefs) == {"mean radius": 1.0, "b": 2.0, "worst radius": -1.0}
    assert rel.constant == 1.0 and rel.op == "<="


@pytest.mark.slow
def test_tabular_demo_cli(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from robustlab.cli import cli

    db = f"sqlite:///{tmp_path / 'r.db'}"
    result = CliRunner().invoke(
        cli, ["demo", "--tabular", "--store", db, "--out", str(tmp_path / "rep"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rep" / "index.html").exists()
    assert "tabular_attack" in result.output
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "Tabular: columns, rules and fragile rows" in page
    assert "Metamorphic tests" in page and "Column sensitivity" in page


def test_column_sensitivity_finds_the_column_the_model_uses() -> None:
    from robustlab.tabular.sensitivity import column_sensitivity, fragile_rows

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"used": rng.normal(size=300), "unused": rng.normal(size=300)})
    s = Schema.infer(df)
    model = TableModel(
        lambda f: np.stack([f["used"] < 0, f["used"] >= 0], axis=1).astype(float),
        s,
        task="classification",
        num_classes=2,
    )
    sens = column_sensitivity(model, df, scale=0.5, seed=1)  # seed 0 drew the data itself
    assert list(sens) == ["used", "unused"] and sens["unused"] == 0.0 and sens["used"] > 0.1
    moved = df.copy()
    moved.loc[3, "used"] += 1.0
    (top,) = fragile_rows(df, moved, s, top=3)
    assert top["row"] == 3 and list(top["changed"]) == ["used"]
