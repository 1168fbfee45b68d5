"""The command line: scan / runs / report / list, and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from robustlab.cli import main
from robustlab.demo import DigitsCNN

MODEL_FILE = """
from robustlab.demo import DigitsCNN

def build():
    return DigitsCNN()
"""


@pytest.fixture()
def model_files(tmp_path: Path, cnn) -> tuple[Path, Path]:
    py = tmp_path / "model.py"
    py.write_text(MODEL_FILE)
    weights = tmp_path / "cnn.pt"
    torch.save(cnn.module.state_dict(), weights)
    return py, weights


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([*args])
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_scan_runs_report_round_trip(tmp_path, model_files, capsys) -> None:
    py, weights = model_files
    store = f"sqlite:///{tmp_path}/s.db"
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: cli\nversion: 1\nprobes: [clean]\n")
    code, out, err = run_cli(
        [
            "scan",
            "--model",
            f"{py}:build",
            "--weights",
            str(weights),
            "--data",
            "digits",
            "--suite",
            str(suite),
            "--store",
            store,
            "--out",
            str(tmp_path / "rep"),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    assert "clean" in out and "accuracy" in out
    assert (tmp_path / "rep" / "index.html").is_file()
    code, out, _ = run_cli(["runs", "--store", store], capsys)
    assert code == 0 and "DigitsCNN" in out and "complete" in out
    from robustlab.store import Store

    run_id = Store(store).runs()[0]["id"]
    code, out, _ = run_cli(
        ["report", run_id[:6], "--store", store, "--out", str(tmp_path / "r2")], capsys
    )
    assert code == 0
    assert (tmp_path / "r2" / "results.json").is_file()


def test_list_shows_registries(capsys) -> None:
    code, out, _ = run_cli(["list"], capsys)
    assert code == 0
    for word in ("clean", "corruption", "attack", "accuracy", "quick", "standard"):
        assert word in out
    code, out, _ = run_cli(["list", "attacks"], capsys)
    assert code == 0
    for word in ("apgd", "square", "hop_skip_jump", "deepwordbug", "textfooler", "genetic_typo"):
        assert word in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--weights", "missing.pt"],
            "error: Weights file 'missing.pt' does not exist; check the --weights path.",
        ),
        (["--suite", "quik"], "error: Unknown suite 'quik'. Did you mean 'quick'"),
        (
            ["--data", "nowhere"],
            "error: --data 'nowhere' is neither an existing folder or .npz file",
        ),
    ],
)
def test_bad_input_gives_one_line_error(tmp_path, model_files, capsys, args, message) -> None:
    py, weights = model_files
    base = {
        "--model": f"{py}:build",
        "--weights": str(weights),
        "--data": "digits",
        "--suite": "quick",
        "--store": f"sqlite:///{tmp_path}/s.db",
    }
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = ["scan", "--no-progress"] + [x for kv in base.items() for x in kv]
    code, _out, err = run_cli(argv, capsys)
    assert code == 2
    text = " ".join(err.split())
    assert message in text
    assert "Traceback" not in err


def test_bad_model_spec_and_factory(tmp_path, model_files, capsys) -> None:
    py, _ = model_files
    code, _, err = run_cli(["scan", "--model", str(py), "--data", "digits"], capsys)
    assert code == 2 and "--model must look like FILE.py:FACTORY" in " ".join(err.split())
    code, _, err = run_cli(["scan", "--model", f"{py}:nope", "--data", "digits"], capsys)
    assert code == 2 and "has no callable 'nope'" in " ".join(err.split())


def test_report_of_missing_run(tmp_path, capsys) -> None:
    from robustlab.store import open_store

    # a mistyped store path is an error, not a new empty store
    code, _, err = run_cli(["report", "abc", "--store", f"sqlite:///{tmp_path}/e.db"], capsys)
    assert code == 2
    assert "No store at" in err and "does not exist" in " ".join(err.split())
    assert not (tmp_path / "e.db").exists()
    open_store(f"sqlite:///{tmp_path}/e.db").close()  # an empty store
    code, _, err = run_cli(["report", "abc", "--store", f"sqlite:///{tmp_path}/e.db"], capsys)
    assert code == 2
    assert "No run 'abc'" in err and "store is empty" in " ".join(err.split())


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "robustlab", "--help"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0
    assert "scan" in out.stdout and "demo" in out.stdout


def test_weights_of_another_architecture(tmp_path, capsys) -> None:
    py = tmp_path / "m.py"
    py.write_text(MODEL_FILE)
    weights = tmp_path / "w.pt"
    torch.save(DigitsCNN(width=8).state_dict(), weights)
    code, _, err = run_cli(
        ["scan", "--model", f"{py}:build", "--weights", str(weights), "--data", "digits"], capsys
    )
    assert code == 2
    assert "do not fit DigitsCNN" in " ".join(err.split())


def test_domain_column_split_from_the_command_line(
    tmp_path, model_files, small_digits, capsys
) -> None:
    import numpy as np

    from robustlab.store import Store

    py, weights = model_files
    domain = np.array(["clean" if i % 4 else "faded" for i in range(len(small_digits))])
    x = small_digits.inputs.numpy().copy()
    x[domain == "faded"] *= 0.3
    np.savez(tmp_path / "d.npz", x=x, y=small_digits.targets, domain=domain)
    (tmp_path / "s.yaml").write_text("name: dom\nprobes: [clean]\n")
    store = f"sqlite:///{tmp_path}/s.db"
    base = [
        "scan",
        "--model",
        f"{py}:build",
        "--weights",
        str(weights),
        "--data",
        str(tmp_path / "d.npz"),
        "--suite",
        str(tmp_path / "s.yaml"),
        "--store",
        store,
        "--no-progress",
    ]
    main([*base, "--domain-column", "domain=clean"])
    s = Store(store)
    metrics = {m["metric"]: m for m in s.metrics(s.runs()[0]["id"]) if m["probe_key"] == "clean"}
    assert set(metrics["ood_accuracy"]["details"]["domains"]) == {"id", "faded"}
    assert metrics["ood_accuracy"]["n"] == int(np.sum(domain == "faded"))
    code, _, err = run_cli([*base, "--domain-column", "domain"], capsys)
    assert code == 2 and "--domain-column takes COLUMN=ID_VALUE" in " ".join(err.split())
    code, _, err = run_cli([*base, "--domain-column", "site=a"], capsys)
    assert code == 2 and "has no metadata column 'site'" in " ".join(err.split())
    code, _, err = run_cli([*base, "--shift", "night"], capsys)
    assert code == 2 and "--shift takes NAME=PATH" in " ".join(err.split())


def test_list_shows_summaries(capsys) -> None:
    code, out, _ = run_cli(["list", "summaries"], capsys)
    assert code == 0
    for word in ("mce", "relative_mce", "mfr", "worst_case_robust_accuracy", "needed"):
        assert word in out


# -- leaderboard, export, import ---------------------------------------------------------------


def _board_store(tmp_path: Path, models: dict | None = None) -> str:
    from robustlab.store import Store
    from test_leaderboard import LOPSIDED, add_run

    url = f"sqlite:///{tmp_path}/board.db"
    store = Store(url)
    for name, values in (models or LOPSIDED).items():
        add_run(store, name, values)
    return url


def test_leaderboard_command_writes_every_format(tmp_path, capsys) -> None:
    import csv
    import json

    from test_leaderboard import LOPSIDED

    hostile = "[bold]<script>alert(1)</script>[/bold]"
    url = _board_store(tmp_path, {**LOPSIDED, hostile: {"clean": 0.2, "corruption": 0.2}})
    out = tmp_path / "board"
    code, text, err = run_cli(
        [
            "leaderboard",
            "--store",
            url,
            "--html",
            str(out),
            "--csv",
            str(out / "b.csv"),
            "--markdown",
            str(out / "b.md"),
            "--json",
            str(out / "b.json"),
        ],
        capsys,
    )
    assert code == 0, err
    flat = " ".join(text.split())
    assert "lopsided" in flat and "steady" in flat
    assert "Kendall's tau, mean vs Kemeny: 0.33" in flat
    assert "the mean ranks steady above lopsided" in flat
    assert "[bold]" in text and "[/bold]" in text  # markup in a name is shown, not interpreted
    assert "lacks adversarial" in " ".join(err.split())
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    rows = list(csv.DictReader((out / "b.csv").open(encoding="utf-8")))
    assert [r["model"] for r in rows][:3] == ["lopsided", "steady", "weak"]
    assert json.loads((out / "b.json").read_text())["schema"] == "robustlab.leaderboard"
    assert "| 1 | lopsided |" in (out / "b.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, [], "No store at"),
        ("empty", [], "is empty; run `robustlab demo` or `robustlab scan` first."),
        ("two-suites", ["--suite", "othr"], "Did you mean 'other'?"),
        ("two-suites", ["zzz"], "No run 'zzz'"),
        ("two-suites", ["zzz", "--suite", "board"], "not both"),
    ],
)
def test_leaderboard_command_errors(tmp_path, capsys, setup, args, message) -> None:
    from robustlab.store import Store
    from test_leaderboard import add_run

    url = f"sqlite:///{tmp_path}/board.db"
    if setup == "empty":
        Store(url)
    elif setup == "two-suites":
        url = _board_store(tmp_path)
        add_run(Store(url), "m", {"clean": 0.5}, suite="other")
    code, _, err = run_cli(["leaderboard", "--store", url, *args], capsys)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_leaderboard_without_suite_ranks_the_suite_with_most_models(tmp_path, capsys) -> None:
    from robustlab.store import Store
    from test_leaderboard import add_run

    url = _board_store(tmp_path)
    add_run(Store(url), "m", {"clean": 0.5}, suite="other")
    code, out, err = run_cli(["leaderboard", "--store", url], capsys)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "ranking suite 'board', the one with the most models" in flat
    assert "board v1 (3 models), other v1 (1 model)" in flat
    assert "lopsided" in flat and "| m " not in flat


def test_export_and_import_commands(tmp_path, capsys, monkeypatch) -> None:
    import csv
    import io
    import json

    from robustlab.store import Store
    from test_leaderboard import add_run

    url = f"sqlite:///{tmp_path}/a.db"
    run_id = add_run(Store(url), "m", {"clean": 0.75, "corruption": 0.5})
    code, _, err = run_cli(
        ["export", run_id[:5], "--store", url, "--out", str(tmp_path / "r.json")], capsys
    )
    assert code == 0, err
    other = f"sqlite:///{tmp_path}/b.db"
    code, out, err = run_cli(["import", str(tmp_path / "r.json"), "--store", other], capsys)
    assert code == 0, err
    assert f"Imported run {run_id}: m on digits, suite board v1" in " ".join(out.split())
    code, _, _ = run_cli(
        ["export", run_id, "--store", other, "--out", str(tmp_path / "s.json")], capsys
    )
    first, second = (json.loads((tmp_path / f).read_text()) for f in ("r.json", "s.json"))
    for doc in (first, second):
        del doc["generated_at"], doc["store"]
    assert first == second
    code, out, _ = run_cli(["export", run_id, "--store", url, "--format", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {(r["metric"], float(r["value"])) for r in rows} >= {("accuracy", 0.75)}
    code, out, _ = run_cli(["export", run_id, "--store", url, "--format", "md"], capsys)
    assert code == 0 and "| clean | 0.7500 |" in out
    # bad input: one line each
    code, _, err = run_cli(["export", run_id, "--store", url], capsys)
    assert code == 2 and "Say what to export" in err
    code, _, err = run_cli(["import", str(tmp_path / "r.json"), "--store", other], capsys)
    assert code == 2 and "already in store" in err
    code, _, err = run_cli(["import", str(tmp_path / "none.json"), "--store", other], capsys)
    assert code == 2 and "does not exist" in err
    monkeypatch.setitem(sys.modules, "mlflow", None)
    code, _, err = run_cli(["export", run_id, "--store", url, "--mlflow"], capsys)
    assert code == 2 and "pip install mlflow-skinny" in err


def test_scan_with_mlflow(tmp_path, model_files, capsys, monkeypatch) -> None:
    from robustlab.store import Store
    from test_exports import FakeMlflow

    py, weights = model_files
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: cli\nversion: 1\nprobes: [clean]\n")
    store = f"sqlite:///{tmp_path}/s.db"
    argv = ["scan", "--model", f"{py}:build", "--weights", str(weights), "--data", "digits"]
    argv += ["--suite", str(suite), "--store", store, "--no-progress", "--mlflow"]
    monkeypatch.setitem(sys.modules, "mlflow", None)
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and "pip install mlflow-skinny" in err
    assert not (tmp_path / "s.db").exists()  # refused before anything was scanned
    fake = FakeMlflow()
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    code, out, err = run_cli([*argv, "--mlflow-experiment", "digits"], capsys)
    assert code == 0, err
    run_id = Store(store).runs()[0]["id"]
    assert f"MLflow: run {run_id} logged as mlflow-run-1" in " ".join(out.split())
    assert fake.calls["experiment"] == "digits"
    assert fake.calls["params"]["robustlab_run_id"] == run_id
    assert 0.9 < fake.calls["metrics"]["axis/clean"] <= 1.0
