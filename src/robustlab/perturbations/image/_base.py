"""The corruption registry, its metadata record, input validation and the public apply()."""

from __future__ import annotations

import ctypes
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from robustlab import validation
from robustlab.errors import ConfigError, DataError
from robustlab.perturbations.base import (
    Perturbation,
    PerturbationView,
    Perturbed,
    by_name,
    register,
)
from robustlab.seeding import Draws, ExampleSeeds, as_seeds

__all__ = [
    "CORRUPTIONS",
    "FAMILIES",
    "Corruption",
    "CorruptionFn",
    "CorruptionPerturbation",
    "apply",
    "check_inputs",
    "check_severity",
    "check_values",
    "corruption",
    "names",
]

FAMILIES: tuple[str, ...] = ("imagenet_c", "imagenet_c_extra", "mnist_c")
"""ImageNet-C's 15 corruptions, its 4 held-out ones, and the MNIST-C suite's own variants."""

MIN_SIDE = 8
"""Smallest height and width accepted; below it most corruptions have no meaningful scale."""

CorruptionFn = Callable[[torch.Tensor, int, Draws], torch.Tensor]
"""(inputs (N, C, H, W) float in [0, 1], severity 1..5, per-example draws) -> output.

The draws (:class:`~robustlab.seeding.Draws`: ``rand``, ``randn``, ``randint``, ``poisson`` with
the examples as first dimension) give each image its own stream, keyed by its example id in a
scan, so an image's corruption does not depend on the batch it comes in.

The inputs may be a view of the caller's tensor: a corruption function never writes into them.
The output may leave [0, 1]; :func:`apply` clips it."""


@dataclass(frozen=True)
class Corruption:
    """One registered corruption: its function and what is known about it.

    Attributes:
        name: Registry name, e.g. ``"gaussian_noise"``.
        family: One of :data:`FAMILIES`.
        fn: The corruption itself; called only with validated inputs (see :data:`CorruptionFn`).
        params: Per-severity parameter tables keyed by reference set (``"imagenet"``, ``"cifar"``,
            ``"mnist"``); each value holds five entries, severity 1 first.
        random: Whether the output depends on the seed.
        monotonic: Whether the mean absolute change from the clean image grows with severity
            (checked by the contract tests where true).
        severity_dependent: False where the reference defines a single level, so all five
            severities give the same output.
        changes_grayscale: False where the reference leaves 1-channel images unchanged.
        reference_severity: The single severity the MNIST-C dataset uses, for ``mnist_c`` entries.
    """

    name: str
    family: str
    fn: CorruptionFn = field(repr=False)
    params: Mapping[str, tuple[Any, ...]] = field(repr=False)
    random: bool = True
    monotonic: bool = True
    severity_dependent: bool = True
    changes_grayscale: bool = True
    reference_severity: int | None = None

    def __call__(
        self, inputs: torch.Tensor, severity: int, seed: int | ExampleSeeds = 0
    ) -> torch.Tensor:
        """Corrupt ``inputs``; same contract as :func:`apply`."""
        return _run(self, inputs, severity, seed)


@dataclass(frozen=True)
class CorruptionPerturbation(Perturbation[torch.Tensor]):
    """A registered corruption at one severity, as a :class:`~robustlab.perturbations.Perturbation`.

    The :func:`corruption` decorator makes one subclass per corruption (``PERTURBATIONS.get("fog")``),
    whose ``corruption`` class attribute is its :class:`Corruption` record. :meth:`apply` returns
    what :func:`apply` returns, with each image's L2 distance to the clean one as its size.
    """

    severity: int = 3

    modality = "image"
    axis = "corruptions"
    kind = "corruption"
    size_unit = "L2 distance to the clean image"
    example_seeds = True
    corruption: ClassVar[Corruption]

    def __post_init__(self) -> None:
        check_severity(f"perturbation {self.name!r}", self.severity)

    def apply(self, inputs: torch.Tensor, seed: int | ExampleSeeds = 0) -> Perturbed[torch.Tensor]:
        out = _run(self.corruption, inputs, self.severity, seed)
        size = (out - inputs).flatten(1).norm(dim=1).detach().cpu()
        return Perturbed(out, np.asarray(size, dtype=np.float64), None, (size > 0).numpy())

    @property
    def label(self) -> str:
        return f"{self.name} s{self.severity}"

    def __reduce__(self) -> tuple[Any, ...]:
        return by_name, (self.name, self.params)


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _perturbation_class(spec: Corruption) -> type[CorruptionPerturbation]:
    doc = spec.fn.__doc__ or ""
    module = sys.modules.get(spec.fn.__module__)
    about = ((module.__doc__ if module is not None else None) or doc or spec.name).strip()
    return type(
        _class_name(spec.name),
        (CorruptionPerturbation,),
        {
            "name": spec.name,
            "corruption": spec,
            "random": spec.random,
            "description": about.splitlines()[0]
            + (" (MNIST-C's variant)" if spec.name.startswith("mnist_") else ""),
            "__doc__": doc,
            "__module__": spec.fn.__module__,
        },
    )


