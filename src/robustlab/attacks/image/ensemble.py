"""The standard and rand ensembles: AutoAttack's attacks in sequence, per-example worst case."""

from __future__ import annotations

import time
from typing import Any

import torch

from robustlab._progress import stage
from robustlab.attacks._base import resolve_criterion
from robustlab.attacks.image._base import (
    ImageAttack,
    check_choice,
    check_epsilon,
    check_seed,
    prepare_batch,
    resolve_bounds,
)
from robustlab.attacks.image._ops import lp_norm
from robustlab.attacks.image._result import AttackResult, AttackWarning
from robustlab.attacks.image.apgd import APGD
from robustlab.attacks.image.checks import cheap_checks, check_square_vs_whitebox
from robustlab.attacks.image.fab import FAB
from robustlab.attacks.image.fast import check_audit_fraction, fast
from robustlab.attacks.image.hop_skip_jump import HopSkipJump
from robustlab.attacks.image.square import Square
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.seeding import ExampleSeeds, as_seeds
from robustlab.tasks.base import Criterion

__all__ = ["VERSIONS", "ensemble_plan", "standard"]

VERSIONS = ("standard", "rand", "fast")


def ensemble_plan(version: str, model: Model) -> list[tuple[str, ImageAttack]]:
    """The attacks an ensemble ``version`` runs on ``model``, in order, with their labels.

    ``standard`` is AutoAttack's standard version: APGD-CE, APGD-T (DLR, 9 target classes),
    FAB-T (9 target classes) and Square (5000 queries), one restart each. ``rand`` is its version
    for randomized models: APGD-CE and APGD-DLR with 20 gradient samples per step (EOT). A black
    box gets only the black-box attack it supports.
    """
    if "gradients" not in model.capabilities:
        if "scores" in model.capabilities:
            return [("square", Square(n_queries=5000))]
        return [("hop_skip_jump", HopSkipJump())]
    if version == "rand":
        return [
            ("apgd-ce", APGD(loss="ce", eot_iter=20)),
            ("apgd-dlr", APGD(loss="dlr", eot_iter=20)),
        ]
    return [
        ("apgd-ce", APGD(loss="ce")),
        ("apgd-t", APGD(loss="dlr-targeted", n_target_classes=9)),
        ("fab-t", FAB(n_target_classes=9)),
        ("square", Square(n_queries=5000)),
    ]


