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


# -- Issues 21 and 23: loading a user's own model and data ---------------------------------------
# Each wrong input a newcomer gives must end in one line naming the problem and the fix, never in
# "unexpected <Error>"; the accepted variants (converted layouts, prefixes, orders) must scan.

LOADING_MODELS = """
import torch
from torch import nn
from robustlab.demo import DigitsCNN

def build():
    return DigitsCNN()

def needs_width(width):
    return DigitsCNN(width=width)

def boom():
    raise RuntimeError("no GPU here")

def rgb():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 64, 10))
"""


def _suite(tmp_path: Path, probes: str = "[clean]", file: str = "suite.yaml") -> str:
    path = tmp_path / file
    path.write_text(f"name: loading\nversion: 1\nprobes: {probes}\n")
    return str(path)


def _write_folder(root: Path, digits, n: int = 30, modes=("L",), numeric: bool = False) -> Path:
    from PIL import Image

    for i in range(n):
        label = int(digits.targets[i])
        d = root / (str(label) if numeric else f"c{label}")
        d.mkdir(parents=True, exist_ok=True)
        arr = (digits.inputs[i, 0].numpy() * 255).round().astype("uint8")
        Image.fromarray(arr, mode="L").convert(modes[i % len(modes)]).save(d / f"{i}.png")
    return root


