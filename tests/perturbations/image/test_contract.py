"""Contract tests generated from the registry: every corruption, severity, size and channel count."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import torch

from robustlab.perturbations import image as corruptions
from robustlab.perturbations.image import CORRUPTIONS

SIZES = (8, 32, 64)
CHANNELS = (1, 3)
CASES = [(name, size, c) for name in CORRUPTIONS.names() for size in SIZES for c in CHANNELS]


@pytest.mark.parametrize(("name", "size", "channels"), CASES)
def test_output_contract(
    name: str, size: int, channels: int, make_images: Callable[..., torch.Tensor]
) -> None:
    spec = CORRUPTIONS.get(name)
    x = make_images(2, channels, size)
    before = x.clone()
    for severity in range(1, 6):
        out = corruptions.apply(x, name, severity, seed=3)
        assert out.shape == x.shape
        assert out.dtype == x.dtype
        assert out.device == x.device
        assert torch.isfinite(out).all()
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        assert torch.equal(x, before), "the input must not be modified in place"
        again = corruptions.apply(x, name, severity, seed=3)
        assert torch.equal(out, again), "same seed must give the same output"
        if spec.random:
            # A few binary draws (a sign per image) can repeat for one other seed, not for four.
            others = [corruptions.apply(x, name, severity, seed=s) for s in (4, 5, 6, 7)]
            assert any(not torch.equal(out, o) for o in others), "seeds must matter"
        if channels == 3 or spec.changes_grayscale:
            # Sparse noise (impulse at severity 1 hits ~1% of pixels) can miss all 128 pixels of
            # two 8x8 grey images at one seed (p ~ 0.28); at five seeds it cannot (p < 0.002).
            tries = [out] + (
                [corruptions.apply(x, name, severity, seed=s) for s in (4, 5, 6, 7)]
                if spec.random
                else []
            )
            assert any(not torch.equal(o, x) for o in tries), "a corruption must change the image"


@pytest.mark.parametrize("name", CORRUPTIONS.names())
def test_severity_levels(name: str, make_images: Callable[..., torch.Tensor]) -> None:
    spec = CORRUPTIONS.get(name)
    x = make_images(4, 3, 32, seed=1)
    change = [float((corruptions.apply(x, name, s, seed=0) - x).abs().mean()) for s in range(1, 6)]
    if not spec.severity_dependent:
        assert max(change) - min(change) < 1e-6
    elif spec.monotonic:
        # Mean absolute change from the clean image grows with severity (a small slack absorbs
        # sampling noise between random draws of neighbouring severities).
        for lower, higher in itertools.pairwise(change):
            assert higher >= lower - 2e-3, change
        assert change[-1] > change[0], change
    else:
        assert len({round(c, 6) for c in change}) > 1, change


@pytest.mark.parametrize("name", CORRUPTIONS.names())
def test_corruption_object_matches_apply(
    name: str, make_images: Callable[..., torch.Tensor]
) -> None:
    x = make_images(1, 3, 32)
    assert torch.equal(CORRUPTIONS.get(name)(x, 2, seed=5), corruptions.apply(x, name, 2, seed=5))


@pytest.mark.parametrize("name", CORRUPTIONS.names())
def test_dtypes_are_preserved(name: str, make_images: Callable[..., torch.Tensor]) -> None:
    x = make_images(1, 3, 32).double()
    out = corruptions.apply(x, name, 3)
    assert out.dtype == torch.float64
    half = corruptions.apply(x.half(), name, 3)
    assert half.dtype == torch.float16 and float(half.max()) <= 1.0


@pytest.mark.parametrize("name", CORRUPTIONS.names())
def test_metadata(name: str) -> None:
    spec = CORRUPTIONS.get(name)
    assert spec.family in corruptions.FAMILIES
    assert spec.params and all(len(t) == 5 for t in spec.params.values())
    assert spec.fn.__doc__ and "References:" in spec.fn.__doc__
    if spec.family == "mnist_c":
        assert set(spec.params) == {"mnist"}
    else:
        assert set(spec.params) == {"imagenet", "cifar"}
