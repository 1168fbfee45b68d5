"""Digits tensors and tiny networks for the training tests (seeded, CPU, seconds)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from robustlab.data import ArrayDataset, load_digits


def mlp(hidden: int = 128, seed: int = 0, classes: int = 10) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, classes))


@pytest.fixture(scope="session")
def digits_train() -> ArrayDataset:
    return load_digits("train")


@pytest.fixture(scope="session")
def digits_eval() -> ArrayDataset:
    return load_digits("test")


@pytest.fixture(scope="session")
def small_train(digits_train: ArrayDataset) -> tuple[torch.Tensor, torch.Tensor]:
    return digits_train.inputs[:256].float(), torch.as_tensor(digits_train.targets[:256])
