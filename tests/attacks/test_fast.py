"""The fast ensemble: no weaker than PGD, in-ball, stage attribution and pass counts, bad input."""

from __future__ import annotations

import pytest
import torch

from robustlab.attacks import run, standard
from robustlab.attacks.image import fast as fast_mod
from robustlab.attacks.image.fast import FAST_STAGES
from robustlab.errors import ConfigError


@pytest.mark.parametrize(("norm", "eps"), [("linf", 0.05), ("l2", 0.5)])
def test_fast_is_in_ball_and_no_weaker_than_pgd(mlp, digits, norm, eps):
    x, y = digits[0][:40], digits[1][:40]
    result = standard(mlp, x, y, norm=norm, epsilon=eps, version="fast")
    pgd = run(mlp, x, y, "pgd", norm=norm, epsilon=eps)
    assert result.robust_accuracy <= pgd.robust_accuracy
    assert (result.norms <= eps + 1e-5).all()
    assert result.adversarial.min() >= 0 and result.adversarial.max() <= 1
    pred = mlp.predict_scores(result.adversarial).argmax(dim=1)
    assert torch.equal(pred != y, result.success)


def test_fast_stage_attribution_sums_and_passes_are_counted(mlp, digits):
    x, y = digits[0][:40], digits[1][:40]
    result = standard(mlp, x, y, norm="linf", epsilon=0.05, version="fast")
    stages = result.params["stage"]
    assert len(stages) == len(x)
    assert [s is not None for s in stages] == result.success.tolist()
    clean_wrong = int((~result.clean_correct).sum())
    assert stages.count("clean") == clean_wrong
    assert sum(result.per_attack.values()) + clean_wrong == int(result.success.sum())
    for label, count in result.per_attack.items():
        assert stages.count(label) == count and label in FAST_STAGES
    passes = result.params["passes"]
    assert result.params["backward_passes"] > 0
    assert result.params["forward_passes"] >= sum(p["forward"] for p in passes.values())
    assert passes["apgd-margin"]["backward"] > 0


def test_fast_matches_standard_on_the_fixture(mlp, digits):
    x, y = digits[0][:40], digits[1][:40]
    fast = standard(mlp, x, y, norm="linf", epsilon=0.05, version="fast")
    ref = standard(mlp, x, y, norm="linf", epsilon=0.05)
    assert fast.robust_accuracy <= ref.robust_accuracy + 0.03


def test_audit_gain_above_threshold_escalates(mlp, digits, monkeypatch):
    monkeypatch.setattr(fast_mod, "ESCALATE_PP", -1.0)
    x, y = digits[0][:20], digits[1][:20]
    result = standard(mlp, x, y, norm="linf", epsilon=0.05, version="fast")
    # gain 0 > -1 fires the escalation: the standard run's breaks are merged in
    assert "fast-audit-gain" in [w.code for w in result.warnings]
    assert result.params["escalated"]
    assert "standard-escalation" in result.per_attack
    ref = standard(mlp, x, y, norm="linf", epsilon=0.05)
    assert result.robust_accuracy <= ref.robust_accuracy


def test_malt_targets_exclude_true_class(mlp, digits):
    from robustlab.attacks.image._base import Context
    from robustlab.attacks.threat import LpBall

    x, y = digits[0][:10], digits[1][:10]
    ctx = Context(mlp, LpBall("linf", 0.1), (0.0, 1.0), torch.Generator(), mlp.device, 10)
    ranked = fast_mod.malt_targets(ctx, x, y, 3)
    assert ranked.shape == (10, 3)
    assert not (ranked == y[:, None]).any()


@pytest.mark.parametrize("fraction", [0.0, 1.5, -0.1, "half", True])
def test_audit_fraction_outside_unit_interval_is_a_clear_error(mlp, digits, fraction):
    x, y = digits[0][:4], digits[1][:4]
    with pytest.raises(ConfigError, match="audit_fraction"):
        standard(mlp, x, y, norm="linf", epsilon=0.05, version="fast", audit_fraction=fraction)


def test_fast_is_a_probe_version_and_the_quick_suite_entry():
    from robustlab.probes.ensemble import Ensemble
    from robustlab.suites import load_suite

    probe = Ensemble("linf", 8 / 255, "fast")
    assert "fast" in probe.label
    suite = load_suite("quick")
    versions = [getattr(p, "version", None) for p in suite.probes if p.name == "ensemble"]
    assert versions == ["fast"]
    assert load_suite("standard").probes and all(
        p.version == "standard" for p in load_suite("standard").probes if p.name == "ensemble"
    )


def test_escalation_reruns_only_the_still_robust_points(mlp, digits, monkeypatch):
    from robustlab.attacks.image import ensemble as ens

    monkeypatch.setattr(fast_mod, "ESCALATE_PP", -1.0)
    seen = []
    real = ens.standard

    def spy(model, inputs, targets, **kwargs):
        if kwargs.get("version", "standard") == "standard":
            seen.append(len(inputs))
        return real(model, inputs, targets, **kwargs)

    monkeypatch.setattr(ens, "standard", spy)
    x, y = digits[0][:30], digits[1][:30]
    result = real(mlp, x, y, norm="linf", epsilon=0.05, version="fast")
    robust_before = result.params["escalated_points"]
    assert seen == [robust_before] and 0 < robust_before < len(x)
    stages = result.params["stage"]
    assert sum(s is None for s in stages) == int((~result.success).sum())
    assert result.per_attack["standard-escalation"] == stages.count("standard-escalation")
