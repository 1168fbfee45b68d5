"""Speed and fidelity of robustlab.corruptions against the imagecorruptions package."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlab import corruptions

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


def time_ours(name: str, batch: torch.Tensor, severity: int, repeats: int) -> float:
    corruptions.apply(batch[:2], name, severity)  # warm caches (frost textures, kernels)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        corruptions.apply(batch, name, severity, seed=0)
        best = min(best, time.perf_counter() - start)
    return best / batch.shape[0]


def time_reference(
    corrupt: Callable[..., np.ndarray], name: str, images: np.ndarray, severity: int
) -> float:
    corrupt(images[0], corruption_name=name, severity=severity)
    start = time.perf_counter()
    for image in images:
        corrupt(image, corruption_name=name, severity=severity)
    return (time.perf_counter() - start) / len(images)


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
        "--small",
        type=int,
        nargs=2,
        default=(256, 32),
        metavar=("N", "SIZE"),
        help="batch of small images timed for RobustLab (default 256 x 32 px)",
    )
    parser.add_argument(
        "--large",
        type=int,
        nargs=2,
        default=(64, 224),
        metavar=("N", "SIZE"),
        help="batch of large images timed for RobustLab (default 64 x 224 px)",
    )
    parser.add_argument(
        "--reference-images",
        type=int,
        nargs=2,
        default=(32, 8),
        metavar=("SMALL", "LARGE"),
        help="images timed one at a time for imagecorruptions (default 32, 8)",
    )
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--names", nargs="*", default=SUITE)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    corrupt = None if args.no_reference else load_reference()
    sizes = {"small": tuple(args.small), "large": tuple(args.large)}
    ref_counts = dict(zip(("small", "large"), args.reference_images))
    data = {
        key: natural_images(n, size, seed=i) for i, (key, (n, size)) in enumerate(sizes.items())
    }
    rows = []
    header = (
        f"{'corruption':18s} {'ours ' + str(args.small[1]):>9s} {'ref':>9s} {'x':>6s} "
        f"{'ours ' + str(args.large[1]):>9s} {'ref':>9s} {'x':>6s}  fidelity / strength"
    )
    print(f"ms per image, severity {args.severity}; torch threads {torch.get_num_threads()}")
    print(header)
    for name in args.names:
        spec = corruptions.CORRUPTIONS.get(name)
        row: dict[str, Any] = {"name": name, "family": spec.family, "random": spec.random}
        for key, (_, size) in sizes.items():
            batch = torch.from_numpy(data[key]).permute(0, 3, 1, 2).float() / 255
            row[f"ours_ms_{size}"] = 1000 * time_ours(name, batch, args.severity, args.repeats)
            if corrupt is not None and "reference_error" not in row:
                subset = data[key][: ref_counts[key]]
                try:
                    ref_ms = 1000 * time_reference(corrupt, name, subset, args.severity)
                except Exception as error:  # a reference failure must not stop the others
                    row["reference_error"] = f"{type(error).__name__}: {error}"
                    continue
                row[f"ref_ms_{size}"] = ref_ms
                row[f"speedup_{size}"] = ref_ms / row[f"ours_ms_{size}"]
        if corrupt is not None and "reference_error" not in row:
            # imagecorruptions only has the ImageNet-C tables, so compare on large images.
            sample = data["large"][:4]
            if spec.random:
                row["strength_ratio"] = change_ratio(corrupt, name, sample, args.severity)
            else:
                row["fidelity_mad"] = fidelity(corrupt, name, sample)
        rows.append(row)
        small, large = args.small[1], args.large[1]
        cells = [
            f"{row[f'ours_ms_{small}']:9.2f}",
            f"{row.get(f'ref_ms_{small}', np.nan):9.2f}",
            f"{row.get(f'speedup_{small}', np.nan):6.1f}",
            f"{row[f'ours_ms_{large}']:9.2f}",
            f"{row.get(f'ref_ms_{large}', np.nan):9.2f}",
            f"{row.get(f'speedup_{large}', np.nan):6.1f}",
        ]
        extra = (
            "MAD " + " ".join(f"{v:.4f}" for v in row["fidelity_mad"])
            if "fidelity_mad" in row
            else f"ratio {row['strength_ratio']:.2f}"
            if "strength_ratio" in row
            else row.get("reference_error", "")
        )
        print(f"{name:18s} " + " ".join(cells) + "  " + extra, flush=True)

    result = {
        "benchmark": "corruptions",
        "severity": args.severity,
        "sizes": {k: {"n": n, "size": s} for k, (n, s) in sizes.items()},
        "reference_images": ref_counts,
        "reference": None if corrupt is None else "imagecorruptions",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
