"""Tests of the datasets: arrays, image folders, .npz files, the bundled digits and load_dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from robustlab.data import (
    ArrayDataset,
    Batch,
    ImageFolderDataset,
    TextDataset,
    as_dataset,
    load_dataset,
    load_digits,
    load_npz,
)
from robustlab.errors import ConfigError, DataError


def _images(n: int = 6, c: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, c, 4, 4)).astype(np.float32)


# -- ArrayDataset ------------------------------------------------------------------------------


def test_array_dataset_basics() -> None:
    x = _images(6)
    ds = ArrayDataset(x, [0, 1, 2, 0, 1, 2], name="toy")
    assert len(ds) == 6
    assert ds.inputs.dtype == torch.float32 and ds.inputs.shape == (6, 1, 4, 4)
    assert ds.ids == ["0", "1", "2", "3", "4", "5"]
    assert ds.targets.dtype == np.int64
    assert ds.num_classes == 3
    assert ds.modality == "image"
    assert ds.value_range == (float(x.min()), float(x.max()))
    d = ds.describe()
    assert d["name"] == "toy" and d["size"] == 6 and d["num_classes"] == 3
    assert d["kind"] == "ArrayDataset"


def test_three_d_inputs_get_a_channel_axis() -> None:
    x = np.random.default_rng(0).random((5, 8, 8))
    ds = ArrayDataset(x, np.arange(5) % 2)
    assert ds.inputs.shape == (5, 1, 8, 8)
    np.testing.assert_allclose(ds.inputs[:, 0].numpy(), x.astype(np.float32))


@pytest.mark.parametrize(
    ("shape", "modality", "phrase"),
    [
        ((5, 64), "image", "image inputs must have shape (N, C, H, W); got (5, 64)"),
        ((5, 1, 1, 8, 8), "image", "image inputs must have shape (N, C, H, W)"),
        ((5, 1, 8, 8), "tabular", "tabular inputs must have shape (N, D); got (5, 1, 8, 8)"),
    ],
)
def test_wrong_ndim_is_a_data_error(shape: tuple, modality: str, phrase: str) -> None:
    with pytest.raises(DataError) as info:
        ArrayDataset(np.zeros(shape), np.zeros(5, dtype=int), modality=modality, name="bad")
    assert phrase in str(info.value)
    assert str(info.value).startswith("Dataset 'bad':")


def test_tabular_rows_are_accepted() -> None:
    ds = ArrayDataset(np.ones((4, 3)), [0, 1, 0, 1], modality="tabular")
    assert ds.inputs.shape == (4, 3) and ds.modality == "tabular"


def test_text_modality_is_refused_by_array_dataset() -> None:
    with pytest.raises(DataError, match="Use TextDataset for text"):
        ArrayDataset(np.ones((4, 3)), [0, 1, 0, 1], modality="text")


def test_length_mismatch_is_a_data_error() -> None:
    with pytest.raises(DataError) as info:
        ArrayDataset(_images(6), [0, 1, 0], name="toy")
    assert str(info.value) == "Dataset 'toy': 6 inputs but 3 targets; pass one label per input."


def test_one_hot_targets_are_refused() -> None:
    onehot = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    with pytest.raises(DataError) as info:
        ArrayDataset(_images(6), onehot)
    assert "got shape (6, 3)" in str(info.value)
    assert "Pass class indices, not one-hot vectors" in str(info.value)


def test_float_targets_with_integer_values_are_converted() -> None:
    ds = ArrayDataset(_images(3), np.array([0.0, 2.0, 1.0]))
    assert ds.targets.dtype == np.int64
    assert ds.targets.tolist() == [0, 2, 1]


@pytest.mark.parametrize("targets", [[0.5, 1.0, 2.0], ["a", "b", "c"], [0.0, np.nan, 1.0]])
def test_non_integer_targets_are_refused(targets: list) -> None:
    with pytest.raises(DataError, match="targets must be integer class indices"):
        ArrayDataset(_images(3), np.array(targets))


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(DataError, match="example ids must be unique"):
        ArrayDataset(_images(3), [0, 1, 2], ids=["a", "b", "a"])


def test_wrong_number_of_ids_is_refused() -> None:
    with pytest.raises(DataError, match="2 ids for 3 targets"):
        ArrayDataset(_images(3), [0, 1, 2], ids=["a", "b"])


def test_metadata_column_of_wrong_length_is_refused() -> None:
    with pytest.raises(DataError) as info:
        ArrayDataset(_images(3), [0, 1, 2], meta={"group": ["x", "y"]}, name="toy")
    assert "metadata column 'group' has 2 values for 3 examples" in str(info.value)


def test_empty_dataset_is_a_data_error() -> None:
    with pytest.raises(DataError) as info:
        ArrayDataset(np.zeros((0, 1, 4, 4)), np.zeros(0, dtype=int), name="void")
    assert str(info.value) == "Dataset 'void' is empty; pass at least one example."


def test_non_numeric_inputs_are_refused() -> None:
    with pytest.raises(DataError, match="inputs must be numeric"):
        ArrayDataset(np.zeros((2, 1, 2, 2), dtype=bool), [0, 1])


def test_batch_carries_inputs_targets_ids_and_meta() -> None:
    x = _images(5)
    ds = ArrayDataset(
        x,
        [4, 3, 2, 1, 0],
        ids=["a", "b", "c", "d", "e"],
        meta={"group": ["g0", "g1", "g0", "g1", "g0"], "domain": np.array([10, 11, 12, 13, 14])},
    )
    b = ds.batch([3, 0, 4])
    assert isinstance(b, Batch)
    assert len(b) == 3
    torch.testing.assert_close(b.inputs, torch.from_numpy(x[[3, 0, 4]]))
    assert b.targets.tolist() == [1, 4, 0]
    assert b.ids == ["d", "a", "e"]
    assert b.meta == {"group": ["g1", "g0", "g0"], "domain": [13, 10, 14]}
    assert b.indices.tolist() == [3, 0, 4]


def test_fingerprint_is_stable_and_sensitive() -> None:
    x = _images(4)
    y = [0, 1, 0, 1]
    fp = ArrayDataset(x, y).fingerprint()
    assert fp == ArrayDataset(x.copy(), list(y)).fingerprint()
    assert len(fp) == 16
    changed = x.copy()
    changed[2, 0, 1, 3] += 1e-3
    assert ArrayDataset(changed, y).fingerprint() != fp
    assert ArrayDataset(x, [0, 1, 1, 1]).fingerprint() != fp
    assert ArrayDataset(x, y, ids=["a", "b", "c", "d"]).fingerprint() != fp
    # the same bytes in another shape are other data
    assert ArrayDataset(x.reshape(4, 1, 2, 8), y).fingerprint() != fp


def test_fingerprint_covers_metadata() -> None:
    # group/domain end up in the records, so a run must not be resumed across a metadata change
    x, y = _images(4), [0, 1, 0, 1]
    a = ArrayDataset(x, y, meta={"group": ["m", "f", "m", "f"]}).fingerprint()
    assert a == ArrayDataset(x, y, meta={"group": ["m", "f", "m", "f"]}).fingerprint()
    assert a != ArrayDataset(x, y, meta={"group": ["m", "f", "f", "f"]}).fingerprint()
    assert a != ArrayDataset(x, y).fingerprint()


def test_class_names_set_num_classes() -> None:
    ds = ArrayDataset(_images(2), [0, 1], class_names=["cat", "dog", "bird"])
    assert ds.num_classes == 3
    assert ds.describe()["class_names"] == ["cat", "dog", "bird"]


def test_text_dataset() -> None:
    ds = TextDataset(["good", "bad", "fine"], [1, 0, 1], name="reviews")
    assert ds.modality == "text"
    assert ds.batch([2, 0]).inputs == ["fine", "good"]
    assert ds.fingerprint() != TextDataset(["good", "bad", "fine!"], [1, 0, 1]).fingerprint()
    with pytest.raises(DataError, match="every text input must be a str"):
        TextDataset(["a", 3], [0, 1])  # type: ignore[list-item]
    with pytest.raises(DataError, match="2 texts but 3 targets"):
        TextDataset(["a", "b"], [0, 1, 0])


# -- ImageFolderDataset ------------------------------------------------------------------------


def _png(path: Path, array: np.ndarray, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8), mode=mode).save(path)


@pytest.fixture
def gray_folder(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    pixels: dict[str, np.ndarray] = {}
    for cls, names in {
        "zebra": ["z1.png"],
        "apple": ["a2.png", "a1.png"],
        "mango": ["m1.png"],
    }.items():
        for name in names:
            arr = rng.integers(0, 256, size=(5, 7))
            _png(root / cls / name, arr, "L")
            pixels[f"{cls}/{name}"] = arr
    (root / "apple" / "notes.txt").write_text("not an image")
    return root, pixels


def test_image_folder_labels_from_sorted_class_folders(gray_folder) -> None:
    root, _ = gray_folder
    ds = ImageFolderDataset(root)
    assert ds.class_names == ["apple", "mango", "zebra"]
    assert ds.ids == ["apple/a1.png", "apple/a2.png", "mango/m1.png", "zebra/z1.png"]
    assert ds.targets.tolist() == [0, 0, 1, 2]
    assert ds.name == "imgs"
    assert ds.num_classes == 3


def test_image_folder_values_are_pixels_over_255_grayscale_one_channel(gray_folder) -> None:
    root, pixels = gray_folder
    ds = ImageFolderDataset(root)
    b = ds.batch(np.arange(len(ds)))
    assert b.inputs.shape == (4, 1, 5, 7)
    assert b.inputs.dtype == torch.float32
    assert float(b.inputs.min()) >= 0.0 and float(b.inputs.max()) <= 1.0
    for i, ex_id in enumerate(b.ids):
        np.testing.assert_allclose(b.inputs[i, 0].numpy(), pixels[ex_id] / 255.0, rtol=1e-6)


def test_image_folder_rgb_has_three_channels(tmp_path: Path) -> None:
    arr = np.random.default_rng(1).integers(0, 256, size=(4, 6, 3))
    _png(tmp_path / "r" / "a" / "x.png", arr, "RGB")
    _png(tmp_path / "r" / "b" / "y.png", arr[::-1], "RGB")
    ds = ImageFolderDataset(tmp_path / "r")
    x = ds.batch([0]).inputs
    assert x.shape == (1, 3, 4, 6)
    np.testing.assert_allclose(x[0].numpy(), arr.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    gray = ImageFolderDataset(tmp_path / "r", mode="L")
    assert gray.batch([0]).inputs.shape == (1, 1, 4, 6)


def test_image_folder_mixed_sizes_need_size(tmp_path: Path) -> None:
    _png(tmp_path / "r" / "a" / "x.png", np.zeros((4, 4)), "L")
    _png(tmp_path / "r" / "b" / "y.png", np.full((6, 3), 255), "L")
    with pytest.raises(DataError) as info:
        ImageFolderDataset(tmp_path / "r")
    assert "have 2 different sizes; pass size=(H, W)" in str(info.value)
    ds = ImageFolderDataset(tmp_path / "r", size=(5, 2))
    x = ds.batch([0, 1]).inputs
    assert x.shape == (2, 1, 5, 2)
    # resizing a constant image keeps its value
    np.testing.assert_allclose(x[0].numpy(), 0.0)
    np.testing.assert_allclose(x[1].numpy(), 1.0)


def test_image_folder_fingerprint_changes_with_a_pixel(tmp_path: Path) -> None:
    arr = np.full((4, 4), 100)
    _png(tmp_path / "r" / "a" / "x.png", arr, "L")
    fp = ImageFolderDataset(tmp_path / "r").fingerprint()
    assert fp == ImageFolderDataset(tmp_path / "r").fingerprint()
    arr[1, 1] = 101
    _png(tmp_path / "r" / "a" / "x.png", arr, "L")
    assert ImageFolderDataset(tmp_path / "r").fingerprint() != fp


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        ImageFolderDataset(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    with pytest.raises(DataError, match="has no class sub-folders"):
        ImageFolderDataset(tmp_path / "flat")
    (tmp_path / "flat" / "a").mkdir()
    (tmp_path / "flat" / "a" / "x.txt").write_text("x")
    with pytest.raises(DataError, match=r"No images \(.png"):
        ImageFolderDataset(tmp_path / "flat")
    _png(tmp_path / "ok" / "a" / "x.png", np.zeros((2, 2)), "L")
    with pytest.raises(DataError, match="'mode' parameter must be 'L', 'RGB' or None"):
        ImageFolderDataset(tmp_path / "ok", mode="CMYK")


# -- load_npz ----------------------------------------------------------------------------------


def test_load_npz_with_x_and_y(tmp_path: Path) -> None:
    x = _images(4)
    p = tmp_path / "set.npz"
    np.savez(p, x=x, y=np.array([1, 0, 1, 0]))
    ds = load_npz(p)
    assert isinstance(ds, ArrayDataset)
    assert ds.name == "set"
    torch.testing.assert_close(ds.inputs, torch.from_numpy(x))
    assert ds.targets.tolist() == [1, 0, 1, 0]
    assert ds.meta == {}


def test_load_npz_with_group_domain_ids_and_class_names(tmp_path: Path) -> None:
    p = tmp_path / "meta.npz"
    np.savez(
        p,
        inputs=np.ones((3, 2)),
        targets=np.array([0, 1, 1]),
        group=np.array(["m", "f", "f"]),
        domain=np.array([1, 2, 3]),
        ids=np.array(["p", "q", "r"]),
        class_names=np.array(["no", "yes"]),
    )
    ds = load_npz(p, name="custom")
    assert ds.modality == "tabular"
    assert ds.name == "custom"
    assert ds.meta == {"group": ["m", "f", "f"], "domain": [1, 2, 3]}
    assert ds.ids == ["p", "q", "r"]
    assert ds.class_names == ["no", "yes"]
    assert ds.batch([2]).meta == {"group": ["f"], "domain": [3]}


def test_load_npz_text(tmp_path: Path) -> None:
    p = tmp_path / "t.npz"
    np.savez(p, x=np.array(["hello", "bye"]), labels=np.array([1, 0]))
    ds = load_npz(p)
    assert isinstance(ds, TextDataset)
    assert ds.texts == ["hello", "bye"]


def test_load_npz_missing_keys_names_the_expected_ones(tmp_path: Path) -> None:
    p = tmp_path / "bad.npz"
    np.savez(p, pixels=_images(2), y=np.array([0, 1]))
    with pytest.raises(DataError) as info:
        load_npz(p)
    msg = str(info.value)
    assert "must hold an input array named one of ['inputs', 'x', 'X', 'images', 'data']" in msg
    assert "a label array named one of ['targets', 'y', 'labels', 'label']" in msg
    assert "it has ['pixels', 'y']" in msg


def test_load_npz_missing_or_corrupt_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_npz(tmp_path / "nope.npz")
    bad = tmp_path / "junk.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"Cannot read .* as a NumPy \.npz archive"):
        load_npz(bad)


# -- bundled digits and load_dataset ----------------------------------------------------------


def test_digits_test_split() -> None:
    ds = load_dataset("digits")
    assert isinstance(ds, ArrayDataset)
    assert len(ds) == 539
    assert ds.inputs.shape == (539, 1, 8, 8)
    assert float(ds.inputs.min()) == 0.0 and float(ds.inputs.max()) == 1.0
    assert ds.num_classes == 10
    assert set(ds.targets.tolist()) == set(range(10))


def test_digits_split_is_disjoint_covering_and_deterministic() -> None:
    train, test, everything = load_digits("train"), load_digits("test"), load_digits("all")
    assert len(train) + len(test) == 1797 == len(everything)
    assert not set(train.ids) & set(test.ids)
    assert set(train.ids) | set(test.ids) == set(everything.ids)
    assert load_digits("test").ids == test.ids
    assert load_dataset("digits-train").fingerprint() == train.fingerprint()
    # inputs stay with their labels across splits
    pos = {ex: i for i, ex in enumerate(everything.ids)}
    idx = [pos[ex] for ex in test.ids]
    torch.testing.assert_close(test.inputs, everything.inputs[idx])
    assert test.targets.tolist() == everything.targets[idx].tolist()


def test_digits_bad_split() -> None:
    with pytest.raises(ConfigError, match="'split' parameter must be 'train', 'test' or 'all'"):
        load_digits("validation")


def test_load_dataset_dispatch(tmp_path: Path) -> None:
    _png(tmp_path / "folder" / "a" / "x.png", np.zeros((2, 2)), "L")
    assert isinstance(load_dataset(tmp_path / "folder"), ImageFolderDataset)
    np.savez(tmp_path / "d.npz", x=_images(2), y=np.array([0, 1]))
    assert isinstance(load_dataset(str(tmp_path / "d.npz")), ArrayDataset)


def test_load_dataset_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    with pytest.raises(DataError) as info:
        load_dataset(missing)
    msg = str(info.value)
    assert f"--data {str(missing)!r} is neither an existing folder or .npz file" in msg
    assert "digits" in msg


def test_load_dataset_unsupported_file(tmp_path: Path) -> None:
    f = tmp_path / "data.xlsx"
    f.write_text("a,b\n")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'"):
        load_dataset(f)


def test_as_dataset() -> None:
    x, y = _images(3), np.array([0, 1, 0])
    ds = ArrayDataset(x, y)
    assert as_dataset(ds) is ds
    assert isinstance(as_dataset((x, y)), ArrayDataset)
    assert isinstance(as_dataset(["a", "b"], [0, 1]), TextDataset)
    with pytest.raises(DataError, match="Arrays need labels"):
        as_dataset(x)
    with pytest.raises(DataError, match="Cannot use a dict as data"):
        as_dataset({"x": x}, y)
