"""Measured invariants of randomized smoothing: peak memory does not grow with n, and a
SmoothAdv-style attack (Salman et al., NeurIPS 2019) on the smoothed classifier finds no
adversarial example inside a certified radius beyond the stated failure rate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import binom

from robustlab.certify import ABSTAIN, predict, smoothing

_PEAK = """
import json, resource, sys, torch
from robustlab.certify import smoothing
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
x = torch.rand(1, 3, 32, 32)
smoothing(model, x, sigma=0.25, n0=100, n=1000, batch_size=500)  # warm-up: allocator, kernels
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
smoothing(model, x, sigma=0.25, n0=100, n=int(sys.argv[1]), batch_size=500)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_kib": after - before}))
"""


def _peak_growth_mib(n: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", _PEAK, str(n)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["growth_kib"] / 1024


@pytest.mark.slow
def test_peak_memory_is_flat_in_n() -> None:
    """Peak resident memory (ru_maxrss, after a warm-up) when certifying a 3x32x32 input at
    n=10,000 and n=100,000: materialising every noisy copy would need 123 MB and 1.2 GB; the
    streamed loop needs one batch (500 copies, 6 MB) whatever n is."""
    small, large = _peak_growth_mib(10_000), _peak_growth_mib(100_000)
    assert large < 64, f"peak grew by {large:.1f} MiB at n=100,000"
    assert large < small + 32, f"peak {large:.1f} MiB at n=1e5 vs {small:.1f} MiB at n=1e4"


class _MLP(torch.nn.Module):
    """A fixed random nonlinear classifier: 8 inputs, 3 classes."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.w1 = torch.randn(8, 64, generator=g)
        self.w2 = torch.randn(64, 3, generator=g) / 8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x.flatten(1) @ self.w1) @ self.w2


def _smoothadv(
    model: torch.nn.Module,
    x: torch.Tensor,
    label: torch.Tensor,
    radius: torch.Tensor,
    *,
    sigma: float,
    steps: int = 30,
    samples: int = 64,
    seed: int = 0,
) -> torch.Tensor:
    """SmoothAdv PGD (Salman et al., NeurIPS 2019): ascend the cross-entropy of the Monte Carlo
    soft smoothed classifier (mean softmax over Gaussian copies), L2 steps projected onto each
    point's ball of the given radius."""
    g = torch.Generator().manual_seed(seed)
    delta = torch.zeros_like(x)
    step = 2.5 * radius / steps
    for _ in range(steps):
        delta.requires_grad_(True)
        noise = sigma * torch.randn((samples, *x.shape), generator=g)
        noisy = ((x + delta).unsqueeze(0) + noise).reshape(-1, x.shape[1])
        soft = torch.softmax(model(noisy), 1)
        soft = soft.reshape(samples, len(x), 3).mean(0)
        loss = -torch.log(soft.gather(1, label[:, None]).clamp_min(1e-12)).sum()
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            unit = grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
            delta = delta + step[:, None] * unit
            scale = (radius / delta.norm(dim=1).clamp_min(1e-12)).clamp(max=1.0)
            delta = delta * scale[:, None]
    return (x + delta).detach()


@pytest.mark.slow
def test_smoothadv_finds_no_adversarial_example_inside_certified_radii() -> None:
    """Over 300 points, attacked at 0.99 of each certified radius with PREDICT's Monte Carlo
    answer as the verdict, flips stay within the binomial tail of the stated failure rate
    (alpha for CERTIFY plus alpha for PREDICT); at 3x the radius the same attack does flip
    points, so it is strong enough to be a test."""
    sigma, alpha, n = 0.5, 0.001, 5000
    model = _MLP()
    x = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    res = smoothing(model, x, sigma=sigma, n0=100, n=n, alpha=alpha, seed=0)
    kept = np.flatnonzero(~res.abstained & (res.radius > 0))
    assert len(kept) >= 100
    xs = x[kept]
    label = torch.as_tensor(res.prediction[kept])
    radius = torch.as_tensor(res.radius[kept], dtype=torch.float32)

    def flips(scale: float) -> int:
        adv = _smoothadv(model, xs, label, scale * radius, sigma=sigma)
        out = predict(model, adv, sigma=sigma, n=n, alpha=alpha, seed=7)
        return int(((out != label.numpy()) & (out != ABSTAIN)).sum())

    allowed = int(binom.ppf(1 - 1e-4, len(kept), 2 * alpha))
    assert flips(0.99) <= allowed
    assert flips(3.0) > allowed
