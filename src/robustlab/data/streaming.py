"""Datasets read shard by shard instead of held in memory: ``.npz`` archives memory-mapped.

A :class:`MemmapDataset` keeps its inputs as a read-only memory map; a unit's batch reads only
its own examples, so peak memory stays flat however many examples the file holds. Its
fingerprint, batches and value range equal an :class:`~robustlab.data.ArrayDataset`'s over the
same arrays, so a run resumes whichever of the two loaded the data.
"""

from __future__ import annotations

import struct
import zipfile
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlab.data.arrays import _INPUT_KEYS, _TARGET_KEYS
from robustlab.data.base import Dataset
from robustlab.errors import DataError

__all__ = [
    "STREAM_BYTES",
    "EncodedImageDataset",
    "MemmapDataset",
    "TableImageDataset",
    "TarShardDataset",
    "expand_braces",
    "load_npz_mmap",
    "load_shards",
    "load_table",
    "npz_member_mmap",
    "streams",
]

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


# -- encoded images read shard by shard: WebDataset tar shards, Parquet and Arrow tables ---------

#: Image extensions of a WebDataset sample's members, in order of preference.
TAR_IMAGE_EXTS = ("png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "ppm", "pgm")
#: Column names tried, in order, for a table's encoded images and its labels.
IMAGE_COLUMNS = ("image", "img", "png", "jpg", "jpeg", *_INPUT_KEYS)
TABLE_SUFFIXES = (".parquet", ".pq", ".arrow", ".feather", ".ipc")
_GRAY = {"L", "1", "I;16", "I", "LA", "P;L"}


def expand_braces(pattern: str) -> list[str]:
    """WebDataset shard patterns: ``data-{000..009}.tar`` (zero padding kept) and
    ``{a,b}.tar``; several groups expand in order."""
    import re

    m = re.search(r"\{([^{}]*)\}", pattern)
    if m is None:
        return [pattern]
    head, body, tail = pattern[: m.start()], m.group(1), pattern[m.end() :]
    rng = re.fullmatch(r"(\d+)\.\.(\d+)", body)
    if rng:
        lo, hi = rng.group(1), rng.group(2)
        width = len(lo) if lo.startswith("0") else 0
        if int(hi) < int(lo):
            raise DataError(f"Shard pattern {pattern!r}: the range {{{body}}} is empty.")
        items = [str(i).zfill(width) for i in range(int(lo), int(hi) + 1)]
    else:
        items = body.split(",")
    return [out for item in items for out in expand_braces(head + item + tail)]


def _decode(data: bytes, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """Encoded image bytes -> float32 ``(C, H, W)`` in ``[0, 1]`` (as ImageFolderDataset reads
    files)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im = im.convert(mode)
        if size is not None:
            im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _probe_image(data: bytes) -> tuple[tuple[int, int], str]:
    """Size and mode of encoded image bytes, decoding them fully (so corrupt bytes raise)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.size, im.mode


class EncodedImageDataset(Dataset):
    """Encoded images (PNG, JPEG, ...) read from shards a batch at a time; subclasses say where
    each example's bytes are (:meth:`_encoded`) and scan their shards once up front
    (:meth:`_scan`), which checks every image decodes, collects labels, ids and sizes, and
    hashes the bytes (the fingerprint needs no second pass)."""

    modality = "image"

    def _setup(
        self,
        *,
        name: str,
        where: str,
        examples: Any,
        size: tuple[int, int] | None,
        mode: str | None,
        channels: int | None,
        skip_unreadable: bool,
        class_names: Sequence[str] | None = None,
    ) -> list[int]:
        """Check every example's image (``examples`` yields ``(label, id, meta, bytes, where)``);
        return the positions kept. Sets targets, ids, mode, size and the content digest."""
        import hashlib
        import warnings

        if channels is not None:
            if channels not in (1, 3):
                raise DataError(
                    f"The 'channels' parameter must be 1 (grayscale) or 3 (RGB). Got {channels!r}."
                )
            want = "L" if channels == 1 else "RGB"
            if mode is not None and mode != want:
                raise DataError(f"channels={channels} and mode={mode!r} disagree; pass one.")
            mode = want
        if mode not in (None, "L", "RGB"):
            raise DataError(f"The 'mode' parameter must be 'L', 'RGB' or None. Got {mode!r}.")
        digest = hashlib.sha256()
        sizes: set[tuple[int, int]] = set()
        modes: set[str] = set()
        targets: list[Any] = []
        ids: list[str] = []
        meta: dict[str, list[Any]] = {}
        kept: list[int] = []
        self.skipped: list[str] = []
        for pos, (label, key, extra, data, place) in enumerate(examples):
            try:
                if data is None:
                    raise ValueError("no image")
                im_size, im_mode = _probe_image(data)
            except Exception as exc:
                if not skip_unreadable:
                    raise DataError(
                        f"Cannot read the image of example {key!r} in {place} "
                        f"({type(exc).__name__}: {exc}); replace it, or pass "
                        f"skip_unreadable=True (CLI: --skip-unreadable) to leave it out."
                    ) from None
                self.skipped.append(f"{key} ({place})")
                continue
            sizes.add(im_size)
            modes.add(im_mode)
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
            targets.append(label)
            ids.append(key)
            for k, v in (extra or {}).items():
                meta.setdefault(k, []).append(v)
            kept.append(pos)
        if not kept:
            raise DataError(f"{where} holds no readable images.")
        if self.skipped:
            warnings.warn(
                f"Skipped {len(self.skipped)} unreadable example(s) of {where} (the first: "
                f"{self.skipped[0]}).",
                stacklevel=3,
            )
        if size is None and len(sizes) > 1:
            raise DataError(
                f"The images of {where} have {len(sizes)} different sizes; pass size=(H, W) "
                f"(CLI: --image-size H,W) to resize them to one."
            )
        meta = {k: v for k, v in meta.items() if len(v) == len(ids)}
        super().__init__(name=name, targets=targets, ids=ids, meta=meta, class_names=class_names)
        self.size = size
        self.mode = mode or ("L" if modes <= _GRAY else "RGB")
        self._digest = digest.hexdigest()
        return kept

    @abstractmethod
    def _encoded(self, indices: np.ndarray) -> list[tuple[bytes, str]]:
        """The encoded bytes of the examples at ``indices`` and where each lies (for errors)."""

    def load_inputs(self, indices: np.ndarray) -> torch.Tensor:
        out = []
        for i, (data, place) in zip(indices, self._encoded(indices)):
            try:
                out.append(_decode(data, self.mode, self.size))
            except Exception as exc:
                raise DataError(
                    f"Cannot read the image of example {self.ids[i]!r} in {place} "
                    f"({type(exc).__name__}: {exc}); the shard changed after it was loaded?"
                ) from None
        if not out:
            return torch.zeros((0, 1 if self.mode == "L" else 3, *(self.size or (0, 0))))
        return torch.from_numpy(np.stack(out))

    def _content_hash(self, h: Any) -> None:
        h.update(repr((self.size, self.mode, self._digest)).encode())

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        if self.skipped:
            out["skipped_unreadable"] = len(self.skipped)
            out["skipped_files"] = self.skipped[:20]
        return out


def _label_of(value: Any, where: str) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        value = value.strip()
        try:
            return int(value)
        except ValueError:
            raise DataError(f"{where}: label {value!r} is not an integer class id.") from None
    return value


class TarShardDataset(EncodedImageDataset):
    """Images in WebDataset tar shards: members ``KEY.png`` (or ``.jpg``, ...) with the label in
    ``KEY.cls`` (an integer) or ``KEY.json`` (``{"label": 3, "group": ...}``), read with the
    standard library's ``tarfile``. One pass over the shards at load time records where each
    image's bytes lie; a batch then reads only its own images.

    Args:
        shards: Tar files, a directory of ``*.tar`` files, or a brace pattern
            (``data-{000000..000009}.tar``).
        size, mode, channels, skip_unreadable: As for
            :class:`~robustlab.data.ImageFolderDataset`; ``skip_unreadable`` also keeps the
            complete samples of a truncated shard.
    """

    def __init__(
        self,
        shards: str | Path | Sequence[str | Path],
        *,
        name: str | None = None,
        size: tuple[int, int] | None = None,
        mode: str | None = None,
        channels: int | None = None,
        skip_unreadable: bool = False,
        class_names: Sequence[str] | None = None,
    ) -> None:
        self.shards = shard_paths(shards)
        where = (
            f"tar shard {str(self.shards[0])!r}"
            if len(self.shards) == 1
            else f"the {len(self.shards)} tar shards {str(self.shards[0])!r}.."
        )
        from array import array

        locations = array("q")  # (shard, offset, size) per sample, 24 bytes each
        examples = self._samples(locations, skip_unreadable)
        kept = self._setup(
            name=name or self.shards[0].stem.rstrip("-_0123456789") or self.shards[0].stem,
            where=where,
            examples=examples,
            size=size,
            mode=mode,
            channels=channels,
            skip_unreadable=skip_unreadable,
            class_names=class_names,
        )
        table = np.frombuffer(locations, dtype=np.int64).reshape(-1, 3)[kept]
        self._shard, self._offset, self._length = (table[:, 0], table[:, 1], table[:, 2])

    def _samples(self, locations: Any, skip_unreadable: bool) -> Any:
        """Yield ``(label, key, meta, bytes, where)`` per sample, shard by shard and member by
        member (a WebDataset sample's files are adjacent, so only the current sample is held),
        appending the image's ``(shard, offset, size)`` to ``locations``."""
        import tarfile

        seen: dict[str, int] = {}
        for s, path in enumerate(self.shards):
            place = f"tar shard {str(path)!r}"
            entry: dict[str, Any] = {}
            key: str | None = None
            last: str | None = None
            truncated = False
            try:
                end = path.stat().st_size
                with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r:") as tar:
                    while (member := tar.next()) is not None:
                        tar.members.clear()  # type: ignore[attr-defined]  # TarFile keeps every header read
                        if not member.isfile():
                            continue
                        base = member.name.rsplit("/", 1)[-1]
                        key_part, dot, ext = base.partition(".")
                        if not dot or key_part.startswith("._"):
                            continue
                        name = member.name[: len(member.name) - len(base)] + key_part
                        if name != key:
                            if key is not None:
                                yield self._sample(s, key, entry, raw, place, seen, locations)
                                last = key
                            key, entry = name, {}
                        if member.offset_data + member.size > end:  # tarfile stops silently
                            raise tarfile.ReadError(
                                f"member {member.name!r} ends past the end of the file"
                            )
                        ext = ext.lower()
                        if ext in TAR_IMAGE_EXTS and "image" not in entry:
                            entry["image"] = (member.offset_data, member.size)
                        elif ext in ("cls", "json"):
                            f = tar.extractfile(member)
                            entry[ext] = f.read() if f is not None else b""
                    # tarfile ends silently at a cut header: a complete archive ends with
                    # zero blocks (two of 512 bytes; at least one is required here)
                    raw.seek(tar.offset)
                    tail = raw.read(1024)
                    if len(tail) < 512 or tail.strip(b"\0"):
                        raise tarfile.ReadError("no end-of-archive marker: the file is cut short")
                    if key is not None:
                        yield self._sample(s, key, entry, raw, place, seen, locations)
                        key = None
            except (tarfile.TarError, OSError, EOFError) as exc:
                after = f" after sample {last!r}" if last else ""
                if not skip_unreadable:
                    raise DataError(
                        f"Tar shard {str(path)!r} is truncated or corrupt{after} "
                        f"({type(exc).__name__}: {exc}); re-create the shard, or pass "
                        f"skip_unreadable=True (CLI: --skip-unreadable) to keep its complete "
                        f"samples."
                    ) from None
                truncated = True
            if truncated:  # the sample being read when the shard broke, or what followed
                self.skipped.append(f"{key or 'the rest'} (truncated {place})")

    def _sample(
        self,
        shard: int,
        key: str,
        entry: dict[str, Any],
        raw: Any,
        place: str,
        seen: dict[str, int],
        locations: Any,
    ) -> tuple[Any, str, dict[str, Any], bytes | None, str]:
        if key in seen:
            raise DataError(
                f"Sample key {key!r} occurs twice (in {str(self.shards[seen[key]])!r} and in "
                f"{place}); WebDataset keys must be unique across shards and their files "
                f"adjacent in a shard."
            )
        seen[key] = shard
        label, extra = self._label(entry, key, place)
        data = None
        offset = length = 0
        if "image" in entry:
            offset, length = entry["image"]
            here = raw.tell()
            raw.seek(offset)
            data = raw.read(length)
            raw.seek(here)
        locations.extend((shard, offset, length))
        return label, key, extra, data, place

    @staticmethod
    def _label(entry: dict[str, Any], key: str, place: str) -> tuple[Any, dict[str, Any]]:
        import json

        where = f"Sample {key!r} of {place}"
        extra: dict[str, Any] = {}
        if "json" in entry:
            try:
                doc = json.loads(entry["json"] or b"{}")
            except ValueError as exc:
                raise DataError(f"{where}: its .json is not valid JSON ({exc}).") from None
            if isinstance(doc, dict):
                extra = {k: doc[k] for k in ("group", "domain") if k in doc}
                for k in ("label", "labels", "target", "cls", "y"):
                    if k in doc and "cls" not in entry:
                        return _label_of(doc[k], where), extra
        if "cls" in entry:
            return _label_of(entry["cls"], where), extra
        raise DataError(
            f"{where} has no label: add KEY.cls holding the class id, or KEY.json with a "
            f"'label' key."
        )

    def _encoded(self, indices: np.ndarray) -> list[tuple[bytes, str]]:
        out: list[tuple[bytes, str]] = [(b"", "")] * len(indices)
        idx = np.asarray(indices, dtype=np.int64)
        for s in np.unique(self._shard[idx]):
            path = self.shards[int(s)]
            place = f"tar shard {str(path)!r}"
            with open(path, "rb") as raw:
                for j in np.flatnonzero(self._shard[idx] == s):
                    i = idx[j]
                    raw.seek(int(self._offset[i]))
                    out[j] = (raw.read(int(self._length[i])), place)
        return out


def shard_paths(shards: str | Path | Sequence[str | Path]) -> list[Path]:
    """The tar files named by a file, a directory of ``*.tar`` files, a brace pattern or a
    list of them."""
    items = [shards] if isinstance(shards, (str, Path)) else list(shards)
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(p.glob("*.tar"))
            if not found:
                raise DataError(f"Folder {str(p)!r} holds no .tar shards.")
            out.extend(found)
            continue
        for name in expand_braces(str(item)):
            q = Path(name)
            if not q.is_file():
                raise DataError(f"Tar shard {name!r} does not exist; check the --data path.")
            out.append(q)
    if not out:
        raise DataError(f"No tar shards in {shards!r}.")
    return out


class TableImageDataset(EncodedImageDataset):
    """Encoded images in a column of a Parquet file or an Arrow IPC (Feather v2) file, read a
    row group (Parquet) or record batch (Arrow, memory-mapped) at a time. The image column holds
    the bytes (``binary``), or structs with a ``bytes`` field as Hugging Face datasets writes
    them; labels are an integer column. Needs ``pyarrow`` (``pip install robustlab[stream]``).

    Args:
        path: A ``.parquet`` / ``.pq`` or ``.arrow`` / ``.feather`` / ``.ipc`` file.
        image_column: The image column (default: the first of ``image``, ``img``, ...).
        label_column: The label column (default: the first of ``targets``, ``y``, ``labels``,
            ``label``).
        id_column: Example ids (default: row positions); ``group`` / ``domain`` columns, when
            present, become metadata.
        size, mode, channels, skip_unreadable: As for
            :class:`~robustlab.data.ImageFolderDataset`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        image_column: str | None = None,
        label_column: str | None = None,
        id_column: str | None = None,
        name: str | None = None,
        size: tuple[int, int] | None = None,
        mode: str | None = None,
        channels: int | None = None,
        skip_unreadable: bool = False,
        class_names: Sequence[str] | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"Data file {str(self.path)!r} does not exist; check the --data path.")
        self.format = "parquet" if self.path.suffix.lower() in (".parquet", ".pq") else "arrow"
        self._handle: Any = None
        schema = self._reader().schema_arrow if self.format == "parquet" else self._reader().schema
        names = list(schema.names)
        self.image_column: str = self._pick(image_column, IMAGE_COLUMNS, names, "image") or ""
        label = self._pick(label_column, _TARGET_KEYS, names, "label")
        ident = self._pick(id_column, ("id", "ids", "__key__", "key"), names, "id", required=False)
        self._bounds = self._chunk_bounds()
        where = f"{self.format} file {str(self.path)!r}"
        small = [c for c in (label, ident, "group", "domain") if c is not None and c in names]
        kept = self._setup(
            name=name or self.path.stem,
            where=where,
            examples=self._rows(small, label, ident, where),
            size=size,
            mode=mode,
            channels=channels,
            skip_unreadable=skip_unreadable,
            class_names=class_names,
        )
        self._rows_kept = np.asarray(kept, dtype=np.int64)
        self._cache: tuple[int, Any] | None = None

    def _pick(
        self,
        given: str | None,
        candidates: Sequence[str],
        names: list[str],
        what: str,
        required: bool = True,
    ) -> str | None:
        if given is not None:
            if given not in names:
                raise DataError(
                    f"{str(self.path)!r} has no column {given!r} (its {what} column); its "
                    f"columns are {names}."
                )
            return given
        found = next((c for c in candidates if c in names), None)
        if found is None and required:
            raise DataError(
                f"{str(self.path)!r} needs a{'n' if what[0] in 'aeiou' else ''} {what} column "
                f"named one of {list(candidates)} (or pass {what}_column=); its columns are "
                f"{names}."
            )
        return found

    def _reader(self) -> Any:
        if self._handle is None:
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise DataError(
                    f"Reading {str(self.path)!r} needs pyarrow: pip install 'robustlab[stream]' "
                    f"(or pip install pyarrow)."
                ) from None
            try:
                if self.format == "parquet":
                    self._handle = pq.ParquetFile(self.path)
                else:
                    self._handle = pa.ipc.open_file(pa.memory_map(str(self.path), "r"))
            except Exception as exc:
                raise DataError(
                    f"Cannot read {str(self.path)!r} as a{'' if self.format == 'parquet' else 'n'} "
                    f"{self.format.title()} file ({type(exc).__name__}: {exc}); re-create it "
                    f"or check that it is complete."
                ) from None
        return self._handle

    def _chunk_bounds(self) -> np.ndarray:
        """Row offsets of the row groups (Parquet) or record batches (Arrow), with the end."""
        r = self._reader()
        if self.format == "parquet":
            counts = [r.metadata.row_group(g).num_rows for g in range(r.num_row_groups)]
        else:
            counts = [r.get_batch(b).num_rows for b in range(r.num_record_batches)]
        return np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])

    def _chunk(self, c: int, columns: list[str]) -> Any:
        r = self._reader()
        try:
            if self.format == "parquet":
                return r.read_row_group(c, columns=columns)
            return r.get_batch(c).select(columns)
        except Exception as exc:
            lo, hi = int(self._bounds[c]), int(self._bounds[c + 1]) - 1
            raise DataError(
                f"Cannot read rows {lo}..{hi} of {str(self.path)!r} ({type(exc).__name__}: "
                f"{exc}); the file is corrupt: re-create it."
            ) from None

    def _bytes_column(self, table: Any) -> list[Any]:
        col = table.column(self.image_column)
        import pyarrow as pa

        if hasattr(col, "combine_chunks"):
            col = col.combine_chunks()
        if pa.types.is_struct(col.type):
            col = col.field("bytes")
        elif not (pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type)):
            raise DataError(
                f"Column {self.image_column!r} of {str(self.path)!r} holds {col.type}, not "
                f"encoded images (binary, or structs with a 'bytes' field); store PNG/JPEG bytes."
            )
        return col.to_pylist()

    def _rows(self, small: list[str], label: str | None, ident: str | None, where: str) -> Any:
        row = 0
        for c in range(len(self._bounds) - 1):
            table = self._chunk(c, [*small, self.image_column])
            images = self._bytes_column(table)
            cols = {k: table.column(k).to_pylist() for k in small}
            del table
            for j, data in enumerate(images):
                key = str(cols[ident][j]) if ident is not None else str(row)
                extra = {k: cols[k][j] for k in ("group", "domain") if k in cols}
                place = f"{where}, row {row}"
                lab = _label_of(cols[label][j], f"Row {row} of {where}") if label else None
                yield lab, key, extra, data, place
                row += 1

    def _encoded(self, indices: np.ndarray) -> list[tuple[bytes, str]]:
        rows = self._rows_kept[np.asarray(indices, dtype=np.int64)]
        chunks = np.searchsorted(self._bounds, rows, side="right") - 1
        out: list[tuple[bytes, str]] = [(b"", "")] * len(rows)
        for c in np.unique(chunks):
            if self._cache is None or self._cache[0] != int(c):
                self._cache = None  # free the previous chunk first
                self._cache = (int(c), self._bytes_column(self._chunk(int(c), [self.image_column])))
            images = self._cache[1]
            for j in np.flatnonzero(chunks == c):
                row = int(rows[j])
                out[j] = (images[row - int(self._bounds[c])], f"{str(self.path)!r}, row {row}")
        return out

    def __getstate__(self) -> dict[str, Any]:  # open readers and cached chunks stay behind
        state = dict(self.__dict__)
        state["_handle"] = None
        state["_cache"] = None
        return state


def load_shards(spec: str | Path | Sequence[str | Path], **kwargs: Any) -> TarShardDataset:
    """WebDataset tar shards (a ``.tar`` file, a folder of them or a brace pattern)."""
    return TarShardDataset(spec, **kwargs)


def load_table(path: str | Path, **kwargs: Any) -> TableImageDataset:
    """Encoded images in a Parquet or Arrow table, read a row group / record batch at a time."""
    return TableImageDataset(path, **kwargs)


def is_tar_shards(spec: str | Path) -> bool:
    """Whether ``--data spec`` names WebDataset tar shards: a ``.tar`` file or pattern, or a
    folder of ``.tar`` files with no class sub-folders."""
    s = str(spec)
    p = Path(s)
    if p.is_dir():
        return any(p.glob("*.tar")) and not any(d.is_dir() for d in p.iterdir())
    return s.lower().endswith(".tar")
