"""Known-answer tests: attacks on models whose exact answer can be computed by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from robustlab.attacks import run
from robustlab.attacks.image._losses import dlr_loss, dlr_targeted_loss
from robustlab.attacks.image._ops import lp_norm, project_ball
from robustlab.attacks.image.fab import min_norm_to_hyperplane
from robustlab.models import TorchModel

W = torch.tensor([0.8, -0.5, 0.3, -1.2, 0.6, 0.9])
B = -0.4


def _linear_binary() -> TorchModel:
    """Logits (0, w.x + b): class 1 wins exactly on the positive side of the hyperplane."""
    layer = nn.Linear(6, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.stack([torch.zeros(6), W]))
        layer.bias.copy_(torch.tensor([0.0, B]))
    return TorchModel(layer, num_classes=2, modality="tabular")


def _points() -> tuple[torch.Tensor, torch.Tensor]:
    # Near the middle of [0, 1] and close enough to the hyperplane that no bound is touched.
    x = torch.full((4, 6), 0.5) + torch.tensor([[0.0], [0.02], [-0.03], [0.05]]) * W.sign()
    scores = x @ W + B
    return x, (scores > 0).long()


def _distance(x: torch.Tensor, norm: str) -> torch.Tensor:
    dual = {"l2": W.norm(), "linf": W.abs().sum(), "l1": W.abs().max()}[norm]
    return (x @ W + B).abs() / dual


def test_fgsm_on_linear_model_moves_epsilon_along_sign_of_weights():
    model = _linear_binary()
    x, y = _points()
    result = run(model, x, y, "fgsm", norm="linf", epsilon=0.1)
    direction = torch.where(y[:, None] == 0, W.sign(), -W.sign())
    assert result.success.all()
    assert torch.allclose(result.adversarial - x, 0.1 * direction, atol=1e-6)
    result = run(model, x, y, "fgsm", norm="l2", epsilon=0.2)
    assert result.success.all()
    assert torch.allclose(result.adversarial - x, 0.2 * direction * W.abs() / W.norm(), atol=1e-6)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_deepfool_on_linear_binary_model_finds_exact_distance(norm):
    model = _linear_binary()
    x, y = _points()
    result = run(model, x, y, "deepfool", norm=norm, epsilon=None)
    assert result.success.all()
    dual = {"l2": W.norm(), "linf": W.abs().sum()}[norm]
    expected = ((x @ W + B).abs() + 1e-4) / dual * 1.02
    assert torch.allclose(result.norms, expected, rtol=1e-4)


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_fab_on_linear_binary_model_converges_to_exact_distance(norm):
    model = _linear_binary()
    x, y = _points()
    result = run(model, x, y, "fab", norm=norm, epsilon=None)
    assert result.success.all()
    exact = _distance(x, norm)
    assert (result.norms >= exact * (1 - 1e-4)).all()
    assert torch.allclose(result.norms, exact, rtol=0.02)


def test_cw_on_linear_binary_model_is_close_to_exact_distance():
    model = _linear_binary()
    x, y = _points()
    result = run(model, x, y, "cw", norm="l2", epsilon=None, steps=200)
    assert result.success.all()
    exact = _distance(x, "l2")
    assert (result.norms >= exact * (1 - 1e-4)).all() and (result.norms <= exact * 1.1).all()


def test_pgd_drives_undefended_cnn_to_zero_robust_accuracy(cnn, digits):
    x, y = digits
    result = run(cnn, x[:200], y[:200], "pgd", norm="linf", epsilon=0.3, seed=0)
    assert result.clean_accuracy > 0.9
    assert result.robust_accuracy <= 0.01


def test_dlr_losses_match_hand_computed_values():
    logits = torch.tensor([[3.0, 1.0, 2.0, 0.5]])
    y = torch.tensor([0])
    # Sorted: 3, 2, 1, 0.5. Untargeted: -(3 - 2) / (3 - 1); targeted at class 1: -(3 - 1) / (3 - 0.75).
    assert dlr_loss(logits, y).item() == pytest.approx(-0.5)
    assert dlr_targeted_loss(logits, y, torch.tensor([1])).item() == pytest.approx(-2 / 2.25)
    shifted = 10 * logits + 5
    assert dlr_loss(shifted, y).item() == pytest.approx(-0.5)
    assert dlr_targeted_loss(shifted, y, torch.tensor([1])).item() == pytest.approx(-2 / 2.25)
    misclassified = torch.tensor([[1.0, 3.0, 2.0, 0.5]])
    assert dlr_loss(misclassified, y).item() == pytest.approx(2 / 2)


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_projection_onto_ball_is_identity_inside_and_lands_on_sphere_outside(norm):
    gen = torch.Generator().manual_seed(0)
    delta = torch.randn(16, 3, 4, 4, generator=gen)
    radius = lp_norm(delta, norm).median()
    projected = project_ball(delta, norm, radius)
    inside = lp_norm(delta, norm) <= radius
    assert torch.equal(projected[inside], delta[inside])
    assert torch.allclose(
        lp_norm(projected[~inside], norm), radius.expand((~inside).sum()), rtol=1e-5
    )
    if norm == "l1":
        # The Euclidean projection onto the L1 ball never flips a sign.
        assert ((projected * delta) >= 0).all()


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_min_norm_to_hyperplane_matches_closed_form_without_active_bounds(norm):
    points = torch.full((1, 6), 0.5)
    c = torch.tensor([0.05])
    delta = min_norm_to_hyperplane(points, W[None], c, (0.0, 1.0), norm)
    if norm == "l2":
        expected = c * W / W.norm() ** 2
    elif norm == "linf":
        expected = c * W.sign() / W.abs().sum()
    else:
        expected = torch.zeros(6)
        expected[W.abs().argmax()] = c / W[W.abs().argmax()]
    assert torch.allclose(delta[0], expected, atol=1e-6)


def test_min_norm_to_hyperplane_respects_bounds():
    gen = torch.Generator().manual_seed(1)
    points = torch.rand(64, 10, generator=gen)
    w = torch.randn(64, 10, generator=gen)
    c = 0.3 * torch.randn(64, generator=gen)
    for norm in ("linf", "l2", "l1"):
        delta = min_norm_to_hyperplane(points, w, c, (0.0, 1.0), norm)
        moved = points + delta
        assert moved.min() >= -1e-6 and moved.max() <= 1 + 1e-6
        assert torch.allclose((w * delta).sum(dim=1), c, atol=1e-4)


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_fmn_on_linear_binary_model_is_close_to_exact_distance(norm):
    model = _linear_binary()
    x, y = _points()
    result = run(model, x, y, "fmn", norm=norm, epsilon=None, steps=200)
    assert result.success.all()
    exact = _distance(x, norm)
    assert (result.norms >= exact * (1 - 1e-4)).all()
    assert (result.norms <= exact * 1.1).all(), (result.norms, exact)


def test_fmn_l0_on_linear_binary_model_changes_the_fewest_features():
    # From 0.5 a feature moves at most 0.5 within [0, 1], shifting the score by 0.5 |w_i|; the
    # fewest features that cross the boundary are the largest-|w| ones.
    model = _linear_binary()
    x, y = _points()
    result = run(model, x, y, "fmn", norm="l0", epsilon=None, steps=200)
    assert result.success.all()
    gap = (x @ W + B).abs()
    reach = (0.5 * W.abs()).sort(descending=True).values.cumsum(0)
    fewest = torch.tensor([int((reach < g).sum()) + 1 for g in gap], dtype=result.norms.dtype)
    assert torch.equal(result.norms, fewest)
