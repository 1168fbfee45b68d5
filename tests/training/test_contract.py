"""Contract tests generated from the training registries: every recipe, loss and averager."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from tests.training.conftest import mlp

from robustlab.errors import ConfigError
from robustlab.training import (
    AVERAGERS,
    LOSSES,
    RECIPES,
    fit,
    make_averager,
    make_loss,
    make_recipe,
)


def _groups(n: int) -> torch.Tensor:
    return torch.arange(n) % 2


@pytest.mark.parametrize("name", RECIPES.names())
def test_recipe_trains_one_epoch_and_reports_its_spec(name, small_train):
    recipe = make_recipe(name)
    x, y = small_train
    before = [p.detach().clone() for p in mlp().parameters()]
    net = mlp()
    groups = _groups(len(x)) if recipe.needs_groups else None
    result = fit(net, (x, y), recipe, epochs=1, groups=groups, lr=0.05)
    assert result.history and all(torch.isfinite(torch.tensor(h["loss"])) for h in result.history)
    after = list(net.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before)), "training changed nothing"
    spec = recipe.spec()
    assert spec["name"] == name
    assert make_recipe(name, **spec["params"]) == recipe
    assert (type(recipe).__doc__ or "").strip(), "every recipe documents itself"


@pytest.mark.parametrize("name", RECIPES.names())
def test_recipe_unknown_parameter_suggests_the_closest(name):
    field = next(f.name for f in dataclasses.fields(RECIPES.get(name)))
    with pytest.raises(ConfigError, match=f"Did you mean {field!r}"):
        make_recipe(name, **{field + "x": 1})


@pytest.mark.parametrize("name", LOSSES.names())
def test_loss_is_per_example_and_lower_when_right(name):
    loss = make_loss(name)
    state: dict = {}
    loss.start(state, num_examples=4, num_classes=3)
    targets = torch.tensor([0, 1, 2, 0])
    right = torch.nn.functional.one_hot(targets, 3).float() * 5
    wrong = torch.nn.functional.one_hot((targets + 1) % 3, 3).float() * 5
    idx = torch.arange(4)
    lr = loss(right, targets, indices=idx, state=state)
    lw = loss(wrong, targets, indices=idx, state=state)
    assert lr.shape == (4,) and torch.isfinite(lr).all()
    assert (lr < lw).all()


@pytest.mark.parametrize("name", AVERAGERS.names())
def test_averager_returns_an_averaged_network(name, small_train):
    net = mlp()
    result = fit(net, small_train, "standard", epochs=4, averaging=make_averager(name))
    assert result.module is not result.trained
    x = small_train[0][:8]
    assert result.module(x).shape == (8, 10)
    differs = any(
        not torch.equal(a, b)
        for a, b in zip(result.module.state_dict().values(), net.state_dict().values())
    )
    assert differs


def test_swa_is_the_mean_of_the_end_of_epoch_weights(small_train):
    snapshots = []

    def keep(module, step):
        if step % 4 == 0:  # 256 examples in batches of 64: an epoch is 4 steps
            snapshots.append({k: v.detach().clone() for k, v in module.state_dict().items()})

    result = fit(
        mlp(),
        small_train,
        "standard",
        epochs=3,
        on_step=keep,
        averaging=make_averager("swa", start_fraction=0.0),
    )
    assert len(snapshots) == 3
    for key, value in result.module.state_dict().items():
        expected = sum(s[key] for s in snapshots) / 3
        assert torch.allclose(value, expected, atol=1e-6), key
