"""Exhaustive search over a grid of transformation parameters (rotations, shifts, colour)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_int
from robustlab.attacks.threat import LpBall, ParametricThreat
from robustlab.errors import ConfigError

__all__ = ["GridSearch"]


@register_attack("grid_search")
@dataclass(frozen=True)
class GridSearch(ImageAttack):
    """Tries every parameter of a grid over a :class:`ParametricThreat` (``per_axis`` values
    per parameter, smallest changes first) and keeps, per example, the first that breaks it;
    it needs only scores, so it also attacks black boxes. Pass the threat as
    ``threat=RotationTranslation(strength)`` (or ``Hue``, ``Saturation``, ``Brightness``,
    ``Contrast``).

    References:
        Engstrom et al., "Exploring the landscape of spatial robustness", ICML 2019 (grid
        search over rotations and translations).

    Args:
        per_axis: Values per parameter, from ``-limit`` to ``+limit``.
    """

    norms: ClassVar[tuple[str, ...]] = ()
    threats: ClassVar[tuple[type, ...]] = (ParametricThreat,)
    needs: ClassVar[frozenset[str]] = frozenset({"scores"})
    quick_params: ClassVar[dict[str, Any]] = {"per_axis": 5}
    per_axis: int = 7

    def _check(self, owner: str) -> None:
        check_int(owner, "per_axis", self.per_axis, minimum=2)

    def threat_model(
        self, norm: str = "linf", epsilon: float | None = None, owner: str = "run()"
    ) -> LpBall:
        raise ConfigError(
            f"Attack {self.name!r} searches a transformation threat model, not an Lp ball; pass "
            f"threat=RotationTranslation(strength=1.0) (or Hue, Saturation, Brightness, Contrast "
            f"from robustlab.attacks) instead of norm and epsilon."
        )

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        threat = ctx.threat
        assert isinstance(threat, ParametricThreat)
        threat.check_inputs(tuple(inputs.shape), f"attack {self.name!r}")
        grid = threat.candidates(tuple(inputs.shape[1:]), self.per_axis).to(inputs.device)
        n = len(inputs)
        best = inputs.clone()
        lowest = torch.full((n,), float("inf"), device=inputs.device)
        found = torch.zeros(n, dtype=torch.bool, device=inputs.device)
        queries = torch.zeros(n, dtype=torch.long, device=inputs.device)
        for theta in grid:
            rows = (~found).nonzero().squeeze(1)
            if not len(rows):
                break
            cand = threat.transform(inputs[rows], theta.expand(len(rows), -1), ctx.bounds)
            scores = ctx.scores(cand)
            queries[rows] += 1
            broken = ctx.broken(scores, targets[rows])
            margin = ctx.margin(scores, targets[rows])
            keep = broken | (margin < lowest[rows])
            best[rows[keep]] = cand[keep]
            lowest[rows[keep]] = margin[keep]
            found[rows[broken]] = True
        # Where nothing broke the point, the least robust candidate is returned; run() counts
        # it as a failure on its fresh forward pass.
        return best, queries