class TestLoadingUserModelAndData:
    @pytest.fixture()
    def env(self, tmp_path, cnn):
        py = tmp_path / "models.py"
        py.write_text(LOADING_MODELS)
        weights = tmp_path / "cnn.pt"
        torch.save(cnn.module.state_dict(), weights)
        return tmp_path, py, weights

    def scan(self, env, capsys, *extra: str, model: str = "build", weights: bool = True):
        tmp_path, py, w = env
        argv = ["scan", "--no-progress", "--model", f"{py}:{model}", "--suite", _suite(tmp_path)]
        argv += [
            "--store",
            f"sqlite:///{tmp_path}/s.db",
            *(["--weights", str(w)] if weights else []),
        ]
        code, out, err = run_cli([*argv, *extra], capsys)
        assert "unexpected" not in err and "Traceback" not in err
        return code, out, " ".join(err.split())

    # 21.1 channels
    def test_rgb_folder_for_gray_model_names_channels_option(self, env, capsys, digits_test):
        folder = _write_folder(env[0] / "rgb", digits_test, modes=("RGB",))
        code, _, err = self.scan(env, capsys, "--data", str(folder))
        assert code == 2
        assert "3-channel images" in err and "1-channel inputs" in err and "--channels 1" in err
        code, _, err = self.scan(env, capsys, "--data", str(folder), "--channels", "1")
        assert code == 0, err
        code, _, err = self.scan(env, capsys, "--data", str(folder), "--image-mode", "L")
        assert code == 0, err

    def test_mixed_gray_rgb_folder_says_it_is_mixed(self, env, capsys, digits_test):
        folder = _write_folder(env[0] / "mixed", digits_test, modes=("L", "RGB"))
        code, _, err = self.scan(env, capsys, "--data", str(folder))
        assert code == 2
        assert "mixes grayscale and RGB" in err and "--channels 1" in err

    def test_gray_data_for_rgb_model_says_how_to_convert(self, env, capsys):
        code, _, err = self.scan(env, capsys, "--data", "digits", model="rgb", weights=False)
        assert code == 2
        assert "1-channel images" in err and "3-channel inputs" in err
        assert "x.repeat(3, axis=1)" in err and "--channels 3" in err

    # 21.2 channels-last .npz
    def test_channels_last_npz_is_converted_with_a_note(self, env, capsys, digits_test):
        import numpy as np

        path = env[0] / "last.npz"
        x = digits_test.inputs[:64].numpy().transpose(0, 2, 3, 1)
        np.savez(path, x=x, y=digits_test.targets[:64])
        code, _, err = self.scan(env, capsys, "--data", str(path))
        assert code == 0, err
        assert "channels-last (N, H, W, C)" in err and "converted to channels-first" in err

    # 21.3 unreadable image
    def test_broken_image_is_named_and_can_be_skipped(self, env, capsys, digits_test):
        folder = _write_folder(env[0] / "broken", digits_test)
        bad = folder / "c0" / "broken.png"
        bad.write_bytes(b"not a png at all")
        code, _, err = self.scan(env, capsys, "--data", str(folder))
        assert code == 2
        assert "broken.png" in err and "--skip-unreadable" in err
        code, _, err = self.scan(env, capsys, "--data", str(folder), "--skip-unreadable")
        assert code == 0, err
        assert "Skipped 1 unreadable image file" in err
        from robustlab.data import load_dataset

        desc = load_dataset(folder, skip_unreadable=True).describe()
        assert desc["skipped_unreadable"] == 1 and desc["skipped_files"] == ["c0/broken.png"]

    # 21.4 factories
    def test_factory_needing_an_argument(self, env, capsys):
        code, _, err = self.scan(env, capsys, "--data", "digits", model="needs_width")
        assert code == 2
        assert "must be callable without arguments" in err and "--model-arg width=VALUE" in err
        code, _, err = self.scan(
            env, capsys, "--data", "digits", "--model-arg", "width=16", model="needs_width"
        )
        assert code == 0, err
        code, _, err = self.scan(
            env, capsys, "--data", "digits", "--model-arg", "depth=3", model="needs_width"
        )
        assert code == 2 and "--model-arg" in err

    def test_factory_raising_is_reported_as_the_factorys(self, env, capsys):
        code, _, err = self.scan(env, capsys, "--data", "digits", model="boom", weights=False)
        assert code == 2
        assert "The model factory boom()" in err and "raised RuntimeError: no GPU here" in err

    # 21.5 / 23.4 fractions
    def test_epsilon_dividing_by_zero(self, env, capsys):
        tmp_path = env[0]
        suite = _suite(
            tmp_path, "[{probe: attack, attack: fgsm, norm: linf, epsilon: 8/0}]", "eps.yaml"
        )
        code, _, err = self.scan(env, capsys, "--data", "digits", "--suite", suite)
        assert code == 2
        assert "'8/0' divides by zero" in err and "8/255" in err
        suite = _suite(
            tmp_path, "[{probe: attack, attack: fgsm, norm: linf, epsilon: 8}]", "e8.yaml"
        )
        with pytest.warns(UserWarning, match="did you forget /255"):
            code, _, err = self.scan(env, capsys, "--data", "digits", "--suite", suite)
        assert code == 0, err

    def test_attack_api_accepts_fractions_and_warns_on_large_epsilon(self, cnn, digits_test):
        import robustlab

        x, y = digits_test.inputs[:32], digits_test.targets[:32]
        a = robustlab.attacks.run(cnn, x, y, "fgsm", epsilon="8/255")
        b = robustlab.attacks.fgsm(cnn, x, y, epsilon=8 / 255)
        assert a.robust_accuracy == b.robust_accuracy
        with pytest.warns(UserWarning, match="did you forget /255"):
            robustlab.attacks.fgsm(cnn, x, y, epsilon=8)
        with pytest.raises(robustlab.ConfigError, match="divides by zero"):
            robustlab.attacks.run(cnn, x, y, "fgsm", epsilon="8/0")
        from robustlab.validation import epsilon_label

        assert epsilon_label(8 / 255) == "8/255" and epsilon_label(0.3) == "0.3"

    # 21.6 checkpoints
    def test_checkpoint_forms(self, env, capsys, cnn):
        tmp_path = env[0]
        sd = cnn.module.state_dict()
        wrapped = tmp_path / "wrapped.pt"
        torch.save({"state_dict": sd, "epoch": 3}, wrapped)
        code, _, err = self.scan(env, capsys, "--data", "digits", "--weights", str(wrapped))
        assert code == 0, err
        dp = tmp_path / "dp.pt"
        torch.save(torch.nn.DataParallel(cnn.module).state_dict(), dp)
        code, _, err = self.scan(env, capsys, "--data", "digits", "--weights", str(dp), "--fresh")
        assert code == 0, err
        assert "stripped the 'module.' prefix" in err
        whole = tmp_path / "whole.pt"
        torch.save(cnn.module, whole)
        code, _, err = self.scan(env, capsys, "--data", "digits", "--weights", str(whole))
        assert code == 2
        assert "whole pickled model" in err and "torch.save(model.state_dict()" in err

    # 23.1 normalisation flags and the near-chance warning
    def test_normalisation_flags(self, env, capsys):
        code, _, err = self.scan(
            env, capsys, "--data", "digits", "--mean", "0", "--std", "1", "--bounds", "0,1"
        )
        assert code == 0, err
        code, _, err = self.scan(env, capsys, "--data", "digits", "--bounds", "1")
        assert code == 2 and "--bounds takes LOW,HIGH" in err
        code, _, err = self.scan(env, capsys, "--data", "digits", "--std", "0")
        assert code == 2 and "std" in err and "positive" in err

    def test_near_chance_accuracy_warns_about_normalisation(self, env, capsys):
        with pytest.warns(UserWarning, match="does the model expect normalised inputs"):
            code, _, err = self.scan(env, capsys, "--data", "digits", weights=False)
        assert code == 0, err

    # 23.2 class order
    def test_numeric_class_folders_sort_numerically(self, tmp_path, digits_test, capsys, env):
        from PIL import Image

        from robustlab.data import ImageFolderDataset

        root = tmp_path / "num"
        for cls in ("0", "1", "2", "10"):
            (root / cls).mkdir(parents=True)
            Image.new("L", (8, 8)).save(root / cls / "a.png")
        ds = ImageFolderDataset(root, size=(8, 8))
        assert ds.class_names == ["0", "1", "2", "10"] and ds.class_order == "numeric"
        given = ImageFolderDataset(root, classes=["10", "2", "1", "0"])
        assert given.class_names == ["10", "2", "1", "0"]
        with pytest.raises(robustlab_errors().DataError, match="not named: 2"):
            ImageFolderDataset(root, classes=["10", "1", "0"])
        folder = _write_folder(tmp_path / "numbers", digits_test, numeric=True, n=60)
        code, out, err = self.scan(env, capsys, "--data", str(folder))
        assert code == 0, err
        assert "Classes in numeric folder order" in " ".join(out.split())

    # 23.9 / 23.10 API parity
    def test_scan_keywords_and_torch_datasets(self, tmp_path, cnn, digits_test):
        from torch.utils.data import DataLoader, TensorDataset

        import robustlab

        x, y = digits_test.inputs[:40], torch.as_tensor(digits_test.targets[:40])
        store = f"sqlite:///{tmp_path}/api.db"
        res = robustlab.scan(
            cnn.module,
            TensorDataset(x, y),
            {"name": "t", "version": 1, "probes": ["clean"]},
            store=store,
            device="cpu",
            batch_size=16,
            name="mine",
            progress=False,
        )
        run = res.store.run(res.run_id)
        assert "mine" in str(run)
        res2 = robustlab.scan(
            cnn.module,
            DataLoader(TensorDataset(x, y), batch_size=8),
            {"name": "t", "version": 1, "probes": ["clean"]},
            store=store,
            progress=False,
        )
        assert res2.metrics
        with pytest.raises(robustlab.ConfigError, match="batch_size"):
            robustlab.scan(cnn.module, (x, y), "quick", store=store, batch_size=0)

    def test_attacks_are_callable_by_name(self):
        import robustlab.attacks as attacks

        for name in attacks.ATTACKS:
            assert callable(getattr(attacks, name)), name
        assert attacks.ensemble is attacks.standard


