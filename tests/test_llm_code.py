"""Code generation: the sandbox kills hanging and memory-eating tests at their limits, pass@k
known answers, ReCode perturbations keep programs valid and behaving the same (run), and an
end-to-end evaluation whose robust pass@k is known."""

from __future__ import annotations

import ast
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations

import numpy as np
import pytest

from robustlab.errors import ConfigError, DataError, UnknownNameError
from robustlab.llm.base import Completion, Decoding, LanguageModel
from robustlab.llm.code import (
    CODE_PERTURBATIONS,
    PROBLEMS,
    evaluate_code,
    pass_at_k,
    pass_at_k_per_problem,
    rename_variables,
    robust_pass_at_k,
    run_tests,
)
from robustlab.llm.code.perturb import code_perturbation

# -- the sandbox -------------------------------------------------------------------------------


def test_outcomes_have_their_reasons() -> None:
    ok = run_tests("def f(x):\n    return x + 1\n", "assert f(1) == 2\n")
    assert ok.passed and ok.reason == "passed"
    wrong = run_tests("def f(x):\n    return x\n", "assert f(1) == 2, 'f(1) is not 2'\n")
    assert not wrong.passed and wrong.reason == "assertion" and wrong.message == "f(1) is not 2"
    bare = run_tests("def f(x):\n    return x\n", "assert f(1) == 2\n")
    assert bare.message == "tests.py:1: assert f(1) == 2"
    crash = run_tests("def f(x):\n    return x / 0\n", "print('running')\nf(1)\n")
    assert crash.reason == "error" and crash.message.startswith("ZeroDivisionError")
    assert crash.output == "running\n"  # the program's output is kept
    syntax = run_tests("def f(:\n", "")
    assert syntax.reason == "error" and "SyntaxError" in syntax.message
    exits = run_tests("import sys\nsys.exit(0)\n", "assert False\n")
    assert not exits.passed and exits.reason == "error"


def test_a_hanging_test_is_killed_at_its_limits() -> None:
    started = time.perf_counter()
    spin = run_tests(
        "def f():\n    while True:\n        pass\n", "f()\n", timeout=10, cpu_seconds=1
    )
    assert spin.reason == "timeout" and not spin.passed and "CPU-time limit (1 s)" in spin.message
    sleep = run_tests("import time\n", "time.sleep(60)\n", timeout=1.0)
    assert sleep.reason == "timeout" and "1 s of wall-clock time" in sleep.message
    assert sleep.seconds < 5
    # a child the program started is killed with it (its whole process group)
    forks = run_tests(
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n",
        "import time\ntime.sleep(60)\n",
        timeout=1.0,
    )
    assert forks.reason == "timeout"
    assert time.perf_counter() - started < 15


def test_a_memory_eating_test_is_killed_at_its_limit() -> None:
    grow = run_tests(
        "def f():\n    blocks = []\n    while True:\n        blocks.append(bytearray(2**20))\n",
        "f()\n",
        memory_mb=128,
        timeout=20,
    )
    assert grow.reason == "memory" and not grow.passed and "memory" in grow.message
    huge = run_tests("x = bytearray(8 * 2**30)\n", "", memory_mb=128)
    assert huge.reason == "memory"
    fine = run_tests("x = bytearray(32 * 2**20)\n", "assert len(x) == 32 * 2**20\n", memory_mb=256)
    assert fine.passed


def test_the_sandbox_is_isolated(tmp_path: object) -> None:
    out = run_tests(
        "import os, sys\n",
        "assert 'PYTHONPATH' not in os.environ\n"
        "assert os.getcwd().split('/')[-1].startswith('robustlab-code-')\n"
        "open('scratch.txt', 'w').write('x')\n"
        "assert not any('site-packages' in p for p in sys.path)\n",
    )
    assert out.passed, out.message
    big_file = run_tests("", "open('big', 'wb').write(b'x' * (4 * 2**20))\n", file_mb=1)
    assert not big_file.passed and big_file.reason == "error"
    with pytest.raises(ConfigError, match="memory_mb"):
        run_tests("", "", memory_mb=1)


# -- pass@k ------------------------------------------------------------------------------------


