"""Label-noise injection as a data perturbation: symmetric and class-conditional flips
(the noise models of Natarajan et al., Learning with Noisy Labels, NeurIPS 2013)."""

from __future__ import annotations

from typing import Any

import numpy as np

from robustlab.errors import ConfigError
from robustlab.validation import check_number

__all__ = ["noisy_labels"]


def noisy_labels(
    labels: Any,
    *,
    rate: float = 0.1,
    num_classes: int | None = None,
    transition: Any = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels with injected noise and the mask of flipped ones.

    Symmetric noise (default): each label flips with probability ``rate`` to a uniformly drawn
    other class. Class-conditional noise: ``transition`` is a (K, K) row-stochastic matrix,
    ``transition[i, j]`` the probability that class ``i`` is recorded as ``j``.
    """
    y = np.asarray(labels).astype(np.int64)
    k = int(num_classes if num_classes is not None else y.max() + 1)
    if len(y) and (y.min() < 0 or y.max() >= k):
        raise ConfigError(f"Labels must be class ids in [0, {k - 1}]; got {y.min()}..{y.max()}.")
    rng = np.random.default_rng(seed)
    if transition is None:
        check_number("noisy_labels", "rate", rate, high=1.0, low_inclusive=True)
        flip = rng.random(len(y)) < rate
        other = (y + rng.integers(1, k, size=len(y))) % k if k > 1 else y
        noisy = np.where(flip, other, y)
    else:
        t = np.asarray(transition, dtype=np.float64)
        if t.shape != (k, k) or (t < 0).any() or not np.allclose(t.sum(axis=1), 1):
            raise ConfigError(
                f"transition must be a ({k}, {k}) matrix of probabilities whose rows sum to 1; "
                f"got shape {t.shape}."
            )
        cum = t.cumsum(axis=1)[y]
        noisy = (rng.random(len(y))[:, None] > cum).sum(axis=1).clip(0, k - 1)
    return noisy, noisy != y
