"""Group DRO raises worst-group accuracy on digits with a spurious corner patch."""

from __future__ import annotations

import numpy as np
import torch
from tests.training.conftest import mlp

from robustlab.training import fit, make_recipe


def spurious_digits(data, majority: float, seed: int):
    """Digit >= 5 or not, with a 3x3 corner patch that agrees with the label for a ``majority``
    share of examples; groups are (label, patch), the minorities those where they disagree."""
    rng = np.random.default_rng(seed)
    x = data.inputs.clone().float()
    y = torch.as_tensor((np.asarray(data.targets) >= 5).astype(np.int64))
    agree = rng.random(len(y)) < majority
    patch = torch.as_tensor(np.where(agree, y.numpy(), 1 - y.numpy()))
    x[patch == 1, :, :3, :3] = 1.0
    x[patch == 0, :, :3, :3] = 0.0
    return x, y, y * 2 + patch


def worst_group(net, x, y, g) -> float:
    net.eval()
    with torch.no_grad():
        pred = net(x).argmax(1)
    return min(float((pred[g == k] == y[g == k]).float().mean()) for k in range(4))


def test_group_dro_raises_worst_group_accuracy_over_erm(digits_train, digits_eval):
    x, y, g = spurious_digits(digits_train, 0.97, seed=0)
    assert int(torch.bincount(g).min()) < 40  # two small minority groups
    xt, yt, gt = spurious_digits(digits_eval, 0.5, seed=1)  # balanced test groups
    kw = dict(epochs=10, lr=0.05, weight_decay=0.01)
    erm = fit(mlp(classes=2), (x, y), "standard", **kw).module
    dro = fit(mlp(classes=2), (x, y, g), make_recipe("group_dro", eta=0.1), **kw).module
    erm_wga, dro_wga = worst_group(erm, xt, yt, gt), worst_group(dro, xt, yt, gt)
    assert dro_wga > erm_wga + 0.3, (erm_wga, dro_wga)