def _brute_force(n: int, c: int, k: int) -> float:
    """The probability that a random k-subset of n samples (c correct) holds a correct one."""
    subsets = list(combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize(
    ("n", "c", "k"), [(10, 3, 1), (10, 3, 2), (10, 3, 5), (5, 0, 2), (6, 5, 2)]
)
def test_pass_at_k_is_the_unbiased_estimate(n: int, c: int, k: int) -> None:
    expected = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k_per_problem(n, c, k) == pytest.approx(expected)
    assert pass_at_k_per_problem(n, c, k) == pytest.approx(_brute_force(n, c, k))


def test_pass_at_k_known_answers() -> None:
    assert pass_at_k_per_problem(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k_per_problem(10, 3, 2) == pytest.approx(1 - 21 / 45)
    assert pass_at_k_per_problem(4, 2, 3) == 1.0  # n - c < k
    assert pass_at_k([[True, False], [False, False]], 1) == pytest.approx(0.25)
    with pytest.raises(ConfigError, match="at least 5 samples"):
        pass_at_k_per_problem(3, 1, 5)
    # robust: sample i counts only if it passes on every variant
    correct = np.array(
        [
            [[True, True], [True, False]],  # sample 0 survives both variants
            [[True, False], [False, True]],  # no sample survives both
        ]
    )
    assert robust_pass_at_k(correct, 1) == pytest.approx((0.5 + 0.0) / 2)
    assert robust_pass_at_k(correct, 2) == pytest.approx((1.0 + 0.0) / 2)
    with pytest.raises(ConfigError, match="variants, samples"):
        robust_pass_at_k(np.ones((2, 2)), 1)


# -- perturbations -----------------------------------------------------------------------------


NAMES = ("docstring", "rename", "newline_insertion", "tab_indent", "doc_to_comments", "line_split")


def test_every_perturbation_keeps_every_prompt_valid_and_deterministic() -> None:
    assert set(NAMES) <= set(CODE_PERTURBATIONS.names())
    for name in NAMES:
        pert = code_perturbation(name)
        changed = 0
        for p in PROBLEMS:
            out = pert.apply(p.prompt, p.entry_point, seed=3)
            assert out == pert.apply(p.prompt, p.entry_point, seed=3)
            body = "\tpass\n" if name == "tab_indent" else "    pass\n"
            ast.parse(out.prompt + body)  # still valid Python once a body is written
            assert f"def {p.entry_point}(" in out.prompt.replace("\n", "")
            changed += out.changed
        assert changed >= len(PROBLEMS) * 0.8, name


def test_docstring_paraphrase_changes_prose_only() -> None:
    p = PROBLEMS[10]  # running_sum
    out = code_perturbation("docstring", rate=1.0).apply(p.prompt, p.entry_point, seed=1)
    assert out.changed
    old_lines, new_lines = p.prompt.splitlines(), out.prompt.splitlines()
    assert len(old_lines) == len(new_lines)
    differing = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert differing and all(">>>" not in a and "[1, 3, 6]" not in a for a, _ in differing)
    assert "def running_sum(numbers: List[int])" in out.prompt
    casing = code_perturbation("docstring", transformation="casing", rate=1.0)
    assert casing.apply(p.prompt, p.entry_point).changed
    with pytest.raises(UnknownNameError):
        code_perturbation("docstring", transformation="no_such_transformation")


def test_renaming_is_consistent_and_preserves_behaviour() -> None:
    renamer = code_perturbation("rename")
    outs = [renamer.apply(p.reference_program, p.entry_point, seed=5) for p in PROBLEMS]
    for p, out in zip(PROBLEMS, outs):
        assert out.changed and out.renamed, p.task_id
        names = {n.id for n in ast.walk(ast.parse(out.prompt)) if isinstance(n, ast.Name)}
        assert not set(out.renamed) & names, p.task_id  # no old name is left in the function
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda po: run_tests(po[1].prompt, po[0].tests), zip(PROBLEMS, outs))
        )
    for p, out, result in zip(PROBLEMS, outs, results):
        assert result.passed, (p.task_id, out.renamed, result.message, out.prompt)
    naive = code_perturbation("rename", style="naive").apply(
        PROBLEMS[9].reference_program, "gcd", seed=0
    )
    assert naive.renamed == {"a": "var_0", "b": "var_1"}
    assert "def gcd(var_0: int, var_1: int)" in naive.prompt
    assert run_tests(naive.prompt, PROBLEMS[9].tests).passed


