"""ImageNet-P-style perturbation sequences and the flip rate of predictions along them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from robustlab.errors import ConfigError, DataError
from robustlab.perturbations.image._base import check_inputs, check_seed
from robustlab.perturbations.image._geometry import centred_warp
from robustlab.perturbations.image._ops import clipped_zoom, gaussian_blur, reference_set
from robustlab.perturbations.image.brightness import brighten
from robustlab.perturbations.image.rotate import rotation_matrix
from robustlab.registry import Registry
from robustlab.seeding import Draws, ExampleSeeds, as_seeds

__all__ = ["SEQUENCES", "Sequence", "flip_rate", "sequence", "sequence_names"]


@dataclass(frozen=True)
class Sequence:
    """One registered perturbation sequence.

    Attributes:
        name: Registry name.
        fn: ``(inputs, length, per-example draws) -> list of length frames``.
        default_length: The reference's number of frames.
        compare_to: ``"previous"`` (frames are temporally related; flip rate compares
            consecutive frames) or ``"first"`` (noise: frame 0 is clean and every later frame
            is an independent perturbation of it).
        params: The reference's step per frame, keyed by reference set.
    """

    name: str
    fn: Callable[[torch.Tensor, int, Draws], list[torch.Tensor]] = field(repr=False)
    default_length: int
    compare_to: str
    params: dict[str, float] = field(repr=False)


SEQUENCES: Registry[Sequence] = Registry("perturbation sequence")


def _register(
    name: str, default_length: int, compare_to: str, params: dict[str, float]
) -> Callable[[Callable[..., list[torch.Tensor]]], Callable[..., list[torch.Tensor]]]:
    def decorator(fn: Callable[..., list[torch.Tensor]]) -> Callable[..., list[torch.Tensor]]:
        SEQUENCES.add(name, Sequence(name, fn, default_length, compare_to, params))
        return fn

    return decorator


def _centred(length: int) -> list[int]:
    # Frame offsets centred on 0 as the reference's range(i - 15) or range(i - 20).
    return [i - (length - 1) // 2 for i in range(length)]


def _noise_frames(
    x: torch.Tensor, length: int, make: Callable[[torch.Tensor], torch.Tensor]
) -> list[torch.Tensor]:
    return [x] + [make(x).clamp(0, 1) for _ in range(length - 1)]


@_register("gaussian_noise", 31, "first", {"imagenet": 0.03, "cifar": 0.02})
def _gaussian_noise(x: torch.Tensor, length: int, g: Draws) -> list[torch.Tensor]:
    sigma = SEQUENCES.get("gaussian_noise").params[reference_set(*x.shape[-2:])[0]]
    return _noise_frames(
        x,
        length,
        lambda v: v + sigma * g.randn(v.shape, device=v.device, dtype=v.dtype),
    )


@_register("shot_noise", 31, "first", {"imagenet": 300, "cifar": 700})
def _shot_noise(x: torch.Tensor, length: int, g: Draws) -> list[torch.Tensor]:
    photons = SEQUENCES.get("shot_noise").params[reference_set(*x.shape[-2:])[0]]
    return _noise_frames(x, length, lambda v: g.poisson(v * photons) / photons)


@_register("speckle_noise", 31, "first", {"imagenet": 0.05, "cifar": 0.05})
def _speckle_noise(x: torch.Tensor, length: int, g: Draws) -> list[torch.Tensor]:
    sigma = SEQUENCES.get("speckle_noise").params[reference_set(*x.shape[-2:])[0]]
    return _noise_frames(
        x,
        length,
        lambda v: v + v * sigma * g.randn(v.shape, device=v.device, dtype=v.dtype),
    )


@_register("gaussian_blur", 31, "previous", {"imagenet": 0.035, "cifar": 0.015})
def _gaussian_blur(x: torch.Tensor, length: int, g: Draws) -> list[torch.Tensor]:
    # sigma_i = base + step * i, in pixels at the reference size.
    table, scale = reference_set(*x.shape[-2:])
    base = {"imagenet": 0.25, "cifar": 0.3}[table]
    step = SEQUENCES.get("gaussian_blur").params[table]
    truncate = {"imagenet": 6.0, "cifar": 7.0}[table]
    return [gaussian_blur(x, (base + step * i) * scale, truncate=truncate) for i in range(length)]


@_register("zoom_blur", 31, "previous", {"imagenet": 0.004, "cifar": 0.004})
def _zoom_blur(x: torch.Tensor, length: int, g: Draws) -> list[torch.Tensor]:
    # Frame i is the running mean of zooms 1, 1 + step, ..., 1 + step * i.
    step = SEQUENCES.get("zoom_blur").params[reference_set(*x.shape[-2:])[0]]
    frames, total = [x], x.clone()
    for i in range(1, length):
        total = total + clipped_zoom(x, 1 + step * i)
        frames.append(total / (i + 1))
    return frames


@_register("brightness", 31, "previous", {"imagenet": 0.02, "cifar": 0.015})
def _brightness(x: torch.Tensor, length: int, g: Draws) -> list[torch.Tensor]:
    step = SEQUENCES.get("brightness").params[reference_set(*x.shape[-2:])[0]]
    # brighten() clips V, so negative steps darken as the reference's HSV round trip does.
    return [brighten(x, step * k) for k in _centred(length)]


@_register("translate", 41, "previous", {"imagenet": 1.0, "cifar": 1.0})
def _translate(x: torch.Tensor, length: int, g: Draws) -> list[torch.Tensor]:
    # Whole-pixel horizontal shifts, one reference pixel per frame, black fill.
    table, scale = reference_set(*x.shape[-2:])
    step = SEQUENCES.get("translate").params[table] * scale
    eye = torch.eye(2, dtype=x.dtype, device=x.device)
    frames = []
    for k in _centred(length):
        shift = torch.tensor([[-float(round(k * step)), 0.0]], dtype=x.dtype, device=x.device)
        frames.append(centred_warp(x, eye, shift.expand(x.shape[0], 2)))
    return frames


@_register("rotate", 31, "previous", {"imagenet": 1.0, "cifar": 1.0})
def _rotate(x: torch.Tensor, length: int, g: Draws) -> list[torch.Tensor]:
    step = SEQUENCES.get("rotate").params[reference_set(*x.shape[-2:])[0]]
    frames = []
    for k in _centred(length):
        angle = torch.tensor(math.radians(k * step), dtype=x.dtype, device=x.device)
        frames.append(centred_warp(x, rotation_matrix(angle)))
    return frames


@_register("scale", 31, "previous", {"imagenet": 0.025, "cifar": 0.02})
def _scale(x: torch.Tensor, length: int, g: Draws) -> list[torch.Tensor]:
    # Zoom factor from 0.4 (ImageNet-P) or 0.7 (CIFAR-P) upwards by ``step`` per frame.
    table, _ = reference_set(*x.shape[-2:])
    start = {"imagenet": 0.4, "cifar": 0.7}[table]
    step = SEQUENCES.get("scale").params[table]
    eye = torch.eye(2, dtype=x.dtype, device=x.device)
    return [centred_warp(x, eye / (start + step * i)) for i in range(length)]


def sequence_names() -> list[str]:
    """Registered perturbation sequences, sorted."""
    return SEQUENCES.names()


def sequence(
    inputs: torch.Tensor, name: str, length: int | None = None, seed: int | ExampleSeeds = 0
) -> torch.Tensor:
    """Frames of an ImageNet-P-style perturbation sequence.

    Args:
        inputs: Float tensor (N, C, H, W) in [0, 1] with C in {1, 3}; never modified.
        name: A registered sequence (see :func:`sequence_names`).
        length: Number of frames T (at least 2); defaults to the reference's (31, or 41 for
            translate). Schedules that are centred on the clean image (brightness, translate,
            rotate) stay centred for any length.
        seed: Seeds the noise of noise sequences: an int, or per-example
            :class:`~robustlab.seeding.ExampleSeeds` (each image draws its own frames).

    Returns:
        Tensor (T, N, C, H, W) of the inputs' dtype and device, values in [0, 1]. For noise
        sequences frame 0 is the clean image; compare predictions with
        ``flip_rate(predictions, compare_to=SEQUENCES.get(name).compare_to)``.

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019.
    """
    spec = SEQUENCES.get(name)
    check_inputs(inputs, "sequence()")
    if not isinstance(seed, ExampleSeeds):
        check_seed("sequence()", seed)
    if length is None:
        length = spec.default_length
    if isinstance(length, bool) or not isinstance(length, int) or length < 2:
        raise ConfigError(
            f"The 'length' parameter of sequence() must be an int >= 2. Got {length!r} instead."
        )
    work = torch.float64 if inputs.dtype == torch.float64 else torch.float32
    x = inputs.to(work).clamp(0, 1).clone()
    frames = spec.fn(x, length, as_seeds("sequence()", seed, len(x)).draws())
    return torch.stack(frames).clamp(0, 1).to(inputs.dtype)


def flip_rate(predictions: torch.Tensor | np.ndarray, compare_to: str = "previous") -> float:
    """How often the predicted class changes along perturbation sequences.

    Args:
        predictions: Integer class predictions of shape (T, N): T frames of N sequences.
        compare_to: ``"previous"``: the fraction of consecutive frame pairs whose predictions
            differ, ``1 / (N (T - 1)) sum_i sum_{j >= 2} [f(x_j) != f(x_{j-1})]``.
            ``"first"``: for noise sequences, whose frames are not temporally related, the
            fraction of frames j >= 2 whose prediction differs from the clean frame 1's.

    Returns:
        The flip probability in [0, 1].

    References: Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019 (the flip probability FP).
    """
    preds = np.asarray(
        predictions.detach().cpu().numpy() if isinstance(predictions, torch.Tensor) else predictions
    )
    if preds.ndim != 2:
        raise DataError(
            "The 'predictions' parameter of flip_rate() must have shape (T, N). "
            f"Got shape {preds.shape} instead; stack the per-frame predictions along axis 0."
        )
    if preds.shape[0] < 2 or preds.shape[1] == 0:
        raise DataError(
            "The 'predictions' parameter of flip_rate() needs at least 2 frames and 1 sequence. "
            f"Got shape {preds.shape} instead."
        )
    if not np.issubdtype(preds.dtype, np.integer):
        raise DataError(
            "The 'predictions' parameter of flip_rate() must hold integer class labels. "
            f"Got dtype {preds.dtype} instead; take argmax over the class axis first."
        )
    if compare_to == "previous":
        return float(np.mean(preds[1:] != preds[:-1]))
    if compare_to == "first":
        return float(np.mean(preds[1:] != preds[:1]))
    raise ConfigError(
        "The 'compare_to' parameter of flip_rate() must be 'previous' or 'first'. "
        f"Got {compare_to!r} instead."
    )
