"""The standard/rand ensembles, the honest-evaluation checks, curves, and user-facing errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from robustlab.attacks import (
    epsilon_sweep,
    perturbation_summary,
    robust_accuracy_curve,
    run,
    standard,
)
from robustlab.attacks.image import checks
from robustlab.errors import ConfigError, DataError, UnknownNameError
from robustlab.models import FunctionModel, TorchModel


def test_standard_is_per_example_worst_case_and_at_most_apgd(mlp, digits):
    x, y = digits[0][:40], digits[1][:40]
    result = standard(mlp, x, y, norm="linf", epsilon=0.1)
    assert list(result.per_attack) == ["apgd-ce", "apgd-t", "fab-t", "square"]
    clean_wrong = int((~result.clean_correct).sum())
    assert sum(result.per_attack.values()) + clean_wrong == int(result.success.sum())
    apgd = run(mlp, x, y, "apgd", norm="linf", epsilon=0.1)
    assert result.robust_accuracy <= apgd.robust_accuracy
    pred = mlp.predict_scores(result.adversarial).argmax(dim=1)
    assert torch.equal(pred != y, result.success)
    assert (result.norms <= 0.1 + 1e-5).all()
    assert result.warnings == []
    assert result.to_dict()["per_attack"] == result.per_attack


def test_standard_on_black_box_runs_square_and_warns(black_box, batch):
    x, y = batch
    result = standard(black_box, x[:10], y[:10], norm="l2", epsilon=1.0)
    assert list(result.per_attack) == ["square"]
    assert "black-box-only" in [w.code for w in result.warnings]
    assert result.queries is not None


def test_randomized_train_mode_model_is_flagged_and_rand_runs_eot(digits):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 10))
    model = TorchModel(net, num_classes=10, eval_mode=False)
    x, y = digits[0][:8], digits[1][:8]
    codes = [w.code for w in checks.cheap_checks(model, x, y)]
    assert "train-mode" in codes and "randomized-model" in codes
    result = standard(model, x, y, norm="linf", epsilon=0.05, version="rand")
    assert list(result.per_attack) == ["apgd-ce", "apgd-dlr"]
    assert "randomized-model" not in [w.code for w in result.warnings]


def test_softmax_output_declared_as_logits_is_flagged(mlp, batch):
    x, _ = batch
    model = TorchModel(nn.Sequential(mlp.module, nn.Softmax(dim=1)), num_classes=10)
    warnings = checks.check_logits(model, x)
    assert [w.code for w in warnings] == ["probabilities-not-logits"]
    assert warnings[0].advice and "softmax" in warnings[0].message
    assert checks.check_logits(mlp, x) == []


class _Quantise(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * 4) / 4


def test_zero_and_nan_gradients_are_flagged(mlp, batch):
    x, y = batch
    masked = TorchModel(nn.Sequential(_Quantise(), mlp.module), num_classes=10)
    assert "zero-gradients" in [w.code for w in checks.check_gradients(masked, x, y)]
    assert checks.check_gradients(mlp, x, y) == []

    class NanGrad(nn.Module):
        def forward(self, inp: torch.Tensor) -> torch.Tensor:
            return mlp.module(inp) + 0 * torch.sqrt(inp - inp).sum()

    nan_model = TorchModel(NanGrad(), num_classes=10)
    assert "nan-gradients" in [w.code for w in checks.check_gradients(nan_model, x, y)]


def test_pure_checks_on_breakdown_and_curve():
    assert checks.check_square_vs_whitebox({"apgd-ce": 10, "square": 0}, 100) == []
    flagged = checks.check_square_vs_whitebox({"apgd-ce": 10, "square": 5}, 100)
    assert [w.code for w in flagged] == ["square-beats-white-box"]
    assert checks.check_curve([0.1, 0.5, 1.0], [0.6, 0.2, 0.0]) == []
    assert [w.code for w in checks.check_curve([0.1, 1.0], [0.6, 0.4])] == [
        "robust-at-large-epsilon"
    ]


def test_large_epsilon_and_convergence_checks(mlp, batch):
    x, y = batch
    assert checks.check_large_epsilon(mlp, x, y, norm="linf") == []
    flagged = checks.check_convergence(
        mlp, x, y, "pgd", norm="linf", epsilon=0.1, steps=2, step_size=0.02, random_start=False
    )
    assert [w.code for w in flagged] == ["not-converged"]


def test_robust_accuracy_curve_by_hand():
    norms = torch.tensor([0.0, 0.1, 0.3, 0.0])
    success = torch.tensor([True, True, True, False])
    curve = robust_accuracy_curve(norms, success, [0.0, 0.1, 0.2, 0.5])
    assert curve.tolist() == [0.75, 0.5, 0.5, 0.25]
    with pytest.raises(DataError):
        robust_accuracy_curve([], [], [0.1])
    with pytest.raises(ConfigError, match="epsilons"):
        robust_accuracy_curve(norms, success, [-1.0])


def test_perturbation_summary_median_and_per_class():
    norms = torch.tensor([0.0, 0.1, 0.3, 0.2, 0.5])
    success = torch.tensor([True, True, True, True, False])
    summary = perturbation_summary(norms, success, targets=torch.tensor([0, 0, 1, 1, 1]))
    assert summary["n_broken"] == 3 and summary["n_unbroken"] == 1
    assert summary["median"] == pytest.approx(0.2)
    assert summary["per_class"][0] == {"n_broken": 1, "median": pytest.approx(0.1)}
    assert summary["per_class"][1]["median"] == pytest.approx(0.2)


def test_epsilon_sweep_combines_minimal_and_fixed_runs(mlp, batch):
    x, y = batch
    sweep = epsilon_sweep(
        mlp,
        x,
        y,
        [0.05, 0.1, 0.3],
        norm="linf",
        minimal_params={"steps": 20, "n_target_classes": 3},
        confirm_params={"steps": 20},
    )
    assert sweep.combined == sorted(sweep.combined, reverse=True)
    for comb, a, b in zip(sweep.combined, sweep.from_minimal, sweep.confirmed):
        assert comb <= min(a, b) + 1e-6
    assert sweep.combined[-1] == 0.0


def test_decision_based_attack_on_sklearn_and_label_only(sklearn_model, label_only, batch):
    x, y = batch
    result = run(
        sklearn_model, x, y, "hop_skip_jump", norm="l2", epsilon=None, steps=5, max_queries=1500
    )
    assert result.success.float().mean() > 0.8 and (result.queries <= 1500).all()
    result = run(
        label_only, x, y, "hop_skip_jump", norm="linf", epsilon=0.3, steps=3, max_queries=800
    )
    assert result.success.any()
    with pytest.raises(ConfigError, match="hop_skip_jump"):
        run(label_only, x, y, "square", norm="linf", epsilon=0.1)


def test_square_respects_query_budget(black_box, batch):
    x, y = batch
    result = run(black_box, x, y, "square", norm="linf", epsilon=0.05, n_queries=50)
    assert (result.queries <= 50).all() and result.queries.max() == 50


def test_user_errors_have_actionable_messages(mlp, batch):
    x, y = batch
    with pytest.raises(UnknownNameError, match="Did you mean 'pgd'"):
        run(mlp, x, y, "pgdd", epsilon=0.1)
    with pytest.raises(ConfigError, match="Did you mean 'steps'"):
        run(mlp, x, y, "pgd", epsilon=0.1, step=3)
    with pytest.raises(
        ConfigError, match=r"The 'epsilon' parameter of run\(\) must be a positive float. Got -1"
    ):
        run(mlp, x, y, "pgd", epsilon=-1)
    with pytest.raises(ConfigError, match="The 'steps' parameter of attack 'pgd'"):
        run(mlp, x, y, "pgd", epsilon=0.1, steps=0)
    with pytest.raises(DataError, match="outside the bounds"):
        run(mlp, x * 3, y, "pgd", epsilon=0.1)
    with pytest.raises(DataError, match="targets"):
        run(mlp, x, y[:3], "pgd", epsilon=0.1)
    unbounded = FunctionModel(
        lambda b: b.reshape(len(b), -1)[:, :10], output="logits", num_classes=10, bounds=None
    )
    with pytest.raises(ConfigError, match="bounds=\\(low, high\\)"):
        run(unbounded, x, y, "square", epsilon=0.1)
    with pytest.raises(ConfigError, match="'version' parameter of standard"):
        standard(mlp, x, y, epsilon=0.1, version="fastest")
