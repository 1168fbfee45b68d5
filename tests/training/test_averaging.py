"""Weight averaging: WiSE-FT endpoints and sweep, soups' known answers, SWA batch-norm statistics."""

from __future__ import annotations

import torch
from tests.training.conftest import mlp
from torch import nn

from robustlab.training import fit, interpolate, make_averager, uniform_soup, wise_ft_sweep
from robustlab.training.averaging.soups import held_out_accuracy


def test_uniform_soup_is_the_mean_of_the_weights():
    a, b = mlp(seed=0), mlp(seed=1)
    soup = uniform_soup([a, b])
    for key, value in soup.state_dict().items():
        assert torch.allclose(value, (a.state_dict()[key] + b.state_dict()[key]) / 2)


def test_wise_ft_endpoints_are_the_two_models_and_the_sweep_scores_each_alpha(small_train):
    base, tuned = mlp(seed=0), fit(mlp(seed=0), small_train, "standard", epochs=3).module
    x = small_train[0][:16]
    with torch.no_grad():
        assert torch.allclose(interpolate(base, tuned, 0.0)(x), base(x))
        assert torch.allclose(interpolate(base, tuned, 1.0)(x), tuned(x))
    score = held_out_accuracy(*small_train)
    rows = wise_ft_sweep(base, tuned, score, alphas=(0.0, 0.5, 1.0))
    assert [r["alpha"] for r in rows] == [0.0, 0.5, 1.0]
    assert rows[0]["score"] == score(base) and rows[-1]["score"] == score(tuned)


def test_swa_recomputes_batchnorm_statistics_for_the_averaged_weights(small_train):
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10)
    )
    result = fit(
        net, small_train, "standard", epochs=3, averaging=make_averager("swa", start_fraction=0.0)
    )
    bn = result.module[2]
    with torch.no_grad():
        h = result.module[1](small_train[0].flatten(1))
    assert torch.allclose(bn.running_mean, h.mean(0), atol=1e-4)
    assert not result.module.training


def test_a_torchmodel_trains_through_its_normalisation_and_averages(small_train):
    from robustlab.models import TorchModel

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10)
    )
    model = TorchModel(net, mean=0.3, std=0.4, num_classes=10)
    result = fit(
        model, small_train, "pgd_at", epochs=2, averaging=make_averager("swa", start_fraction=0.0)
    )
    bn = result.module[2]
    with torch.no_grad():
        h = result.module[1](((small_train[0] - 0.3) / 0.4).flatten(1))
    assert torch.allclose(bn.running_mean, h.mean(0), atol=1e-4)
