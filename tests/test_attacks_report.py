"""End to end: union, sparsity, grid-confirmed minimal and fast-ensemble stages in the report,
the union column of the leaderboard and CR_ind against a reference run named from the store."""

from __future__ import annotations

import json

import numpy as np
import pytest

import robustlab
from robustlab.data import ArrayDataset
from robustlab.store import Store

UNION = {
    "probe": "union",
    "members": [
        {"threat": "lp", "norm": "linf", "grid": [0.05, 0.1, 0.2], "params": {"steps": 10}},
        {"threat": "rotation_translation", "grid": [0.5, 0.75, 1.0], "params": {"per_axis": 3}},
        {"threat": "contrast", "grid": [0.2, 0.4, 0.6], "params": {"per_axis": 5}},
    ],
}


def _suite(reference: str = "") -> dict:
    union = {**UNION, "reference": reference} if reference else UNION
    return {
        "name": "attacks-e2e",
        "version": 1,
        "probes": [
            "clean",
            union,
            {"probe": "sparsity", "epsilon": 0.2, "steps": 5},
            {
                "probe": "minimal",
                "attack": "fmn",
                "norm": "linf",
                "steps": 20,
                "epsilons": [0.05, 0.1, 0.2],
            },
            {"probe": "ensemble", "norm": "linf", "epsilon": 0.1, "version": "fast"},
        ],
    }


@pytest.mark.slow
def test_union_sparsity_and_stages_reach_report_and_leaderboard(cnn, small_digits, tmp_path):
    from robustlab.demo import train_digits_cnn
    from robustlab.leaderboard import build_leaderboard
    from robustlab.report import write_report

    data = ArrayDataset(
        small_digits.inputs[:24],
        small_digits.targets[:24],
        ids=small_digits.ids[:24],
        name="digits-24",
    )
    store = str(tmp_path / "s.db")
    other = train_digits_cnn(epochs=1, seed=1)
    ref = robustlab.scan(other, data, _suite(), store=store, progress=False, name="weak")
    ref_id = ref.run_id
    run = robustlab.scan(cnn, data, _suite(ref_id[:8]), store=store, progress=False, name="cnn")
    html, js = write_report(Store(store), [run.run_id], tmp_path / "out")
    text = html.read_text()
    assert 'id="attacks-union"' in text and "worst case over the union" in text
    assert "CR<sub>ind-avg</sub>" in text and "share of pixels needed" in text
    assert "Stages of" in text and "confirmed on the grid" in text
    doc = json.loads(js.read_text())
    (entry,) = doc["attacks"]
    (u,) = entry["union"]
    assert u["members"] == ["L∞", "rotation/translation", "contrast"]
    worst, per = np.array(u["worst_case"]), np.array(u["curves"])
    assert (worst <= per.min(axis=0) + 1e-12).all() and (np.diff(worst) <= 0).all()
    assert u["cr_ind_avg"] is not None and u["cr_ind_worst"] is not None and "table" not in u
    assert sum(u["evaluations"]) <= sum(u["full_evaluations"])
    (g,) = entry["grids"]
    assert (np.diff(g["robust"]) <= 0).all()
    (st,) = entry["stages"]
    assert st["forward"] > 0 and sum(st["stages"].values()) > 0
    board = build_leaderboard(store, suite="attacks-e2e")
    assert "union" in [c.name for c in board.columns]
    # A run compared to itself is exactly as competitive: both ratios are 1.
    from click.testing import CliRunner

    from robustlab.cli import cli

    out = tmp_path / "self"
    args = ["report", run.run_id, "--store", store, "--out", str(out)]
    done = CliRunner().invoke(cli, [*args, "--union-reference", run.run_id[:8]])
    assert done.exit_code == 0, done.output
    (u,) = json.loads((out / "results.json").read_text())["attacks"][0]["union"]
    assert u["cr_ind_avg"] == pytest.approx(1.0) and u["cr_ind_worst"] == pytest.approx(1.0)
    bad = CliRunner().invoke(cli, [*args, "--union-reference", "nosuchrun"])
    assert bad.exit_code != 0
