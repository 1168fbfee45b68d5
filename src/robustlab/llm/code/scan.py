"""Code problems and a language model as the dataset and model of a scan (task
``code_generation``, modality ``llm``): ``robustlab.scan(CodeModel(llm), CodeDataset(...),
{"probes": [{"probe": "llm_code", "perturbation": "rename"}, ...]})``."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from robustlab import validation
from robustlab.data.base import Dataset
from robustlab.errors import ConfigError, DataError
from robustlab.llm.base import Decoding, LanguageModel
from robustlab.llm.code.evaluate import CODE_DECODING
from robustlab.llm.code.problems import CodeProblem, check_problems, problems
from robustlab.models.base import Model

__all__ = ["CodeDataset", "CodeModel"]


class CodeDataset(Dataset):
    """Code problems as a dataset: inputs are :class:`CodeProblem`, targets their tests.

    Args:
        items: The problems (default: the bundled set).
        name: Dataset name.
    """

    modality = "llm"

    def __init__(self, items: Sequence[CodeProblem] | None = None, *, name: str = "") -> None:
        self.items = check_problems(problems() if items is None else items)
        super().__init__(
            name=name or f"code-problems-{len(self.items)}",
            targets=np.array([p.tests for p in self.items], dtype=object),
            ids=[p.task_id for p in self.items],
            task="code_generation",
        )

    def load_inputs(self, indices: np.ndarray) -> list[CodeProblem]:
        return [self.items[int(i)] for i in indices]

    def fingerprint(self) -> str:
        """A hash of the problems (prompts, entry points, tests) and their ids."""
        h = hashlib.sha256(b"task=code_generation\x00")
        h.update("\x00".join(self.ids).encode())
        self._content_hash(h)
        return h.hexdigest()[:16]

    def _content_hash(self, h: Any) -> None:
        h.update(repr([(p.task_id, p.prompt, p.entry_point, p.tests) for p in self.items]).encode())


class CodeModel(Model):
    """A language model writing code: each problem's prompt is completed ``num_samples`` times
    and each completion appended to the prompt is a program (see the ``code_generation`` task).

    Args:
        llm: Any language model (wrap it in CachedLLM so a re-run never pays twice).
        decoding: Decoding of the completions (stops at the next top-level statement).
        timeout: Wall-clock (and CPU) seconds per test run.
        memory_mb: Memory limit per test run.
        batch_size: Prompts per call of the language model.
    """

    def __init__(
        self,
        llm: LanguageModel,
        *,
        decoding: Decoding = CODE_DECODING,
        timeout: float = 5.0,
        memory_mb: int = 512,
        batch_size: int = 32,
        name: str | None = None,
    ) -> None:
        if not isinstance(llm, LanguageModel):
            raise ConfigError(
                f"CodeModel wraps a robustlab.llm.LanguageModel; got a {type(llm).__name__}."
            )
        validation.check_number("CodeModel", "timeout", timeout)
        validation.check_int("CodeModel", "memory_mb", memory_mb, 16)
        super().__init__(
            name=name or llm.name,
            modality="llm",
            num_classes=None,
            bounds=None,
            output="labels",
            batch_size=batch_size,
            device="cpu",
            task="code_generation",
        )
        self.llm = llm
        self.decoding = decoding
        self.timeout = float(timeout)
        self.memory_mb = int(memory_mb)

    def _forward_batch(self, inputs: Any) -> Any:
        return self.write_code(inputs)

    def write_code(self, items: Sequence[CodeProblem]) -> list[Any]:
        """One CodeOutput per problem: the programs of its samples."""
        from robustlab.tasks.code_generation import CodeOutput

        items = list(items)
        for i, p in enumerate(items):
            if not isinstance(p, CodeProblem):
                raise DataError(
                    f"Model {self.name!r} writes code for CodeProblem inputs (CodeDataset); "
                    f"input {i} is a {type(p).__name__}."
                )
        out: list[Any] = []
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            generated = self.llm.generate([p.prompt for p in chunk], self.decoding)
            for p, row in zip(chunk, generated):
                texts = tuple(c.text if isinstance(c.text, str) else "" for c in row)
                out.append(
                    CodeOutput(
                        tuple(p.prompt + t for t in texts), texts, self.timeout, self.memory_mb
                    )
                )
        return out

    def fingerprint(self) -> str:
        return self._hash("CodeModel", self.llm.fingerprint(), self.decoding.key())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "llm": self.llm.describe(), "decoding": self.decoding.key()}
