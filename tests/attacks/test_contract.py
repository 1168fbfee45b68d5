"""Contract tests generated from the ATTACKS registry: every attack obeys them the moment it exists."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from robustlab.attacks import ATTACKS, build_attack, run
from robustlab.attacks.image._ops import lp_norm
from robustlab.errors import ConfigError

EPS = {"linf": 0.1, "l2": 0.8, "l1": 3.0}
TOL = 1e-4
CASES = [
    pytest.param(name, norm, id=f"{name}-{norm}")
    for name in ATTACKS
    for norm in ATTACKS.get(name).norms
]
NAMES = ATTACKS.names()


def _attack(model, x, y, name, norm, *, seed=0, epsilon="default", **extra):
    eps = EPS[norm] if epsilon == "default" else epsilon
    params = {**ATTACKS.get(name).quick_params, **extra}
    return run(model, x, y, name, norm=norm, epsilon=eps, seed=seed, **params)


def _model_for(name, mlp, black_box):
    return mlp if "gradients" in ATTACKS.get(name).needs else black_box


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_adversarials_stay_in_epsilon_ball_and_bounds(name, norm, mlp, black_box, batch):
    x, y = batch
    result = _attack(_model_for(name, mlp, black_box), x, y, name, norm)
    measured = lp_norm(result.adversarial - x, norm)
    assert (measured <= EPS[norm] * (1 + TOL) + TOL).all()
    assert torch.allclose(measured, result.norms, atol=1e-5)
    assert result.adversarial.min() >= 0.0 and result.adversarial.max() <= 1.0


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_reported_success_changes_prediction_on_fresh_pass(name, norm, mlp, black_box, batch):
    x, y = batch
    model = _model_for(name, mlp, black_box)
    result = _attack(model, x, y, name, norm)
    pred = model.predict_scores(result.adversarial).argmax(dim=1)
    assert torch.equal(pred != y, result.success)
    failed = ~result.success
    assert torch.equal(result.adversarial[failed], x[failed])
    assert result.success.any(), f"{name} broke no point at a generous epsilon"


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_same_seed_gives_same_result(name, norm, mlp, black_box, batch):
    x, y = batch
    model = _model_for(name, mlp, black_box)
    a = _attack(model, x, y, name, norm, seed=3)
    b = _attack(model, x, y, name, norm, seed=3)
    assert torch.equal(a.adversarial, b.adversarial)
    assert torch.equal(a.success, b.success)


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_result_shapes_and_clean_misclassified_points(name, norm, mlp, black_box, batch):
    x, y = batch
    model = _model_for(name, mlp, black_box)
    wrong = y.clone()
    wrong[:3] = (model.predict_scores(x[:3]).argmax(dim=1) + 1) % 10
    result = _attack(model, x, wrong, name, norm)
    n = len(x)
    assert result.adversarial.shape == x.shape and result.adversarial.device.type == "cpu"
    assert result.success.dtype == torch.bool and result.success.shape == (n,)
    assert result.norms.shape == (n,) and result.clean_correct.shape == (n,)
    assert result.success[:3].all() and not result.clean_correct[:3].any()
    assert torch.equal(result.adversarial[:3], x[:3]) and (result.norms[:3] == 0).all()
    black = "gradients" not in ATTACKS.get(name).needs
    assert (result.queries is not None) == black
    if black:
        assert result.queries.dtype == torch.long
        assert (result.queries[result.clean_correct] > 0).all()
    assert result.to_dict()["attack"] == name


@pytest.mark.parametrize("name", [n for n in NAMES if ATTACKS.get(n).minimal])
def test_minimal_attacks_accept_no_epsilon(name, mlp, black_box, batch):
    x, y = batch
    norm = ATTACKS.get(name).norms[0]
    result = _attack(_model_for(name, mlp, black_box), x, y, name, norm, epsilon=None)
    broken = result.success & result.clean_correct
    assert broken.float().mean() > 0.5
    assert torch.isfinite(result.norms).all() and (result.norms[broken] > 0).all()


@pytest.mark.parametrize("name", [n for n in NAMES if "gradients" in ATTACKS.get(n).needs])
def test_gradient_attacks_refuse_black_boxes_and_name_alternatives(name, black_box, batch):
    x, y = batch
    with pytest.raises(ConfigError, match="black box") as info:
        _attack(black_box, x, y, name, ATTACKS.get(name).norms[0])
    alternatives = [n for n in NAMES if "gradients" not in ATTACKS.get(n).needs]
    assert alternatives and all(repr(n) in str(info.value) for n in alternatives)


@pytest.mark.parametrize("name", [n for n in NAMES if "gradients" not in ATTACKS.get(n).needs])
def test_black_box_attacks_run_on_query_only_models(name, black_box, batch):
    x, y = batch
    result = _attack(black_box, x, y, name, ATTACKS.get(name).norms[0])
    assert result.queries is not None and result.success.any()


@pytest.mark.parametrize("name", NAMES)
def test_attack_is_a_frozen_dataclass_whose_fields_round_trip(name):
    cls = ATTACKS.get(name)
    attack = cls()
    assert dataclasses.is_dataclass(attack) and attack.name == name
    assert build_attack(name, **attack.params) == attack
    assert build_attack(name, **cls.quick_params) == cls(**cls.quick_params)
    with pytest.raises(dataclasses.FrozenInstanceError):
        attack.seed = 1  # type: ignore[misc]
    with pytest.raises(ConfigError, match="has no parameter 'stepz'"):
        build_attack(name, stepz=3)
    assert cls.__doc__ and "References:" in cls.__doc__
    assert set(cls.norms) <= {"linf", "l2", "l1"}


@pytest.mark.parametrize("name", NAMES)
def test_unsupported_norm_and_bad_epsilon_raise(name, mlp, black_box, batch):
    x, y = batch
    cls = ATTACKS.get(name)
    model = _model_for(name, mlp, black_box)
    for norm in {"linf", "l2", "l1"} - set(cls.norms):
        with pytest.raises(ConfigError, match=f"The 'norm' parameter of attack '{name}'"):
            run(model, x, y, name, norm=norm, epsilon=0.1)
    with pytest.raises(ConfigError, match="The 'epsilon' parameter of run"):
        run(model, x, y, name, norm=cls.norms[0], epsilon=-1.0)
    if not cls.minimal:
        with pytest.raises(ConfigError, match=r"positive float\. Got None"):
            run(model, x, y, name, norm=cls.norms[0], epsilon=None)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(("name", "norm"), CASES)
def test_attacks_run_on_gpu(name, norm, mlp, batch):
    from robustlab.models import TorchModel

    gpu = TorchModel(mlp.module, num_classes=10, device="cuda")
    x, y = batch
    result = _attack(gpu, x, y, name, norm)
    assert result.adversarial.device.type == "cpu"
    assert (lp_norm(result.adversarial - x, norm) <= EPS[norm] * (1 + TOL) + TOL).all()
