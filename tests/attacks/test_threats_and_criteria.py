"""Threat models (Lp balls, text edit budgets) and attack criteria: known answers, targeted
attacks end to end, modality mismatches and the old names."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robustlab.attacks import (
    ATTACKS,
    THREATS,
    EditBudget,
    LpBall,
    ThreatModel,
    attacks_for,
    run,
    standard,
)
from robustlab.attacks.threat import text_edits
from robustlab.data import ArrayDataset
from robustlab.errors import ConfigError
from robustlab.probes import NotApplicable, make_probe
from robustlab.tasks.criteria import Misclassified, TargetedClass

BOUNDS = (0.0, 1.0)


# -- LpBall ---------------------------------------------------------------------------------


def test_lp_ball_projection_known_answers():
    x = torch.full((3, 4), 0.5)
    adv = x + torch.tensor([[0.3, -0.3, 0.05, 0.0], [0.6, 0.0, 0.0, 0.8], [0.9, 0.9, 0.9, 0.9]])
    linf = LpBall("linf", 0.1).project(adv, x, BOUNDS)
    assert torch.allclose(
        linf - x, torch.tensor([[0.1, -0.1, 0.05, 0.0], [0.1, 0, 0, 0.1], [0.1] * 4])
    )
    l2 = LpBall("l2", 0.5).project(adv, x, BOUNDS)
    # Row 2 is (0.6, 0, 0, 0.8) of length 1: scaled to 0.5 it is (0.3, 0, 0, 0.4), in bounds.
    assert torch.allclose(l2[1] - x[1], torch.tensor([0.3, 0.0, 0.0, 0.4]))
    l1 = LpBall("l1", 0.2).project(adv, x, BOUNDS)
    # Row 1's L1 projection soft-thresholds |(0.3, 0.3, 0.05)| by 0.2 / 2 -> (0.1, -0.1, 0).
    assert torch.allclose(l1[0] - x[0], torch.tensor([0.1, -0.1, 0.0, 0.0]), atol=1e-6)
    for threat in (LpBall("linf", 0.1), LpBall("l2", 0.5), LpBall("l1", 0.2)):
        out = threat.project(adv, x, BOUNDS)
        assert threat.contains(out, x, bounds=BOUNDS).all()
        assert torch.equal(threat.project(out, x, BOUNDS), out) or torch.allclose(
            threat.project(out, x, BOUNDS), out, atol=1e-7
        )


def test_lp_ball_projection_respects_the_bounds():
    x = torch.tensor([[0.95, 0.02]])
    out = LpBall("linf", 0.1).project(x + torch.tensor([[0.1, -0.1]]), x, BOUNDS)
    assert torch.allclose(out, torch.tensor([[1.0, 0.0]]))
    low, high = LpBall("linf", 0.1).box(x, BOUNDS)
    assert torch.allclose(low, torch.tensor([[0.85, 0.0]])) and torch.allclose(
        high, torch.tensor([[1.0, 0.12]])
    )


def test_lp_ball_contains_has_a_float_tolerance_and_checks_bounds():
    x = torch.zeros(2, 3)
    threat = LpBall("l2", 1.0)
    just = torch.tensor([[1.0 + 1e-7, 0, 0], [1.01, 0, 0]])
    assert threat.contains(just, x).tolist() == [True, False]
    assert threat.contains(
        torch.tensor([[-0.1, 0, 0], [0.5, 0, 0]]), x, bounds=BOUNDS
    ).tolist() == [
        False,
        True,
    ]
    assert LpBall("linf").contains(torch.full((2, 3), 0.9), x).all()  # unbounded: any size


def test_lp_ball_validation_key_and_description():
    assert LpBall("linf", 8 / 255).key == f"lp(norm=linf,epsilon={8 / 255!r})"
    assert LpBall("l2", 0.5).spec == {"threat": "lp", "norm": "l2", "epsilon": 0.5}
    assert "L2 ball of radius 0.5" in LpBall("l2", 0.5).describe()
    with pytest.raises(
        ConfigError, match="The 'norm' parameter of threat model 'lp' must be one of"
    ):
        LpBall("l3", 0.1)
    for bad in (0.0, -1.0, math.inf, True, "0.1"):
        with pytest.raises(ConfigError, match="The 'epsilon' parameter of threat model 'lp'"):
            LpBall("linf", bad)  # type: ignore[arg-type]
    assert {"lp", "edits"} <= set(THREATS.names())
    assert all(issubclass(c, ThreatModel) for _, c in THREATS.items())


# -- EditBudget -----------------------------------------------------------------------------


def test_text_edits_counts_words_and_characters():
    assert text_edits("the movie was good", "the movei was good") == (1, 4, 2, 18)
    assert text_edits("the movie was good", "the film was great") == (2, 4, 9, 18)
    # An extra word: aligned with difflib, the inserted word counts with its characters.
    words, n, chars, _ = text_edits("a fine film", "a very fine film")
    assert (words, n, chars) == (1, 3, 4)
    assert text_edits("same text", "same text")[0] == 0


def test_edit_budget_contains_and_validation():
    original = ["the movie was good", "the movie was good"]
    adversarial = ["the movei was good", "teh movei wsa good"]
    budget = EditBudget(max_words_changed=0.25)
    assert budget.contains(adversarial, original).tolist() == [True, False]
    assert budget.word_limit(4) == 1 and EditBudget().word_limit(7) == 7
    chars = EditBudget(max_chars_changed=0.15)  # a swap is two substitutions: 2 of 18
    assert chars.contains(adversarial, original).tolist() == [True, False]
    sims = EditBudget(min_similarity=0.8)
    assert sims.contains(adversarial, original, similarity=[0.9, 0.7]).tolist() == [True, False]
    assert EditBudget().unconstrained and "any extent" in EditBudget().describe()
    assert "25% of the words" in budget.describe()
    with pytest.raises(ConfigError, match="'max_words_changed' parameter of threat model 'edits'"):
        EditBudget(max_words_changed=1.5)
    with pytest.raises(ConfigError, match="'min_similarity' parameter of threat model 'edits'"):
        EditBudget(min_similarity=2.0)


def test_text_attack_edit_budget_is_enforced_and_needs_similarity_for_a_floor():
    from helpers_text import keyword_model

    text = "The plot was good but the ending dragged on."
    free = run(keyword_model(), [text], [1], "deepwordbug", budget=100, similarity=False)
    assert free.success[0]
    none = run(
        keyword_model(),
        [text],
        [1],
        "deepwordbug",
        budget=100,
        similarity=False,
        threat=EditBudget(max_words_changed=0.0),
    )
    assert not none.success[0] and none.adversarial[0] == text
    with pytest.raises(ConfigError, match="min_similarity needs the similarity measured"):
        run(
            keyword_model(),
            [text],
            [1],
            "deepwordbug",
            similarity=False,
            threat=EditBudget(min_similarity=0.9),
        )


# -- criteria in image attacks --------------------------------------------------------------


@pytest.mark.parametrize("name", ["pgd", "apgd"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_targeted_pgd_and_apgd_reach_the_target_class(name, norm, mlp, batch):
    x, y = batch
    keep = y != 7
    x, y = x[keep], y[keep]
    eps = {"linf": 0.3, "l2": 3.0}[norm]
    goal = TargetedClass(target_class=7)
    result = run(mlp, x, y, name, norm=norm, epsilon=eps, steps=20, criterion=goal)
    predicted = mlp.predict_scores(result.adversarial).argmax(dim=1)
    assert result.success.float().mean() > 0.8, "a targeted attack at a large budget succeeds"
    assert torch.equal(result.success, predicted == 7)
    assert LpBall(norm, eps).contains(result.adversarial, x, bounds=BOUNDS).all()
    untargeted = run(mlp, x, y, name, norm=norm, epsilon=eps, steps=20)
    wrong = mlp.predict_scores(untargeted.adversarial).argmax(dim=1)
    assert (wrong[untargeted.success] != 7).any(), "untargeted successes land anywhere"


def test_criterion_by_name_and_points_already_of_the_target_class(mlp, batch):
    x, y = batch
    clean = mlp.predict_scores(x).argmax(dim=1)
    goal = int(clean[0])
    result = run(mlp, x, y, "pgd", epsilon=0.05, steps=3, criterion=TargetedClass(goal))
    assert result.success[clean == goal].all() and not result.clean_correct[clean == goal].any()
    assert torch.equal(result.adversarial[clean == goal], x[clean == goal])
    with pytest.raises(ConfigError, match="must be a Criterion or a criterion name"):
        run(mlp, x, y, "pgd", epsilon=0.1, criterion=3)  # type: ignore[arg-type]
    default = run(mlp, x, y, "pgd", epsilon=0.05, steps=3, seed=2)
    named = run(mlp, x, y, "pgd", epsilon=0.05, steps=3, seed=2, criterion=Misclassified())
    assert torch.equal(default.adversarial, named.adversarial)


def test_standard_ensemble_with_a_target_class(mlp, batch):
    x, y = batch
    keep = y != 2
    result = standard(
        mlp, x[keep], y[keep], norm="linf", epsilon=0.3, criterion=TargetedClass(2), checks=False
    )
    predicted = mlp.predict_scores(result.adversarial).argmax(dim=1)
    assert torch.equal(result.success, predicted == 2) and result.success.any()


# -- the attack probe: both modalities --------------------------------------------------------


def test_attack_probe_targeted_end_to_end(mlp, digits):
    x, y = digits
    data = ArrayDataset(x[:40].numpy(), y[:40].numpy(), name="digits")
    probe = make_probe(
        "attack attack=apgd norm=linf epsilon=0.3 steps=20 criterion=targeted_class target_class=4"
    )
    assert probe.key == (
        "attack(apgd,norm=linf,epsilon=0.3,criterion=targeted_class,target_class=4,steps=20)"
    )
    assert make_probe(probe.spec) == probe
    records = probe.run(mlp, data.batch(np.arange(40)), seed=0)
    broken = np.isfinite(records.perturbation)
    assert broken.sum() > 20 and np.all(records.prediction[broken] == 4)
    assert np.nanmax(records.perturbation) <= 0.3 + 1e-6
    with pytest.raises(ConfigError, match="criterion attacks can decide on classification"):
        make_probe("attack attack=pgd criterion=score_changed")
    with pytest.raises(ConfigError, match="no parameter 'target_clas'"):
        make_probe("attack attack=pgd criterion=targeted_class target_clas=4")


def test_attack_probe_modality_mismatch_names_the_fix(mlp, digits):
    from helpers_text import reviews

    x, y = digits
    images = ArrayDataset(x[:8].numpy(), y[:8].numpy(), name="digits")
    text = make_probe("attack attack=deepwordbug budget=20")
    with pytest.raises(NotApplicable, match=r"handles text data, not image.*use an image attack"):
        text.applicable(mlp, images)
    image = make_probe("attack attack=pgd epsilon=0.1")
    with pytest.raises(NotApplicable, match=r"not text.*use a text attack \(deepwordbug"):
        image.applicable(mlp, reviews("test"))
    assert image.kind == "attack" and image.resolved_axis() == "adversarial"
    assert text.kind == "text_attack" and text.resolved_axis() == "text attacks"


# -- old names --------------------------------------------------------------------------------


def test_old_text_registry_names_still_work_with_a_warning():
    import robustlab.attacks.text as text

    with pytest.deprecated_call(match="TEXT_ATTACKS is deprecated"):
        view = text.TEXT_ATTACKS
    assert view.names() == [n for n, _ in attacks_for("text")]
    assert view.get("deepwordbug") is ATTACKS.get("deepwordbug")
    with pytest.raises(Exception, match="Unknown text attack 'pgd'"):
        view.get("pgd")
    with pytest.deprecated_call(match="build_text_attack is deprecated"):
        built = text.build_text_attack("deepwordbug", candidates=2)
    assert built == ATTACKS.build("deepwordbug", candidates=2)


def test_old_image_base_name_still_works_with_a_warning():
    import robustlab.attacks.image as image

    with pytest.deprecated_call(match="ImageAttack since RobustLab 0.2"):
        old = image.Attack
    assert old is image.ImageAttack
    assert all(issubclass(c, image.ImageAttack) for _, c in attacks_for("image"))


def test_run_refuses_mixed_threat_arguments(mlp, batch):
    from helpers_text import keyword_model

    x, y = batch
    with pytest.raises(ConfigError, match="both a threat model and norm/epsilon"):
        run(mlp, x, y, "pgd", epsilon=0.1, threat=LpBall("linf", 0.1))
    with pytest.raises(
        ConfigError, match="The 'threat' parameter of attack 'pgd' must be a LpBall"
    ):
        run(mlp, x, y, "pgd", threat=EditBudget())
    with pytest.raises(ConfigError, match="takes no norm, epsilon or bounds"):
        run(keyword_model(), ["good"], [1], "deepwordbug", epsilon=0.1)


def test_an_image_attack_on_the_shared_base_is_told_to_subclass_image_attack():
    from robustlab.attacks import Attack

    with pytest.raises(TypeError, match=r"subclass robustlab\.attacks\.ImageAttack instead"):

        class Old(Attack):  # the 0.1 way of writing an image attack
            def _perturb(self, ctx, inputs, targets):
                return inputs, None


def test_text_attack_demotes_a_document_under_the_ranking_criterion(mlp, batch):
    """Issue 12's document attack through the text attacks: the "model" scores a query against
    the attacked document (column 0) and two fixed ones; demoted(k=1) breaks once another
    document ranks at least as high."""
    from robustlab.attacks.text import Tokenized
    from robustlab.models import FunctionModel
    from robustlab.tasks.criteria import Demoted

    query = {"great", "acting"}

    def score(doc: str) -> float:
        return float(sum(w in query for w in Tokenized.parse(doc.lower()).words))

    others = ["a great plot", "fine acting"]

    def predict(texts):
        return np.asarray([[score(t), *map(score, others)] for t in texts])

    ranker = FunctionModel(predict, modality="text", num_classes=3, output="logits", name="ranker")
    doc = "great acting and a great cast"
    goal = Demoted(k=1)
    result = run(ranker, [doc], [0], "deepwordbug", budget=200, similarity=False, criterion=goal)
    assert result.success[0] and result.adversarial[0] != doc
    fresh = ranker.predict_scores([result.adversarial[0]])
    assert goal.broken(fresh, torch.tensor([0]))[0]
    assert result.to_dict()["criterion"] == {"criterion": "demoted", "k": 1}
    x, y = batch
    with pytest.raises(ConfigError, match="criterion is for ranking"):
        run(mlp, x, y, "pgd", norm="linf", epsilon=0.1, criterion=goal)
