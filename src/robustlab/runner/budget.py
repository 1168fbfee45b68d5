"""Scan budgets: a seeded sample of a dataset's examples (``scan(max_examples=)``,
``--max-examples``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from robustlab.data.base import Dataset
from robustlab.validation import check_int

__all__ = ["ExampleSample", "sample_examples"]


class ExampleSample(Dataset):
    """``size`` examples of ``base`` drawn without replacement with ``seed`` and kept in the
    base's order; every other attribute (a table's schema, a text column) is the base's."""

    def __init__(self, base: Dataset, size: int, seed: int) -> None:
        rows = np.sort(np.random.default_rng([seed, 23]).choice(len(base), size, replace=False))
        self.base, self.rows = base, rows
        super().__init__(
            name=f"{base.name} ({size} of {len(base)})",
            targets=base.targets[rows],
            ids=[base.ids[i] for i in rows],
            meta={k: [v[i] for i in rows] for k, v in base.meta.items()},
            class_names=base.class_names,
            task=base.task,
        )
        self.modality = base.modality

    @property
    def num_classes(self) -> int | None:
        return self.base.num_classes  # a sample may miss a class the model still has

    def load_inputs(self, indices: np.ndarray) -> Any:
        return self.base.load_inputs(self.rows[np.asarray(indices, dtype=np.int64)])

    def _content_hash(self, h: Any) -> None:
        h.update(self.base.fingerprint().encode())
        h.update(self.rows.tobytes())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("base", "rows"):
            raise AttributeError(name)
        return getattr(self.base, name)

    def describe(self) -> dict[str, Any]:
        return {**self.base.describe(), **super().describe(), "sample_of": len(self.base)}


def sample_examples(dataset: Dataset, max_examples: int | None, seed: int) -> Dataset:
    """``dataset`` itself, or a seeded sample of ``max_examples`` of its examples when it holds
    more."""
    if max_examples is None:
        return dataset
    n = int(check_int("scan()", "max_examples", max_examples) or 0)
    return dataset if n >= len(dataset) else ExampleSample(dataset, n, seed)