def test_rename_leaves_attributes_keywords_and_strings_alone() -> None:
    source = (
        "def f(counts, key):\n"
        '    """Count key in counts."""\n'
        "    total = counts.get(key, 0)\n"
        "    label = 'counts'\n"
        "    return dict(counts=total, key=label)\n"
    )
    out = rename_variables(source, "f", {"counts": "tally", "key": "k", "total": "t"})
    assert out == (
        "def f(tally, k):\n"
        '    """Count k in tally."""\n'
        "    t = tally.get(k, 0)\n"
        "    label = 'counts'\n"
        "    return dict(counts=t, key=label)\n"
    )
    with pytest.raises(DataError, match="defines no function 'g'"):
        rename_variables(source, "g", {})


def test_format_changes_preserve_behaviour() -> None:
    jobs = []
    for name in ("newline_insertion", "tab_indent", "line_split"):
        pert = code_perturbation(name)
        for p in PROBLEMS:
            out = pert.apply(p.reference_program, p.entry_point, seed=2)
            jobs.append((name, p, out.prompt))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda j: run_tests(j[2], j[1].tests), jobs))
    for (name, p, program), result in zip(jobs, results):
        assert result.passed, (name, p.task_id, result.message, program)


# -- end to end --------------------------------------------------------------------------------


class _Copier(LanguageModel):
    """Writes each problem's reference body verbatim, whatever the prompt says: right on the
    nominal prompt, wrong after a renaming (old names) or a tab indentation (mixed indents)."""

    name = "copier"

    def __init__(self, bodies: dict[str, str]) -> None:
        self.bodies = bodies
        self.calls = 0

    def fingerprint(self) -> str:
        return "copier"

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        self.calls += 1
        out = []
        for prompt in prompts:
            body = next(b for entry, b in self.bodies.items() if f"def {entry}(" in prompt)
            out.append([Completion(body)] * decoding.num_samples)
        return out


def test_evaluate_code_known_robust_pass_at_k() -> None:
    items = list(PROBLEMS[:6])
    model = _Copier({p.entry_point: p.solution for p in items})
    ev = evaluate_code(model, items, workers=2, timeout=10)
    assert model.calls == 1  # one call for every prompt
    assert ev.variants == ["nominal", "docstring:typo_keyboard", "rename:natural",
                           "newline_insertion", "tab_indent", "doc_to_comments", "line_split"]  # fmt: skip
    assert ev.pass_at(1)["value"] == 1.0
    for variant in (
        "docstring:typo_keyboard",
        "newline_insertion",
        "doc_to_comments",
        "line_split",
    ):
        assert ev.pass_at(1, variant)["value"] == 1.0, variant
    assert ev.pass_at(1, "rename:natural")["value"] == 0.0  # the body uses the old names
    assert ev.pass_at(1, "tab_indent")["value"] == 0.0  # spaces after tabs
    robust = ev.robust_pass_at(1)
    assert robust["value"] == 0.0 and robust["robust_drop"] == 1.0 and robust["variants"] == 6
    assert ev.robust_pass_at(1, family="docstring")["value"] == 1.0
    assert ev.robust_pass_at(1, family="format")["value"] == 0.0
    failures = ev.failures("rename:natural")
    assert len(failures) == 6 and all(f.reason == "error" for f in failures)
    assert all("NameError" in f.message for f in failures)
    rows = ev.failure_rows(limit=3)
    assert len(rows) == 3 and all(r["broken_by_perturbation"] for r in rows)
    assert {r["variant"] for r in rows} <= {"rename:natural", "tab_indent"}
    summary = ev.summary()
    assert summary["reasons"]["passed"] == 6 * 5
    assert set(summary["robust_by_family"]) == {"docstring", "function", "format"}
    with pytest.raises(ConfigError, match="No variant 'x'"):
        ev.pass_at(1, "x")


class _Hanging(LanguageModel):
    name = "hanging"

    def fingerprint(self) -> str:
        return "hanging"

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        bodies = ["    while True:\n        pass\n", "    return [0] * 10**10\n"]
        return [[Completion(bodies[i % 2])] for i in range(len(prompts))]


def test_hanging_and_memory_eating_completions_are_failures_with_reasons() -> None:
    ev = evaluate_code(_Hanging(), PROBLEMS[:2], perturbations=(), timeout=1.0, memory_mb=256)
    reasons = {s.task_id: s.reason for s in ev.samples}
    assert reasons == {"rl/0_add": "timeout", "rl/1_is_palindrome": "memory"}
    assert ev.pass_at(1)["value"] == 0.0


