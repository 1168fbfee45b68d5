"""WebDataset tar shards and Parquet / Arrow tables of encoded images (issue 17 items 3 and bad
input): the same batches as the images themselves, a batch reads only its own shard / row group,
they pickle without their contents, the CLI loads them by extension, and corrupt shards are
named with the file and the example."""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from robustlab.data import load_dataset
from robustlab.data.streaming import (
    TableImageDataset,
    TarShardDataset,
    expand_braces,
)
from robustlab.errors import DataError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _images(n: int, seed: int = 0, mode: str = "L") -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (n, 8, 8) if mode == "L" else (n, 8, 8, 3)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_shards(root: Path, images: np.ndarray, labels: np.ndarray, per: int = 10) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for s, lo in enumerate(range(0, len(images), per)):
        path = root / f"data-{s:03d}.tar"
        with tarfile.open(path, "w") as tar:
            for i in range(lo, min(lo + per, len(images))):
                _add(tar, f"s{i:05d}.png", _png(images[i]))
                if i % 2:
                    _add(tar, f"s{i:05d}.cls", str(int(labels[i])).encode())
                else:
                    doc = {"label": int(labels[i]), "group": "even"}
                    _add(tar, f"s{i:05d}.json", json.dumps(doc).encode())
        paths.append(path)
    return paths


def write_table(path: Path, images: np.ndarray, labels: np.ndarray, rows: int = 10, hf=False):
    blobs = [_png(im) for im in images]
    column = (
        pa.array([{"bytes": b, "path": None} for b in blobs])
        if hf
        else pa.array(blobs, type=pa.binary())
    )
    table = pa.table({"image": column, "label": pa.array(labels.astype(np.int64))})
    if path.suffix == ".parquet":
        pq.write_table(table, path, row_group_size=rows)
    else:
        with pa.ipc.new_file(str(path), table.schema) as writer:
            for batch in table.to_batches(max_chunksize=rows):
                writer.write_batch(batch)
    return path


def _expected(images: np.ndarray, idx: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images[idx].astype(np.float32) / 255.0)
    return x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)


def test_brace_patterns_expand_like_webdataset() -> None:
    assert expand_braces("d-{000..002}.tar") == ["d-000.tar", "d-001.tar", "d-002.tar"]
    assert expand_braces("{a,b}-{1..2}.tar") == ["a-1.tar", "a-2.tar", "b-1.tar", "b-2.tar"]
    with pytest.raises(DataError, match="empty"):
        expand_braces("d-{3..1}.tar")


def test_tar_shards_give_the_images_labels_and_metadata(tmp_path) -> None:
    images, labels = _images(35), np.arange(35) % 4
    write_shards(tmp_path / "wds", images, labels)
    data = TarShardDataset(tmp_path / "wds")
    assert len(data) == 35 and data.ids[:2] == ["s00000", "s00001"]
    assert np.array_equal(data.targets, labels)
    idx = np.array([0, 9, 10, 34, 3])
    batch = data.batch(idx)
    assert torch.equal(batch.inputs, _expected(images, idx))
    assert batch.targets.tolist() == labels[idx].tolist()
    # same data through a brace pattern, a shard list and load_dataset (the CLI's loader)
    pattern = TarShardDataset(str(tmp_path / "wds" / "data-{000..003}.tar"))
    assert pattern.fingerprint() == data.fingerprint()
    assert load_dataset(tmp_path / "wds").fingerprint() == data.fingerprint()
    again = pickle.loads(pickle.dumps(data))
    assert torch.equal(again.batch(idx).inputs, batch.inputs)
    assert _png(images[0]) not in pickle.dumps(data)  # the images stay in the shards
    # a different image changes the fingerprint
    other = images.copy()
    other[20, 0, 0] ^= 1
    write_shards(tmp_path / "wds2", other, labels)
    assert TarShardDataset(tmp_path / "wds2").fingerprint() != data.fingerprint()


def test_a_batch_reads_only_its_own_shard(tmp_path) -> None:
    images, labels = _images(30), np.arange(30) % 3
    paths = write_shards(tmp_path / "wds", images, labels)
    data = TarShardDataset(tmp_path / "wds")
    paths[1].unlink()  # examples 10..19 are gone; the others still load
    paths[2].unlink()
    assert torch.equal(data.batch(np.arange(10)).inputs, _expected(images, np.arange(10)))
    with pytest.raises(FileNotFoundError):
        data.batch(np.array([15]))


@pytest.mark.parametrize("name", ["t.parquet", "t.arrow"])
@pytest.mark.parametrize("hf", [False, True])
def test_tables_give_the_images_and_read_one_chunk_per_batch(tmp_path, name, hf) -> None:
    images, labels = _images(45, mode="RGB"), np.arange(45) % 5
    path = write_table(tmp_path / name, images, labels, hf=hf)
    data = load_dataset(path)
    assert isinstance(data, TableImageDataset) and data.mode == "RGB"
    assert np.array_equal(data.targets, labels)
    reads = []
    real = data._chunk
    data._chunk = lambda c, cols: reads.append(c) or real(c, cols)  # type: ignore[method-assign]
    idx = np.arange(20, 30)
    assert torch.equal(data.batch(idx).inputs, _expected(images, idx))
    assert reads == [2]  # rows 20..29: the third row group / record batch only
    data.batch(np.arange(21, 25))
    assert reads == [2]  # the last chunk is kept
    del data._chunk
    again = pickle.loads(pickle.dumps(data))
    assert again._handle is None and torch.equal(again.batch(idx).inputs, _expected(images, idx))


