"""Subgroups from slicing functions on any dataset, and their metrics in a scan."""

from __future__ import annotations

import numpy as np
import pytest

import robustlab
from robustlab.data import ArrayDataset, GroupedDataset, slice_by
from robustlab.errors import ConfigError, DataError


def _data() -> ArrayDataset:
    x = np.zeros((6, 1, 2, 2), dtype=np.float32)
    x[:, 0, 0, 0] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    return ArrayDataset(x, [0, 1, 0, 1, 0, 1], meta={"site": list("aabbcc")}, name="six")


def test_slice_by_function_and_predicates_known_answer() -> None:
    data = _data()
    bright = slice_by(data, lambda x, meta: "bright" if float(x[0, 0, 0]) > 0.5 else "dark")
    assert bright.meta["group"] == ["dark"] * 3 + ["bright"] * 3
    assert bright.meta["site"] == list("aabbcc") and len(bright) == 6
    # predicates: first match wins, the rest is "other"; meta holds target and columns
    sliced = slice_by(
        data,
        predicates={
            "site-a": lambda x, m: m["site"] == "a",
            "odd-label": lambda x, m: m["target"] == 1,
        },
    )
    assert sliced.meta["group"] == ["site-a", "site-a", "other", "odd-label", "other", "odd-label"]
    batch = sliced.batch(np.array([4, 1]))
    assert np.allclose(batch.inputs[:, 0, 0, 0].numpy(), [0.8, 0.2])
    assert batch.meta["group"] == ["other", "site-a"]
    assert sliced.describe()["groups"] == {"site-a": 2, "other": 2, "odd-label": 2}
    # the groups are part of the data's identity
    assert sliced.fingerprint() != bright.fingerprint() != data.fingerprint()
    # None leaves an example out of every group
    some = slice_by(data, lambda x, m: None if m["site"] == "c" else m["site"])
    assert some.meta["group"] == ["a", "a", "b", "b", None, None]


def test_slice_by_bad_input() -> None:
    data = _data()
    with pytest.raises(ConfigError, match="exactly one"):
        slice_by(data)
    with pytest.raises(DataError, match="no example"):
        slice_by(data, lambda x, m: None)
    # one group is allowed (a shifted set may fall in one slice); group metrics then do not
    # apply to it alone
    assert slice_by(data, lambda x, m: "all").meta["group"] == ["all"] * 6
    with pytest.raises(DataError, match=r"failed on example '2'.*KeyError"):
        slice_by(data, lambda x, m: {"a": 1, "b": 2}[m["site"]] if m["id"] != "2" else m["nope"])
    with pytest.raises(ConfigError, match="may not be named 'other'"):
        slice_by(data, predicates={"other": lambda x, m: True})
    with pytest.raises(DataError, match="6 examples but 2 group labels"):
        GroupedDataset(data, ["a", "b"])


def test_scan_of_sliced_data_reports_group_metrics(small_digits, store_url) -> None:
    from robustlab.demo import train_digits_logreg

    ink = slice_by(
        small_digits,
        lambda x, m: (
            "heavy ink" if float(x.mean()) > float(small_digits.inputs.mean()) else "light"
        ),
    )
    res = robustlab.scan(
        train_digits_logreg(C=0.01),
        ink,
        {"name": "g", "probes": ["clean"]},
        store=store_url,
        progress=False,
    )
    metrics = {m["metric"]: m for m in res.store.metrics(res.run_id)}
    records = res.store.load_records(res.run_id, "clean")
    per_group = {g: records.correct[records.group == g].mean() for g in ("heavy ink", "light")}
    assert metrics["worst_group_accuracy"]["value"] == pytest.approx(min(per_group.values()))
    assert "macro_std" in metrics


def test_cli_slice_option(small_digits, tmp_path) -> None:
    from robustlab.cli import main
    from robustlab.store import open_store

    np.savez(tmp_path / "d.npz", x=small_digits.inputs.numpy(), y=small_digits.targets)
    (tmp_path / "m.py").write_text(
        "from robustlab.demo import train_digits_logreg\n\n"
        "def build():\n    return train_digits_logreg(C=0.01)\n"
    )
    (tmp_path / "s.py").write_text(
        "def by_label(x, meta):\n    return 'low digits' if meta['target'] < 5 else 'high digits'\n"
    )
    (tmp_path / "suite.yaml").write_text("name: g\nversion: 1\nprobes:\n  - clean\n")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    main(
        [
            "scan",
            "--model",
            f"{tmp_path / 'm.py'}:build",
            "--data",
            str(tmp_path / "d.npz"),
            "--suite",
            str(tmp_path / "suite.yaml"),
            "--slice",
            f"{tmp_path / 's.py'}:by_label",
            "--store",
            db,
            "--no-progress",
        ]
    )
    store = open_store(db)
    (run,) = store.runs()
    worst = next(m for m in store.metrics(run["id"]) if m["metric"] == "worst_group_accuracy")
    assert set(worst["details"]["groups"]) == {"low digits", "high digits"}
