"""Resolve a ``--data`` argument (a folder, an ``.npz`` file, a text table or a bundled name) to a
Dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlab.data.arrays import ArrayDataset, TextDataset, load_npz
from robustlab.data.base import Dataset
from robustlab.data.demo import load_digits, shifted_digits
from robustlab.data.folder import ImageFolderDataset
from robustlab.data.tables import TABLE_SUFFIXES, load_text_table
from robustlab.errors import DataError

__all__ = ["BUNDLED", "as_dataset", "load_dataset"]

BUNDLED = {"digits": "test", "digits-test": "test", "digits-train": "train", "digits-all": "all"}
STYLED = {"digits-thick": "thick", "digits-thin": "thin"}
#: The project's labelled review sentences (robustlab.text.load_reviews), by split.
REVIEWS = {"reviews": "all", "reviews-train": "train", "reviews-test": "test"}
#: Bundled ranking data: the stdlib docstrings with keyword queries or questions (OOD companions).
RANKING = {"ranking-stdlib": "keyword", "ranking-stdlib-questions": "question"}


_FOLDER_OPTIONS = {
    "channels": "--channels",
    "skip_unreadable": "--skip-unreadable",
    "classes": "--classes",
    "mode": "--image-mode",
    "size": "--image-size",
}


def load_dataset(spec: str | Path, **kwargs: Any) -> Dataset:
    """A dataset from a path (image folder, ``.npz``, or a ``.csv``/``.tsv``/``.jsonl`` table of
    labelled texts) or a bundled name (``digits``, ``reviews-test``)."""
    s = str(spec)
    table_only = sorted({"text_column", "label_column", "id_column", "class_names"} & set(kwargs))
    if table_only and Path(s).suffix not in TABLE_SUFFIXES:
        options = ", ".join("--" + k.replace("_", "-") for k in table_only)
        raise DataError(f"{options} apply to text tables (.csv/.tsv/.jsonl), not to {s!r}.")
    if s in BUNDLED:
        return load_digits(BUNDLED[s])
    if s in STYLED:
        return shifted_digits(STYLED[s])
    if s in REVIEWS:
        from robustlab.text.reviews import load_reviews

        return load_reviews(REVIEWS[s])
    if s in RANKING:
        from robustlab.ranking.data import bundled_dataset

        return bundled_dataset(RANKING[s])
    p = Path(s)
    folder_only = sorted({"channels", "skip_unreadable", "classes", "mode", "size"} & set(kwargs))
    if (
        folder_only
        and not p.is_dir()
        and (p.suffix not in TABLE_SUFFIXES or folder_only != ["size"])
    ):
        options = ", ".join(_FOLDER_OPTIONS.get(k, k) for k in folder_only)
        raise DataError(
            f"{options} apply to image folders (ROOT/<class>/<image>), not to {s!r}; "
            f"save arrays in the layout the model expects instead."
        )
    if p.is_dir():
        return ImageFolderDataset(p, **kwargs)
    if p.suffix == ".npz":
        from robustlab.data.streaming import load_npz_mmap, streams

        return load_npz_mmap(p, **kwargs) if streams(p) else load_npz(p, **kwargs)
    if p.suffix in TABLE_SUFFIXES:
        if "size" in kwargs:
            raise DataError(f"--image-size applies to image folders, not to the text table {s!r}.")
        return load_text_table(p, **kwargs)
    if not p.exists():
        raise DataError(
            f"--data {s!r} is neither an existing folder or .npz file, a text table "
            f"({'/'.join(TABLE_SUFFIXES)}), nor a bundled dataset "
            f"({', '.join([*BUNDLED, *STYLED, *REVIEWS])})."
        )
    raise DataError(
        f"--data {s!r}: unsupported file type {p.suffix!r}; use an image folder "
        f"(ROOT/<class>/<image>), an .npz with inputs and targets, or a text table "
        f"({', '.join(TABLE_SUFFIXES)}) with text and label columns."
    )


def as_dataset(data: Any, targets: Any = None, **kwargs: Any) -> Dataset:
    """Coerce ``data`` into a Dataset: a Dataset as is, a path or bundled name, or arrays with
    ``targets`` (a tuple ``(inputs, targets)`` works too)."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (str, Path)):
        return load_dataset(data, **kwargs)
    if targets is None:
        data, targets = _from_torch(data)
    if targets is None and isinstance(data, tuple) and len(data) == 2:
        data, targets = data
    if targets is None:
        raise DataError(
            "Arrays need labels: pass scan(model, (inputs, targets)) or a Dataset, a folder or "
            "an .npz path."
        )
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], str):
        return TextDataset(data, targets, **kwargs)
    if isinstance(data, (np.ndarray, torch.Tensor)):
        return ArrayDataset(data, targets, **kwargs)
    raise DataError(
        f"Cannot use a {type(data).__name__} as data; pass arrays, a Dataset, a folder or .npz."
    )


def _from_torch(data: Any) -> tuple[Any, Any]:
    """A torch ``TensorDataset`` or a ``DataLoader`` (over any map dataset of ``(input, label)``
    pairs) as ``(inputs, targets)`` tensors; anything else unchanged, with no targets."""
    from torch.utils.data import DataLoader, TensorDataset

    if isinstance(data, DataLoader):
        data = data.dataset
    if isinstance(data, TensorDataset):
        if len(data.tensors) < 2:
            raise DataError(
                "The TensorDataset holds one tensor; build it as TensorDataset(inputs, targets)."
            )
        return data.tensors[0], data.tensors[1]
    if isinstance(data, torch.utils.data.Dataset) and hasattr(data, "__len__"):
        xs, ys = [], []
        for i in range(len(data)):
            item = data[i]
            if not isinstance(item, (tuple, list)) or len(item) < 2:
                raise DataError(
                    f"Item {i} of the torch {type(data).__name__} is a "
                    f"{type(item).__name__}; items must be (input, label) pairs."
                )
            xs.append(torch.as_tensor(item[0]))
            ys.append(torch.as_tensor(item[1]))
        if not xs:
            raise DataError(f"The torch {type(data).__name__} is empty.")
        return torch.stack(xs), torch.stack(ys)
    return data, None
