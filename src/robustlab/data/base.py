"""The Dataset contract: cheap targets, ids and metadata up front; inputs loaded per batch.

A dataset carries targets of its task's type (:attr:`Dataset.task`): class ids for
classification, real values for regression, per-query judgements for ranking; the task checks
them (:meth:`robustlab.tasks.Task.check_targets`).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from robustlab.errors import DataError

if TYPE_CHECKING:
    from robustlab.models.base import Model

__all__ = ["Batch", "Dataset"]


@dataclass
class Batch:
    """A slice of a dataset.

    Attributes:
        inputs: A tensor ``(n, ...)`` for numeric modalities or a list of ``n`` strings for text.
        targets: The targets of the dataset's task: integer labels ``(n,)`` (classification),
            float values ``(n,)`` (regression), or an object array of judgements (ranking).
        ids: Example ids (strings), stable across runs.
        meta: Per-example metadata columns (e.g. ``group``, ``domain``), each of length ``n``.
        indices: Positions of these examples in the dataset.
        reference: The scan's reference ("oracle") model, if any: records built from this batch
            (:func:`~robustlab.probes.base.predict_records`) also hold its predictions. The
            runner sets it; probes that build sub-batches pass it on.
    """

    inputs: Any
    targets: Any
    ids: list[str]
    meta: dict[str, list[Any]] = field(default_factory=dict)
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reference: Model | None = None

    def __len__(self) -> int:
        return len(self.ids)


class Dataset(ABC):
    """Labelled examples of one modality and one task.

    Subclasses set ``targets``, ``ids`` and ``meta`` in their constructor (so label checks and
    planning need no input loading) and implement :meth:`load_inputs`.

    Attributes:
        task: The task whose targets the dataset holds (``classification`` by default).
    """

    modality: str = "image"
    task: str = "classification"

    def __init__(
        self,
        *,
        name: str,
        targets: Sequence[int] | np.ndarray | torch.Tensor,
        ids: Sequence[str] | None = None,
        meta: Mapping[str, Sequence[Any]] | None = None,
        class_names: Sequence[str] | None = None,
        task: str = "classification",
    ) -> None:
        from robustlab.models.base import check_task
        from robustlab.tasks import get_task

        self.task = check_task(task, type(self).__name__)
        self.name = name
        self.targets: np.ndarray = get_task(task).check_targets(targets, f"Dataset {name!r}")
        self.ids = (
            [str(i) for i in ids] if ids is not None else [str(i) for i in range(len(self.targets))]
        )
        if len(self.ids) != len(self.targets):
            raise DataError(
                f"Dataset {name!r}: {len(self.ids)} ids for {len(self.targets)} targets; "
                f"pass one id per example."
            )
        if len(set(self.ids)) != len(self.ids):
            raise DataError(f"Dataset {name!r}: example ids must be unique.")
        self.meta: dict[str, list[Any]] = {}
        for key, column in (meta or {}).items():
            col = list(column.tolist() if hasattr(column, "tolist") else column)
            if len(col) != len(self.targets):
                raise DataError(
                    f"Dataset {name!r}: metadata column {key!r} has {len(col)} values for "
                    f"{len(self.targets)} examples; pass one value per example."
                )
            self.meta[key] = col
        self.class_names = list(class_names) if class_names is not None else None

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def num_classes(self) -> int | None:
        """Number of classes: from ``class_names`` if given, else the largest label + 1 (None
        for tasks without classes)."""
        if self.class_names is not None:
            return len(self.class_names)
        if self.task != "classification":
            return None
        return int(self.targets.max()) + 1

    @abstractmethod
    def load_inputs(self, indices: np.ndarray) -> Any:
        """Inputs at ``indices``: a float tensor ``(n, ...)`` or a list of strings."""

    @abstractmethod
    def _content_hash(self, h: Any) -> None:
        """Feed whatever identifies the inputs into the hash ``h``."""

    def batch(self, indices: np.ndarray | Sequence[int]) -> Batch:
        idx = np.asarray(indices, dtype=np.int64)
        return Batch(
            inputs=self.load_inputs(idx),
            targets=(
                self.targets[idx]
                if self.targets.dtype == object
                else torch.as_tensor(self.targets[idx])
            ),
            ids=[self.ids[i] for i in idx],
            meta={k: [v[i] for i in idx] for k, v in self.meta.items()},
            indices=idx,
        )

    def fingerprint(self) -> str:
        """A hash of inputs, labels, ids and metadata: the same data gives the same fingerprint."""
        h = hashlib.sha256()
        if self.task != "classification":  # classification hashes as before the tasks existed
            h.update(f"task={self.task}\x00".encode())
        if self.targets.dtype == object:
            h.update(repr([sorted(t.items()) for t in self.targets]).encode())
        else:
            h.update(self.targets.tobytes())
        h.update("\x00".join(self.ids).encode())
        # metadata becomes the records' group/domain columns, so it is part of the data's identity
        h.update(repr(sorted((k, [str(v) for v in col]) for k, col in self.meta.items())).encode())
        self._content_hash(h)
        return h.hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **({"task": self.task} if self.task != "classification" else {}),
            "kind": type(self).__name__,
            "modality": self.modality,
            "size": len(self),
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "meta_columns": sorted(self.meta),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, size={len(self)}, modality={self.modality!r})"
