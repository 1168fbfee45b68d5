"""The budgeted ``fast`` ensemble: margin-loss APGD, MALT-ranked targets, boundary rounds, audits."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from robustlab.attacks.image._base import Context
from robustlab.attacks.image._result import AttackResult, AttackWarning
from robustlab.attacks.image.apgd import APGD
from robustlab.attacks.image.fab import FAB
from robustlab.attacks.image.square import Square
from robustlab.attacks.threat import LpBall
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.tasks.base import Criterion

__all__ = ["FAST_STAGES", "check_audit_fraction", "fast", "malt_targets"]

FAST_STAGES = ("clean", "apgd-margin", "apgd-t-malt", "rounds", "fab-t-audit", "square-audit")
# An audit gain above this many percentage points means the white-box stages were not enough.
ESCALATE_PP = 0.2


def check_audit_fraction(owner: str, value: object) -> float:
    """``value`` as a float in (0, 1], or a ConfigError naming the fix."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ConfigError(
            f"The 'audit_fraction' parameter of {owner} must be a fraction in (0, 1] (the share "
            f"of still-robust points the FAB-T and Square audits run on). Got {value!r} instead."
        )
    return float(value)


@dataclass
class _Counting(Context):
    """A :class:`Context` that counts per-example forward and backward passes."""

    forward: int = 0
    backward: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        self.forward += len(x)
        if torch.is_grad_enabled() and x.requires_grad:
            self.backward += len(x)
        return super().logits(x)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        if not self.white_box:
            self.forward += len(x)
        return super().scores(x)


