"""In-memory datasets from NumPy arrays, torch tensors or lists of strings, and ``.npz`` files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlab.data.base import Dataset
from robustlab.errors import DataError

__all__ = ["MAX_CHARS", "ArrayDataset", "TextDataset", "load_npz"]

#: Longest text a TextDataset accepts by default, in characters (about 3,000 English words).
MAX_CHARS = 20_000


class ArrayDataset(Dataset):
    """Numeric inputs held in memory: images ``(N, C, H, W)`` or tabular rows ``(N, D)``.

    Args:
        inputs: Array or tensor of inputs; converted to float32.
        targets: Integer labels ``(N,)``, or real values ``(N,)`` with ``task='regression'``.
        ids: Optional unique example ids (default: positions).
        meta: Optional per-example columns such as ``group`` or ``domain``.
        class_names: Optional names of the classes, index-aligned.
        name: Dataset name shown in the store and report.
        modality: ``image`` (inputs must be 4-D) or ``tabular`` (2-D).
        task: The task of the targets (``classification`` by default, ``regression``).
    """

    def __init__(
        self,
        inputs: np.ndarray | torch.Tensor,
        targets: Sequence[int] | np.ndarray | torch.Tensor,
        *,
        ids: Sequence[str] | None = None,
        meta: Mapping[str, Sequence[Any]] | None = None,
        class_names: Sequence[str] | None = None,
        name: str = "arrays",
        modality: str = "image",
        task: str = "classification",
    ) -> None:
        x = torch.as_tensor(np.asarray(inputs) if not torch.is_tensor(inputs) else inputs)
        if not (x.is_floating_point() or x.dtype in (torch.uint8, torch.int32, torch.int64)):
            raise DataError(f"Dataset {name!r}: inputs must be numeric; got dtype {x.dtype}.")
        want = {"image": 4, "tabular": 2}
        if modality not in want:
            raise DataError(
                f"ArrayDataset holds image or tabular inputs; got modality={modality!r}. "
                f"Use TextDataset for text."
            )
        if x.ndim == 3 and modality == "image":
            x = x.unsqueeze(1)  # (N, H, W) grayscale -> (N, 1, H, W)
        if x.ndim != want[modality]:
            shape = "(N, C, H, W)" if modality == "image" else "(N, D)"
            raise DataError(
                f"Dataset {name!r}: {modality} inputs must have shape {shape}; got "
                f"{tuple(x.shape)}. Reshape them, or pass modality='tabular' for feature rows."
            )
        super().__init__(
            name=name, targets=targets, ids=ids, meta=meta, class_names=class_names, task=task
        )
        if len(x) != len(self.targets):
            raise DataError(
                f"Dataset {name!r}: {len(x)} inputs but {len(self.targets)} targets; "
                f"pass one {'label' if task == 'classification' else 'target'} per input."
            )
        self.inputs = x.float().contiguous()
        self.modality = modality

    def load_inputs(self, indices: np.ndarray) -> torch.Tensor:
        return self.inputs[torch.as_tensor(indices)]

    def _content_hash(self, h: Any) -> None:
        h.update(repr(tuple(self.inputs.shape)).encode())
        h.update(np.ascontiguousarray(self.inputs.numpy()))  # the buffer itself, no copy

    @property
    def value_range(self) -> tuple[float, float]:
        return float(self.inputs.min()), float(self.inputs.max())


class TextDataset(Dataset):
    """A list of texts with their targets (integer labels by default).

    Texts may hold any Unicode. Empty or whitespace-only texts are refused (a prediction on no
    text measures nothing about the model), and so are texts longer than ``max_chars``
    characters, rather than being cut silently: split long documents, or raise the limit.

    Args:
        texts: One str per example.
        targets: Integer labels ``(N,)``.
        ids: Optional unique example ids (default: positions).
        meta: Optional per-example columns such as ``group`` or ``domain``.
        class_names: Optional names of the classes, index-aligned.
        name: Dataset name shown in the store and report.
        max_chars: Longest text accepted (default 20,000 characters); ``None`` for no limit.
        task: The task of the targets (``classification`` by default).
    """

    modality = "text"

    def __init__(
        self,
        texts: Sequence[str],
        targets: Sequence[int] | np.ndarray,
        *,
        ids: Sequence[str] | None = None,
        meta: Mapping[str, Sequence[Any]] | None = None,
        class_names: Sequence[str] | None = None,
        name: str = "texts",
        max_chars: int | None = MAX_CHARS,
        task: str = "classification",
    ) -> None:
        if isinstance(texts, str):
            raise DataError(
                f"Dataset {name!r}: texts must be a list of str, not a single str; wrap it in a "
                f"list."
            )
        texts = list(texts)
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise DataError(
                f"Dataset {name!r}: every text input must be a str; item {bad} is a "
                f"{type(texts[bad]).__name__} ({texts[bad]!r:.40}). Convert or drop it."
            )
        super().__init__(
            name=name, targets=targets, ids=ids, meta=meta, class_names=class_names, task=task
        )
        if len(texts) != len(self.targets):
            raise DataError(
                f"Dataset {name!r}: {len(texts)} texts but {len(self.targets)} targets."
            )
        empty = [self.ids[i] for i, t in enumerate(texts) if not t.strip()]
        if empty:
            raise DataError(
                f"Dataset {name!r}: {len(empty)} text(s) are empty or whitespace only (ids "
                f"{', '.join(empty[:5])}); a prediction on no text measures nothing. Drop those "
                f"examples or fill them in."
            )
        if max_chars is not None:
            long = [(self.ids[i], len(t)) for i, t in enumerate(texts) if len(t) > max_chars]
            if long:
                first, size = long[0]
                raise DataError(
                    f"Dataset {name!r}: {len(long)} text(s) are longer than max_chars={max_chars} "
                    f"characters (id {first}: {size:,}). Split or truncate long documents, or "
                    f"pass max_chars=None (text models read only their first few hundred words)."
                )
        self.texts = texts

    def load_inputs(self, indices: np.ndarray) -> list[str]:
        return [self.texts[i] for i in indices]

    def _content_hash(self, h: Any) -> None:
        h.update("\x00".join(self.texts).encode())


_INPUT_KEYS = ("inputs", "x", "X", "images", "data")
_TARGET_KEYS = ("targets", "y", "labels", "label")


def load_npz(
    path: str | Path,
    *,
    name: str | None = None,
    modality: str | None = None,
    task: str = "classification",
) -> Dataset:
    """Read a ``.npz`` with inputs (``inputs``/``x``/``images``) and targets (``targets``/``y``/
    ``labels``: class ids, or values with ``task='regression'``); optional ``ids``,
    ``class_names`` and per-example columns ``group``/``domain``."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"Data file {str(p)!r} does not exist; check the --data path.")
    try:
        with np.load(p, allow_pickle=False) as npz:
            archive = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise DataError(f"Cannot read {str(p)!r} as a NumPy .npz archive: {exc}") from None
    keys = set(archive)
    xk = next((k for k in _INPUT_KEYS if k in keys), None)
    yk = next((k for k in _TARGET_KEYS if k in keys), None)
    if xk is None or yk is None:
        raise DataError(
            f"{str(p)!r} must hold an input array named one of {list(_INPUT_KEYS)} and a label "
            f"array named one of {list(_TARGET_KEYS)}; it has {sorted(keys)}."
        )
    x = archive[xk]
    meta = {k: archive[k] for k in ("group", "domain") if k in keys}
    kwargs: dict[str, Any] = {
        "ids": archive["ids"].astype(str).tolist() if "ids" in keys else None,
        "meta": meta,
        "class_names": archive["class_names"].astype(str).tolist()
        if "class_names" in keys
        else None,
        "name": name or p.stem,
        "task": task,
    }
    if x.dtype.kind in "US":
        return TextDataset(x.astype(str).tolist(), archive[yk], **kwargs)
    if modality is None:
        modality = "image" if x.ndim in (3, 4) else "tabular"
    if modality == "image" and x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        import warnings

        warnings.warn(
            f"{str(p)!r}: inputs of shape {tuple(x.shape)} look channels-last (N, H, W, C); "
            f"converted to channels-first (N, C, H, W) as torch models expect. Save them as "
            f"x.transpose(0, 3, 1, 2) to silence this note.",
            stacklevel=2,
        )
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return ArrayDataset(x, archive[yk], modality=modality, **kwargs)