def robustlab_errors():
    import robustlab.errors

    return robustlab.errors


def test_runs_are_named_after_their_weight_files(tmp_path, model_files, capsys, monkeypatch):
    """Issue 23 item 11: two checkpoints of one model read apart in the store and `runs`."""
    import robustlab.cli

    monkeypatch.setattr(robustlab.cli.console, "_width", 250)
    py, weights = model_files
    best, last = tmp_path / "best.pt", tmp_path / "last.pt"
    state = torch.load(weights)
    torch.save(state, best)
    torch.save({k: v * 0.5 if v.is_floating_point() else v for k, v in state.items()}, last)
    store = f"sqlite:///{tmp_path}/s.db"
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: cli\nversion: 1\nprobes: [clean]\n")
    args = ["scan", "--model", f"{py}:build", "--weights", str(best), "--weights", str(last)]
    args += ["--data", "digits", "--suite", str(suite), "--store", store, "--no-progress"]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    assert "DigitsCNN@best.pt on digits" in out and "DigitsCNN@last.pt on digits" in out
    code, out, _ = run_cli(["runs", "--store", store], capsys)
    assert code == 0
    lines = [line for line in out.splitlines() if "DigitsCNN@" in line]
    assert len(lines) == 2
    for line, name in zip(lines, ("last.pt", "best.pt")):  # newest first
        assert f"DigitsCNN@{name}" in line
        assert f" {name} " in line  # the weights column
        assert " 3/3 " in line  # units done of the run's total (540 examples, 3 shards)


