"""The certified-robustness demo: a noise-trained digits CNN, certified and attacked on the same
points, so the report's gap chart shows verified <= certified / robust <= clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from robustlab.data import ArrayDataset
from robustlab.data.loading import load_dataset
from robustlab.demo.digits import DigitsCNN
from robustlab.models import TorchModel

#: Monte Carlo samples per point of the demo's smoothing certificate. The radius is computed
#: honestly at this n (Clopper-Pearson at alpha=0.001), so it is smaller than at the paper's
#: n=100,000: the demo trades tightness for a run of about a minute on two cores.
DEMO_N = 500


def certified_demo_suite(n: int = DEMO_N) -> dict[str, Any]:
    """The certified demo suite: smoothing at the paper's middle sigma with ``n`` samples, IBP
    and CROWN, and the attacks at the same budgets (the standard ensemble at L-infinity)."""
    return {
        "name": "certified-demo",
        "version": 2,
        "description": f"certificates (smoothing at n={n}) and attacks at the same budgets",
        "probes": [
            "clean",
            {"probe": "certify_smoothing", "sigma": 0.25, "epsilon": 0.25, "n0": 50, "n": n},
            {"probe": "verify_bounds", "method": "ibp", "norm": "linf", "epsilon": "2/255"},
            {"probe": "verify_bounds", "method": "crown", "norm": "linf", "epsilon": "2/255"},
            {"probe": "verify_bounds", "method": "crown", "norm": "l2", "epsilon": 0.25},
            {"probe": "ensemble", "norm": "linf", "epsilon": "2/255"},
            {"probe": "attack", "attack": "pgd", "norm": "l2", "epsilon": 0.25, "steps": 20},
        ],
    }


#: The demo suite at the full 1,000 samples used before (about 9 minutes with 100 points).
CERTIFIED_DEMO = {
    "name": "certified-demo",
    "version": 1,
    "description": "certificates and attacks at the same budgets on 100 digits",
    "probes": [
        "clean",
        {"probe": "certify_smoothing", "sigma": 0.25, "epsilon": 0.25, "n": 1000},
        {"probe": "verify_bounds", "method": "ibp", "norm": "linf", "epsilon": "2/255"},
        {"probe": "verify_bounds", "method": "crown", "norm": "linf", "epsilon": "2/255"},
        {"probe": "verify_bounds", "method": "crown", "norm": "l2", "epsilon": 0.25},
        {"probe": "ensemble", "norm": "linf", "epsilon": "2/255"},
        {"probe": "attack", "attack": "pgd", "norm": "l2", "epsilon": 0.25, "steps": 20},
    ],
}


def train_noisy_cnn(
    *, sigma: float = 0.25, epochs: int = 12, seed: int = 0, width: int = 16
) -> TorchModel:
    """The digits CNN trained on Gaussian-noise-augmented inputs, the base classifier that
    randomized smoothing needs (Cohen et al. train with the noise they certify with)."""
    train = load_dataset("digits-train")
    assert isinstance(train, ArrayDataset)
    torch.manual_seed(seed)
    net = DigitsCNN(width)
    x, y = train.inputs, torch.as_tensor(train.targets)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = order[i : i + 64]
            noisy = x[idx] + sigma * torch.randn(x[idx].shape, generator=g)
            opt.zero_grad()
            nn.functional.cross_entropy(net(noisy), y[idx]).backward()
            opt.step()
    return TorchModel(net, bounds=(0.0, 1.0), num_classes=10, name=f"digits-cnn-noise{sigma:g}")


def run_certify_demo(
    *,
    store: Any = None,
    out: str | Path = "robustlab-report",
    seed: int = 0,
    progress: bool = True,
    examples: int = 40,
    n: int = DEMO_N,
    width: int = 8,
    epochs: int = 8,
) -> tuple[list[Any], Path, Path]:
    """Train the noise-trained CNN (``width`` channels, ``epochs`` epochs), scan it with the
    certified demo suite (smoothing at ``n`` samples) on the first ``examples`` test digits and
    write the report with its gap chart."""
    from robustlab.report import write_report
    from robustlab.runner import scan
    from robustlab.store import open_store

    db = open_store(store)
    test = load_dataset("digits-test")
    assert isinstance(test, ArrayDataset)
    data = ArrayDataset(
        test.inputs[:examples], test.targets[:examples], ids=test.ids[:examples], name="digits"
    )
    model = train_noisy_cnn(seed=seed, width=width, epochs=epochs)
    suite = certified_demo_suite(n)
    result = scan(model, data, suite, store=db, seed=seed, progress=progress)
    html, js = write_report(db, [result.run_id], out)
    return [result], html, js
