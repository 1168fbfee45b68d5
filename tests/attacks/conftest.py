"""Offline, seeded fixture models for the attack tests: small nets trained on scikit-learn digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from torch import nn

from robustlab.models import FunctionModel, SklearnModel, TorchModel


@pytest.fixture(scope="package", autouse=True)
def _single_thread():
    """Run this package single-threaded, restoring the setting afterwards.

    The fixture models are tiny, so intra-op threads only add overhead, and on a busy 2-core
    machine they spin against other processes (tens of times slower in practice).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _train(net: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int) -> nn.Module:
    torch.manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            b = perm[i : i + 128]
            loss = nn.functional.cross_entropy(net(x[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


@pytest.fixture(scope="session")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32).view(-1, 1, 8, 8)
    return x, torch.tensor(data.target)


@pytest.fixture(scope="session")
def batch(digits: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = digits
    return x[:24], y[:24]


@pytest.fixture(scope="session")
def mlp(digits: tuple[torch.Tensor, torch.Tensor]) -> TorchModel:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    return TorchModel(_train(net, *digits, epochs=20), num_classes=10, name="mlp")


@pytest.fixture(scope="session")
def cnn(digits: tuple[torch.Tensor, torch.Tensor]) -> TorchModel:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128, 10),
    )
    return TorchModel(_train(net, *digits, epochs=10), num_classes=10, name="cnn")


@pytest.fixture(scope="session")
def black_box(mlp: TorchModel) -> FunctionModel:
    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(mlp.module(torch.as_tensor(batch)), dim=1).numpy()

    return FunctionModel(predict, num_classes=10, output="probabilities", name="mlp-api")


@pytest.fixture(scope="session")
def label_only(mlp: TorchModel) -> FunctionModel:
    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return mlp.module(torch.as_tensor(batch)).argmax(dim=1).numpy()

    return FunctionModel(predict, num_classes=10, output="labels", name="mlp-labels")


@pytest.fixture(scope="session")
def sklearn_model(digits: tuple[torch.Tensor, torch.Tensor]) -> SklearnModel:
    x, y = digits
    clf = LogisticRegression(max_iter=500).fit(x.flatten(1).numpy(), y.numpy())
    return SklearnModel(clf, modality="image", bounds=(0.0, 1.0), name="logreg")
