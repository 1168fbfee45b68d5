"""The random noises have the published statistics at every severity."""

from __future__ import annotations

import pytest
import torch

from robustlab.perturbations import image as corruptions
from robustlab.perturbations.image import gaussian_noise, impulse_noise, shot_noise, speckle_noise

GRAY = torch.full((16, 3, 32, 32), 0.5)  # CIFAR-sized: the CIFAR-10-C tables apply


@pytest.mark.parametrize("severity", range(1, 6))
def test_gaussian_noise(severity: int) -> None:
    sigma = gaussian_noise.PARAMS["cifar"][severity - 1]  # <= 0.1: clipping is negligible
    diff = corruptions.apply(GRAY, "gaussian_noise", severity) - GRAY
    assert abs(float(diff.mean())) < 0.05 * sigma
    assert float(diff.std()) == pytest.approx(sigma, rel=0.03)


@pytest.mark.parametrize("severity", range(1, 6))
def test_speckle_noise(severity: int) -> None:
    sigma = speckle_noise.PARAMS["cifar"][severity - 1]
    diff = corruptions.apply(GRAY, "speckle_noise", severity) - GRAY
    assert float(diff.std()) == pytest.approx(0.5 * sigma, rel=0.03)


@pytest.mark.parametrize("name", ["shot_noise", "mnist_shot_noise"])
@pytest.mark.parametrize("severity", range(1, 6))
def test_shot_noise_is_poisson(name: str, severity: int) -> None:
    table = "mnist" if name.startswith("mnist") else "cifar"
    photons = (shot_noise.MNIST_PARAMS if table == "mnist" else shot_noise.PARAMS)[table][
        severity - 1
    ]
    dark = torch.full((16, 3, 32, 32), 0.2)  # low enough that clipping at 1 is rare
    out = corruptions.apply(dark, name, severity)
    counts = out * photons
    assert torch.allclose(counts, counts.round(), atol=1e-3), "values are counts / photons"
    assert float(out.mean()) == pytest.approx(0.2, rel=0.03)
    assert float(out.var()) == pytest.approx(0.2 / photons, rel=0.06)


@pytest.mark.parametrize("severity", range(1, 6))
def test_impulse_noise_flips_the_published_fraction(severity: int) -> None:
    amount = impulse_noise.PARAMS["cifar"][severity - 1]
    out = corruptions.apply(GRAY, "impulse_noise", severity)
    salt = float((out == 1).float().mean())
    pepper = float((out == 0).float().mean())
    assert salt + pepper == pytest.approx(amount, rel=0.08)
    assert salt == pytest.approx(pepper, rel=0.2)
    assert bool(((out == 0) | (out == 1) | (out == 0.5)).all())


def test_large_images_use_imagenet_parameters() -> None:
    big = torch.full((1, 3, 224, 224), 0.5)
    amount = impulse_noise.PARAMS["imagenet"][4]
    out = corruptions.apply(big, "impulse_noise", 5)
    flipped = float(((out == 0) | (out == 1)).float().mean())
    assert flipped == pytest.approx(amount, rel=0.05)
