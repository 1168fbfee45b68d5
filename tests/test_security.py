"""Hostile input, as an adversarial operator would supply it: passwords in store URLs, markup and
terminal escapes in names, YAML bombs, spreadsheet formulas, foreign SQLite files, NaN pixels."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import robustlab
from robustlab import cli
from robustlab.cli import main
from robustlab.data import ArrayDataset
from robustlab.errors import ConfigError, DataError, ModelError, StoreError
from robustlab.models import FunctionModel

# a name that is rich markup (a hyperlink, a closing tag nothing opened) and terminal escapes
# (an OSC 8 hyperlink, a colour, a bell, a carriage return that would overwrite the line)
HOSTILE = (
    "[link=https://evil.example]click[/link][/x]\x1b]8;;https://evil.example\x07ESC\x1b[31mred\r"
)

MODEL_FILE = f"""
from robustlab.demo import DigitsCNN
from robustlab.models import TorchModel

def build():
    return TorchModel(DigitsCNN(), name={HOSTILE!r})
"""


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([*args])
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture()
def hostile_model(tmp_path: Path, cnn) -> tuple[Path, Path]:
    py = tmp_path / "hostile.py"
    py.write_text(MODEL_FILE)
    weights = tmp_path / "cnn.pt"
    torch.save(cnn.module.state_dict(), weights)
    return py, weights


@pytest.fixture()
def clean_suite(tmp_path: Path) -> Path:
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: sec\nversion: 1\nprobes: [clean]\n")
    return suite


def _no_terminal_controls(*texts: str) -> None:
    for t in texts:
        # capsys is not a terminal, so rich adds no escapes of its own: any found came from data
        assert "\x1b" not in t and "\x07" not in t and "\r" not in t, repr(t[:400])


# -- 1. passwords ---------------------------------------------------------------------------------


def test_recorded_command_line_masks_store_passwords(monkeypatch) -> None:
    from robustlab.runner.environment import environment

    monkeypatch.setattr(
        sys,
        "argv",
        [
            "robustlab",
            "scan",
            "--store",
            "postgresql://alice:s3cr%40t@db.example/runs",
            "--store=postgresql://bob:hunter2@db.example/runs",
            "postgresql://carol@db.example/runs?password=letmein&sslmode=require",
        ],
    )
    argv = environment("cpu")["argv"]
    joined = " ".join(argv)
    for secret in ("s3cr", "hunter2", "letmein"):
        assert secret not in joined
    assert argv[3] == "postgresql://alice:***@db.example/runs"
    assert argv[4] == "--store=postgresql://bob:***@db.example/runs"
    assert argv[5] == "postgresql://carol@db.example/runs?password=***&sslmode=require"


def test_display_url_masks_a_password_given_as_a_query_parameter() -> None:
    from robustlab.store._engine import display_url

    assert display_url("postgresql://u@h/db?password=pw1") == "postgresql://u@h/db?password=***"
    assert display_url("postgresql://u:pw2@h/db") == "postgresql://u:***@h/db"
    assert display_url("sqlite:///a.db") == "sqlite:///a.db"


def test_no_output_of_any_command_contains_the_store_password(
    tmp_path, hostile_model, clean_suite, capsys, monkeypatch
) -> None:
    from sqlalchemy.engine import make_url

    from _postgres import postgres_server

    server = postgres_server()
    url = server.create_database()
    password = make_url(url).password
    assert password and len(password) >= 8
    try:
        py, weights = hostile_model
        scan = [
            "scan",
            "--model",
            f"{py}:build",
            "--weights",
            str(weights),
            "--data",
            "digits",
            "--suite",
            str(clean_suite),
            "--store",
            url,
            "--out",
            str(tmp_path / "scan-report"),
            "--no-progress",
        ]
        monkeypatch.setattr(sys, "argv", ["robustlab", *scan])  # what the run records
        outputs = []
        code, out, err = run_cli(scan, capsys)
        assert code == 0, err
        assert "process list" in err  # the warning that a password on argv is visible
        outputs += [out, err]
        code, out, err = run_cli(["runs", "--store", url], capsys)
        assert code == 0, err
        outputs += [out, err]
        from robustlab.store import open_store

        run_id = open_store(url, read_only=True).runs()[0]["id"]
        commands = [
            ["report", run_id, "--store", url, "--out", str(tmp_path / "report")],
            ["export", run_id, "--store", url, "--format", "json"],
            ["export", run_id, "--store", url, "--format", "csv"],
            ["export", run_id, "--store", url, "--format", "md"],
            ["export", run_id, "--store", url, "--out", str(tmp_path / "run.json")],
            [
                *["leaderboard", "--store", url, "--html", str(tmp_path / "board")],
                *["--csv", str(tmp_path / "b.csv"), "--json", str(tmp_path / "b.json")],
                *["--markdown", str(tmp_path / "b.md")],
            ],
        ]
        for args in commands:
            code, out, err = run_cli(args, capsys)
            assert code == 0, (args, err)
            outputs += [out, err]
        # the environment variable keeps the password off the command line, without a warning
        monkeypatch.setenv("ROBUSTLAB_STORE", url)
        code, out, err = run_cli(["runs"], capsys)
        assert code == 0 and "Runs in postgresql://robustlab:***@" in out
        assert "process list" not in err
        outputs += [out, err]
    finally:
        server.drop_database(url)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".pt"]
    assert any(p.name == "results.json" for p in files)
    assert any(p.name == "index.html" for p in files)
    for path in files:
        assert password.encode() not in path.read_bytes(), path
    for text in outputs:
        assert password not in text
    recorded = (tmp_path / "run.json").read_text()
    assert "postgresql://robustlab:***@" in recorded  # the command is recorded, masked


# -- 2. markup and terminal escapes in names ------------------------------------------------------


@pytest.mark.parametrize("progress", [False, True], ids=["no-progress", "progress"])
def test_hostile_names_are_shown_not_interpreted(
    tmp_path, hostile_model, clean_suite, capsys, monkeypatch, progress
) -> None:
    py, weights = hostile_model
    store = f"sqlite:///{tmp_path}/s.db"
    args = ["scan", "--model", f"{py}:build", "--weights", str(weights), "--data", "digits"]
    args += ["--suite", str(clean_suite), "--store", store, "--out", str(tmp_path / "rep")]
    code, out, err = run_cli([*args] + ([] if progress else ["--no-progress"]), capsys)
    assert code == 0, err
    assert (tmp_path / "rep" / "index.html").is_file()
    flat = "".join(out.split())
    assert "[link=https://evil.example]click[/link][/x]" in flat  # the markup, as typed
    assert "\\x1b]8;;https://evil.example\\x07ESC\\x1b[31mred\\x0d" in flat  # escapes, visible
    _no_terminal_controls(out, err)
    monkeypatch.setattr(cli.console, "width", 400)  # one line per row: no wrapped cells
    code, out, err = run_cli(["runs", "--store", store], capsys)
    assert code == 0, err
    assert "[link=https://evil.example]click[/link][/x]\\x1b]8;;" in out
    _no_terminal_controls(out, err)


def test_hostile_text_in_an_error_message_is_printed_as_is(tmp_path, capsys) -> None:
    from robustlab.store import Store

    store = f"sqlite:///{tmp_path}/s.db"
    Store(store).close()
    code, _, err = run_cli(["report", "[/x]\x1b[2J", "--store", store], capsys)
    assert code == 2
    assert "No run '[/x]" in err and "Traceback" not in err
    _no_terminal_controls(err)


def test_leaderboard_drops_terminal_escapes_from_names(tmp_path, capsys) -> None:
    from robustlab.store import Store
    from test_leaderboard import add_run

    url = f"sqlite:///{tmp_path}/board.db"
    store = Store(url)
    add_run(store, "plain", {"clean": 0.9, "corruption": 0.5})
    add_run(store, HOSTILE, {"clean": 0.5, "corruption": 0.7})
    code, out, err = run_cli(["leaderboard", "--store", url], capsys)
    assert code == 0, err
    assert "plain" in out and "click" in out
    _no_terminal_controls(out, err)


def test_printable_and_markup_helpers() -> None:
    from robustlab._terminal import markup, printable

    assert printable("a\x1bb\u202ec\td") == "a\\x1bb\\u202ec\\x09d"
    assert printable("two\nlines", newlines=True) == "two\nlines"
    assert printable("two\nlines") == "two\\x0alines"
    assert markup("[/x]") == "\\[/x]"


# -- 3. YAML alias bombs --------------------------------------------------------------------------


def _bomb(levels: int, width: int) -> str:
    lines = ["a0: &a0 [clean]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + f"\nname: bomb\nversion: 1\nprobes: *a{levels - 1}\n"


def test_a_suite_with_yaml_aliases_is_refused_at_once(tmp_path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb(9, 9))  # 9**8 = 43 million leaves: the billion laughs, smaller
    assert path.stat().st_size < 500
    began = time.perf_counter()
    with pytest.raises(ConfigError, match=r"Suite file .* uses the YAML alias \*a0 \(line 2\)"):
        robustlab.load_suite(str(path))
    assert time.perf_counter() - began < 5  # refused while parsing, not after expanding


def test_a_checklist_test_file_with_yaml_aliases_is_refused(tmp_path) -> None:
    from robustlab.text.checklist import load_tests

    path = tmp_path / "tests.yaml"
    path.write_text(_bomb(9, 9).replace("probes:", "tests:"))
    with pytest.raises(ConfigError, match=r"CheckList test file .* uses the YAML alias \*a0"):
        load_tests(path)


def test_suite_files_and_grids_are_capped(tmp_path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("name: big\nversion: 1\nprobes: [clean]\n" + "#" * 1_100_000 + "\n")
    with pytest.raises(ConfigError, match="limited to 1,000,000 bytes"):
        robustlab.load_suite(str(big))
    grid = {
        "name": "g",
        "probes": [
            {
                "probe": "corruption",
                "grid": {"corruption": ["contrast"] * 30, "severity": [1] * 30, "x": [0] * 30},
            }
        ],
    }
    with pytest.raises(ConfigError, match=r"expands to 27,000 probes \(30 x 30 x 30\)"):
        robustlab.load_suite(grid)


# -- 4. spreadsheet formulas in CSV exports -------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(start) -> None:
    from robustlab.report.exports import csv_text

    assert csv_text(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"
    assert csv_text(f"a{start}b") == f"a{start}b"


def test_leaderboard_csv_neutralises_a_tab_led_name(tmp_path) -> None:
    import csv
    import io

    from robustlab.leaderboard import build_leaderboard, leaderboard_csv
    from robustlab.store import Store
    from test_leaderboard import add_run

    store = Store(f"sqlite:///{tmp_path}/b.db")
    add_run(store, "\t=cmd|' /C calc'!A0", {"clean": 0.9})
    add_run(store, "other", {"clean": 0.5})
    rows = list(csv.DictReader(io.StringIO(leaderboard_csv(build_leaderboard(store)))))
    assert rows[0]["model"] == "'\t=cmd|' /C calc'!A0"


# -- 6. reading commands never write --------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


@pytest.mark.parametrize("command", ["runs", "leaderboard", "report", "export"])
def test_reading_commands_leave_a_foreign_sqlite_file_untouched(tmp_path, capsys, command) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('keep me')")
    before = _digest(other)
    extra = {"report": ["abc"], "export": ["abc", "--format", "json"]}.get(command, [])
    for path in (empty, other):
        code, _, err = run_cli([command, *extra, "--store", str(path)], capsys)
        assert code == 2
        assert "holds no RobustLab store" in " ".join(err.split())
    assert empty.stat().st_size == 0
    assert _digest(other) == before and _journal_mode(other) == "delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db", "other.db"]


def test_reading_commands_leave_a_store_byte_for_byte_unchanged(tmp_path, capsys) -> None:
    from robustlab.store import Store
    from test_leaderboard import add_run

    path = tmp_path / "s.db"
    store = Store(str(path))
    run_id = add_run(store, "m", {"clean": 0.75, "corruption": 0.5})
    store.close()
    with sqlite3.connect(path) as conn:  # as another tool, or an archive, may leave it
        conn.execute("PRAGMA journal_mode=DELETE")
    before = _digest(path)
    for args in (
        ["runs"],
        ["leaderboard"],
        ["report", run_id, "--out", str(tmp_path / "rep")],
        ["export", run_id, "--format", "csv"],
    ):
        code, _, err = run_cli([*args, "--store", str(path)], capsys)
        assert code == 0, (args, err)
    assert _digest(path) == before and _journal_mode(path) == "delete"


def test_a_read_only_store_refuses_writes(tmp_path) -> None:
    from robustlab.store import Store, open_store

    Store(str(tmp_path / "s.db")).close()
    ro = open_store(str(tmp_path / "s.db"), read_only=True)
    assert ro.count_runs() == 0
    with pytest.raises(Exception, match=r"readonly|read-only|read only"):
        ro.add_model("fp", {"name": "m", "adapter": "x"})


def test_a_store_on_read_only_media_is_read_as_immutable(tmp_path, monkeypatch) -> None:
    import robustlab.store._engine as engine
    from robustlab.store import Store, open_store
    from test_leaderboard import add_run

    path = tmp_path / "s.db"
    store = Store(str(path))
    add_run(store, "m", {"clean": 0.5})
    store.close()  # left in WAL mode, as scans leave it
    real_access = engine.os.access
    monkeypatch.setattr(
        engine.os, "access", lambda p, mode: False if mode == engine.os.W_OK else real_access(p)
    )
    ro = open_store(str(path), read_only=True)
    assert "immutable=1" in str(ro.engine.url)
    assert [r["model_name"] for r in ro.runs()] == ["m"]


def test_a_read_only_postgres_store_is_not_created(tmp_path, capsys) -> None:
    from sqlalchemy import create_engine, inspect

    from _postgres import postgres_server

    server = postgres_server()
    url = server.create_database()
    try:
        code, _, err = run_cli(["runs", "--store", url], capsys)
        assert code == 2 and "holds no RobustLab store" in " ".join(err.split())
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
        engine.dispose()
    finally:
        server.drop_database(url)


# -- 8. NaN pixels, probability checks, the failing probe -----------------------------------------


def _probabilities(x: np.ndarray) -> np.ndarray:
    p = np.full((len(x), 10), 0.05)
    p[:, 0] = 0.55
    return p


def test_a_nan_pixel_is_refused_as_a_data_error(tmp_path, digits_test) -> None:
    inputs = digits_test.inputs[:40].clone()
    inputs[7, 0, 3, 3] = float("nan")
    data = ArrayDataset(inputs, digits_test.targets[:40], name="nan-digits")
    model = FunctionModel(_probabilities, num_classes=10, name="const")
    with pytest.raises(DataError, match=r"1 of 40 inputs contain NaN .*position 7"):
        robustlab.scan(model, data, "quick", store=f"{tmp_path}/s.db", progress=False)


def test_probability_check_reports_the_values_with_enough_digits() -> None:
    def overshoot(x: np.ndarray) -> np.ndarray:
        p = np.zeros((len(x), 2))
        p[:, 0], p[:, 1] = 1.25, -0.25  # rows sum to 1, values do not lie in 0..1
        return p

    model = FunctionModel(overshoot, num_classes=2, bounds=None, name="over")
    with pytest.raises(ModelError, match=r"row sums range 1\.\.1, values -0\.25\.\.1\.25"):
        model.predict_scores(np.zeros((3, 4), dtype=np.float32))
    nearly = FunctionModel(lambda x: np.full((len(x), 2), 0.5006), num_classes=2, bounds=None)
    with pytest.raises(ModelError, match=r"row sums range 1\.0012\.\.1\.0012"):
        nearly.predict_scores(np.zeros((3, 4), dtype=np.float32))


def test_an_error_raised_mid_scan_names_the_probe(tmp_path, digits_test, capsys) -> None:
    data = ArrayDataset(digits_test.inputs[:30], digits_test.targets[:30], name="d30")
    clean_rows = {np.asarray(row, dtype=np.float32).tobytes() for row in data.inputs}

    def flaky(x: np.ndarray) -> np.ndarray:
        p = _probabilities(x)
        # clean inputs (preflight, the clean probe) pass; corrupted ones return NaN
        if any(np.asarray(row, dtype=np.float32).tobytes() not in clean_rows for row in x):
            p[:] = np.nan
        return p

    model = FunctionModel(flaky, num_classes=10, name="flaky")
    suite = {"name": "two", "probes": ["clean", "corruption corruption=contrast severity=1"]}
    with pytest.raises(ModelError) as info:  # fail_fast: the error itself, not a failed unit
        robustlab.scan(model, data, suite, store=f"{tmp_path}/s.db", progress=False, fail_fast=True)
    notes = getattr(info.value, "__notes__", [])
    assert any("corruption" in n and "examples 0..29" in n for n in notes), notes
    from robustlab.cli import _message

    assert "examples 0..29" in _message(info.value)


def test_store_errors_stay_store_errors(tmp_path) -> None:
    from robustlab.store import open_store

    with pytest.raises(StoreError, match="No store at"):
        open_store(str(tmp_path / "missing.db"), read_only=True)


# -- 5. attacks on units with nothing correctly classified ----------------------------------------


def test_a_scan_of_a_weak_model_in_one_example_shards_completes(tmp_path, digits_test) -> None:
    from robustlab.demo import DigitsCNN
    from robustlab.models import TorchModel

    torch.manual_seed(0)
    weak = TorchModel(DigitsCNN(), name="untrained")  # about one example in ten is right
    data = ArrayDataset(digits_test.inputs[:8], digits_test.targets[:8], name="d8")
    suite = {
        "name": "minimal",
        "probes": [
            {"probe": "minimal", "attack": "deepfool", "norm": "l2", "steps": 5},
            {"probe": "minimal", "attack": "hop_skip_jump", "norm": "l2", "steps": 2}
            | {"init_evals": 10, "max_evals": 20, "max_queries": 200},
        ],
    }
    correct = weak.predict_scores(data.inputs).argmax(dim=1) == data.targets
    assert not correct.all()  # some one-example units have nothing to attack
    result = robustlab.scan(
        weak, data, suite, store=f"{tmp_path}/s.db", shard_size=1, progress=False
    )
    assert result.status == "complete"


def test_reports_and_exports_mask_a_password_recorded_by_an_older_version(tmp_path) -> None:
    import json

    from sqlalchemy import update

    from robustlab.report import write_report
    from robustlab.report.exports import write_export
    from robustlab.store import Store
    from robustlab.store import schema as t
    from test_leaderboard import add_run

    store = Store(f"sqlite:///{tmp_path}/s.db")
    run_id = add_run(store, "m", {"clean": 0.5})
    argv = ["robustlab", "scan", "--store", "postgresql://u:old-secret@h/db"]
    with store.engine.begin() as conn:  # what RobustLab 0.1 recorded
        conn.execute(update(t.runs).values(environment={"argv": argv}))
    write_report(store, [run_id], tmp_path / "rep")
    doc = json.loads(write_export(store, [run_id], None, "json"))
    assert doc["runs"][0]["environment"]["argv"][3] == "postgresql://u:***@h/db"
    for path in (tmp_path / "rep").rglob("*"):
        if path.is_file():
            assert b"old-secret" not in path.read_bytes(), path


def test_export_to_a_terminal_shows_escapes_and_to_a_pipe_keeps_them(tmp_path, capsys, monkeypatch):
    from robustlab.store import Store
    from test_leaderboard import add_run

    url = f"sqlite:///{tmp_path}/s.db"
    run_id = add_run(Store(url), "m\x1bcpwned\x07", {"clean": 0.5})
    code, out, _ = run_cli(["export", run_id, "--store", url, "--format", "md"], capsys)
    assert code == 0 and "m\x1bcpwned\x07" in out  # piped: the data as stored
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = run_cli(["export", run_id, "--store", url, "--format", "md"], capsys)
    assert code == 0 and "m\\x1bcpwned\\x07" in out
    _no_terminal_controls(out)
