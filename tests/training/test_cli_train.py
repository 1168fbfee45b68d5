"""`robustlab train recipe.yaml` and `robustlab demo --train` end to end; the core stays free of
the training package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from robustlab.cli import main
from robustlab.store import open_store

RECIPE = """\
model: digits-mlp
data: digits-train
validation: digits-test
label_noise: 0.2
recipe:
  name: trades
  epsilon: 0.1
  steps: 3
  beta: 3.0
train:
  epochs: 2
  lr: 0.05
  seed: 1
averaging:
  name: ema
  decay: 0.9
monitor:
  every: 10
  epsilon: 0.1
  pgd_steps: 5
  examples: 100
scan:
  suite: quick
"""


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([*args])
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_train_writes_weights_log_page_and_scans_into_the_store(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    store = f"sqlite:///{tmp_path}/s.db"
    out = tmp_path / "out"
    code, _, err = run_cli(
        ["train", str(recipe), "--out", str(out), "--store", store, "--no-progress"], capsys
    )
    assert code == 0, err
    log = json.loads((out / "training.json").read_text())
    assert log["spec"]["recipe"]["name"] == "trades"
    assert log["spec"]["averaging"]["name"] == "ema"
    entries = log["monitor"]["log"]
    assert entries[0]["step"] == 0 and entries[-1]["step"] % 10 == 0
    assert {"pgd_accuracy", "noisy_fit", "clean_fit"} <= set(entries[-1])
    state = torch.load(out / "weights.pt", weights_only=True)
    assert set(state) == {"1.weight", "1.bias", "3.weight", "3.bias"}
    assert "<svg" in (out / "monitor.html").read_text()
    db = open_store(store)
    runs = db.runs()
    assert len(runs) == 1 and runs[0]["model_name"] == "trained-trades"
    from robustlab.store.training import load_training_run, training_runs

    (stored,) = training_runs(db)
    assert stored["recipe"] == "trades"
    run = load_training_run(db, stored["id"])
    assert [s["step"] for s in run["steps"]] == [e["step"] for e in entries]
    assert run["steps"][-1]["pgd_accuracy"] == pytest.approx(entries[-1]["pgd_accuracy"])
    assert run["history"] == log["history"] and run["events"] == json.loads(
        json.dumps(log["events"])
    )
    (checkpoint,) = run["checkpoints"]
    assert checkpoint["run_id"] == runs[0]["id"] and checkpoint["step"] == entries[-1]["step"]
    from robustlab.report import write_report

    html, js = write_report(db, [runs[0]["id"]], tmp_path / "report")
    page = html.read_text()
    assert "Training curves" in page and "recipe trades" in page
    assert page.count("<svg") >= 2
    assert json.loads(js.read_text())["training"][0]["id"] == stored["id"]


def test_train_check_refuses_a_mistyped_key_with_a_suggestion(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.replace("  epochs: 2", "  epoch: 2"))
    code, _, err = run_cli(["train", str(recipe), "--check"], capsys)
    assert code == 2
    assert "unknown key 'epoch'" in err and "Did you mean 'epochs'" in err


def test_train_check_refuses_an_unknown_recipe(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.replace("name: trades", "name: pgd-at"))
    code, _, err = run_cli(["train", str(recipe), "--check"], capsys)
    assert code == 2 and "Did you mean 'pgd_at'" in err


def test_the_evaluation_core_never_imports_training():
    code = (
        "import sys, robustlab, robustlab.attacks, robustlab.report, robustlab.cli; "
        "from robustlab.demo import run_demo; "
        "print(any(m.startswith('robustlab.training') for m in sys.modules))"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env_path = {"PYTHONPATH": src}
    import os

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env_path}
    )
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
def test_demo_train_trains_scans_and_writes_the_page(tmp_path, capsys):
    store = f"sqlite:///{tmp_path}/s.db"
    code, _, err = run_cli(
        ["demo", "--train", "--store", store, "--out", str(tmp_path / "r"), "--no-progress"], capsys
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "training.json").read_text())
    by = {r["recipe"]: r for r in summary["runs"]}
    assert by["pgd_at"]["pgd_accuracy"] > by["standard"]["pgd_accuracy"] + 0.1
    assert len(open_store(store).runs()) == 2


def test_list_recipes_shows_every_registered_recipe(capsys):
    from robustlab.training import RECIPES

    code, out, _ = run_cli(["list", "recipes"], capsys)
    assert code == 0
    assert set(RECIPES.names()) >= {"standard", "pgd_at", "trades", "augmix"}
    for name in RECIPES.names():
        assert name in out