def malt_targets(ctx: Context, x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` classes with the smallest linearised distance to the boundary,
    ``(z_y - z_t) / ||grad(z_y - z_t)||_*`` (dual norm), per example (MALT).

    References:
        Melamed et al., "Adversarial attacks via mesoscopic landscape ... (MALT)", NeurIPS 2024.
    """
    xg = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = ctx.logits(xg)
        classes = logits.shape[1]
        zy = logits.gather(1, y[:, None]).squeeze(1)
        dist = torch.full((len(x), classes), float("inf"), device=x.device)
        for t in range(classes):
            diff = zy - logits[:, t]
            (g,) = torch.autograd.grad(diff.sum(), xg, retain_graph=t < classes - 1)
            flat = g.flatten(1)
            dual = flat.abs().sum(1) if ctx.norm == "linf" else flat.norm(dim=1)
            dist[:, t] = diff.detach() / dual.clamp(min=1e-12)
    if isinstance(ctx, _Counting):
        ctx.backward += len(x) * (classes - 1)
    dist[torch.arange(len(x)), y] = float("inf")
    return dist.argsort(dim=1)[:, : min(k, classes - 1)]


def fast(
    model: Model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: str,
    epsilon: float,
    seed: int,
    bounds: tuple[float, float],
    goal: Criterion,
    audit_fraction: float = 0.2,
    steps: int = 25,
    n_targets: int = 3,
) -> tuple[AttackResult, bool]:
    """Run the fast ensemble on ``x`` (on the CPU); returns the result and whether an audit gain
    above :data:`ESCALATE_PP` asks for the full ``standard`` run.

    Stages, each on the points every earlier stage failed to break: APGD on the margin (DLR)
    loss; targeted APGD-DLR on the ``n_targets`` MALT-ranked classes; one round of APGD-CE with
    twice the steps on the half of the still-robust points closest to the boundary (smallest
    margin); and FAB-T and Square as audits on ``audit_fraction`` of the points still robust.

    References:
        Croce & Hein, ICML 2020 (APGD, FAB, Square); Liu et al., "Practical evaluation of
        adversarial robustness via adaptive auto attack", CVPR 2022; Melamed et al., NeurIPS 2024.
    """
    start = time.perf_counter()
    device = model.device
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    num_classes = model.num_classes or int(model.predict_scores(x[:1].cpu()).shape[1])
    ctx = _Counting(model, LpBall(norm, epsilon), bounds, generator, device, num_classes, goal)
    xd, yd = x.to(device), y.to(device)
    n = len(x)
    stage = torch.full((n,), -1, dtype=torch.long)
    adversarial = xd.clone()
    clean = ctx.broken(ctx.scores(xd), yd).cpu()
    stage[clean] = 0
    per_attack: dict[str, int] = {}
    passes: dict[str, dict[str, int]] = {}

    def robust() -> torch.Tensor:
        return (stage < 0).nonzero().squeeze(1)

    def commit(label: str, todo: torch.Tensor, adv: torch.Tensor) -> None:
        adv = ctx.project(adv.detach().to(device), xd[todo])
        broken = ctx.broken(ctx.scores(adv), yd[todo]).cpu()
        adversarial[todo[broken]] = adv[broken]
        stage[todo[broken]] = FAST_STAGES.index(label)
        per_attack[label] = per_attack.get(label, 0) + int(broken.sum())

    def spent(label: str, before: tuple[int, int]) -> None:
        passes[label] = {"forward": ctx.forward - before[0], "backward": ctx.backward - before[1]}

    # 1. APGD on the margin loss.
    before = (ctx.forward, ctx.backward)
    todo = robust()
    if len(todo):
        adv, _ = APGD(loss="dlr", steps=steps)._perturb(ctx, xd[todo], yd[todo])
        commit("apgd-margin", todo, adv)
    spent("apgd-margin", before)
    # 2. Targeted APGD on the MALT-ranked classes.
    before = (ctx.forward, ctx.backward)
    per_attack["apgd-t-malt"] = 0
    todo = robust()
    if len(todo):
        ranked = malt_targets(ctx, xd[todo], yd[todo], n_targets)
        attack = APGD(loss="dlr-targeted", steps=steps)
        for r in range(ranked.shape[1]):
            alive = stage[todo] < 0
            sub, goal_t = todo[alive], ranked[alive.to(ranked.device), r]
            if not len(sub):
                break
            adv, _ = attack._single_run(ctx, xd[sub], yd[sub], goal_t)
            commit("apgd-t-malt", sub, adv)
    spent("apgd-t-malt", before)
    # 3. A round spending the remaining budget on the still-robust points nearest the boundary.
    before = (ctx.forward, ctx.backward)
    per_attack["rounds"] = 0
    todo = robust()
    if len(todo):
        margins = ctx.margin(ctx.scores(adversarial[todo]), yd[todo]).cpu()
        near = todo[margins.argsort()[: max(1, (len(todo) + 1) // 2)]]
        adv, _ = APGD(loss="ce", steps=2 * steps)._perturb(ctx, xd[near], yd[near])
        commit("rounds", near, adv)
    spent("rounds", before)
    # 4. Audits on a subset of the points still robust.
    audited = 0
    todo = robust()
    if len(todo):
        g = torch.Generator().manual_seed(seed)
        pick = todo[
            torch.randperm(len(todo), generator=g)[: max(1, round(audit_fraction * len(todo)))]
        ]
        audited = len(pick)
        for label, audit in (
            ("fab-t-audit", FAB(n_target_classes=3)),
            ("square-audit", Square(n_queries=1000)),
        ):
            before = (ctx.forward, ctx.backward)
            per_attack[label] = 0
            sub = pick[stage[pick] < 0]
            if len(sub):
                adv, _ = audit._perturb(ctx, xd[sub], yd[sub])
                commit(label, sub, adv)
            spent(label, before)
    gain = per_attack.get("fab-t-audit", 0) + per_attack.get("square-audit", 0)
    # The audit's gain extrapolated to every still-robust point, in points of robust accuracy.
    gain_pp = 100.0 * gain / audited * (len(todo) / n) if audited else 0.0
    warnings: list[AttackWarning] = []
    escalate = gain_pp > ESCALATE_PP
    if escalate:
        warnings.append(
            AttackWarning(
                "fast-audit-gain",
                f"The FAB-T/Square audits of the fast ensemble broke {gain} of {audited} audited "
                f"points (about {gain_pp:.2f} pp of robust accuracy, above {ESCALATE_PP} pp), so "
                "the white-box stages were not enough; the full standard ensemble was run.",
                "Check the model for gradient masking; report the standard version's numbers.",
            )
        )
    success = stage >= 0
    labels = [FAST_STAGES[int(s)] if s >= 0 else None for s in stage]
    result = AttackResult(
        adversarial=adversarial.cpu(),
        success=success,
        norms=ctx.threat.distance(adversarial - xd).cpu(),
        queries=None,
        clean_correct=~clean,
        attack="fast",
        params={
            "version": "fast",
            "steps": steps,
            "n_targets": n_targets,
            "audit_fraction": audit_fraction,
            "audited": audited,
            "audit_gain_pp": gain_pp,
            "escalated": escalate,
            "stage": labels,
            "passes": passes,
            "forward_passes": ctx.forward,
            "backward_passes": ctx.backward,
        },
        norm=norm,
        epsilon=epsilon,
        seed=seed,
        warnings=warnings + list(ctx.warnings),
        per_attack={k: v for k, v in per_attack.items()},
        elapsed_s=time.perf_counter() - start,
        criterion=goal.spec,
    )
    return result, escalate
