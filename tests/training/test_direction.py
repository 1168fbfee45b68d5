"""Recipes move the measurement the papers say they move, on real digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.training.conftest import mlp

from robustlab import attacks
from robustlab.models import TorchModel
from robustlab.training import fit, greedy_soup, make_recipe
from robustlab.training.averaging.soups import held_out_accuracy
from robustlab.training.config import inject_label_noise


def _robust(net, data, eps):
    model = TorchModel(net, bounds=(0.0, 1.0), num_classes=10)
    res = attacks.run(model, data.inputs, data.targets, "pgd", epsilon=eps, steps=20)
    return res.clean_accuracy, res.robust_accuracy


def test_pgd_at_raises_robust_accuracy_well_above_standard(digits_train, digits_eval):
    data = (digits_train.inputs, digits_train.targets)
    std = fit(mlp(), data, "standard", epochs=6, lr=0.05)
    adv = fit(mlp(), data, make_recipe("pgd_at", epsilon=0.2, steps=5), epochs=6, lr=0.05)
    std_clean, std_rob = _robust(std.module, digits_eval, 0.2)
    _, adv_rob = _robust(adv.module, digits_eval, 0.2)
    assert std_clean > 0.9
    assert adv_rob > std_rob + 0.2, (std_rob, adv_rob)


def test_fast_at_with_a_too_large_step_triggers_the_guard_and_rolls_back(digits_train):
    data = (digits_train.inputs, digits_train.targets)
    recipe = make_recipe("fast_at", epsilon=0.3, step_size=2.0, guard_every=20)
    result = fit(mlp(128), data, recipe, epochs=12, optimizer="adam", lr=3e-3)
    fired = [e for e in result.events if e["kind"] == "guard_fired"]
    assert fired, result.history
    first = fired[0]
    assert first["rolled_back_to"] < first["step"]
    assert first["fgsm_accuracy"] - first["pgd_accuracy"] >= 0.2
    assert result.recipe.method == "nfgsm"


def test_fast_at_with_a_sound_step_does_not_trigger_the_guard(digits_train):
    data = (digits_train.inputs[:600], digits_train.targets[:600])
    result = fit(mlp(128), data, make_recipe("fast_at", epsilon=0.1), epochs=6, lr=0.05)
    assert not [e for e in result.events if e["kind"] == "guard_fired"]
    assert result.recipe.method == "fgsm"


def test_greedy_soup_is_no_worse_than_its_best_ingredient(digits_train, digits_eval):
    x, y = digits_train.inputs, torch.as_tensor(digits_train.targets)
    base = fit(mlp(), (x, y), "standard", epochs=3, lr=0.05).module
    ingredients = []
    for seed, lr in enumerate((0.01, 0.03, 0.1, 0.3)):
        net = mlp()
        net.load_state_dict(base.state_dict())
        ingredients.append(fit(net, (x, y), "standard", epochs=2, lr=lr, seed=seed).module)
    split = (digits_eval.inputs[:270], digits_eval.targets[:270])
    soup = greedy_soup(ingredients, split)
    score = held_out_accuracy(*split)
    assert soup.score == pytest.approx(score(soup.module))
    assert soup.score >= max(soup.scores)
    assert soup.ingredients[0] == int(np.argmax(soup.scores))


def test_robust_loss_beats_cross_entropy_under_40_percent_label_noise(digits_train, digits_eval):
    noisy, flipped = inject_label_noise(np.asarray(digits_train.targets), 0.4, 10, seed=0)
    assert 0.35 < flipped.mean() < 0.45
    data = (digits_train.inputs, torch.as_tensor(noisy))
    ev = held_out_accuracy(digits_eval.inputs, digits_eval.targets)
    kw = dict(epochs=40, optimizer="adam", lr=3e-3, weight_decay=0.0)
    ce = ev(fit(mlp(256), data, "standard", **kw).module)
    gce = ev(fit(mlp(256), data, make_recipe("standard", loss="gce"), **kw).module)
    sce = ev(fit(mlp(256), data, make_recipe("standard", loss="sce"), **kw).module)
    assert max(gce, sce) > ce + 0.03, (ce, gce, sce)


def test_mixed_classifier_endpoints_and_learned_weight(digits_train, digits_eval):
    from robustlab.training import MixedClassifier

    data = (digits_train.inputs, digits_train.targets)
    std = fit(mlp(), data, "standard", epochs=6, lr=0.05).module
    rob = fit(mlp(), data, make_recipe("pgd_at", epsilon=0.2, steps=5), epochs=6, lr=0.05).module
    x = digits_eval.inputs[:50]
    with torch.no_grad():
        assert torch.equal(MixedClassifier(std, rob, 0.0)(x).argmax(1), std(x).argmax(1))
        assert torch.equal(MixedClassifier(std, rob, 1.0)(x).argmax(1), rob(x).argmax(1))
    mixed = MixedClassifier(std, rob, 0.5, learn=True)
    before = [p.detach().clone() for p in rob.parameters()]
    fit(mixed, data, make_recipe("pgd_at", epsilon=0.2, steps=5), epochs=2, lr=0.5)
    assert mixed.alpha > 0.6  # under attack the weight moves to the robust network
    assert all(torch.equal(a, b) for a, b in zip(rob.parameters(), before))


@pytest.mark.slow
def test_elr_beats_cross_entropy_under_40_percent_symmetric_label_noise(digits_train, digits_eval):
    """Liu et al. (NeurIPS 2020): early-learning regularisation resists memorising noisy labels."""
    noisy, _ = inject_label_noise(np.asarray(digits_train.targets), 0.4, 10, seed=0)
    data = (digits_train.inputs, torch.as_tensor(noisy))
    ev = held_out_accuracy(digits_eval.inputs, digits_eval.targets)
    kw = dict(epochs=40, optimizer="adam", lr=3e-3, weight_decay=0.0)
    ce = ev(fit(mlp(256), data, "standard", **kw).module)
    elr = ev(fit(mlp(256), data, make_recipe("standard", loss="elr"), **kw).module)
    assert elr > ce + 0.03, (ce, elr)


#: Corruptions AugMix never trains on (its operations are geometric): the held-out test.
HELD_OUT = ("elastic_transform", "motion_blur", "zoom_blur", "gaussian_blur")


@pytest.mark.slow
def test_augmix_beats_standard_on_corrupted_digits(digits_train, digits_eval):
    """Hendrycks et al. (ICLR 2020): AugMix raises accuracy on unseen corruptions."""
    from robustlab.perturbations import image as corruptions

    data = (digits_train.inputs, digits_train.targets)
    kw = dict(epochs=15, optimizer="adam", lr=3e-3)
    std = fit(mlp(256), data, "standard", **kw).module
    aug = fit(mlp(256), data, "augmix", **kw).module
    x, y = torch.as_tensor(digits_eval.inputs), torch.as_tensor(digits_eval.targets)

    def corrupted_accuracy(net):
        net.eval()
        accs = []
        with torch.no_grad():
            for name in HELD_OUT:
                xc = corruptions.apply(x, name, 3, seed=0)
                accs.append(float((net(xc).argmax(1) == y).float().mean()))
        return float(np.mean(accs))

    s, a = corrupted_accuracy(std), corrupted_accuracy(aug)
    assert a > s + 0.02, (s, a)
