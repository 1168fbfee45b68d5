"""The public surface: names, families, validation messages and error types."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robustlab.errors import ConfigError, DataError, UnknownNameError
from robustlab.perturbations import image as corruptions

IMAGENET_C = {
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
}
HELD_OUT = {"speckle_noise", "gaussian_blur", "spatter", "saturate"}


def test_families() -> None:
    assert set(corruptions.names("imagenet_c")) == IMAGENET_C
    assert set(corruptions.names("imagenet_c_extra")) == HELD_OUT
    assert len(corruptions.names("mnist_c")) == 15
    assert corruptions.names() == sorted(corruptions.names())
    assert len(corruptions.names()) == 34


def test_unknown_family() -> None:
    with pytest.raises(ConfigError, match="'family' parameter of names"):
        corruptions.names("imagenet_p")


def test_unknown_name_suggests() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'gaussian_noise'"):
        corruptions.apply(torch.rand(1, 3, 8, 8), "gausian_noise", 1)


@pytest.mark.parametrize("severity", [0, 6, 2.0, True, "3"])
def test_bad_severity(severity: object) -> None:
    with pytest.raises(ConfigError) as info:
        corruptions.apply(torch.rand(1, 3, 8, 8), "fog", severity)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"The 'severity' parameter of apply() must be an int in 1..5. Got {severity!r} instead."
    )


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        (np.zeros((1, 3, 8, 8)), "torch.as_tensor"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "inputs.float() / 255"),
        (torch.rand(3, 8, 8), "unsqueeze(0)"),
        (torch.rand(1, 8, 8, 3), "permute(0, 3, 1, 2)"),
        (torch.rand(1, 4, 8, 8), "1 or 3 channels"),
        (torch.rand(1, 3, 4, 4), "at least 8x8"),
        (torch.rand(1, 3, 8, 8) * 255, "dividing by 255"),
        (torch.randn(1, 3, 8, 8) * 2, "corrupt the images before normalising"),
        (torch.full((1, 3, 8, 8), float("nan")), "NaN"),
    ],
)
def test_bad_inputs(inputs: object, fragment: str) -> None:
    with pytest.raises(DataError) as info:
        corruptions.apply(inputs, "contrast", 1)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_bad_seed() -> None:
    with pytest.raises(ConfigError, match="'seed' parameter of apply"):
        corruptions.apply(torch.rand(1, 3, 8, 8), "fog", 1, seed=-1)


def test_empty_batch() -> None:
    out = corruptions.apply(torch.rand(0, 3, 16, 16), "fog", 2)
    assert out.shape == (0, 3, 16, 16)


def test_reference_set_rule() -> None:
    assert corruptions.reference_set(32, 32) == ("cifar", 1.0)
    assert corruptions.reference_set(224, 224) == ("imagenet", 1.0)
    assert corruptions.reference_set(64, 64) == ("cifar", 2.0)
    assert corruptions.reference_set(8, 8) == ("cifar", 0.5)
    assert corruptions.reference_set(112, 300) == ("imagenet", 0.5)
