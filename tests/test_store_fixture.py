"""A store written by RobustLab 0.1.0 (schema 2, ``fixtures/store-0.1.0.db``) opens upgraded to
record blocks with nothing lost, and scans resume and append on it.

The fixture holds three complete runs (a CNN with a reference model, a logistic regression with
the CNN as baseline and skipped units, a text model with every text probe): every probe family
of that release, every record column filled somewhere. Its tables are read with ``sqlite3``
before the upgrade and compared with what the upgraded store returns.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from robustlab import ArrayDataset, TextDataset, scan
from robustlab.data import load_dataset, shifted_digits
from robustlab.records import RECORD_COLUMNS
from robustlab.store import SCHEMA_VERSION, Store, migrate

FIXTURE = Path(__file__).parent / "fixtures" / "store-0.1.0.db"

AXES = {
    "clean": "clean",
    "corruption": "corruptions",
    "attack": "adversarial",
    "minimal": "adversarial",
    "ensemble": "adversarial",
    "sequence": "stability",
    "text_transformation": "text perturbations",
    "text_attack": "text attacks",
    "checklist": "behaviour",
}

#: Tables the upgrade must leave exactly as they were.
UNTOUCHED = ("models", "datasets", "runs", "metrics", "artifacts")


def _rows(con: sqlite3.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    cur = con.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _read_old(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(path)
    try:
        old: dict[str, Any] = {
            name: _rows(con, f'SELECT * FROM "{name}" ORDER BY id') for name in UNTOUCHED
        }
        old["units"] = _rows(con, "SELECT * FROM units ORDER BY id")
        cols = ", ".join(f'r."{c}"' for c in RECORD_COLUMNS)
        records: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in _rows(
            con,
            f"SELECT u.run_id AS run_id_, u.probe_key AS probe_key_, {cols} FROM records r "
            "JOIN units u ON u.id = r.unit_id ORDER BY u.shard, r.position",
        ):
            key = (row.pop("run_id_"), row.pop("probe_key_"))
            row["correct"] = bool(row["correct"])  # SQLite keeps booleans as 0 / 1
            records.setdefault(key, []).append(row)
        old["records"] = records
        old["n_records"] = con.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        old["version"] = con.execute("SELECT version_num FROM robustlab_alembic_version").fetchall()
    finally:
        con.close()
    return old


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A copy of the fixture, its tables as 0.1.0 wrote them, then upgraded by opening it."""
    path = tmp_path_factory.mktemp("fixture") / "store.db"
    shutil.copy(FIXTURE, path)
    old = _read_old(path)
    assert old["version"] == [("0002",)] and old["n_records"] == 1564
    Store(str(path)).close()
    yield path, old