def test_the_code_probe_through_the_cache_pays_once(tmp_path: object) -> None:
    from robustlab.llm.cache import CachedLLM
    from robustlab.probes.llm_code import LLMCode
    from robustlab.store import Store

    items = list(PROBLEMS[:4])
    copier = _Copier({p.entry_point: p.solution for p in items})
    probe = LLMCode.from_spec({"probe": "llm_code", "perturbations": "rename,doc_to_comments"})
    assert probe.perturbations == ("rename", "doc_to_comments")
    assert probe.key == "llm_code(k=1,n=1,perturbations=rename+doc_to_comments)"
    store = Store(f"sqlite:///{tmp_path}/code.db")
    first = probe.metrics(probe.run(CachedLLM(copier, store), items))
    again_model = CachedLLM(copier, store)
    again = probe.metrics(probe.run(again_model, items))
    assert copier.calls == 1 and again_model.stats.hits == 4 * 3  # every prompt from the store
    assert first == again
    assert first["pass@1"]["value"] == 1.0 and first["pass@1[doc_to_comments]"]["value"] == 1.0
    assert first["robust_pass@1"]["value"] == 0.0 and first["robust_pass@1"]["robust_drop"] == 1.0
    assert first["robust_pass@1[format]"]["value"] == 1.0
    low, high = (
        first["pass@1[rename:natural]"]["ci_low"],
        first["pass@1[rename:natural]"]["ci_high"],
    )
    assert low == high == 0.0
    with pytest.raises(ConfigError, match="at most num_samples"):
        LLMCode(k=5)
    with pytest.raises(ConfigError, match="Unknown parameter 'kk'"):
        LLMCode.from_spec({"probe": "llm_code", "kk": 1})


def test_code_evaluation_over_http_and_the_cache(tmp_path: object) -> None:
    """The whole chain: a model served over the OpenAI API, read by OpenAIEndpoint through
    CachedLLM, its completions tested in the sandbox; a resumed evaluation pays nothing."""
    from robustlab.llm.cache import CachedLLM
    from robustlab.llm.openai import OpenAIEndpoint
    from robustlab.llm.server import serve
    from robustlab.store import Store

    items = list(PROBLEMS[:3])
    copier = _Copier({p.entry_point: p.solution for p in items})
    store = Store(f"sqlite:///{tmp_path}/code.db")
    perts = ("rename", "tab_indent", "doc_to_comments")
    with serve(copier) as server:
        ep = OpenAIEndpoint(server.url, "copier", batch_size=4)
        ev = evaluate_code(CachedLLM(ep, store), items, perts)
        assert server.generated == 3 * 4
        again = evaluate_code(CachedLLM(ep, store), items, perts)
        assert server.generated == 3 * 4  # every completion from the store
    assert ev.pass_at(1)["value"] == 1.0 and ev.pass_at(1, "doc_to_comments")["value"] == 1.0
    assert ev.robust_pass_at(1)["value"] == 0.0
    assert [s.completion for s in again.samples] == [s.completion for s in ev.samples]


def test_scan_of_code_generation_end_to_end(tmp_path: object) -> None:
    """robustlab.scan on CodeModel + CodeDataset: llm_code probes, pass_at_k in the store."""
    import robustlab
    from robustlab.llm.cache import CachedLLM
    from robustlab.llm.code.scan import CodeDataset, CodeModel
    from robustlab.store import Store

    items = list(PROBLEMS[:4])
    copier = _Copier({p.entry_point: p.solution for p in items})
    store = Store(f"sqlite:///{tmp_path}/scan.db")
    suite = {
        "name": "code",
        "version": 1,
        "probes": [
            {"probe": "llm_code", "perturbation": v}
            for v in ("none", "rename", "tab_indent", "doc_to_comments")
        ],
    }
    data = CodeDataset(items)
    result = robustlab.scan(
        CodeModel(CachedLLM(copier, store), timeout=10), data, suite, store=store, progress=False
    )
    values = {m["probe_key"]: m["value"] for m in result.metrics if m["metric"] == "pass_at_k"}
    assert values == {
        "llm_code(perturbation=none)": 1.0,
        "llm_code(perturbation=rename)": 0.0,
        "llm_code(perturbation=tab_indent)": 0.0,
        "llm_code(perturbation=doc_to_comments)": 1.0,
    }
    calls = copier.calls
    again = CachedLLM(copier, store)
    robustlab.scan(
        CodeModel(again, timeout=10), data, suite, store=store, progress=False, resume=False
    )
    assert copier.calls == calls and again.stats.misses == 0  # every completion from the store
