"""Image encoding at the boundary: tensors in [0, 1] to PNG artifacts for the report."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import torch

__all__ = ["png_artifact"]

_MAX_SIDE = 160


def png_artifact(image: torch.Tensor, name: str, **meta: Any) -> dict[str, Any]:
    """A base64 PNG artifact of one image ``(C, H, W)`` with values in ``[0, 1]``."""
    from PIL import Image

    arr = image.detach().float().clamp(0, 1).cpu().numpy()
    arr = np.round(arr * 255).astype(np.uint8)
    pil = (
        Image.fromarray(arr[0], mode="L")
        if arr.shape[0] == 1
        else Image.fromarray(arr[:3].transpose(1, 2, 0), mode="RGB")
    )
    if max(pil.size) > _MAX_SIDE:  # keep the report small for large images
        pil.thumbnail((_MAX_SIDE, _MAX_SIDE))
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return {
        "name": name,
        "media_type": "image/png",
        "data": base64.b64encode(buf.getvalue()).decode("ascii"),
        "meta": meta,
    }
