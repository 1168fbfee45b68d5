"""Contract tests generated from the one ATTACKS registry: every attack, image or text, obeys them
the moment it is registered (no test names an attack)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from robustlab.attacks import ATTACKS, EditBudget, LpBall, attacks_for, build_attack, run
from robustlab.errors import ConfigError
from robustlab.tasks.criteria import Misclassified, TargetedClass

EPS = {"linf": 0.1, "l2": 0.8, "l1": 3.0, "l0": 6.0}
IMAGE = [n for n, _ in attacks_for("image")]
#: Image attacks on Lp balls; the others search a ParametricThreat (rotations, colour).
IMAGE_LP = [n for n in IMAGE if ATTACKS.get(n).norms]  # type: ignore[attr-defined]
PARAMETRIC = [n for n in IMAGE if n not in IMAGE_LP]
TEXT = [n for n, _ in attacks_for("text")]
CASES = [
    pytest.param(name, norm, id=f"{name}-{norm}")
    for name in IMAGE
    for norm in ATTACKS.get(name).norms  # type: ignore[attr-defined]
]
NAMES = ATTACKS.names()
#: A budget that lets every text attack change at most a third of the words of a review.
EDITS = EditBudget(max_words_changed=0.34)
TEXT_BUDGET = 60


def _attack(model, x, y, name, norm, *, seed=0, epsilon="default", **extra):
    eps = EPS[norm] if epsilon == "default" else epsilon
    params = {**ATTACKS.get(name).quick_params, **extra}
    return run(model, x, y, name, norm=norm, epsilon=eps, seed=seed, **params)


def _model_for(name, mlp, black_box):
    return mlp if "gradients" in ATTACKS.get(name).needs else black_box


def test_registry_holds_image_and_text_attacks():
    assert IMAGE and TEXT and sorted(IMAGE + TEXT) == NAMES
    for name in NAMES:
        cls = ATTACKS.get(name)
        assert cls.modality in ("image", "text") and cls.name == name


# -- image attacks --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_adversarials_stay_in_threat_model_and_bounds(name, norm, mlp, black_box, batch):
    x, y = batch
    result = _attack(_model_for(name, mlp, black_box), x, y, name, norm)
    threat = LpBall(norm, EPS[norm])
    assert threat.contains(result.adversarial, x, bounds=(0.0, 1.0)).all()
    assert torch.allclose(threat.distance(result.adversarial - x), result.norms, atol=1e-5)
    assert result.adversarial.min() >= 0.0 and result.adversarial.max() <= 1.0


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_success_agrees_with_the_criterion_on_a_fresh_pass(name, norm, mlp, black_box, batch):
    x, y = batch
    model = _model_for(name, mlp, black_box)
    result = _attack(model, x, y, name, norm)
    broken = Misclassified().broken(model.predict_scores(result.adversarial), y)
    assert torch.equal(broken, result.success)
    failed = ~result.success
    assert torch.equal(result.adversarial[failed], x[failed])
    assert result.success.any(), f"{name} broke no point at a generous epsilon"


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_targeted_criterion_success_means_the_target_is_predicted(
    name, norm, mlp, black_box, batch
):
    x, y = batch
    model = _model_for(name, mlp, black_box)
    goal = TargetedClass(target_class=3)
    keep = y != 3
    x, y = x[keep], y[keep]
    result = _attack(model, x, y, name, norm, criterion=goal)
    assert LpBall(norm, EPS[norm]).contains(result.adversarial, x, bounds=(0.0, 1.0)).all()
    predicted = model.predict_scores(result.adversarial).argmax(dim=1)
    assert torch.equal(result.success, predicted == 3)
    assert torch.equal(goal.broken(model.predict_scores(result.adversarial), y), result.success)
    assert result.to_dict()["criterion"] == {"criterion": "targeted_class", "target_class": 3}


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_same_seed_gives_same_result(name, norm, mlp, black_box, batch):
    x, y = batch
    model = _model_for(name, mlp, black_box)
    a = _attack(model, x, y, name, norm, seed=3)
    b = _attack(model, x, y, name, norm, seed=3)
    assert torch.equal(a.adversarial, b.adversarial)
    assert torch.equal(a.success, b.success)


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_threat_model_argument_equals_norm_and_epsilon(name, norm, mlp, black_box, batch):
    x, y = batch
    model = _model_for(name, mlp, black_box)
    params = ATTACKS.get(name).quick_params
    a = run(model, x, y, name, threat=LpBall(norm, EPS[norm]), seed=1, **params)
    b = run(model, x, y, name, norm=norm, epsilon=EPS[norm], seed=1, **params)
    assert torch.equal(a.adversarial, b.adversarial) and a.norm == norm


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
    assert "criterion" not in result.to_dict()  # the default criterion is not spelled out


@pytest.mark.parametrize("name", [n for n in IMAGE if ATTACKS.get(n).minimal])
def test_minimal_attacks_accept_no_epsilon(name, mlp, black_box, batch):
    x, y = batch
    norm = ATTACKS.get(name).norms[0]  # type: ignore[attr-defined]
    result = _attack(_model_for(name, mlp, black_box), x, y, name, norm, epsilon=None)
    broken = result.success & result.clean_correct
    assert broken.float().mean() > 0.5
    assert torch.isfinite(result.norms).all() and (result.norms[broken] > 0).all()


@pytest.mark.parametrize("name", [n for n in IMAGE if "gradients" in ATTACKS.get(n).needs])
def test_gradient_attacks_refuse_black_boxes_and_name_alternatives(name, black_box, batch):
    x, y = batch
    with pytest.raises(ConfigError, match="black box") as info:
        _attack(black_box, x, y, name, ATTACKS.get(name).norms[0])  # type: ignore[attr-defined]
    alternatives = [n for n in IMAGE if "gradients" not in ATTACKS.get(n).needs]
    assert alternatives and all(repr(n) in str(info.value) for n in alternatives)


@pytest.mark.parametrize("name", [n for n in IMAGE_LP if "gradients" not in ATTACKS.get(n).needs])
def test_black_box_attacks_run_on_query_only_models(name, black_box, batch):
    x, y = batch
    result = _attack(black_box, x, y, name, ATTACKS.get(name).norms[0])  # type: ignore[attr-defined]
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
    assert set(cls.modalities()) <= {"image", "tabular", "text"}
    if cls.modality == "image":
        assert set(cls.norms) <= {"linf", "l2", "l1", "l0"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", IMAGE_LP)
def test_unsupported_norm_and_bad_epsilon_raise(name, mlp, black_box, batch):
    x, y = batch
    cls = ATTACKS.get(name)
    norms = cls.norms  # type: ignore[attr-defined]
    model = _model_for(name, mlp, black_box)
    for norm in {"linf", "l2", "l1"} - set(norms):
        with pytest.raises(ConfigError, match=f"The 'norm' parameter of attack '{name}'"):
            run(model, x, y, name, norm=norm, epsilon=0.1)
    with pytest.raises(ConfigError, match="The 'epsilon' parameter of run"):
        run(model, x, y, name, norm=norms[0], epsilon=-1.0)
    if not cls.minimal:
        with pytest.raises(ConfigError, match=r"positive float\. Got None"):
            run(model, x, y, name, norm=norms[0], epsilon=None)
    with pytest.raises(ConfigError, match="criterion is for regression"):
        run(model, x, y, name, norm=norms[0], epsilon=0.1, criterion="score_changed")


@pytest.mark.parametrize("name", IMAGE_LP)
def test_image_attack_refuses_a_text_model(name, batch):
    from helpers_text import keyword_model

    x, y = batch
    with pytest.raises(ConfigError, match=r"is an image attack.*Use a text attack"):
        run(keyword_model(), x, y, name, norm=ATTACKS.get(name).norms[0], epsilon=0.1)  # type: ignore[attr-defined]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(("name", "norm"), CASES)
def test_attacks_run_on_gpu(name, norm, mlp, batch):
    from robustlab.models import TorchModel

    gpu = TorchModel(mlp.module, num_classes=10, device="cuda")
    x, y = batch
    result = _attack(gpu, x, y, name, norm)
    assert result.adversarial.device.type == "cpu"
    assert LpBall(norm, EPS[norm]).contains(result.adversarial, x, bounds=(0.0, 1.0)).all()


# -- text attacks ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reviews_model():
    from helpers_text import tfidf

    return tfidf()


@pytest.fixture(scope="module")
def review_batch(reviews_model):
    from helpers_text import reviews

    data = reviews("test")
    return list(data.texts[:10]), np.asarray(data.targets[:10])


def _text_attack(model, texts, targets, name, *, seed=0, **extra):
    params = {**ATTACKS.get(name).quick_params, **extra}
    return run(
        model,
        texts,
        targets,
        name,
        budget=TEXT_BUDGET,
        seed=seed,
        similarity=False,
        threat=EDITS,
        **params,
    )


@pytest.mark.parametrize("name", TEXT)
def test_text_adversarials_stay_within_the_edit_budget(name, reviews_model, review_batch):
    texts, y = review_batch
    result = _text_attack(reviews_model, texts, y, name)
    assert EDITS.contains(result.adversarial, texts).all()
    assert (result.queries <= TEXT_BUDGET).all() and (result.queries >= 1).all()
    assert result.to_dict()["threat"] == EDITS.spec


@pytest.mark.parametrize("name", TEXT)
@pytest.mark.parametrize("goal", [Misclassified(), TargetedClass(target_class=0)], ids=str)
def test_text_success_agrees_with_the_criterion(name, goal, reviews_model, review_batch):
    texts, y = review_batch
    result = _text_attack(reviews_model, texts, y, name, criterion=goal)
    targets = torch.as_tensor(y)
    fresh = goal.broken(reviews_model.predict_proba(result.adversarial).double(), targets)
    clean = goal.broken(reviews_model.predict_proba(texts).double(), targets)
    assert np.array_equal(result.success, (fresh & ~clean).numpy())
    failed = ~result.success
    assert [a for a, f in zip(result.adversarial, failed, strict=True) if f] == [
        t for t, f in zip(texts, failed, strict=True) if f
    ]
    assert result.success.any(), f"{name} broke none of {len(texts)} reviews"


@pytest.mark.parametrize("name", TEXT)
def test_text_attack_is_deterministic_for_a_seed(name, reviews_model, review_batch):
    texts, y = review_batch
    a = _text_attack(reviews_model, texts, y, name, seed=5)
    b = _text_attack(reviews_model, texts, y, name, seed=5)
    assert [e.to_dict() for e in a.examples] == [e.to_dict() for e in b.examples]


@pytest.mark.parametrize("name", TEXT)
def test_text_attack_refuses_image_inputs_and_models(name, mlp, batch):
    x, y = batch
    with pytest.raises(ConfigError, match="text Model"):
        run(mlp, x, y, name, budget=10)
    with pytest.raises(ConfigError, match="EditBudget"):
        run(mlp, ["a text"], [0], name, threat=LpBall("linf", 0.1))


# -- attacks on transformation threat models ----------------------------------------------------


def _threats():
    from robustlab.attacks.threat import THREATS, ParametricThreat

    return [n for n, c in THREATS.items() if issubclass(c, ParametricThreat)]


def _rgb(batch):
    x, y = batch
    return x.expand(-1, 3, -1, -1).contiguous(), y


@pytest.mark.parametrize("name", PARAMETRIC)
@pytest.mark.parametrize("threat_name", _threats())
def test_transformation_attacks_stay_in_their_threat_and_recheck(name, threat_name, mlp, batch):
    from robustlab.attacks.threat import build_threat
    from robustlab.models import TorchModel

    threat = build_threat(threat_name, strength=0.5)
    x, y = batch
    model = mlp
    if threat.needs_channels == 3:  # a colour threat: gray digits as RGB, averaged back
        x, y = _rgb(batch)
        model = TorchModel(torch.nn.Sequential(_Mean(), mlp.module), num_classes=10)
    params = ATTACKS.get(name).quick_params
    result = run(model, x, y, name, threat=threat, **params)
    assert result.adversarial.min() >= 0.0 and result.adversarial.max() <= 1.0
    broken = Misclassified().broken(model.predict_scores(result.adversarial), y)
    assert torch.equal(broken, result.success)
    assert torch.equal(result.adversarial[~result.success], x[~result.success])
    again = run(model, x, y, name, threat=threat, **params)
    assert torch.equal(again.adversarial, result.adversarial)
    assert result.norm == threat_name and result.epsilon == 0.5
    assert result.queries is not None and (result.queries[result.clean_correct] > 0).all()
    with pytest.raises(ConfigError, match="not an Lp ball"):
        run(model, x, y, name, norm="linf", epsilon=0.1)


class _Mean(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=1, keepdim=True)


@pytest.mark.parametrize("threat_name", ["hue", "saturation"])
def test_colour_threats_refuse_one_channel_inputs(threat_name, mlp, batch):
    from robustlab.attacks.threat import build_threat

    x, y = batch
    with pytest.raises(ConfigError, match="needs 3-channel images"):
        run(mlp, x, y, "grid_search", threat=build_threat(threat_name, strength=0.5))
