"""FMN (every norm) and robustness curves on a grid from one minimal run plus a binary search."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robustlab.attacks import LpBall, run
from robustlab.attacks.image._ops import lp_norm, project_ball
from robustlab.attacks.image.curves import check_grid, grid_curve, search_grid
from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.probes.base import make_probe

GRID = [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2]
#: A deterministic bounded attack (no random start), so each example's success at an epsilon
#: does not depend on which other examples share its batch.
PLAIN_PGD = {"random_start": False, "steps": 20}


@pytest.mark.parametrize("norm", ["linf", "l2", "l1", "l0"])
def test_fmn_adversarials_are_real_and_norms_match(norm, mlp, batch):
    x, y = batch
    result = run(mlp, x, y, "fmn", norm=norm, epsilon=None, steps=50)
    broken = result.success & result.clean_correct
    assert broken.float().mean() > 0.8
    # Re-checked on a fresh forward pass, inside the bounds, and the reported size is the size.
    predicted = mlp.predict_scores(result.adversarial).argmax(dim=1)
    assert torch.equal(predicted[broken] != y[broken], torch.ones(int(broken.sum()), dtype=bool))
    assert result.adversarial.min() >= 0 and result.adversarial.max() <= 1
    assert torch.allclose(lp_norm(result.adversarial - x, norm), result.norms, atol=1e-5)
    assert (result.norms[broken] > 0).all()
    if norm == "l0":
        assert torch.equal(result.norms, result.norms.round())


def test_fmn_is_as_small_as_fab_in_l2_and_linf(mlp, batch):
    x, y = batch
    for norm in ("linf", "l2"):
        fmn = run(mlp, x, y, "fmn", norm=norm, epsilon=None, steps=100)
        fab = run(mlp, x, y, "fab", norm=norm, epsilon=None)
        both = fmn.success & fab.success & fmn.clean_correct
        assert float(fmn.norms[both].median()) <= 1.1 * float(fab.norms[both].median())


def test_fmn_with_an_epsilon_stays_in_the_ball(mlp, batch):
    x, y = batch
    result = run(mlp, x, y, "fmn", norm="l2", epsilon=0.5, steps=30)
    assert LpBall("l2", 0.5).contains(result.adversarial, x, bounds=(0.0, 1.0)).all()


def test_l0_projection_keeps_the_largest_coordinates():
    delta = torch.tensor([[0.1, -0.5, 0.3, 0.0], [0.4, 0.2, -0.1, 0.3]])
    out = project_ball(delta, "l0", torch.tensor([2.0, 1.0]))
    assert torch.equal(out, torch.tensor([[0.0, -0.5, 0.3, 0.0], [0.4, 0.0, 0.0, 0.0]]))
    assert lp_norm(out, "l0").tolist() == [2.0, 1.0]


def test_binary_search_finds_each_first_broken_index():
    # Example i breaks from grid index truth[i] on (8 = never); the search must find it exactly.
    truth = torch.tensor([0, 3, 5, 7, 8, 8, 2])
    calls = []

    def attack_at(j, rows):
        calls.append((j, len(rows)))
        return truth[rows] <= j

    upper = torch.tensor([8, 8, 6, 7, 8, 8, 8])  # a minimal run broke example 2 at index 6
    first, spent = search_grid(upper, attack_at)
    assert first.tolist() == truth.tolist()
    full, full_spent = search_grid(upper, attack_at, search="full")
    assert full.tolist() == truth.tolist()
    assert spent == sum(n for j, n in calls[: len(calls) - 8]) or spent < full_spent
    assert spent <= len(truth) * 4  # ceil(log2(9)) evaluations per example at most


def test_grid_curve_binary_equals_full_grid_and_is_monotone(mlp, digits):
    x, y = digits[0][:60], digits[1][:60]
    common = dict(norm="linf", confirm_attack="pgd", confirm_params=PLAIN_PGD)
    common["minimal_params"] = {"steps": 30}
    binary = grid_curve(mlp, x, y, GRID, search="binary", **common)
    full = grid_curve(mlp, x, y, GRID, search="full", **common)
    assert torch.equal(binary.broken_at, full.broken_at)
    assert binary.robust_accuracy == full.robust_accuracy
    assert binary.evaluations < full.evaluations <= full.full_evaluations
    acc = np.array(binary.robust_accuracy)
    assert (np.diff(acc) <= 0).all() and (acc <= np.array(binary.from_minimal) + 1e-12).all()
    # Each example is really broken at its first broken grid value (the adversarial found is
    # within it) and the adversarials found are real.
    found = torch.isfinite(binary.norms)
    predicted = mlp.predict_scores(binary.adversarial).argmax(dim=1)
    assert (predicted[found] != y[found]).all()
    inside = (binary.broken_at < len(GRID)) & binary.minimal.clean_correct
    eps_at = torch.tensor([*GRID, np.inf])[binary.broken_at]
    assert (binary.norms[inside] <= eps_at[inside] * (1 + 1e-5) + 1e-5).all()


@pytest.mark.parametrize(
    ("grid", "match"),
    [
        ([], "non-empty"),
        ([0.1, 0.05], "strictly increasing"),
        ([0.1, 0.1], "strictly increasing"),
        ([-0.1, 0.2], "positive"),
        ("0.1", "non-empty list"),
    ],
)
def test_bad_grids_are_refused(grid, match):
    with pytest.raises(ConfigError, match=match):
        check_grid("grid_curve()", grid)


def test_bad_grid_is_refused_before_any_attack(mlp, batch):
    x, y = batch
    with pytest.raises(ConfigError, match="strictly increasing"):
        grid_curve(mlp, x, y, [0.2, 0.1])
    with pytest.raises(ConfigError, match="does not support norm 'l1'"):
        grid_curve(mlp, x, y, [0.5, 1.0], norm="l1", confirm_attack="apgd")


def test_minimal_probe_on_a_grid(mlp, digits):
    x, y = digits[0][:40], digits[1][:40]
    batch = Batch(x, y.numpy(), [f"d{i}" for i in range(40)], indices=np.arange(40))
    probe = make_probe("minimal attack=fmn norm=linf epsilons=0.04,0.08,0.12 steps=30")
    assert probe.params["epsilons"] == [0.04, 0.08, 0.12] and probe.confirm_attack == "apgd"
    records = probe.run(mlp, batch, seed=0)
    first = records.value
    measured = ~np.isnan(first)
    assert set(np.round(first[measured], 6)) <= {0.04, 0.08, 0.12}
    size = records.perturbation
    # The smallest adversarial found lies within the first grid value at which it broke.
    assert (size[measured] <= first[measured] * (1 + 1e-5) + 1e-5).all()
    assert not records.correct[measured].any()
    plain = make_probe("minimal attack=fmn norm=linf")
    assert "epsilons" not in plain.params
    with pytest.raises(ConfigError, match="strictly increasing"):
        make_probe("minimal attack=fmn norm=linf epsilons=0.1,0.05")
    with pytest.raises(ConfigError, match="bounded attack"):
        make_probe("minimal attack=fmn norm=l1 epsilons=1,2 confirm=apgd")
