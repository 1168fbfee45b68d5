"""Deterministic corruptions against values computed independently from the published formulas."""

from __future__ import annotations

import colorsys
import io
import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from robustlab.perturbations import image as corruptions
from robustlab.perturbations.image import _ops, brightness, contrast, pixelate, saturate

# A 3-channel 32x32 image with saturated, gray, black and white pixels.
_rng = np.random.default_rng(0)
RGB = _rng.uniform(0, 1, size=(32, 32, 3))
RGB[0, 0] = (0.5, 0.5, 0.5)
RGB[0, 1] = (0.0, 0.0, 0.0)
RGB[0, 2] = (1.0, 1.0, 1.0)
RGB[0, 3] = (1.0, 0.2, 0.0)


def as_batch(hwc: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(hwc).permute(2, 0, 1)[None].double()


def as_hwc(batch: torch.Tensor) -> np.ndarray:
    return batch[0].permute(1, 2, 0).double().numpy()


def hsv_map(image: np.ndarray, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.empty_like(image)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            h, s, v = colorsys.rgb_to_hsv(*image[i, j])
            out[i, j] = colorsys.hsv_to_rgb(*fn(h, s, v))
    return out


@pytest.mark.parametrize("severity", range(1, 6))
def test_brightness_adds_to_hsv_value(severity: int) -> None:
    c = brightness.PARAMS["cifar"][severity - 1]
    expected = hsv_map(RGB, lambda h, s, v: (h, s, min(v + c, 1.0)))
    out = corruptions.apply(as_batch(RGB), "brightness", severity)
    np.testing.assert_allclose(as_hwc(out), expected, atol=1e-9)


@pytest.mark.parametrize("severity", range(1, 6))
def test_saturate_scales_hsv_saturation(severity: int) -> None:
    a, b = saturate.PARAMS["cifar"][severity - 1]
    expected = hsv_map(RGB, lambda h, s, v: (h, min(max(s * a + b, 0.0), 1.0), v))
    out = corruptions.apply(as_batch(RGB), "saturate", severity)
    np.testing.assert_allclose(as_hwc(out), expected, atol=1e-9)


def test_saturate_large_images_use_imagenet_table() -> None:
    image = np.tile(RGB, (4, 4, 1))[:100, :100]
    a, b = saturate.PARAMS["imagenet"][3]
    expected = hsv_map(image, lambda h, s, v: (h, min(max(s * a + b, 0.0), 1.0), v))
    out = corruptions.apply(as_batch(image), "saturate", 4)
    np.testing.assert_allclose(as_hwc(out), expected, atol=1e-9)


@pytest.mark.parametrize("severity", range(1, 6))
def test_contrast(severity: int) -> None:
    c = contrast.PARAMS["cifar"][severity - 1]
    mean = RGB.mean(axis=(0, 1), keepdims=True)
    expected = np.clip((RGB - mean) * c + mean, 0, 1)
    out = corruptions.apply(as_batch(RGB), "contrast", severity)
    np.testing.assert_allclose(as_hwc(out), expected, atol=1e-12)


@pytest.mark.parametrize(("size", "table"), [(32, "cifar"), (224, "imagenet")])
@pytest.mark.parametrize("severity", [1, 3, 5])
def test_pixelate_matches_pillow_box(size: int, table: str, severity: int) -> None:
    pixels = np.random.default_rng(severity).integers(0, 256, (size, size, 3), dtype=np.uint8)
    c = pixelate.PARAMS[table][severity - 1]
    small = Image.fromarray(pixels).resize((int(size * c), int(size * c)), Image.BOX)
    expected = np.asarray(small.resize((size, size), Image.BOX)) / 255
    out = corruptions.apply(as_batch(pixels / 255), "pixelate", severity)
    # Pillow rounds to 8 bits after each pass; we do not.
    np.testing.assert_allclose(as_hwc(out), expected, atol=1.01 / 255)


@pytest.mark.parametrize("severity", range(1, 6))
def test_gaussian_blur_matches_scipy(severity: int) -> None:
    sigma = {1: 0.4, 2: 0.6, 3: 0.7, 4: 0.8, 5: 1.0}[severity]  # CIFAR-10-C
    expected = np.stack(
        [
            ndimage.gaussian_filter(RGB[..., k], sigma, mode="nearest", truncate=4.0)
            for k in range(3)
        ],
        axis=-1,
    )
    out = corruptions.apply(as_batch(RGB), "gaussian_blur", severity)
    np.testing.assert_allclose(as_hwc(out), expected, atol=1e-12)


def reference_disk(radius: float, alias: float) -> np.ndarray:
    half = 8 if radius <= 8 else math.ceil(radius)
    ksize = 3 if radius <= 8 else 5
    t = np.arange(-half, half + 1)
    disk = ((t[:, None] ** 2 + t[None, :] ** 2) <= radius**2).astype(float)
    disk /= disk.sum()
    g = np.exp(-((np.arange(ksize) - (ksize - 1) / 2) ** 2) / (2 * alias**2))
    g /= g.sum()
    return ndimage.correlate(disk, np.outer(g, g), mode="mirror")


@pytest.mark.parametrize(("size", "table"), [(32, "cifar"), (224, "imagenet")])
@pytest.mark.parametrize("severity", [1, 4, 5])
def test_defocus_blur_matches_disk_convolution(size: int, table: str, severity: int) -> None:
    from robustlab.perturbations.image import defocus_blur

    image = np.random.default_rng(1).uniform(0, 1, (size, size, 3))
    kernel = reference_disk(*defocus_blur.PARAMS[table][severity - 1])
    expected = np.stack(
        [ndimage.correlate(image[..., k], kernel, mode="mirror") for k in range(3)], axis=-1
    )
    out = corruptions.apply(as_batch(image), "defocus_blur", severity)
    np.testing.assert_allclose(as_hwc(out), np.clip(expected, 0, 1), atol=1e-9)


@pytest.mark.parametrize("severity", [1, 5])
def test_zoom_blur_matches_scipy_zoom(severity: int) -> None:
    from robustlab.perturbations.image import zoom_blur

    def clipped(img: np.ndarray, z: float) -> np.ndarray:
        h = img.shape[0]
        ch = math.ceil(h / z)
        top = (h - ch) // 2
        out = ndimage.zoom(img[top : top + ch, top : top + ch], (z, z, 1), order=1)
        trim = (out.shape[0] - h) // 2
        return out[trim : trim + h, trim : trim + h]

    factors = zoom_blur.PARAMS["cifar"][severity - 1]
    expected = (RGB + sum(clipped(RGB, z) for z in factors)) / (len(factors) + 1)
    out = corruptions.apply(as_batch(RGB), "zoom_blur", severity)
    np.testing.assert_allclose(as_hwc(out), expected, atol=1e-9)


@pytest.mark.parametrize("severity", [1, 5])
def test_jpeg_matches_pillow(severity: int) -> None:
    pixels = (RGB * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=(80, 65, 58, 50, 40)[severity - 1])
    expected = np.asarray(Image.open(io.BytesIO(buffer.getvalue()))) / 255
    out = corruptions.apply(as_batch(pixels / 255), "jpeg_compression", severity)
    np.testing.assert_allclose(as_hwc(out), expected, atol=1e-12)


def digit() -> np.ndarray:
    """A hand-made 28x28 'digit': a bar and a blob, black background."""
    image = np.zeros((28, 28))
    image[6:22, 12:15] = 1.0
    image[8:12, 8:20] = 0.6
    return image


def as_gray_batch(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image)[None, None].double()


def scipy_centred(image: np.ndarray, a: np.ndarray, shift=(0.0, 0.0)) -> np.ndarray:  # type: ignore[no-untyped-def]
    # Output (col, row) = p reads input A (p - c) + c + shift; scipy wants (row, col) order.
    c = np.array([(image.shape[1] - 1) / 2, (image.shape[0] - 1) / 2])
    offset = c - a @ c + np.array(shift)
    swap = np.array([[0, 1], [1, 0]])
    return ndimage.affine_transform(
        image, swap @ a @ swap, offset=offset[::-1], order=1, mode="constant", cval=0.0
    )


@pytest.mark.parametrize("severity", range(1, 6))
def test_scale(severity: int) -> None:
    s = 1 / (0.9, 0.8, 0.7, 0.6, 0.5)[severity - 1]
    expected = scipy_centred(digit(), np.eye(2) * s)
    out = corruptions.apply(as_gray_batch(digit()), "scale", severity)
    np.testing.assert_allclose(out[0, 0].numpy(), expected, atol=1e-9)


@pytest.mark.parametrize("severity", range(1, 6))
def test_rotate_and_shear_take_one_of_two_signs(severity: int) -> None:
    angle = 0.2 * severity
    for name, matrix in (
        ("rotate", lambda a: np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])),
        ("shear", lambda a: np.array([[1.0, -math.sin(a)], [0.0, math.cos(a)]])),
    ):
        out = corruptions.apply(as_gray_batch(digit()), name, severity, seed=severity)[0, 0]
        errors = [
            np.abs(out.numpy() - scipy_centred(digit(), matrix(sign * angle))).max()
            for sign in (1, -1)
        ]
        assert min(errors) < 1e-9, (name, errors)


