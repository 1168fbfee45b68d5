"""The README stays true: CI runs its test command, and its Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from robustlab.suites import SUITES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command() -> None:
    commands = [
        line for block in _blocks("bash") for line in block.splitlines() if "pytest" in line
    ]
    assert commands, "the README lost its test command"
    assert commands[0].strip() in (ROOT / ".ci" / "run").read_text()
    assert "torch==2.13.0" in commands[0]


def test_readme_python_example_runs(tmp_path, monkeypatch) -> None:
    (example,) = [b for b in _blocks("python") if "robustlab.scan" in b]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # the example as a user runs it
    result = namespace["result"]
    assert result.status == "complete"
    assert (tmp_path / "report" / "index.html").is_file()
    assert (tmp_path / "report" / "results.json").is_file()
    assert 0.9 < result.value("clean") <= 1.0


@pytest.mark.parametrize("name", SUITES.names())
def test_readme_names_every_builtin_suite(name: str) -> None:
    assert f"`{name}`" in README