def test_estimate_is_a_dry_run_and_max_examples_samples(tmp_path, model_files, capsys, monkeypatch):
    """Issue 23 item 6: --estimate prints the expected time per probe and in all and stores
    nothing; --max-examples scans a sample."""
    import robustlab.cli

    monkeypatch.setattr(robustlab.cli.console, "_width", 200)
    py, weights = model_files
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: est\nversion: 1\nprobes:\n  - clean\n"
        "  - {probe: perturbation, perturbation: gaussian_noise, severity: 3}\n"
    )
    db = tmp_path / "s.db"
    base = ["scan", "--model", f"{py}:build", "--weights", str(weights), "--data", "digits"]
    base += ["--suite", str(suite), "--store", f"sqlite:///{db}", "--no-progress"]
    code, out, err = run_cli([*base, "--estimate"], capsys)
    assert code == 0, err
    assert "Estimate: DigitsCNN@cnn.pt on digits-test (539 examples)" in out
    assert "gaussian_noise s3" in out and "clean" in out
    assert "Expected total:" in out and "per 1,000 examples" in out and "Nothing was stored" in out
    assert not db.exists()
    code, out, err = run_cli([*base, "--max-examples", "50"], capsys)
    assert code == 0, err
    from robustlab.store import Store

    (run,) = Store(f"sqlite:///{db}").runs()
    assert run["dataset_name"] == "digits-test (50 of 539)"
    assert len(Store(f"sqlite:///{db}").load_records(run["id"], "clean").example_id) == 50


def test_list_suites_states_each_suites_measured_time(capsys, monkeypatch) -> None:
    """Issue 23 item 6: expected times, measured, and said how."""
    import re

    import robustlab.cli
    from robustlab.suites.timings import SECONDS_PER_1000

    monkeypatch.setattr(robustlab.cli.console, "_width", 250)
    code, out, _ = run_cli(["list", "suites"], capsys)
    assert code == 0
    assert {"quick", "standard", "standard-cpu"} <= set(SECONDS_PER_1000)
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[1] in SECONDS_PER_1000:
            assert re.fullmatch(r"(\d+ h )?(\d+ min )?\d+ s|\d+ h \d+ min", cells[4]), line
    assert "time / 1,000 images" in out
    assert "per 1,000 8x8 digit images" in out and "--estimate" in out
    # the CPU preset keeps the standard suite's axes and is measured cheaper
    import robustlab

    axes = {
        name: {p.resolved_axis() for p in robustlab.load_suite(name).probes}
        for name in ("standard", "standard-cpu")
    }
    assert axes["standard-cpu"] == axes["standard"]
    assert SECONDS_PER_1000["standard-cpu"] < SECONDS_PER_1000["standard"] / 3


def test_progress_every_writes_plain_lines(tmp_path, model_files, capsys) -> None:
    """Issue 23 item 7: --progress-every writes units done/total and the ETA as plain lines."""
    py, weights = model_files
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: p\nversion: 1\nprobes: [clean]\n")
    args = ["scan", "--model", f"{py}:build", "--weights", str(weights), "--data", "digits"]
    args += ["--suite", str(suite), "--store", f"sqlite:///{tmp_path}/s.db"]
    code, _, err = run_cli([*args, "--progress-every", "0.1"], capsys)
    assert code == 0, err
    lines = [x for x in err.splitlines() if x.startswith("progress: ")]
    assert lines[0].startswith("progress: 0.00/3 units (0%)")
    assert lines[-1].startswith("progress: 3.00/3 units (100%)") and "ETA 0 s" in lines[-1]
