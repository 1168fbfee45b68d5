"""The bundled demo data: scikit-learn's 1,797 real 8x8 handwritten digits, scaled to [0, 1]."""

from __future__ import annotations

import numpy as np

from robustlab.data.arrays import ArrayDataset

__all__ = ["load_digits", "shifted_digits"]


def load_digits(split: str = "test", *, test_fraction: float = 0.3, seed: int = 0) -> ArrayDataset:
    """Digits as images ``(N, 1, 8, 8)`` in ``[0, 1]`` with a fixed stratified train/test split.

    Args:
        split: ``train``, ``test`` or ``all``.
        test_fraction: Share of each class held out for ``test``.
        seed: Seed of the split (the same seed gives the same split everywhere).
    """
    from sklearn.datasets import load_digits as sk_digits

    from robustlab.errors import ConfigError

    if split not in ("train", "test", "all"):
        raise ConfigError(f"The 'split' parameter must be 'train', 'test' or 'all'. Got {split!r}.")
    d = sk_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]
    y = d.target.astype(np.int64)
    ids = np.array([f"digits-{i:04d}" for i in range(len(y))])
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        chosen = rng.choice(members, size=round(len(members) * test_fraction), replace=False)
        test_mask[chosen] = True
    mask = {"train": ~test_mask, "test": test_mask, "all": np.ones(len(y), dtype=bool)}[split]
    return ArrayDataset(
        x[mask],
        y[mask],
        ids=ids[mask].tolist(),
        class_names=[str(i) for i in range(10)],
        name=f"digits-{split}",
    )


def shifted_digits(style: str, split: str = "test", *, seed: int = 0) -> ArrayDataset:
    """The digits written with another pen: ``thick`` strokes (grey-level dilation over a 2x2
    window) or ``thin`` strokes (erosion). A style shift of the whole population, unlike the
    per-image noise of a corruption.
    """
    import torch
    import torch.nn.functional as F

    from robustlab.errors import ConfigError

    base = load_digits(split, seed=seed)
    x = F.pad(base.inputs, (0, 1, 0, 1), mode="replicate")
    if style == "thick":
        styled = F.max_pool2d(x, 2, stride=1)
    elif style == "thin":
        styled = -F.max_pool2d(-x, 2, stride=1)
    else:
        raise ConfigError(
            f"The 'style' parameter must be 'thick' or 'thin'. Got {style!r} instead."
        )
    return ArrayDataset(
        torch.clamp(styled, 0, 1),
        base.targets,
        ids=[f"{i}-{style}" for i in base.ids],
        class_names=base.class_names,
        name=f"{base.name}-{style}",
    )