def test_the_upgrade_reaches_the_head_revision(upgraded: tuple[Path, dict[str, Any]]) -> None:
    path, _ = upgraded
    con = sqlite3.connect(path)
    tables = {t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    version = con.execute("SELECT version_num FROM robustlab_alembic_version").fetchall()
    info = con.execute("SELECT value FROM robustlab_info WHERE key='schema_version'").fetchone()
    con.close()
    assert "records" not in tables and "record_blocks" in tables
    assert version == [(migrate.HEAD,)] and info == (str(SCHEMA_VERSION),)


def test_every_record_of_every_probe_is_identical(upgraded: tuple[Path, dict[str, Any]]) -> None:
    path, old = upgraded
    s = Store(str(path))
    assert s.count_records() == old["n_records"]
    for (run_id, probe_key), rows in old["records"].items():
        recs = s.load_records(run_id, probe_key)
        assert recs.task == "classification"
        assert recs.rows() == rows, (run_id, probe_key)  # every column, value for value
    assert len(old["records"]) == 9 + 7 + 6  # probes with records (skipped ones have none)
    s.close()


def test_units_gain_their_axis_and_keep_everything_else(
    upgraded: tuple[Path, dict[str, Any]],
) -> None:
    path, old = upgraded
    con = sqlite3.connect(path)
    new = _rows(con, "SELECT * FROM units ORDER BY id")
    con.close()
    assert len(new) == len(old["units"]) == 56
    kinds = set()
    for before, after in zip(old["units"], new):
        info_before, info_after = json.loads(before.pop("info")), json.loads(after.pop("info"))
        assert after == before
        kinds.add(info_before["kind"])
        assert info_after == {**info_before, "axis": AXES[info_before["kind"]]}
    assert kinds == set(AXES) - {"ensemble"}  # the fixture has every kind but the ensemble


def test_runs_models_datasets_metrics_artifacts_are_untouched(
    upgraded: tuple[Path, dict[str, Any]],
) -> None:
    path, old = upgraded
    con = sqlite3.connect(path)
    for name in UNTOUCHED:
        assert _rows(con, f'SELECT * FROM "{name}" ORDER BY id') == old[name], name
    con.close()
    s = Store(str(path))
    assert len(s.runs()) == 3 and sum(len(s.artifacts(r["id"])) for r in s.runs()) == 154
    s.close()


def test_a_scan_resumes_migrated_runs_with_identical_metrics(tmp_path: Path) -> None:
    """Resuming the 0.1.0 image runs finds them (same model, data and suite fingerprints), runs
    no unit again and recomputes every metric and summary from the migrated records: all
    identical to what 0.1.0 stored. The text run's metrics, recomputed from its migrated records,
    are identical too. A new scan then appends a run next to them."""
    path = tmp_path / "store.db"
    shutil.copy(FIXTURE, path)
    old = _read_old(path)
    runs = {r["id"]: r for r in old["runs"]}
    by_model = {r["model_id"]: r["id"] for r in old["runs"]}  # 1 CNN, 2 logreg, 3 text
    logreg, cnn, images, shift, image_suite = _image_runs()
    options: dict[str, Any] = {"seed": 0, "shard_size": 32, "progress": False, "shift": shift}
    cnn_run = scan(cnn, images, image_suite, store=str(path), reference=logreg, **options)
    logreg_run = scan(
        logreg, images, image_suite, store=str(path), baseline=cnn_run.run_id, **options
    )
    assert (cnn_run.run_id, logreg_run.run_id) == (by_model[1], by_model[2])  # resumed
    for run_id in (by_model[1], by_model[2]):
        _assert_recomputed(_metrics(path, run_id), _metrics_of(old, run_id))

    from robustlab.runner.scan import _metric_rows, _summary_rows
    from robustlab.suites import load_suite

    s = Store(str(path))
    text_run = by_model[3]
    with pytest.warns(DeprecationWarning, match="text_attack"):  # the 0.1.0 suite's names
        suite = load_suite(_text_run()[2])
    rows = _metric_rows(s, text_run, suite, list(suite.probes), seed=0)
    rows += _summary_rows(s, text_run, None, seed=0)[0]
    s.write_metrics(text_run, rows)
    _assert_recomputed(_metrics(path, text_run), _metrics_of(old, text_run))
    assert len(s.runs()) == 3 and sum(len(s.units(r)) for r in runs) == 56  # nothing new

    # a new scan appends its run next to the migrated ones: the CNN's clean probe again
    fresh = scan(
        cnn,
        images,
        {"name": "after", "version": 1, "probes": ["clean"]},
        store=s,
        reference=logreg,
        **options,
    )
    assert fresh.run_id not in runs and len(s.runs()) == 4
    assert (
        s.load_records(fresh.run_id, "clean").rows() == s.load_records(by_model[1], "clean").rows()
    )
    s.close()


def _metrics(path: Path, run_id: str) -> list[dict[str, Any]]:
    con = sqlite3.connect(path)
    rows = _rows(con, "SELECT * FROM metrics WHERE run_id = ? ORDER BY id", run_id)
    con.close()
    return [_metric_values(m) for m in rows]


#: Intervals whose method changed after 0.1.0 (issue 19: BCa for smooth statistics,
#: simultaneous Clopper-Pearson for minima over groups); their point values did not.
_NEW_INTERVALS = ("worst_group_accuracy", "worst_class_accuracy")


def _assert_recomputed(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> None:
    """Every metric 0.1.0 stored is recomputed from the migrated records with the same value
    and n, and the same interval and details unless its interval method changed since (then
    the new interval holds the value). Metrics added since may appear too."""
    got = {(m["probe_key"], m["metric"]): m for m in new}
    for m in old:
        key = (m["probe_key"], m["metric"])
        assert key in got, f"{key} was not recomputed"
        n = got[key]
        same = m["value"] == n["value"] or (m["value"] != m["value"] and n["value"] != n["value"])
        assert same and m["n"] == n["n"], (key, m, n)
        if m["method"] == "bootstrap" or m["metric"] in _NEW_INTERVALS:
            if n["value"] == n["value"]:
                assert n["ci_low"] <= n["value"] <= n["ci_high"], (key, n)
        else:
            assert (m["ci_low"], m["ci_high"], m["details"]) == (
                n["ci_low"],
                n["ci_high"],
                n["details"],
            ), (key, m, n)


def _metrics_of(old: dict[str, Any], run_id: str) -> list[dict[str, Any]]:
    return [_metric_values(m) for m in old["metrics"] if m["run_id"] == run_id]


def _metric_values(m: dict[str, Any]) -> dict[str, Any]:
    """A metric row without its id, its details parsed (the text of non-finite floats changed:
    0.1.0 wrote NaN bare, this release tags it)."""
    from robustlab.store._engine import json_loads

    out = {k: v for k, v in m.items() if k not in ("id", "details")}
    details = None if m["details"] is None else json_loads(m["details"])
    out["details"] = json.dumps(details, sort_keys=True)  # NaN == NaN as text
    return out


def _run_ids(old: dict[str, Any]) -> list[str]:
    return [r["id"] for r in old["runs"]]


# -- the fixture's models and data, rebuilt as make_fixture.py (0.1.0) built them ----------------


def _first(ds: ArrayDataset, n: int, name: str, groups: list[str]) -> ArrayDataset:
    return ArrayDataset(
        ds.inputs[:n],
        ds.targets[:n],
        ids=list(ds.ids[:n]),
        meta={"group": groups},
        class_names=list(ds.class_names or []),
        name=name,
    )


def _image_runs() -> tuple[Any, Any, ArrayDataset, dict[str, ArrayDataset], dict[str, Any]]:
    from robustlab.demo import train_digits_cnn, train_digits_logreg

    torch.manual_seed(0)
    test = load_dataset("digits-test")
    ink = test.inputs[:40].flatten(1).mean(1)
    median = float(ink.median())
    groups = ["light ink" if float(v) <= median else "heavy ink" for v in ink]
    data = _first(test, 40, "digits-fixture-40", groups)
    thick = shifted_digits("thick", split="test", seed=0)
    shift = {"thick-pen": _first(thick, 40, "digits-thick-fixture-40", groups)}
    train = load_dataset("digits-train")
    small = ArrayDataset(
        train.inputs[:400],
        train.targets[:400],
        ids=list(train.ids[:400]),
        class_names=list(train.class_names or []),
        name="digits-train-400",
    )
    logreg = train_digits_logreg(small, name="digits-logreg-fixture")
    cnn = train_digits_cnn(small, epochs=4, seed=0, width=4, name="digits-cnn-fixture")
    suite = {
        "name": "fixture-image",
        "version": 1,
        "description": "every image probe family, tiny budgets",
        "probes": [
            "clean",
            {
                "probe": "corruption",
                "grid": {"corruption": ["fog", "gaussian_noise"], "severity": [4, 5]},
            },
            {"probe": "attack", "attack": "pgd", "norm": "linf", "epsilon": "8/255", "steps": 5},
            {
                "probe": "attack",
                "attack": "square",
                "norm": "linf",
                "epsilon": "8/255",
                "n_queries": 40,
            },
            {"probe": "minimal", "attack": "deepfool", "norm": "l2", "steps": 10, "candidates": 3},
            {"probe": "sequence", "sequence": "translate", "length": 10},
        ],
    }
    return logreg, cnn, data, shift, suite


def _text_run() -> tuple[Any, Any, dict[str, Any]]:
    from robustlab.text.models import tfidf_model
    from robustlab.text.reviews import load_reviews
    from robustlab.text.slices import by_meta

    reviews = load_reviews("test")
    pick = []
    for topic in ("film", "restaurant", "product", "hotel"):
        for label in (0, 1):
            pick += [
                i
                for i in range(len(reviews))
                if reviews.meta["topic"][i] == topic and int(reviews.targets[i]) == label
            ][:3]
    texts = TextDataset(
        [reviews.texts[i] for i in pick],
        [int(reviews.targets[i]) for i in pick],
        ids=[reviews.ids[i] for i in pick],
        meta={"topic": [reviews.meta["topic"][i] for i in pick]},
        class_names=list(reviews.class_names or []),
        name="reviews-test-24",
    )
    suite = {
        "name": "fixture-text",
        "version": 1,
        "description": "every text probe family, tiny budgets",
        "probes": [
            "clean",
            {"probe": "text_transformation", "transformation": "typo_keyboard", "rate": 0.2},
            {
                "probe": "text_transformation",
                "transformation": "swap_names",
                "rate": 1.0,
                "measure_similarity": True,
            },
            {"probe": "checklist", "grid": {"test": ["simple_positive", "negation"]}},
            {"probe": "text_attack", "attack": "deepwordbug", "budget": 30},
        ],
    }
    return tfidf_model(), by_meta(texts, "topic"), suite
