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
    """

    def __init__(
        self,
        root: str | Path,
        *,
        size: tuple[int, int] | None = None,
        mode: str | None = None,
        name: str | None = None,
    ) -> None:
        from PIL import Image

        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"Image folder {str(self.root)!r} does not exist.")
        classes = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        if not classes:
            raise DataError(
                f"{str(self.root)!r} has no class sub-folders; arrange images as "
                f"ROOT/<class name>/<image>.png."
            )
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
        self.files = files
        sizes = set()
        modes = set()
        for f in files:
            with Image.open(f) as im:
                sizes.add(im.size)
                modes.add(im.mode)
        if size is None and len(sizes) > 1:
            raise DataError(
                f"Images under {str(self.root)!r} have {len(sizes)} different sizes; pass "
                f"size=(H, W) (CLI: --image-size H,W) to resize them to one."
            )
        self.size = size
        self.mode = mode or ("L" if modes <= {"L", "1", "I;16", "I"} else "RGB")
        ids = [str(f.relative_to(self.root)) for f in files]
        super().__init__(name=name or self.root.name, targets=targets, ids=ids, class_names=classes)

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