#: The registered corruptions' records by name: a view of the image corruptions in
#: :data:`~robustlab.perturbations.PERTURBATIONS`.
CORRUPTIONS: PerturbationView[Corruption] = PerturbationView(
    "corruption",
    lambda cls: cls.corruption if issubclass(cls, CorruptionPerturbation) else None,
)


def corruption(
    name: str,
    *,
    family: str,
    params: Mapping[str, tuple[Any, ...]],
    random: bool = True,
    monotonic: bool = True,
    severity_dependent: bool = True,
    changes_grayscale: bool = True,
    reference_severity: int | None = None,
) -> Callable[[CorruptionFn], CorruptionFn]:
    """Decorator registering a corruption function with its metadata: one perturbation class in
    :data:`~robustlab.perturbations.PERTURBATIONS` (seen through :data:`CORRUPTIONS`)."""
    if family not in FAMILIES:
        raise ConfigError(
            f"The 'family' parameter of corruption() must be one of {', '.join(FAMILIES)}. "
            f"Got {family!r} instead."
        )
    for key, table in params.items():
        if len(table) != 5:
            raise ConfigError(f"The {key!r} parameter table of {name!r} must have 5 severities.")

    def decorator(fn: CorruptionFn) -> CorruptionFn:
        spec = Corruption(
            name=name,
            family=family,
            fn=fn,
            params=dict(params),
            random=random,
            monotonic=monotonic,
            severity_dependent=severity_dependent,
            changes_grayscale=changes_grayscale,
            reference_severity=reference_severity,
        )
        register(_perturbation_class(spec))
        return fn

    return decorator


def names(family: str | None = None) -> list[str]:
    """Registered corruption names, sorted; only those of ``family`` when given.

    Args:
        family: ``"imagenet_c"`` (the 15 benchmark corruptions), ``"imagenet_c_extra"`` (the 4
            held-out ones), ``"mnist_c"`` (MNIST-C's own corruptions and variants) or None for all.
    """
    if family is None:
        return CORRUPTIONS.names()
    if family not in FAMILIES:
        raise ConfigError(
            f"The 'family' parameter of names() must be one of {', '.join(FAMILIES)} or None. "
            f"Got {family!r} instead."
        )
    return [n for n, c in CORRUPTIONS.items() if c.family == family]


def apply(
    inputs: torch.Tensor, name: str, severity: int, seed: int | ExampleSeeds = 0
) -> torch.Tensor:
    """Corrupt a batch of images.

    Args:
        inputs: Float tensor (N, C, H, W) with C in {1, 3}, H and W at least 8, values in
            [0, 1], on any device. It is never modified.
        name: A registered corruption (see :func:`names`).
        severity: 1 (mildest) to 5.
        seed: An int, or per-example :class:`~robustlab.seeding.ExampleSeeds`; each image
            draws from its own stream (keyed by its position for an int), so the same inputs,
            name, severity and seed give the same output, whatever the batch.

    Returns:
        A new tensor of the same shape, dtype and device, with values in [0, 1].

    Raises:
        UnknownNameError: ``name`` is not registered (the message suggests close names).
        ConfigError: ``severity`` or ``seed`` is invalid.
        DataError: ``inputs`` has the wrong type, shape, dtype or range.
    """
    return _run(CORRUPTIONS.get(name), inputs, severity, seed)


def _run(
    spec: Corruption, inputs: torch.Tensor, severity: int, seed: int | ExampleSeeds
) -> torch.Tensor:
    check_severity("apply()", severity)
    if not isinstance(seed, ExampleSeeds):
        check_seed("apply()", seed)
    check_inputs(inputs, "apply()", values=False)
    if inputs.shape[0] == 0:
        return inputs.clone()
    work_dtype = torch.float64 if inputs.dtype == torch.float64 else torch.float32
    draws = as_seeds("apply()", seed, inputs.shape[0]).draws()
    out = _new_output(inputs)
    for start, stop in _chunks(inputs):
        chunk = inputs[start:stop]
        lo, hi = check_values(chunk, "apply()")
        # Corruption functions never write into their input, so in-range values need no copy.
        x = chunk.to(work_dtype)
        if lo < 0 or hi > 1:
            x = x.clamp(0.0, 1.0)
        result = spec.fn(x, severity, draws.take(np.arange(start, stop)))
        if result.dtype == out.dtype:
            torch.clamp(result, 0.0, 1.0, out=out[start:stop])
        else:
            out[start:stop].copy_(result).clamp_(0.0, 1.0)
    return out


CHUNK_ELEMENTS = 1 << 19
"""Values per chunk on the CPU (2 MiB of float32): a chunk's intermediates stay in cache and the
allocator recycles them, where whole-batch intermediates of large images would be freshly mapped
(and page-faulted) for every operation."""