@pytest.mark.filterwarnings("ignore:.*near chance")
def test_scan_of_tar_shards_equals_the_scan_of_the_same_arrays(tmp_path) -> None:
    import robustlab
    from robustlab import ArrayDataset

    images, labels = _images(40, seed=2), np.arange(40) % 3
    write_shards(tmp_path / "wds", images, labels)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    suite = {"name": "s", "version": 1, "probes": ["clean"]}
    streamed = robustlab.scan(
        net, str(tmp_path / "wds"), suite, store="sqlite://", progress=False, shard_size=16
    )
    arrays = ArrayDataset(_expected(images, np.arange(40)), labels)
    memory = robustlab.scan(net, arrays, suite, store="sqlite://", progress=False, shard_size=16)
    assert streamed.value("clean", "accuracy") == memory.value("clean", "accuracy")


# -- bad input ---------------------------------------------------------------------------------


def test_truncated_tar_names_the_shard_and_skip_keeps_complete_samples(tmp_path) -> None:
    images, labels = _images(20), np.arange(20) % 2
    paths = write_shards(tmp_path / "wds", images, labels)
    blob = paths[1].read_bytes()
    paths[1].write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"data-001\.tar.*truncated or corrupt after sample"):
        TarShardDataset(tmp_path / "wds")
    with pytest.warns(UserWarning, match="Skipped"):
        data = TarShardDataset(tmp_path / "wds", skip_unreadable=True)
    assert 10 < len(data) < 20 and data.ids[:10] == [f"s{i:05d}" for i in range(10)]
    kept = np.arange(len(data))
    assert torch.equal(data.batch(kept).inputs, _expected(images, kept))
    assert data.describe()["skipped_unreadable"] >= 1


def test_bad_image_bytes_in_a_tar_name_the_file_and_the_example(tmp_path, capsys) -> None:
    images, labels = _images(6), np.arange(6) % 2
    path = tmp_path / "one.tar"
    with tarfile.open(path, "w") as tar:
        for i in range(6):
            _add(tar, f"k{i}.png", b"not a png" if i == 4 else _png(images[i]))
            _add(tar, f"k{i}.cls", str(int(labels[i])).encode())
    with pytest.raises(
        DataError, match=r"example 'k4' in tar shard '.*one\.tar'.*--skip-unreadable"
    ):
        load_dataset(path)
    with pytest.warns(UserWarning, match="Skipped 1 unreadable"):
        data = load_dataset(path, skip_unreadable=True)
    assert data.ids == ["k0", "k1", "k2", "k3", "k5"]


def test_unlabelled_sample_says_how_to_label_it(tmp_path) -> None:
    path = tmp_path / "nolabel.tar"
    with tarfile.open(path, "w") as tar:
        _add(tar, "a.png", _png(_images(1)[0]))
    with pytest.raises(DataError, match=r"Sample 'a' of tar shard .* has no label: add KEY\.cls"):
        TarShardDataset(path)


def test_unreadable_parquet_names_the_file(tmp_path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=r"Cannot read '.*broken\.parquet' as a Parquet file"):
        load_dataset(path)
    good = write_table(tmp_path / "t.parquet", _images(20), np.arange(20) % 2)
    blob = good.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"cut\.parquet"):
        load_dataset(tmp_path / "cut.parquet")


def test_bad_image_bytes_in_a_table_name_the_row(tmp_path) -> None:
    blobs = [_png(im) for im in _images(5)]
    blobs[3] = b"\x89PNG broken"
    table = pa.table({"img": pa.array(blobs), "y": pa.array([0, 1, 0, 1, 0])})
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    with pytest.raises(DataError, match=r"example '3' in parquet file '.*bad\.parquet', row 3"):
        load_dataset(path)
    with pytest.warns(UserWarning, match="Skipped 1"):
        data = load_dataset(path, skip_unreadable=True)
    assert data.ids == ["0", "1", "2", "4"]
    assert data.batch(np.array([3])).targets.tolist() == [0]  # row 4's label


def test_table_without_an_image_column_lists_its_columns(tmp_path) -> None:
    path = tmp_path / "cols.parquet"
    pq.write_table(pa.table({"pixels": pa.array([[0.1] * 4]), "label": pa.array([0])}), path)
    with pytest.raises(DataError, match=r"needs an image column named one of .*'pixels'"):
        load_dataset(path)
    with pytest.raises(DataError, match="not encoded images"):
        load_dataset(path, image_column="pixels")


@pytest.mark.filterwarnings("ignore:.*near chance")
def test_cli_scans_tar_shards_and_parquet_by_extension(tmp_path, capsys) -> None:
    from robustlab.cli import main

    images, labels = _images(24, seed=1), np.arange(24) % 10
    write_shards(tmp_path / "wds", images, labels, per=8)
    write_table(tmp_path / "t.parquet", images, labels)
    py = tmp_path / "m.py"
    py.write_text(
        "import torch\n"
        "def build():\n"
        "    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))\n"
    )
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\nversion: 1\nprobes: [clean]\n")
    for data in (str(tmp_path / "wds" / "data-{000..002}.tar"), str(tmp_path / "t.parquet")):
        argv = ["scan", "--no-progress", "--model", f"{py}:build", "--suite", str(suite)]
        argv += ["--store", f"sqlite:///{tmp_path}/s.db", "--data", data]
        with pytest.raises(SystemExit) as exc:
            main(argv)
            raise SystemExit(0)
        err = capsys.readouterr().err
        assert int(exc.value.code or 0) == 0, err
