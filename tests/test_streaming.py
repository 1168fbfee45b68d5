"""Memory-mapped .npz datasets: the same fingerprint, batches and value range as the in-memory
loader; they pickle as a path (workers map the file themselves); compressed archives are refused
with the fix."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from robustlab.data import load_npz
from robustlab.data.streaming import MemmapDataset, load_npz_mmap
from robustlab.errors import DataError


@pytest.mark.parametrize("shape", [(50, 3, 8, 8), (50, 8, 8), (50, 5)])
def test_memmap_npz_equals_the_in_memory_loader(tmp_path, shape) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=shape).astype(np.uint8)
    y = rng.integers(0, 3, size=50)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y, group=np.array(["a", "b"] * 25))
    memory, mapped = load_npz(path), load_npz_mmap(path)
    assert isinstance(mapped._x, np.memmap)
    assert mapped.fingerprint() == memory.fingerprint()
    assert mapped.value_range == memory.value_range
    idx = np.array([3, 0, 49, 7])
    a, b = memory.batch(idx), mapped.batch(idx)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert a.meta == b.meta
    again = pickle.loads(pickle.dumps(mapped))
    assert isinstance(again._x, np.memmap) and again.fingerprint() == memory.fingerprint()
    assert x.tobytes() not in pickle.dumps(mapped)  # the inputs stay in the file


def test_compressed_archive_is_refused_with_the_fix(tmp_path) -> None:
    path = tmp_path / "c.npz"
    np.savez_compressed(path, x=np.zeros((4, 2)), y=np.zeros(4, dtype=int))
    with pytest.raises(DataError, match=r"np\.savez \(not np\.savez_compressed\)"):
        load_npz_mmap(path)


def test_memmap_dataset_checks_its_inputs() -> None:
    with pytest.raises(DataError, match="4 inputs but 3 targets"):
        MemmapDataset(np.zeros((4, 2)), [0, 1, 0], modality="tabular")


def test_large_npz_data_is_memory_mapped(tmp_path, monkeypatch) -> None:
    from robustlab.data import streaming
    from robustlab.data.loading import as_dataset

    path = tmp_path / "big.npz"
    np.savez(path, x=np.ones((6, 1, 4, 4), dtype=np.float32), y=np.arange(6) % 2)
    assert not isinstance(as_dataset(str(path)), MemmapDataset)  # small: read in memory
    monkeypatch.setattr(streaming, "STREAM_BYTES", 0)
    assert isinstance(as_dataset(str(path)), MemmapDataset)
    np.savez(path, x=np.array(["a text", "another"]), y=np.array([0, 1]))
    assert not isinstance(as_dataset(str(path)), MemmapDataset)  # texts are read
