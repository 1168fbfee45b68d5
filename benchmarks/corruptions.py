"""Speed and fidelity of robustlab.perturbations.image against the imagecorruptions package."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

# GNU OpenMP's default wait policy (spin, then sleep) costs a scheduler tick (~4 ms) per
# parallel torch operation when other processes keep every core busy; set before torch loads it.
# Pass OMP_WAIT_POLICY explicitly (e.g. ACTIVE) to measure another policy.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

from robustlab.perturbations import image as corruptions

RESULTS = Path(__file__).parent / "results" / "corruptions.json"
SUITE = corruptions.names("imagenet_c") + corruptions.names("imagenet_c_extra")


def load_reference() -> Callable[..., np.ndarray] | None:
    """imagecorruptions.corrupt with the shims it needs on current NumPy, SciPy and scikit-image.

    Returns None (and says why) when the package is not installed.
    """
    import scipy.ndimage

    # SciPy removed the scipy.ndimage.interpolation alias the package imports from.
    alias = types.ModuleType("scipy.ndimage.interpolation")
    alias.map_coordinates = scipy.ndimage.map_coordinates  # type: ignore[attr-defined]
    sys.modules.setdefault("scipy.ndimage.interpolation", alias)
    if not hasattr(np, "float_"):  # removed in NumPy 2.0; plasma_fractal still uses it
        np.float_ = np.float64  # type: ignore[attr-defined]
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    try:
        import imagecorruptions
        from imagecorruptions import corruptions as ref
    except ImportError as error:
        print(f"imagecorruptions is not importable ({error}); timing RobustLab only.")
        return None
    # scikit-image 0.19+ renamed gaussian(multichannel=True) to channel_axis=-1.
    original = ref.gaussian

    def gaussian(
        image: np.ndarray, *args: Any, multichannel: bool | None = None, **kwargs: Any
    ) -> np.ndarray:
        if multichannel:
            kwargs["channel_axis"] = -1
        return original(image, *args, **kwargs)

    ref.gaussian = gaussian
    return imagecorruptions.corrupt


def pillow_jpeg(image: np.ndarray, corruption_name: str, severity: int) -> np.ndarray:
    """imagecorruptions' JPEG code path (``corrupt(x, corruption_name="jpeg_compression")``):
    PIL image from the uint8 array, JPEG at the ImageNet-C quality, decoded back to uint8. A
    stand-in where the package is not installed (``--pillow-jpeg-reference``)."""
    import io

    from PIL import Image

    if corruption_name != "jpeg_compression":
        raise ValueError("the Pillow stand-in reproduces jpeg_compression only")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=(25, 18, 15, 10, 7)[severity - 1])
    return np.uint8(Image.open(buffer))


def natural_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Synthetic photo-like uint8 images (n, size, size, 3): smooth colour fields, shapes, grain."""
    g = torch.Generator().manual_seed(seed)
    fields = torch.zeros(n, 3, size, size)
    for cells in (3, 7, 17):
        coarse = torch.rand(n, 3, cells, cells, generator=g)
        fields += (
            torch.nn.functional.interpolate(
                coarse, size=(size, size), mode="bicubic", align_corners=False
            )
            / cells**0.5
        )
    fields = (fields - fields.amin(dim=(1, 2, 3), keepdim=True)) / (
        fields.amax(dim=(1, 2, 3), keepdim=True) - fields.amin(dim=(1, 2, 3), keepdim=True)
    )
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    centre = torch.rand(n, 2, generator=g) * size
    radius = (0.15 + 0.2 * torch.rand(n, generator=g)) * size
    disk = (ys - centre[:, 0, None, None]) ** 2 + (xs - centre[:, 1, None, None]) ** 2 < radius[
        :, None, None
    ] ** 2
    colour = torch.rand(n, 3, generator=g)
    fields = torch.where(disk[:, None], colour[:, :, None, None], fields)
    fields += 0.02 * torch.randn(fields.shape, generator=g)
    return (fields.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def time_ours(name: str, batch: torch.Tensor, severity: int) -> tuple[float, float]:
    """Wall and process CPU seconds per image for one call on the whole batch."""
    wall, cpu = _clock()
    corruptions.apply(batch, name, severity, seed=0)
    end_wall, end_cpu = _clock()
    return (end_wall - wall) / batch.shape[0], (end_cpu - cpu) / batch.shape[0]


def time_reference(
    corrupt: Callable[..., np.ndarray], name: str, images: np.ndarray, severity: int
) -> tuple[float, float]:
    """Wall and process CPU seconds per image, calling ``corrupt`` one uint8 image at a time."""
    wall, cpu = _clock()
    for image in images:
        corrupt(image, corruption_name=name, severity=severity)
    end_wall, end_cpu = _clock()
    return (end_wall - wall) / len(images), (end_cpu - cpu) / len(images)


def summarise(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Median and minimum of (wall, cpu) seconds per image, in milliseconds."""
    walls = [1000 * w for w, _ in samples]
    cpus = [1000 * c for _, c in samples]
    return {
        "wall_ms": statistics.median(walls),
        "wall_ms_min": min(walls),
        "cpu_ms": statistics.median(cpus),
        "cpu_ms_min": min(cpus),
    }


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def fidelity(corrupt: Callable[..., np.ndarray], name: str, images: np.ndarray) -> list[float]:
    """Mean absolute difference (0..1 scale) between our output and the reference's, per severity.

    For random corruptions this compares two independent draws and is only reported for the
    deterministic ones.
    """
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    out = []
    for severity in range(1, 6):
        ours = corruptions.apply(batch, name, severity).permute(0, 2, 3, 1).numpy()
        # corrupt() truncates to uint8; quantise ours the same way to compare like for like.
        ours = np.floor(ours * 255 + 1e-4) / 255
        ref = (
            np.stack(
                [
                    np.asarray(
                        corrupt(im, corruption_name=name, severity=severity), dtype=np.float64
                    )
                    for im in images
                ]
            )
            / 255
        )
        out.append(float(np.abs(ours - ref).mean()))
    return out


def change_ratio(
    corrupt: Callable[..., np.ndarray], name: str, images: np.ndarray, severity: int
) -> float:
    """Mean |ours - clean| over mean |reference - clean|: 1.0 means the same strength."""
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    ours = corruptions.apply(batch, name, severity).permute(0, 2, 3, 1).numpy()
    ref = (
        np.stack(
            [
                np.asarray(corrupt(im, corruption_name=name, severity=severity), dtype=np.float64)
                for im in images
            ]
        )
        / 255
    )
    clean = images / 255
    return float(np.abs(ours - clean).mean() / max(np.abs(ref - clean).mean(), 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=(32, 224), help="image sides (default 32 224)"
    )
    parser.add_argument(
        "--batch", type=int, default=64, help="images per RobustLab call (default 64)"
    )
    parser.add_argument(
        "--reference-images",
        type=int,
        nargs="+",
        default=(16, 4),
        metavar="N",
        help="images per repeat timed one at a time for imagecorruptions, one count per size "
        "(default 16 4)",
    )
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument(
        "--repeats", type=int, default=5, help="interleaved ours/reference timings (default 5)"
    )
    parser.add_argument("--names", nargs="*", default=SUITE)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument(
        "--pillow-jpeg-reference",
        action="store_true",
        help="without imagecorruptions, time its JPEG code path (plain Pillow) as the reference",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if len(args.reference_images) != len(args.sizes):
        parser.error("--reference-images needs one count per size")

    corrupt = None if args.no_reference else load_reference()
    if corrupt is None and args.pillow_jpeg_reference:
        corrupt = pillow_jpeg
    ref_counts = dict(zip(args.sizes, args.reference_images))
    data = {size: natural_images(args.batch, size, seed=i) for i, size in enumerate(args.sizes)}
    batches = {
        size: torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
        for size, images in data.items()
    }
    # The images the fidelity columns have always used (the first four of a 64-image batch).
    fidelity_images = natural_images(64, 224, seed=1)[:4]
    load_before = os.getloadavg()
    print(
        f"ms per image (median of {args.repeats}), severity {args.severity}, batch {args.batch}; "
        f"torch threads {torch.get_num_threads()}, OMP_WAIT_POLICY "
        f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}; load average {load_before[0]:.1f}"
    )
    print(
        f"{'corruption':18s} "
        + " ".join(
            f"{'ours ' + str(s):>8s} {'ref':>8s} {'x wall':>6s} {'x cpu':>6s}" for s in args.sizes
        )
        + "  fidelity / strength"
    )
    rows = []
    for name in args.names:
        spec = corruptions.CORRUPTIONS.get(name)
        row: dict[str, Any] = {"name": name, "family": spec.family, "random": spec.random}
        for size in args.sizes:
            batch, subset = batches[size], data[size][: ref_counts[size]]
            corruptions.apply(batch[:2], name, args.severity)  # warm caches (textures, kernels)
            reference = corrupt
            if reference is not None and "reference_error" not in row:
                try:
                    reference(subset[0], corruption_name=name, severity=args.severity)
                except Exception as error:  # a reference failure must not stop the others
                    row["reference_error"] = f"{type(error).__name__}: {error}"
            if "reference_error" in row:
                reference = None
            ours, ref = [], []
            # Interleaved, so that load from other processes hits both sides alike.
            for _ in range(args.repeats):
                ours.append(time_ours(name, batch, args.severity))
                if reference is not None:
                    ref.append(time_reference(reference, name, subset, args.severity))
            row[f"ours_{size}"] = summarise(ours)
            if ref:
                row[f"ref_{size}"] = summarise(ref)
                row[f"speedup_wall_{size}"] = (
                    row[f"ref_{size}"]["wall_ms"] / row[f"ours_{size}"]["wall_ms"]
                )
                row[f"speedup_cpu_{size}"] = (
                    row[f"ref_{size}"]["cpu_ms"] / row[f"ours_{size}"]["cpu_ms"]
                )
        if corrupt is not None and "reference_error" not in row:
            # imagecorruptions only has the ImageNet-C tables, so compare on large images.
            sample = fidelity_images
            if spec.random:
                row["strength_ratio"] = change_ratio(corrupt, name, sample, args.severity)
            else:
                row["fidelity_mad"] = fidelity(corrupt, name, sample)
        rows.append(row)
        cells = []
        for size in args.sizes:
            ref_stats = row.get(f"ref_{size}", {})
            cells.append(
                f"{row[f'ours_{size}']['wall_ms']:8.3f} {ref_stats.get('wall_ms', math.nan):8.3f} "
                f"{row.get(f'speedup_wall_{size}', math.nan):6.1f} "
                f"{row.get(f'speedup_cpu_{size}', math.nan):6.1f}"
            )
        extra = (
            "MAD " + " ".join(f"{v:.4f}" for v in row["fidelity_mad"])
            if "fidelity_mad" in row
            else f"ratio {row['strength_ratio']:.2f}"
            if "strength_ratio" in row
            else row.get("reference_error", "")
        )
        print(f"{name:18s} " + " ".join(cells) + "  " + extra, flush=True)

    summary = {}
    for size in args.sizes:
        for clock in ("wall", "cpu"):
            ratios = [r[f"speedup_{clock}_{size}"] for r in rows if f"speedup_{clock}_{size}" in r]
            summary[f"geomean_speedup_{clock}_{size}"] = geometric_mean(ratios)
            summary[f"slower_than_reference_{clock}_{size}"] = [
                r["name"] for r in rows if r.get(f"speedup_{clock}_{size}", math.inf) < 1
            ]
    for key, value in summary.items():
        print(f"{key}: {value if isinstance(value, list) else round(value, 2)}")

    result = {
        "benchmark": "corruptions",
        "severity": args.severity,
        "batch": args.batch,
        "sizes": list(args.sizes),
        "repeats": args.repeats,
        "statistic": "median over repeats (min also stored); speed-ups are ratios of medians",
        "reference_images": {str(k): v for k, v in ref_counts.items()},
        "reference": None
        if corrupt is None
        else "pillow (imagecorruptions' JPEG code path)"
        if corrupt is pillow_jpeg
        else "imagecorruptions",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "summary": summary,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
