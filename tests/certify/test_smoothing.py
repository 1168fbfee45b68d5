"""Randomized smoothing: closed-form answers on a linear classifier, abstention, streaming, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from robustlab.certify import ABSTAIN, min_samples, predict, smoothing
from robustlab.errors import ConfigError


class Linear(torch.nn.Module):
    """Binary linear classifier: class 1 where w.x + b > 0."""

    def __init__(self, w: torch.Tensor, b: float) -> None:
        super().__init__()
        self.w, self.b = w, b
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(len(x))
        s = x.flatten(1) @ self.w + self.b
        return torch.stack([-s, s], 1)


W = torch.tensor([3.0, -4.0])  # ||w|| = 5


def test_linear_classifier_radius_matches_distance_to_the_hyperplane() -> None:
    """The smoothed linear classifier is the base one, and its exact radius is the distance
    |w.x + b| / ||w|| (Cohen et al. Appendix); CERTIFY's radius is a slightly smaller lower bound."""
    sigma = 0.5
    x = torch.tensor([[0.2, 0.0], [0.0, 0.2], [-0.1, 0.1], [0.1, -0.1]])
    dist = (x @ W + 0.1).abs() / 5
    res = smoothing(Linear(W, 0.1), x, sigma=sigma, n0=50, n=20_000, alpha=0.001, seed=1)
    base = ((x @ W + 0.1) > 0).long().numpy()
    assert (res.prediction == base).all()
    exact = sigma * norm.ppf(norm.cdf(dist.numpy() / sigma))
    assert np.allclose(exact, dist.numpy())
    assert (res.radius <= dist.numpy() + 1e-9).all()
    assert (res.radius >= dist.numpy() - 0.04).all()
    assert res.certified_accuracy(base, 0.0) == 1.0


def test_predict_abstains_on_the_decision_boundary_and_not_far_from_it() -> None:
    model = Linear(W, 0.0)
    x = torch.tensor([[0.0, 0.0], [1.0, -1.0], [-1.0, 1.0]])
    out = predict(model, x, sigma=0.25, n=2000, alpha=0.001, seed=0)
    assert out[0] == ABSTAIN and out[1] == 1 and out[2] == 0
    cert = smoothing(model, x[:1], sigma=0.25, n=2000, seed=0)
    assert cert.abstained[0] and cert.radius[0] == 0.0


def test_noise_is_streamed_in_batches_and_seeded() -> None:
    model = Linear(W, 0.1)
    x = torch.tensor([[0.01, 0.0]])
    a = smoothing(model, x, sigma=0.5, n0=10, n=5000, batch_size=64, seed=3)
    assert max(model.calls) <= 64  # memory is flat in n: never more than one batch of copies
    b = smoothing(model, x, sigma=0.5, n0=10, n=5000, batch_size=64, seed=3)
    c = smoothing(model, x, sigma=0.5, n0=10, n=5000, batch_size=64, seed=4)
    assert a.counts.tolist() == b.counts.tolist() and a.radius.tolist() == b.radius.tolist()
    assert a.counts.tolist() != c.counts.tolist()


def test_smallest_n_and_bad_input_fail_before_work() -> None:
    assert min_samples(0.001) == 10  # 0.001 ** (1/10) > 1/2 >= 0.001 ** (1/9)
    assert 0.001 ** (1 / 10) > 0.5 >= 0.001 ** (1 / 9)
    model = Linear(W, 0.1)
    x = torch.zeros(1, 2)
    with pytest.raises(ConfigError, match="'sigma'"):
        smoothing(model, x, sigma=0.0)
    with pytest.raises(ConfigError, match=r"at least 10 for alpha=0\.001"):
        smoothing(model, x, sigma=0.5, n=9)
    with pytest.raises(ConfigError, match="at least 11"):
        predict(model, x, sigma=0.5, n=10)
    with pytest.raises(ConfigError, match="'alpha'"):
        smoothing(model, x, sigma=0.5, alpha=0.7)
    assert model.calls == []
    assert len(smoothing(model, x, sigma=0.5, n0=1, n=10).radius) == 1


def test_inputs_outside_the_model_bounds_are_refused() -> None:
    from robustlab.models import TorchModel

    tm = TorchModel(Linear(W, 0.1), bounds=(0.0, 1.0), num_classes=2, modality="tabular")
    with pytest.raises(ConfigError, match="within the model's bounds"):
        smoothing(tm, torch.tensor([[2.0, 0.0]]), sigma=0.5, n=100)


@pytest.mark.slow
def test_attack_on_the_smoothed_classifier_stays_outside_certified_radii() -> None:
    """For the linear classifier the worst L2 perturbation is known (along -w): moving each
    certified point by just under its radius never changes the smoothed prediction."""
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, generator=rng) * 0.3
    model = Linear(W, 0.1)
    res = smoothing(model, x, sigma=0.5, n=10_000, seed=0)
    step = -torch.as_tensor(np.where(res.prediction == 1, 1.0, -1.0))[:, None] * W / 5
    adv = x + 0.99 * torch.as_tensor(res.radius)[:, None].float() * step
    out = predict(model, adv, sigma=0.5, n=10_000, alpha=0.001, seed=9)
    kept = ~res.abstained
    flipped = (out[kept] != res.prediction[kept]) & (out[kept] != ABSTAIN)
    assert flipped.sum() <= 1
