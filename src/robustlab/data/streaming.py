"""Datasets read shard by shard instead of held in memory: ``.npz`` archives memory-mapped.

A :class:`MemmapDataset` keeps its inputs as a read-only memory map; a unit's batch reads only
its own examples, so peak memory stays flat however many examples the file holds. Its
fingerprint, batches and value range equal an :class:`~robustlab.data.ArrayDataset`'s over the
same arrays, so a run resumes whichever of the two loaded the data.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlab.data.arrays import _INPUT_KEYS, _TARGET_KEYS
from robustlab.data.base import Dataset
from robustlab.errors import DataError

__all__ = ["STREAM_BYTES", "MemmapDataset", "load_npz_mmap", "npz_member_mmap", "streams"]

#: Examples converted at a time when hashing or scanning the whole array.
CHUNK = 2048


class MemmapDataset(Dataset):
    """Numeric inputs ``(N, C, H, W)``, ``(N, H, W)`` or ``(N, D)`` left on disk (a
    ``numpy.memmap`` or any array indexable by positions); converted to float32 per batch."""

    def __init__(
        self,
        inputs: np.ndarray,
        targets: Sequence[int] | np.ndarray,
        *,
        ids: Sequence[str] | None = None,
        meta: Mapping[str, Sequence[Any]] | None = None,
        class_names: Sequence[str] | None = None,
        name: str = "memmap",
        modality: str = "image",
        task: str = "classification",
    ) -> None:
        if inputs.dtype.kind not in "fiu":
            raise DataError(f"Dataset {name!r}: inputs must be numeric; got dtype {inputs.dtype}.")
        want = {"image": (3, 4), "tabular": (2,)}
        if modality not in want or inputs.ndim not in want[modality]:
            raise DataError(
                f"Dataset {name!r}: {modality} inputs must have shape "
                f"{'(N, C, H, W) or (N, H, W)' if modality == 'image' else '(N, D)'}; got "
                f"{tuple(inputs.shape)}."
            )
        super().__init__(
            name=name, targets=targets, ids=ids, meta=meta, class_names=class_names, task=task
        )
        if len(inputs) != len(self.targets):
            raise DataError(
                f"Dataset {name!r}: {len(inputs)} inputs but {len(self.targets)} targets; "
                f"pass one target per input."
            )
        self._x = inputs
        self.modality = modality

    def _convert(self, x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        return t.unsqueeze(1) if self.modality == "image" and t.ndim == 3 else t

    def load_inputs(self, indices: np.ndarray) -> torch.Tensor:
        return self._convert(self._x[np.asarray(indices, dtype=np.int64)])

    def _chunks(self) -> Any:
        for lo in range(0, len(self._x), CHUNK):
            yield self._convert(self._x[lo : lo + CHUNK])

    def _content_hash(self, h: Any) -> None:
        shape = tuple(self._convert(self._x[:1]).shape[1:])
        h.update(repr((len(self._x), *shape)).encode())
        for chunk in self._chunks():
            h.update(chunk.numpy().tobytes())

    @property
    def value_range(self) -> tuple[float, float]:
        lo, hi = np.inf, -np.inf
        for chunk in self._chunks():
            lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
        return lo, hi

    def __getstate__(self) -> dict[str, Any]:  # a memmap pickles as its path and layout
        state = dict(self.__dict__)
        x = self._x
        if isinstance(x, np.memmap) and x.filename is not None:
            state["_x"] = (
                "memmap",
                x.filename,
                x.dtype.str,
                x.shape,
                x.offset,
                x.flags.f_contiguous,
            )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        x = state["_x"]
        if isinstance(x, tuple) and x and x[0] == "memmap":
            _, path, dtype, shape, offset, fortran = x
            state["_x"] = np.memmap(
                path,
                dtype=dtype,
                mode="r",
                shape=shape,
                offset=offset,
                order="F" if fortran else "C",
            )
        self.__dict__.update(state)


def npz_member_mmap(path: str | Path, member: str) -> np.ndarray:
    """Memory-map one array of an ``.npz`` archive; it must be stored uncompressed
    (``np.savez``, not ``np.savez_compressed``)."""
    p = Path(path)
    with zipfile.ZipFile(p) as zf:
        info = zf.getinfo(member if member.endswith(".npy") else member + ".npy")
        if info.compress_type != zipfile.ZIP_STORED:
            raise DataError(
                f"Array {member!r} of {str(p)!r} is compressed and cannot be memory-mapped; save "
                f"it with np.savez (not np.savez_compressed) to stream it, or load it in memory."
            )
        with open(p, "rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)
            if local[:4] != b"PK\x03\x04":
                raise DataError(f"{str(p)!r}: corrupt zip entry for array {member!r}.")
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            f.seek(info.header_offset + 30 + name_len + extra_len)
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            offset = f.tell()
    if dtype.hasobject:
        raise DataError(f"Array {member!r} of {str(p)!r} holds Python objects; store numbers.")
    return np.memmap(
        p, dtype=dtype, mode="r", shape=shape, offset=offset, order="F" if fortran else "C"
    )


def load_npz_mmap(
    path: str | Path,
    *,
    name: str | None = None,
    modality: str | None = None,
    task: str = "classification",
) -> MemmapDataset:
    """Like :func:`~robustlab.data.load_npz`, with the inputs memory-mapped (the small arrays,
    targets, ids and metadata, are read into memory)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"Data file {str(p)!r} does not exist; check the --data path.")
    try:
        with np.load(p, allow_pickle=False) as npz:
            keys = set(npz.files)
            xk = next((k for k in _INPUT_KEYS if k in keys), None)
            yk = next((k for k in _TARGET_KEYS if k in keys), None)
            if xk is None or yk is None:
                raise DataError(
                    f"{str(p)!r} must hold an input array named one of {list(_INPUT_KEYS)} and "
                    f"a label array named one of {list(_TARGET_KEYS)}; it has {sorted(keys)}."
                )
            small = {k: npz[k] for k in keys if k != xk}
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"Cannot read {str(p)!r} as a NumPy .npz archive: {exc}") from None
    x = npz_member_mmap(p, xk)
    if modality is None:
        modality = "image" if x.ndim in (3, 4) else "tabular"
    return MemmapDataset(
        x,
        small[yk],
        ids=small["ids"].astype(str).tolist() if "ids" in small else None,
        meta={k: small[k] for k in ("group", "domain") if k in small},
        class_names=small["class_names"].astype(str).tolist() if "class_names" in small else None,
        name=name or p.stem,
        modality=modality,
        task=task,
    )


#: ``.npz`` files at least this large whose inputs are stored uncompressed are memory-mapped by
#: :func:`~robustlab.data.as_dataset` (``--data FILE.npz``) instead of read into memory.
STREAM_BYTES = 256 * 2**20


def streams(path: str | Path) -> bool:
    """Whether ``--data path`` is memory-mapped: a large ``.npz`` with uncompressed inputs."""
    p = Path(path)
    try:
        if p.stat().st_size < STREAM_BYTES:
            return False
        with zipfile.ZipFile(p) as zf:
            names = {i.filename.removesuffix(".npy"): i for i in zf.infolist()}
    except (OSError, zipfile.BadZipFile):
        return False
    key = next((k for k in _INPUT_KEYS if k in names), None)
    if key is None or names[key].compress_type != zipfile.ZIP_STORED:
        return False
    try:
        return npz_member_mmap(p, key).dtype.kind in "fiu"  # not texts
    except (DataError, ValueError, OSError):
        return False
