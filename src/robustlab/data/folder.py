"""Images stored as ``root/<class name>/<image file>``, read with Pillow on demand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from robustlab.data.base import Dataset
from robustlab.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "ImageFolderDataset"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class ImageFolderDataset(Dataset):
    """One sub-folder per class (sorted names give labels 0..K-1), images scaled to ``[0, 1]``.

    Args:
        root: The folder holding one sub-folder per class.
        size: ``(height, width)`` to resize every image to; required when sizes differ.
        mode: ``"L"`` (grayscale, 1 channel), ``"RGB"`` (3 channels) or ``None`` to use RGB
            unless every image is grayscale.
        name: Dataset name (the folder name by default).
        channels: ``1`` or ``3`` to convert every image to grayscale or RGB (same as
            ``mode="L"`` / ``"RGB"``; CLI ``--channels``).
        skip_unreadable: Leave out files Pillow cannot read (counted in ``skipped``) instead of
            failing on the first one.
        classes: The class folder names in the model's class order (class 0 first); by default
            names sort numerically when all are integers, else alphabetically.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        size: tuple[int, int] | None = None,
        mode: str | None = None,
        name: str | None = None,
        channels: int | None = None,
        skip_unreadable: bool = False,
        classes: list[str] | tuple[str, ...] | None = None,
    ) -> None:
        from PIL import Image, UnidentifiedImageError

        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"Image folder {str(self.root)!r} does not exist.")
        found = [d.name for d in self.root.iterdir() if d.is_dir()]
        if not found:
            raise DataError(
                f"{str(self.root)!r} has no class sub-folders; arrange images as "
                f"ROOT/<class name>/<image>.png."
            )
        if classes is not None:
            given = [str(c) for c in classes]
            missing = [c for c in given if c not in found]
            extra = sorted(set(found) - set(given))
            if missing or extra or len(set(given)) != len(given):
                raise DataError(
                    f"classes={given} must name each class folder of {str(self.root)!r} once "
                    f"(folders: {', '.join(sorted(found))}"
                    + (f"; not folders: {', '.join(missing)}" if missing else "")
                    + (f"; not named: {', '.join(extra)}" if extra else "")
                    + ")."
                )
            self.class_order = "given"
            classes = given
        elif all(n.lstrip("-").isdigit() for n in found):
            classes = sorted(found, key=int)
            self.class_order = "numeric"
        else:
            classes = sorted(found)
            self.class_order = "alphabetical"
        if channels is not None:
            if channels not in (1, 3):
                raise DataError(
                    f"The 'channels' parameter must be 1 (grayscale) or 3 (RGB). Got {channels!r}."
                )
            want = "L" if channels == 1 else "RGB"
            if mode is not None and mode != want:
                raise DataError(
                    f"channels={channels} and mode={mode!r} disagree; pass only one of them."
                )
            mode = want
        files: list[Path] = []
        targets: list[int] = []
        for label, cls in enumerate(classes):
            for f in sorted((self.root / cls).iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    files.append(f)
                    targets.append(label)
        if not files:
            raise DataError(
                f"No images ({', '.join(IMAGE_SUFFIXES)}) found under {str(self.root)!r}."
            )
        if mode not in (None, "L", "RGB"):
            raise DataError(f"The 'mode' parameter must be 'L', 'RGB' or None. Got {mode!r}.")
        sizes = set()
        modes = set()
        kept: list[Path] = []
        kept_targets: list[int] = []
        self.skipped: list[str] = []
        for f, t in zip(files, targets, strict=True):
            try:
                with Image.open(f) as im:
                    im.load()
                    sizes.add(im.size)
                    modes.add(im.mode)
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                if not skip_unreadable:
                    raise DataError(
                        f"Cannot read image {str(f)!r} ({type(exc).__name__}: {exc}); remove or "
                        f"replace it, or pass skip_unreadable=True (CLI: --skip-unreadable) to "
                        f"leave unreadable files out."
                    ) from None
                self.skipped.append(str(f.relative_to(self.root)))
                continue
            kept.append(f)
            kept_targets.append(t)
        if not kept:
            raise DataError(
                f"None of the {len(files)} images under {str(self.root)!r} is readable."
            )
        if self.skipped:
            import warnings

            warnings.warn(
                f"Skipped {len(self.skipped)} unreadable image file(s) under {str(self.root)!r} "
                f"(the first: {self.skipped[0]}).",
                stacklevel=2,
            )
        files, targets = kept, kept_targets
        self.files = files
        self.mixed_modes = (
            len({"L" if m in ("L", "1", "I;16", "I", "LA") else "RGB" for m in modes}) > 1
        )
        if size is None and len(sizes) > 1:
            raise DataError(
                f"Images under {str(self.root)!r} have {len(sizes)} different sizes; pass "
                f"size=(H, W) (CLI: --image-size H,W) to resize them to one."
            )
        self.size = size
        self.mode = mode or ("L" if modes <= {"L", "1", "I;16", "I"} else "RGB")
        ids = [str(f.relative_to(self.root)) for f in files]
        super().__init__(name=name or self.root.name, targets=targets, ids=ids, class_names=classes)

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["class_order"] = self.class_order
        if self.skipped:
            out["skipped_unreadable"] = len(self.skipped)
            out["skipped_files"] = self.skipped[:20]
        return out

    def _read(self, path: Path) -> np.ndarray:
        from PIL import Image

        try:
            with Image.open(path) as im:
                im = im.convert(self.mode)
                if self.size is not None:
                    im = im.resize((self.size[1], self.size[0]), Image.Resampling.BILINEAR)
                arr = np.asarray(im, dtype=np.float32) / 255.0
        except OSError as exc:
            raise DataError(f"Cannot read image {str(path)!r}: {exc}") from None
        return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)

    def load_inputs(self, indices: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.stack([self._read(self.files[i]) for i in indices]))

    def _content_hash(self, h: Any) -> None:
        h.update(repr((self.size, self.mode)).encode())
        for f in self.files:
            h.update(f.read_bytes())
