"""The offline demo: real models trained in seconds on scikit-learn's digits, scanned and reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robustlab.data import ArrayDataset, Dataset, load_dataset, shifted_digits, slice_by
from robustlab.models import SklearnModel, TorchModel

__all__ = ["DigitsCNN", "ink_groups", "run_demo", "train_digits_cnn", "train_digits_logreg"]


class DigitsCNN(nn.Module):
    """A small convolutional network for 8x8 single-channel digits."""

    def __init__(self, width: int = 16, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(2 * width * 16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def train_digits_cnn(
    train: ArrayDataset | None = None,
    *,
    epochs: int = 12,
    seed: int = 0,
    width: int = 16,
    name: str = "digits-cnn",
) -> TorchModel:
    """Train :class:`DigitsCNN` on the digits training split (a few seconds on a CPU)."""
    train = train or load_dataset("digits-train")  # type: ignore[assignment]
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
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    return TorchModel(net, bounds=(0.0, 1.0), num_classes=10, name=name)


def train_digits_logreg(
    train: ArrayDataset | None = None, *, C: float = 1.0, name: str = "digits-logreg"
) -> SklearnModel:
    """A scikit-learn logistic regression on flattened digits, scanned through the black-box path."""
    from sklearn.linear_model import LogisticRegression

    train = train or load_dataset("digits-train")  # type: ignore[assignment]
    assert isinstance(train, ArrayDataset)
    clf = LogisticRegression(max_iter=2000, C=C)
    clf.fit(train.inputs.reshape(len(train), -1).numpy(), np.asarray(train.targets))
    return SklearnModel(clf, modality="image", bounds=(0.0, 1.0), name=name)


def ink_groups(data: Dataset, edges: tuple[float, float]) -> Dataset:
    """Subgroups by how much ink a digit holds (mean pixel value below, between or above
    ``edges``): light, medium and heavy writers, a real subpopulation of the digits."""

    def ink(x: torch.Tensor, meta: dict[str, Any]) -> str:
        value = float(x.mean())
        return (
            "light ink" if value < edges[0] else "heavy ink" if value > edges[1] else "medium ink"
        )

    return slice_by(data, ink)


def run_demo(
    *,
    store: Any = None,
    out: str | Path = "robustlab-report",
    suite: str = "quick",
    seed: int = 0,
    progress: bool = True,
) -> tuple[list[Any], Path, Path]:
    """Train both demo models, scan them with ``suite`` and write the report.

    Returns:
        The two ScanResults, and the paths of the HTML report and the JSON export.
    """
    from robustlab.report import write_report
    from robustlab.runner import scan
    from robustlab.store import open_store

    db = open_store(store)
    test = load_dataset("digits-test")
    assert isinstance(test, ArrayDataset)
    # Subgroups: terciles of ink per digit on the clean test set (light to heavy writers).
    ink = test.inputs.flatten(1).mean(1)
    edges = (float(ink.quantile(1 / 3)), float(ink.quantile(2 / 3)))
    test = ink_groups(test, edges)
    # A style shift of the whole population: the same digits written with a thicker and a
    # thinner pen, scanned with the test set so every probe reports each domain.
    shift = {
        "thick-pen": ink_groups(load_dataset("digits-thick"), edges),
        "thin-pen": ink_groups(load_dataset("digits-thin"), edges),
    }
    # The linear model is the baseline that normalises the CNN's corruption errors (mCE), as
    # AlexNet is for ImageNet-C.
    baseline = scan(
        train_digits_logreg(), test, suite, store=db, seed=seed, progress=progress, shift=shift
    )
    cnn = scan(
        train_digits_cnn(seed=seed),
        test,
        suite,
        store=db,
        seed=seed,
        progress=progress,
        baseline=baseline.run_id,
        shift=shift,
    )
    # A population of cheaper models, scanned clean under the same shift, for the
    # effective-robustness fit (OOD vs ID accuracy across models).
    population = {"name": "population", "description": "clean only", "probes": ["clean"]}
    extra = [
        train_digits_cnn(epochs=1, seed=seed, width=4, name="digits-cnn-small"),
        train_digits_cnn(epochs=3, seed=seed, width=8, name="digits-cnn-medium"),
        *(train_digits_logreg(C=c, name=f"digits-logreg-C{c:g}") for c in (0.001, 0.01, 0.1)),
    ]
    # Models trained on the thick-pen style: the in-domain reference of the Target Drop, and a
    # population trained on different data for the multi-ID-test-set effective robustness.
    thick_train = shifted_digits("thick", split="train", seed=seed)
    thick = [
        train_digits_cnn(thick_train, seed=seed, name="digits-cnn-thick-pen"),
        *(
            train_digits_logreg(thick_train, C=c, name=f"digits-logreg-thick-pen-C{c:g}")
            for c in (0.01, 1.0)
        ),
    ]
    for model in thick:
        model.trained_on = "thick-pen"
    for model in [*extra, *thick]:
        scan(model, test, population, store=db, seed=seed, progress=False, shift=shift)
    results = [cnn, baseline]
    html, js = write_report(db, [r.run_id for r in results], out)
    return results, html, js