def standard(
    model: Model,
    inputs: Any,
    targets: Any,
    *,
    norm: str = "linf",
    epsilon: float,
    version: str = "standard",
    seed: int | ExampleSeeds = 0,
    bounds: tuple[float, float] | None = None,
    checks: bool = True,
    criterion: Criterion | str | None = None,
    audit_fraction: float = 0.2,
) -> AttackResult:
    """Robust accuracy under AutoAttack's ensemble: each attack runs only on the points all the
    previous ones failed to break, so the result is the per-example worst case.

    References:
        Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks", ICML 2020.

    Args:
        model: The model; a black box gets only Square (scores) or HopSkipJump (labels), with a
            warning that the evaluation is weaker.
        inputs: Batch ``(N, ...)`` of raw inputs within the bounds.
        targets: True class indices ``(N,)``.
        norm: ``linf`` or ``l2``.
        epsilon: Perturbation budget.
        version: ``standard``, ``rand`` for randomized models (expectation over
            transformation), or ``fast``: a budgeted sequence (margin-loss APGD, MALT-ranked
            targets, a round on the points nearest the boundary, FAB-T/Square audits on a subset)
            that escalates to ``standard`` when the audits gain more than 0.2 pp; its params
            record the stage that broke each point and the passes spent.
        seed: Seed given to every attack: an int, or per-example
            :class:`~robustlab.seeding.ExampleSeeds` (each attack gets its examples' own).
        bounds: Valid input range overriding ``model.bounds``.
        checks: Run the cheap honest-evaluation checks and attach their warnings.
        criterion: What counts as broken (default: the model's task's, misclassification); with
            another criterion each attack ascends its margin (see the attacks).
        audit_fraction: For ``fast``, the share in (0, 1] of still-robust points audited.

    Returns:
        An :class:`AttackResult` whose ``per_attack`` maps each attack's label to the number of
        points it broke.
    """
    start = time.perf_counter()
    owner = "standard()"
    check_choice(owner, "version", version, VERSIONS)
    norm = norm.lower() if isinstance(norm, str) else norm
    check_choice(owner, "norm", norm, ("linf", "l2"))
    eps = check_epsilon(owner, epsilon, required=True)
    if not isinstance(seed, ExampleSeeds):
        seed = check_seed(owner, seed)
    fraction = check_audit_fraction(owner, audit_fraction)
    if not isinstance(model, Model):
        raise ConfigError(
            f"The 'model' parameter of {owner} must be a robustlab Model. Got "
            f"{type(model).__name__}; wrap it with TorchModel, FunctionModel or SklearnModel."
        )
    goal = resolve_criterion(criterion, model, owner)
    low_high = resolve_bounds(model, bounds, owner)
    x, y = prepare_batch(inputs, targets, torch.device("cpu"), low_high, owner)
    seeds = as_seeds(owner, seed, len(x))  # each attack gets its examples' own seeds
    seed = seeds.base

    warnings: list[AttackWarning] = []
    if checks:
        warnings += cheap_checks(model, x, y, version=version, bounds=low_high)
    if version == "fast" and "gradients" in model.capabilities:
        return _fast_or_escalate(model, x, y, norm, eps, seed, low_high, goal, fraction, warnings)
    plan = ensemble_plan(version, model)
    if "gradients" not in model.capabilities:
        warnings.append(
            AttackWarning(
                "black-box-only",
                f"Model {model.name!r} gives no gradients, so only {plan[0][0]!r} ran instead of "
                f"the {version} ensemble.",
                "Black-box attacks give an upper bound on robust accuracy that can be loose; "
                "evaluate a white-box (TorchModel) version of the model if you can.",
            )
        )

    adversarial = x.clone()
    robust: torch.Tensor | None = None
    clean_correct: torch.Tensor | None = None
    queries: torch.Tensor | None = None
    per_attack: dict[str, int] = {}
    for index, (label, attack) in enumerate(plan):
        todo = torch.arange(len(x)) if robust is None else robust.nonzero().squeeze(1)
        if len(todo) == 0:
            per_attack[label] = 0
            continue
        with stage(index, len(plan)):  # scan progress: each attack one part of the unit
            result = attack.run(
                model,
                x[todo],
                y[todo],
                norm=norm,
                epsilon=eps,
                seed=seeds[todo],
                bounds=low_high,
                criterion=goal,
            )
        warnings += [w for w in result.warnings if w not in warnings]
        if robust is None:
            clean_correct = result.clean_correct.clone()
            robust = clean_correct.clone()
            broken = result.success & result.clean_correct
        else:
            broken = result.success
        adversarial[todo[broken]] = result.adversarial[broken]
        robust[todo[broken]] = False
        per_attack[label] = int(broken.sum())
        if result.queries is not None:
            queries = torch.zeros(len(x), dtype=torch.long) if queries is None else queries
            queries[todo] += result.queries
    assert robust is not None and clean_correct is not None
    if checks:
        warnings += check_square_vs_whitebox(per_attack, len(x))
    return AttackResult(
        adversarial=adversarial,
        success=~robust,
        norms=lp_norm(adversarial - x, norm),
        queries=queries,
        clean_correct=clean_correct,
        attack=version,
        params={"version": version, "attacks": {k: a.spec() for k, a in plan}},
        norm=norm,
        epsilon=eps,
        seed=seed,
        warnings=warnings,
        per_attack=per_attack,
        elapsed_s=time.perf_counter() - start,
        criterion=goal.spec,
    )


def _fast_or_escalate(
    model: Model,
    x: torch.Tensor,
    y: torch.Tensor,
    norm: str,
    eps: float | None,
    seed: int,
    low_high: tuple[float, float],
    goal: Criterion,
    fraction: float,
    warnings: list[AttackWarning],
) -> AttackResult:
    """The ``fast`` version; when its audits fire, the per-example worst case of it and the full
    ``standard`` run."""
    assert eps is not None
    start = time.perf_counter()
    result, escalate = fast(
        model,
        x,
        y,
        norm=norm,
        epsilon=eps,
        seed=seed,
        bounds=low_high,
        goal=goal,
        audit_fraction=fraction,
    )
    result.warnings[:0] = warnings
    if escalate:
        # Only the points the fast stages left robust can change: run standard on those.
        robust = (~result.success).nonzero().squeeze(1)
        result.params["escalated_points"] = len(robust)
        if len(robust):
            full = standard(
                model,
                x[robust],
                y[robust],
                norm=norm,
                epsilon=eps,
                seed=seed,
                bounds=low_high,
                checks=False,
                criterion=goal,
            )
            extra = robust[full.success]
            result.adversarial[extra] = full.adversarial[full.success]
            result.success[extra] = True
            result.norms = lp_norm(result.adversarial - x, norm)
            result.per_attack["standard-escalation"] = len(extra)
            stages = result.params["stage"]
            for i in extra.tolist():
                stages[i] = "standard-escalation"
        else:
            result.per_attack["standard-escalation"] = 0
    result.elapsed_s = time.perf_counter() - start
    return result
