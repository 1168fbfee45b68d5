"""Plumbing the text probes share: sub-batches, empty records, dataset texts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from robustlab.data.base import Batch, Dataset
from robustlab.models.base import Model
from robustlab.records import Records

__all__ = ["dataset_texts", "empty_records", "sub_batch"]


def sub_batch(batch: Batch, positions: Sequence[int], inputs: list[str] | None = None) -> Batch:
    """The examples of ``batch`` at ``positions`` (with ``inputs`` in place of theirs if given)."""
    idx = np.asarray(positions, dtype=np.int64)
    return Batch(
        inputs=[batch.inputs[i] for i in idx] if inputs is None else list(inputs),
        targets=batch.targets[torch.as_tensor(idx)],
        ids=[batch.ids[i] for i in idx],
        meta={k: [v[i] for i in idx] for k, v in batch.meta.items()},
        indices=batch.indices[idx] if len(batch.indices) else batch.indices,
        reference=batch.reference,
    )


def empty_records(model: Model) -> Records:
    """Records of no example: a shard where a probe found nothing to test."""
    k = model.num_classes or 2
    return Records.from_probabilities(np.zeros((0, k)), np.zeros(0, dtype=np.int64), [])


def dataset_texts(dataset: Dataset) -> list[str]:
    """Every text of a text dataset, in order."""
    texts = getattr(dataset, "texts", None)
    if isinstance(texts, list):
        return texts
    return list(dataset.batch(np.arange(len(dataset))).inputs)
