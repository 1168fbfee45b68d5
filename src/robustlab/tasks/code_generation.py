"""Code generation: the model completes a function; its tests run on each completion in a
sandboxed subprocess (:func:`robustlab.llm.code.sandbox.run_tests`); an example breaks when its
first completion fails them. Records count the passing samples for pass@k (Chen et al., 2021)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.tasks.base import CRITERIA, TASKS, Criterion, Task

if TYPE_CHECKING:
    from robustlab.models.base import Model

__all__ = ["CodeGeneration", "CodeOutput", "TestsFailed"]


@dataclass(frozen=True)
class CodeOutput:
    """A model's answer to one code prompt: each sample's full program (prompt + completion),
    its completions, and the sandbox limits its tests run under."""

    programs: tuple[str, ...]
    completions: tuple[str, ...]
    timeout: float = 5.0
    memory_mb: int = 512


@CRITERIA.register("tests_failed")
@dataclass(frozen=True)
class TestsFailed(Criterion):
    """Broken when the first completion fails the problem's tests (judged in the sandbox, so
    code probes set ``broken`` from the records' ``passed`` field)."""

    __test__ = False
    name = "tests_failed"
    tasks = ("code_generation",)

    def broken(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.margin(outputs, targets, clean) <= 0

    def margin(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        raise ConfigError(
            "The 'tests_failed' criterion has no differentiable margin: code is judged by running "
            "its tests; read the records' 'passed' field instead."
        )


@TASKS.register("code_generation")
class CodeGeneration(Task):
    """Complete a function so that its tests pass; an example breaks when they fail."""

    name: ClassVar[str] = "code_generation"
    output: ClassVar[str] = "one CodeOutput per prompt (the programs of its samples)"
    target: ClassVar[str] = "the tests of each problem (Python source, a non-empty str)"
    fields: ClassVar[dict[str, str]] = {
        "passed": "bool",
        "num_correct": "int",
        "num_samples": "int",
        "pass_at_1": "float",
        "reason": "str",
        "message": "str",
        "completion": "str",
        "test_output": "str",
    }
    score_field: ClassVar[str] = "pass_at_1"
    metrics: ClassVar[tuple[str, ...]] = ("pass_at_k",)
    criterion: ClassVar[str] = "tests_failed"
    outputs: ClassVar[tuple[str, ...]] = ("labels",)

    def check_targets(self, targets: Any, where: str) -> np.ndarray:
        items = list(targets) if not isinstance(targets, str) else None
        if not items:
            raise DataError(f"{where}: code-generation targets are one test source per problem; "
                            "got none.")  # fmt: skip
        bad = [i for i, t in enumerate(items) if not isinstance(t, str) or not t.strip()]
        if bad:
            raise DataError(
                f"{where}: code-generation target {bad[0]} is {items[bad[0]]!r}; each target is "
                "the problem's tests as Python source (assert lines), a non-empty str."
            )
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out

    def predict(self, model: Model, inputs: Any) -> np.ndarray:
        write = getattr(model, "write_code", None)
        if write is None:
            raise ConfigError(
                f"Model {model.name!r} cannot write code; wrap a language model with "
                "robustlab.llm.code.CodeModel."
            )
        out = np.empty(len(inputs), dtype=object)
        out[:] = list(write(inputs))
        return out

    def reference_of(self, model: Model, inputs: Any) -> np.ndarray:
        raise ConfigError("Code-generation records have no 'reference' field; scan without it.")

    def record_fields(
        self, outputs: Any, targets: Any, *, reference: Any = None, **options: Any
    ) -> dict[str, np.ndarray]:
        """Runs every sample's program with its problem's tests in the sandbox."""
        from robustlab.llm.code.sandbox import run_tests

        rows = list(outputs)
        tests = list(targets)
        if len(rows) != len(tests):
            raise ModelError(
                f"code_generation outputs must have one row per example ({len(tests)}); got "
                f"{len(rows)}. A code_generation model returns {self.output}."
            )
        for i, r in enumerate(rows):
            if not isinstance(r, CodeOutput) or not r.programs:
                raise ModelError(
                    f"code_generation output {i} is a {type(r).__name__}, not a CodeOutput with "
                    "at least one program; wrap the language model with CodeModel."
                )
        jobs = [(i, j) for i, r in enumerate(rows) for j in range(len(r.programs))]

        def run(job: tuple[int, int]) -> Any:
            i, j = job
            r = rows[i]
            return run_tests(r.programs[j], tests[i], timeout=r.timeout, memory_mb=r.memory_mb)

        with ThreadPoolExecutor(min(2, max(1, len(jobs)))) as pool:
            results = list(pool.map(run, jobs))
        by_row: dict[int, list[Any]] = {}
        for (i, _), res in zip(jobs, results):
            by_row.setdefault(i, []).append(res)
        n = len(rows)
        first = [by_row[i][0] for i in range(n)]
        correct = np.array([sum(o.passed for o in by_row[i]) for i in range(n)], dtype=np.int64)
        samples = np.array([len(by_row[i]) for i in range(n)], dtype=np.int64)

        def strings(values: list[str]) -> np.ndarray:
            arr = np.empty(n, dtype=object)
            arr[:] = values
            return arr

        return {
            "passed": np.array([o.passed for o in first], dtype=bool),
            "num_correct": correct,
            "num_samples": samples,
            "pass_at_1": correct / samples,
            "reason": strings([o.reason for o in first]),
            "message": strings([o.message[:500] for o in first]),
            "completion": strings([r.completions[0] if r.completions else "" for r in rows]),
            "test_output": strings([o.output[-500:] for o in first]),
        }

    def default_broken(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        return ~np.asarray(fields["passed"], dtype=bool)


import robustlab.llm.code.metrics  # noqa: E402, F401  (registers pass_at_k)
