"""Training data in one shape: tensors with optional groups, or a DataLoader checked on its first batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from robustlab.errors import ConfigError, DataError

__all__ = ["TrainData", "as_train_data", "encode_groups"]


def encode_groups(
    groups: Sequence[Any] | np.ndarray | torch.Tensor,
) -> tuple[torch.Tensor, list[str]]:
    """Group labels (any hashable values) as indices ``0..G-1`` and their sorted names."""
    values = groups.tolist() if isinstance(groups, (np.ndarray, torch.Tensor)) else list(groups)
    if any(v is None for v in values):
        raise DataError(
            "Some training examples have no group (None). Give every example a group, or train "
            "with a recipe that needs none."
        )
    names = sorted({str(v) for v in values})
    index = {n: i for i, n in enumerate(names)}
    return torch.tensor([index[str(v)] for v in values], dtype=torch.long), names


@dataclass
class TrainData:
    """Training examples: in-memory tensors (shuffled by the loop) or a user DataLoader.

    Attributes:
        inputs: ``(N, ...)`` float inputs, or ``None`` for a DataLoader.
        targets: ``(N,)`` class indices, or ``None`` for a DataLoader.
        groups: ``(N,)`` group indices, or ``None``.
        group_names: Name of each group index.
        loader: The user's DataLoader, or ``None``.
    """

    inputs: torch.Tensor | None
    targets: torch.Tensor | None
    groups: torch.Tensor | None
    group_names: list[str]
    loader: Any = None

    @property
    def num_examples(self) -> int:
        """Examples held in memory (0 for a DataLoader, whose size need not be known)."""
        return 0 if self.inputs is None else len(self.inputs)

    def batches(
        self, batch_size: int, generator: torch.Generator
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]]:
        """One epoch of ``(inputs, targets, groups, indices)`` batches."""
        if self.loader is not None:
            for batch in self.loader:
                yield split_batch(batch)
            return
        assert self.inputs is not None and self.targets is not None
        order = torch.randperm(len(self.inputs), generator=generator)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            g = None if self.groups is None else self.groups[idx]
            yield self.inputs[idx], self.targets[idx], g, idx

    def first_batch(
        self, batch_size: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if self.loader is not None:
            x, y, g, _ = split_batch(next(iter(self.loader)))
            return x, y, g
        assert self.inputs is not None and self.targets is not None
        g = None if self.groups is None else self.groups[:batch_size]
        return self.inputs[:batch_size], self.targets[:batch_size], g


def split_batch(
    batch: Any,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``(inputs, targets[, groups])`` from one DataLoader batch, refusing other shapes."""
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        got = type(batch).__name__
        if isinstance(batch, (tuple, list)):
            got = f"{got} of {len(batch)} items"
        raise DataError(
            f"The training DataLoader must yield (inputs, targets) or (inputs, targets, groups) "
            f"batches. Got {got}; wrap the dataset so __getitem__ returns (input, label)."
        )
    x = torch.as_tensor(batch[0])
    y = torch.as_tensor(batch[1])
    g = torch.as_tensor(batch[2]).long() if len(batch) == 3 else None
    return x.float(), y, g, None


def as_train_data(data: Any, groups: Any = None) -> TrainData:
    """Accept ``(inputs, targets)``, ``(inputs, targets, groups)``, a robustlab ``ArrayDataset``
    (groups from its ``group`` metadata) or a ``torch.utils.data.DataLoader``."""
    from torch.utils.data import DataLoader

    from robustlab.data import ArrayDataset

    if isinstance(data, DataLoader):
        if groups is not None:
            raise ConfigError(
                "The 'groups' parameter of fit() cannot be combined with a DataLoader; yield "
                "(inputs, targets, groups) batches from it instead."
            )
        return TrainData(None, None, None, [], loader=data)
    if isinstance(data, ArrayDataset):
        inputs = torch.as_tensor(data.inputs).float()
        targets = torch.as_tensor(np.asarray(data.targets))
        if groups is None and "group" in data.meta:
            groups = data.meta["group"]
    elif isinstance(data, (tuple, list)) and len(data) in (2, 3):
        inputs = torch.as_tensor(np.asarray(data[0]) if not torch.is_tensor(data[0]) else data[0])
        targets = torch.as_tensor(np.asarray(data[1]) if not torch.is_tensor(data[1]) else data[1])
        inputs = inputs.float()
        if len(data) == 3:
            if groups is not None:
                raise ConfigError("Groups given twice: in the data tuple and as 'groups'.")
            groups = data[2]
    else:
        raise ConfigError(
            f"The 'data' parameter of fit() must be (inputs, targets), (inputs, targets, groups), "
            f"an ArrayDataset or a DataLoader. Got {type(data).__name__} instead."
        )
    if inputs.ndim < 2 or len(inputs) == 0:
        raise DataError(
            f"fit() needs a non-empty batch of inputs shaped (N, ...). Got shape {tuple(inputs.shape)}."
        )
    if targets.ndim != 1 or len(targets) != len(inputs) or targets.is_floating_point():
        raise DataError(
            f"fit() needs integer targets shaped ({len(inputs)},), one class index per input. "
            f"Got {targets.dtype} of shape {tuple(targets.shape)}."
        )
    g, names = (None, []) if groups is None else encode_groups(groups)
    if g is not None and len(g) != len(inputs):
        raise DataError(f"fit() got {len(g)} groups for {len(inputs)} inputs; give one per input.")
    return TrainData(inputs, targets.long(), g, names)
