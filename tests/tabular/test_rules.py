"""Boolean relations in a tabular schema: parsing, checking, repair, YAML and perturbations."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from robustlab.errors import ConfigError  # noqa: E402
from robustlab.perturbations import PERTURBATIONS  # noqa: E402
from robustlab.tabular import Relation, Rule, Schema, parse_relation  # noqa: E402


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 80
    employed = (rng.random(n) < 0.6).astype(np.int64)
    income = np.where(employed == 1, rng.uniform(1_000, 9_000, n), rng.uniform(0, 900, n))
    debt = rng.uniform(0, 5_000, n) * (income > 0)
    return pd.DataFrame({"employed": employed, "income": income, "debt": debt})


def test_parse_builds_and_or_if_and_pushes_negation_in() -> None:
    rule = parse_relation("if employed >= 1 then income >= 1000")
    assert isinstance(rule, Rule) and rule.kind == "if"
    assert rule.columns == ["employed", "income"]
    both = parse_relation("a <= 1 and b <= 2 or c >= 3")  # and binds tighter than or
    assert isinstance(both, Rule) and both.kind == "or"
    assert isinstance(both.parts[0], Rule) and both.parts[0].kind == "and"
    neg = parse_relation("not a <= b")
    assert isinstance(neg, Relation) and neg.op == ">"
    # a keyword inside a backticked column name is part of the name
    plain = parse_relation("`debt or loan` <= `income and bonus`")
    assert isinstance(plain, Relation) and plain.columns == ["debt or loan", "income and bonus"]
    with pytest.raises(ConfigError, match="cannot read it"):
        parse_relation("a <= b or ")
    with pytest.raises(ConfigError, match=r"In relation 'a <= b or  or c <= 1'.*cannot read"):
        parse_relation("a <= b or  or c <= 1")


def test_holds_on_a_hand_made_table() -> None:
    x = np.array([[1.0, 500.0], [1.0, 2000.0], [0.0, 10.0], [0.0, 5000.0]])
    idx = {"employed": 0, "income": 1}
    rule = parse_relation("if employed >= 1 then income >= 1000")
    assert rule.holds(x, idx).tolist() == [False, True, True, True]
    either = parse_relation("employed >= 1 or income <= 100")
    assert either.holds(x, idx).tolist() == [True, True, True, False]
    nots = parse_relation("not employed >= 1 and income >= 0")
    assert nots.holds(x, idx).tolist() == [False, False, True, True]
    assert parse_relation("employed != 0").holds(x, idx).tolist() == [True, True, False, False]


def test_checker_reports_and_repair_fixes_boolean_rules() -> None:
    df = _frame()
    schema = Schema.infer(
        df,
        relations=["if employed >= 1 then income >= 1000", "debt <= 0 or income >= 1"],
    )
    schema.validate(df)  # the data follows its own rules
    bad = df.copy()
    bad.loc[0, ["employed", "income"]] = [1, 200.0]  # employed with a low income
    bad.loc[1, ["income", "debt"]] = [0.0, 300.0]  # debt without income
    found = schema.check(bad)
    assert {(v.row, v.rule) for v in found} >= {
        (0, "if employed >= 1 then income >= 1000"),
        (1, "debt <= 0 or income >= 1"),
    }
    fixed = schema.repair(bad)
    assert schema.valid(fixed).all()
    # the 'if' rule repairs the consequence and keeps the condition
    assert fixed[0, schema.index["employed"]] == 1 and fixed[0, schema.index["income"]] >= 1000
    # the 'or' rule moves to the nearer side: raising income by 1 beats removing 300 of debt
    assert fixed[1, schema.index["debt"]] == pytest.approx(300.0)
    # untouched rows stay as they were
    np.testing.assert_allclose(fixed[2:], schema.encode(bad)[2:])


def test_rules_round_trip_through_yaml_and_add_relation_checks_columns() -> None:
    df = _frame()
    schema = Schema.infer(df).add_relation("if employed >= 1 then income >= 1000")
    again = Schema.from_yaml(schema.to_yaml())
    assert [r.text for r in again.relations] == ["if employed >= 1 then income >= 1000"]
    assert isinstance(again.relations[0], Rule)
    with pytest.raises(ConfigError, match="salary"):
        schema.add_relation("if employed >= 1 then salary >= 1")
    assert len(schema.relations) == 1  # the bad rule was not kept


@pytest.mark.parametrize("name", [n for n, c in PERTURBATIONS.items() if c.modality == "tabular"])
def test_perturbations_keep_boolean_rules(name: str) -> None:
    df = _frame()
    schema = Schema.infer(
        df, relations=["if employed >= 1 then income >= 1000", "debt <= 0 or income >= 1"]
    )
    x = schema.encode(df)
    out = PERTURBATIONS.build(name).apply(x, seed=3, schema=schema)
    rows = np.asarray(out.inputs)
    filled = np.where(np.isnan(rows), x, rows)
    assert schema.check(filled, original=x) == []
