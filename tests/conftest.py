"""Shared fixtures: real digits data and small models trained in seconds, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from robustlab.data import ArrayDataset, load_digits
from robustlab.demo import train_digits_cnn, train_digits_logreg


@pytest.fixture(scope="session")
def digits_test() -> ArrayDataset:
    return load_digits("test")


@pytest.fixture(scope="session")
def small_digits(digits_test: ArrayDataset) -> ArrayDataset:
    """The first 120 test digits, with a group column for metadata plumbing."""
    idx = np.arange(120)
    return ArrayDataset(
        digits_test.inputs[idx],
        digits_test.targets[idx],
        ids=[digits_test.ids[i] for i in idx],
        meta={"group": ["even" if y % 2 == 0 else "odd" for y in digits_test.targets[idx]]},
        class_names=digits_test.class_names,
        name="digits-small",
    )


@pytest.fixture(scope="session")
def cnn():
    return train_digits_cnn(epochs=4, seed=0)


@pytest.fixture(scope="session")
def logreg():
    return train_digits_logreg()


@pytest.fixture()
def store_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/store.db"


@pytest.fixture(scope="session", autouse=True)
def _single_thread():
    """One torch thread: small-batch tests are faster and steadier on a 2-core machine, where two
    threads per process oversubscribe the cores as soon as anything else runs."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
