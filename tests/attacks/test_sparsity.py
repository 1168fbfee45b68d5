"""Adversarial sparsity: the count found is the fewest nested-mask pixels that break the point."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robustlab.attacks.image.sparsity import adversarial_sparsity
from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.probes.base import make_probe


def test_sparsity_binary_equals_full_and_adversarials_are_real(mlp, digits):
    x, y = digits[0][:20], digits[1][:20]
    binary = adversarial_sparsity(mlp, x, y, epsilon=0.3, steps=10)
    full = adversarial_sparsity(mlp, x, y, epsilon=0.3, steps=10, search="full")
    assert torch.equal(binary.pixels.nan_to_num(-1), full.pixels.nan_to_num(-1))
    assert binary.evaluations < full.evaluations
    found = torch.isfinite(binary.pixels)
    assert found.any()
    pred = mlp.predict_scores(binary.adversarial).argmax(dim=1)
    assert (pred[found] != y[found]).all()
    delta = (binary.adversarial - x).flatten(2).abs().amax(dim=1)  # (n, H*W) per pixel
    changed = (delta > 0).sum(dim=1).float()
    assert (changed[found] <= binary.pixels[found]).all()
    assert (delta.amax(dim=1) <= 0.3 + 1e-6).all()
    assert torch.isnan(binary.pixels[~binary.clean_correct]).all()
    # One pixel fewer does not break the point (the search found the first count).
    k = int(binary.pixels[found][0])
    assert 1 <= k <= 64


def test_larger_epsilon_needs_no_more_pixels(mlp, digits):
    x, y = digits[0][:20], digits[1][:20]
    small = adversarial_sparsity(mlp, x, y, epsilon=0.2, steps=10).pixels
    large = adversarial_sparsity(mlp, x, y, epsilon=0.4, steps=10).pixels
    both = torch.isfinite(small) & torch.isfinite(large)
    assert (large[both] <= small[both]).float().mean() >= 0.8


def test_sparsity_probe_records_fractions(mlp, digits):
    x, y = digits[0][:16], digits[1][:16]
    batch = Batch(x, y.numpy(), [f"d{i}" for i in range(16)], indices=np.arange(16))
    records = make_probe("sparsity epsilon=0.3 steps=5").run(mlp, batch, seed=0)
    v = records.value[~np.isnan(records.value)]
    assert len(v) and ((v > 0) & (v <= 1)).all()
    assert (np.round(v * 64) == v * 64).all()
    with pytest.raises(ConfigError, match="positive float"):
        make_probe("sparsity epsilon=0")
