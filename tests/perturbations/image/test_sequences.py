"""ImageNet-P-style sequences and the flip rate."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from robustlab.errors import ConfigError, DataError
from robustlab.perturbations import image as corruptions
from robustlab.perturbations.image import SEQUENCES


@pytest.mark.parametrize("name", SEQUENCES.names())
@pytest.mark.parametrize("channels", [1, 3])
def test_sequence_contract(
    name: str, channels: int, make_images: Callable[..., torch.Tensor]
) -> None:
    x = make_images(2, channels, 32)
    before = x.clone()
    frames = corruptions.sequence(x, name, length=6, seed=1)
    assert frames.shape == (6, *x.shape) and frames.dtype == x.dtype
    assert float(frames.min()) >= 0 and float(frames.max()) <= 1
    assert torch.equal(x, before)
    assert torch.equal(frames, corruptions.sequence(x, name, length=6, seed=1))
    assert any(not torch.equal(frames[0], f) for f in frames[1:])
    spec = SEQUENCES.get(name)
    assert spec.compare_to in ("previous", "first")
    if spec.compare_to == "first":
        assert torch.equal(frames[0], x), "noise sequences start from the clean image"
    assert corruptions.sequence(x, name).shape[0] == spec.default_length


def test_centred_sequences_pass_through_the_clean_image(
    make_images: Callable[..., torch.Tensor],
) -> None:
    x = make_images(2, 3, 32)
    for name in ("brightness", "rotate", "translate"):
        frames = corruptions.sequence(x, name, length=7)
        assert torch.allclose(frames[3], x, atol=1e-5), name


def test_flip_rate_previous_and_first() -> None:
    preds = np.array([[0, 1], [1, 1], [0, 1], [0, 2]])
    # consecutive changes: seq 0: 0->1, 1->0, 0->0 = 2; seq 1: 1,1,2 = 1 -> 3 / 6
    assert corruptions.flip_rate(preds) == pytest.approx(0.5)
    # against frame 0: seq 0: 1, 0, 0 = 1; seq 1: 0, 0, 1 = 1 -> 2 / 6
    assert corruptions.flip_rate(torch.from_numpy(preds), "first") == pytest.approx(1 / 3)
    assert corruptions.flip_rate(np.zeros((5, 3), dtype=int)) == 0.0


@pytest.mark.parametrize(
    "preds",
    [
        np.zeros(4, dtype=int),
        np.zeros((1, 3), dtype=int),
        np.zeros((3, 0), dtype=int),
        np.zeros((3, 2)),
    ],
)
def test_flip_rate_rejects_bad_predictions(preds: np.ndarray) -> None:
    with pytest.raises(DataError):
        corruptions.flip_rate(preds)


def test_sequence_validation() -> None:
    with pytest.raises(ConfigError, match="'length' parameter of sequence"):
        corruptions.sequence(torch.rand(1, 3, 8, 8), "rotate", length=1)
    with pytest.raises(ConfigError, match="Did you mean 'rotate'"):
        corruptions.sequence(torch.rand(1, 3, 8, 8), "rotat")
    with pytest.raises(ConfigError, match="'compare_to' parameter of flip_rate"):
        corruptions.flip_rate(np.zeros((2, 2), dtype=int), "last")
