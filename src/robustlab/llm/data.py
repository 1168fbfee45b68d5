"""Multiple-choice datasets: items, few-shot examples, an instruction and a prompt format.

A :class:`MCDataset` is a :class:`~robustlab.data.Dataset` of the ``llm`` modality and the
``multiple_choice`` task: its inputs are :class:`~robustlab.llm.prompts.MCQuery` objects (what
the prompt perturbations change) and its targets the right options' indices.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robustlab.data.base import Dataset
from robustlab.errors import DataError
from robustlab.llm.prompts import MCItem, MCQuery, PromptFormat, format_of

__all__ = ["MCDataset", "lookup_dataset"]


class MCDataset(Dataset):
    """Multiple-choice items as a dataset.

    Args:
        items: The items (or mappings with question, options, answer).
        name: Dataset name.
        shots: Answered examples shown before every item (few-shot), in this order.
        instruction: The instruction line of every prompt.
        format: The prompt format (a built-in name, a mapping or a PromptFormat).
        ids: Example ids (positions by default).
    """

    modality = "llm"

    def __init__(
        self,
        items: Sequence[MCItem | Mapping[str, Any]],
        *,
        name: str = "multiple-choice",
        shots: Sequence[MCItem | Mapping[str, Any]] = (),
        instruction: str = "",
        format: str | Mapping[str, Any] | PromptFormat = "default",
        ids: Sequence[str] | None = None,
    ) -> None:
        self.items = [_item(x, f"Dataset {name!r}, item {i}") for i, x in enumerate(items)]
        if not self.items:
            raise DataError(f"Dataset {name!r} is empty; pass at least one item.")
        self.shots = tuple(_item(x, f"Dataset {name!r}, shot {i}") for i, x in enumerate(shots))
        self.instruction = str(instruction)
        self.format = format_of(format)
        subjects = [it.subject for it in self.items]
        super().__init__(
            name=name,
            targets=np.array([it.answer for it in self.items], dtype=np.int64),
            ids=ids,
            meta={"group": subjects} if any(subjects) else None,
            task="multiple_choice",
        )

    @classmethod
    def from_jsonl(cls, path: str | Path, **kwargs: Any) -> MCDataset:
        """One JSON object per line: ``{"question", "options", "answer"[, "subject", "id"]}``."""
        path = Path(path)
        rows = []
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n} is not JSON ({exc.msg}).") from None
        ids = [str(r["id"]) for r in rows] if rows and all("id" in r for r in rows) else None
        kwargs.setdefault("name", path.stem)
        return cls(rows, ids=ids, **kwargs)

    def queries(self, indices: Sequence[int] | np.ndarray) -> list[MCQuery]:
        return [
            MCQuery(self.items[int(i)], self.shots, self.instruction, self.format) for i in indices
        ]

    def load_inputs(self, indices: np.ndarray) -> list[MCQuery]:
        return self.queries(indices)

    def _content_hash(self, h: Any) -> None:
        h.update(repr([(it.question, it.options, it.answer) for it in self.items]).encode())
        h.update(repr([(s.question, s.options, s.answer) for s in self.shots]).encode())
        h.update(self.instruction.encode())
        h.update(repr(self.format).encode())

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "shots": len(self.shots),
            "instruction": self.instruction,
            "format": self.format.name,
            "options_per_item": sorted({len(it.options) for it in self.items}),
        }


def _item(x: MCItem | Mapping[str, Any], where: str) -> MCItem:
    if isinstance(x, MCItem):
        return x
    if isinstance(x, Mapping):
        return MCItem.from_mapping(x, where)
    raise DataError(f"{where} is a {type(x).__name__}; pass an MCItem or a mapping.")


def lookup_dataset(
    n: int = 200, *, seed: int = 1234, shots: int = 2, instruction: str | None = None
) -> MCDataset:
    """The tiny model's fact-lookup task, with uniformly placed answers (its own test set)."""
    from robustlab.llm.tiny import TRAIN_INSTRUCTION, lookup_items

    examples = lookup_items(shots, seed=seed + 1) if shots else []
    return MCDataset(
        lookup_items(n, seed=seed),
        name=f"category-lookup-{n}",
        shots=examples,
        instruction=TRAIN_INSTRUCTION if instruction is None else instruction,
    )
