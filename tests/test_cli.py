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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--weights", "missing.pt"],
            "error: Weights file 'missing.pt' does not exist; check the --weights path.",
        ),
        (["--suite", "quik"], "error: Unknown suite 'quik'. Did you mean 'quick'?"),
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