@pytest.mark.parametrize("severity", range(1, 6))
def test_translate_shifts_whole_pixels(severity: int) -> None:
    out = corruptions.apply(as_gray_batch(digit()), "translate", severity, seed=1)[0, 0].numpy()
    matches = []
    for dx in (-severity, severity):
        for dy in (-severity, severity):
            shifted = ndimage.shift(digit(), (-dy, -dx), order=0, mode="constant", cval=0.0)
            matches.append(np.array_equal(out, shifted))
    assert sum(matches) == 1


def test_stripe_inverts_outer_quarters() -> None:
    expected = digit().copy()
    expected[:, :7] = 1 - expected[:, :7]
    expected[:, 21:] = 1 - expected[:, 21:]
    for severity in range(1, 6):
        out = corruptions.apply(as_gray_batch(digit()), "stripe", severity)
        np.testing.assert_array_equal(out[0, 0].numpy(), expected)


def test_canny_edges_outline_a_square() -> None:
    image = np.zeros((28, 28))
    image[8:20, 8:20] = 1.0
    edges = corruptions.apply(as_gray_batch(image), "canny_edges", 1)[0, 0].numpy()
    assert set(np.unique(edges)) <= {0.0, 1.0}
    assert edges[12:16, 12:16].sum() == 0, "no edges inside the square"
    assert edges[:4].sum() == 0 and edges[:, :4].sum() == 0, "no edges far outside"
    for side in (edges[6:10, 10:18], edges[18:22, 10:18], edges[10:18, 6:10], edges[10:18, 18:22]):
        assert side.sum() >= 8, "each side of the square has an edge line"


def test_motion_blur_at_zero_degrees_is_a_trailing_gaussian() -> None:
    x = torch.zeros(1, 1, 1, 16, dtype=torch.float64)
    x[..., 8] = 1.0
    out = _ops.motion_blur(x, radius=3, sigma=1.5, angles_deg=torch.zeros(1))
    w = np.exp(-(np.arange(7) ** 2) / (2 * 1.5**2))
    w /= w.sum()
    expected = np.zeros(16)
    for i in range(7):  # out[x] = sum_i w_i * in[x + i]
        expected[8 - i] += w[i]
    np.testing.assert_allclose(out[0, 0, 0].numpy(), expected, atol=1e-9)