def _chunks(inputs: torch.Tensor) -> list[tuple[int, int]]:
    """Batch slices processed one after another; the whole batch in one slice off the CPU."""
    n = inputs.shape[0]
    if inputs.device.type != "cpu":
        return [(0, n)]
    step = max(1, CHUNK_ELEMENTS // inputs[0].numel())
    return [(i, min(i + step, n)) for i in range(0, n, step)]


_HUGE_PAGE_BYTES = 4 << 20
_MADV_HUGEPAGE = 14


def _new_output(inputs: torch.Tensor) -> torch.Tensor:
    """An empty tensor like ``inputs``; large CPU ones asked to be backed by huge pages.

    A fresh batch of 224 px images is tens of MB that the kernel maps 4 KiB at a time on first
    write; on Linux with transparent huge pages in ``madvise`` mode, advising the range first
    makes that first write about 3x faster. Anywhere else the advice is skipped.
    """
    out = torch.empty_like(inputs, memory_format=torch.contiguous_format)
    nbytes = out.numel() * out.element_size()
    if out.device.type == "cpu" and nbytes >= _HUGE_PAGE_BYTES and _madvise is not None:
        start = (out.data_ptr() + 4095) & ~4095
        end = (out.data_ptr() + nbytes) & ~4095
        _madvise(start, end - start, _MADV_HUGEPAGE)
    return out


def _load_madvise() -> Callable[[int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_madvise = _load_madvise()


def check_severity(caller: str, severity: object) -> None:
    """Raise ConfigError unless ``severity`` is an int in 1..5."""
    validation.check_int(caller, "severity", severity, 1, 5)


def check_seed(caller: str, seed: object) -> None:
    """Raise ConfigError unless ``seed`` is a non-negative int."""
    validation.check_seed(caller, seed)


def check_inputs(inputs: object, caller: str, values: bool = True) -> None:
    """Raise DataError unless ``inputs`` is a float (N, C, H, W) tensor in [0, 1], C in {1, 3}.

    With ``values=False`` only the type and shape are checked (see :func:`check_values`).
    """
    if not isinstance(inputs, torch.Tensor):
        raise DataError(
            f"The 'inputs' parameter of {caller} must be a torch.Tensor (N, C, H, W). "
            f"Got {type(inputs).__name__} instead; convert with torch.as_tensor(inputs)."
        )
    if not inputs.is_floating_point():
        hint = (
            " scale to [0, 1] with inputs.float() / 255."
            if inputs.dtype == torch.uint8
            else " convert with inputs.float()."
        )
        raise DataError(
            f"The 'inputs' parameter of {caller} must be a float tensor. "
            f"Got dtype {inputs.dtype} instead;{hint}"
        )
    if inputs.ndim != 4:
        hint = " add a batch dimension with inputs.unsqueeze(0)." if inputs.ndim == 3 else ""
        raise DataError(
            f"The 'inputs' parameter of {caller} must have shape (N, C, H, W). "
            f"Got shape {tuple(inputs.shape)} instead.{hint}"
        )
    n, c, h, w = inputs.shape
    if c not in (1, 3):
        hint = (
            " It looks channels-last; use inputs.permute(0, 3, 1, 2)."
            if w in (1, 3)
            else " Convert to grayscale (1) or RGB (3) first."
        )
        raise DataError(
            f"The 'inputs' parameter of {caller} must have 1 or 3 channels. "
            f"Got {c} channels (shape {tuple(inputs.shape)}) instead.{hint}"
        )
    if h < MIN_SIDE or w < MIN_SIDE:
        raise DataError(
            f"The 'inputs' parameter of {caller} must be at least {MIN_SIDE}x{MIN_SIDE} pixels. "
            f"Got {h}x{w} instead; upsample the images first."
        )
    if values and n > 0:
        check_values(inputs, caller)


def check_values(inputs: torch.Tensor, caller: str) -> tuple[float, float]:
    """Raise DataError unless the values of a non-empty float tensor are finite and in [0, 1].

    Returns:
        The smallest and largest value (within 1e-4 of [0, 1]).
    """
    lo_t, hi_t = torch.aminmax(inputs)
    lo, hi = float(lo_t), float(hi_t)
    if math.isnan(lo) or math.isnan(hi) or math.isinf(lo) or math.isinf(hi):
        raise DataError(
            f"The 'inputs' parameter of {caller} contains NaN or infinite values; "
            "clean or drop those images first."
        )
    tol = 1e-4
    if hi > 1 + tol and lo >= -tol and hi <= 255 + tol:
        raise DataError(
            f"The 'inputs' parameter of {caller} must be in [0, 1]. Got range {lo:.4g}..{hi:.4g} "
            "instead, which looks like 0..255; scale to [0, 1] by dividing by 255."
        )
    if lo < -tol or hi > 1 + tol:
        raise DataError(
            f"The 'inputs' parameter of {caller} must be in [0, 1]. Got range {lo:.4g}..{hi:.4g} "
            "instead, which looks normalised; corrupt the images before normalising them."
        )
    return lo, hi
