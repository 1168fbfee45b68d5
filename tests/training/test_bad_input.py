"""Bad input is refused before the first step, with a message naming the problem and the fix."""

from __future__ import annotations

import pytest
import torch
from tests.training.conftest import mlp
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from robustlab.errors import ConfigError, DataError, UnknownNameError
from robustlab.models import FunctionModel
from robustlab.training import fit, greedy_soup, make_recipe, uniform_soup


def test_unknown_recipe_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'trades'"):
        make_recipe("trade")


def test_unknown_loss_is_refused_when_the_recipe_is_built():
    with pytest.raises(UnknownNameError, match="Did you mean 'gce'"):
        make_recipe("standard", loss="gcee")


def test_bad_parameter_value_uses_the_standard_message():
    with pytest.raises(ConfigError, match="The 'steps' parameter of recipe 'pgd_at' must be"):
        make_recipe("pgd_at", steps=0)


def test_epsilon_beyond_the_bounds_is_refused(small_train):
    with pytest.raises(ConfigError, match="smaller than the linf diameter"):
        fit(mlp(), small_train, make_recipe("pgd_at", epsilon=1.5), epochs=1)


def test_model_in_eval_mode_with_batchnorm_is_refused(small_train):
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16), nn.Linear(16, 10))
    net.eval()
    with pytest.raises(ConfigError, match=r"is in eval mode.*model\.train"):
        fit(net, small_train, epochs=1)


def test_frozen_model_is_refused(small_train):
    net = mlp()
    for p in net.parameters():
        p.requires_grad_(False)
    with pytest.raises(ConfigError, match="nothing to train"):
        fit(net, small_train, epochs=1)


def test_black_box_model_is_refused(small_train):
    model = FunctionModel(lambda x: torch.zeros(len(x), 10), num_classes=10)
    with pytest.raises(ConfigError, match="trains torch networks"):
        fit(model, small_train, epochs=1)


def test_dataloader_of_the_wrong_shape_is_refused(small_train):
    x, _ = small_train
    loader = DataLoader(TensorDataset(x), batch_size=16)
    with pytest.raises(DataError, match=r"must yield \(inputs, targets\)"):
        fit(mlp(), loader, epochs=1)


def test_batches_not_matching_the_model_are_refused(small_train):
    x, y = small_train
    loader = DataLoader(TensorDataset(x[:, :, :4], y), batch_size=16)
    with pytest.raises(DataError, match="cannot run on a training batch of shape"):
        fit(mlp(), loader, epochs=1)


def test_targets_beyond_the_model_classes_are_refused(small_train):
    x, y = small_train
    with pytest.raises(DataError, match="outputs 5 classes"):
        fit(mlp(classes=5), (x, y), epochs=1)


def test_inputs_outside_the_bounds_are_refused(small_train):
    x, y = small_train
    with pytest.raises(DataError, match="outside the bounds"):
        fit(mlp(), (x * 255, y), epochs=1)


def test_group_dro_without_groups_is_refused(small_train):
    with pytest.raises(ConfigError, match="group per example"):
        fit(mlp(), small_train, "group_dro", epochs=1)


def test_elr_from_a_dataloader_is_refused(small_train):
    loader = DataLoader(TensorDataset(*small_train), batch_size=32)
    with pytest.raises(ConfigError, match="DataLoader"):
        fit(mlp(), loader, make_recipe("standard", loss="elr"), epochs=1)


def test_soup_of_different_architectures_is_refused(small_train):
    with pytest.raises(ConfigError, match="one architecture"):
        uniform_soup([mlp(32), mlp(64)])
    with pytest.raises(ConfigError, match="one architecture"):
        greedy_soup([mlp(32), mlp(64)], small_train)


def test_nothing_was_trained_when_a_check_fails(small_train):
    net = mlp()
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ConfigError):
        fit(net, small_train, make_recipe("pgd_at", epsilon=2.0), epochs=1)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), before))
