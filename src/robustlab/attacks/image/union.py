"""Unions of threat models (MultiRobustBench): members with strength grids, searched per example."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from robustlab.attacks._registry import ATTACKS
from robustlab.attacks.image.curves import SEARCHES, check_grid, search_grid
from robustlab.attacks.threat import (
    THREATS,
    TOLERANCE,
    LpBall,
    ParametricThreat,
    ThreatModel,
    build_threat,
)
from robustlab.errors import ConfigError
from robustlab.models.base import Model

__all__ = [
    "DEFAULT_UNION",
    "Member",
    "UnionResult",
    "attack_union",
    "parse_members",
]

#: The default union for 32 px images (MultiRobustBench's attack families, four strengths each;
#: L2 and L1 radii and shifts scale with the image side, ``scale: true``).
DEFAULT_UNION: tuple[dict[str, Any], ...] = (
    {"threat": "lp", "norm": "linf", "grid": [2 / 255, 4 / 255, 8 / 255, 12 / 255]},
    {"threat": "lp", "norm": "l2", "grid": [0.25, 0.5, 1.0, 1.5], "scale": True},
    {"threat": "lp", "norm": "l1", "grid": [3.0, 6.0, 12.0, 18.0], "scale": True},
    {"threat": "rotation_translation", "grid": [0.25, 0.5, 0.75, 1.0]},
    {"threat": "hue", "grid": [0.125, 0.25, 0.5, 1.0]},
    {"threat": "saturation", "grid": [0.1, 0.2, 0.35, 0.5]},
    {"threat": "brightness", "grid": [0.05, 0.1, 0.2, 0.3]},
    {"threat": "contrast", "grid": [0.1, 0.2, 0.35, 0.5]},
)

_KEYS = ("threat", "norm", "grid", "attack", "minimal", "scale", "label", "params")


@dataclass(frozen=True)
class Member:
    """One threat model of a union, at an increasing grid of strengths.

    Attributes:
        threat: Registered threat model (``lp``, ``rotation_translation``, ``hue``, ...).
        grid: Strengths (Lp radii, or the transformation threat's ``strength``), increasing.
        norm: For ``lp``, the norm.
        attack: The bounded attack searching it (APGD for Linf/L2, PGD for L1, ``grid_search``
            for transformations).
        minimal: For ``lp``, a minimal-norm attack (FMN) whose result bounds the search from
            above; empty for none.
        scale: Scale the grid from 32 px to the image side (L2 by side/32, L1 by (side/32)^2).
        params: The attack's parameters, sorted ``(name, value)`` pairs.
    """

    threat: str
    grid: tuple[float, ...]
    norm: str = ""
    attack: str = ""
    minimal: str = ""
    scale: bool = False
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        if self.threat == "lp":
            return {"linf": "L∞", "l2": "L2", "l1": "L1", "l0": "L0"}[self.norm]
        return self.threat.replace("_", "/")

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"threat": self.threat, "grid": list(self.grid)}
        if self.norm:
            out["norm"] = self.norm
        out.update(attack=self.attack, minimal=self.minimal, scale=self.scale)
        if self.params:
            out["params"] = dict(self.params)
        return out

    def grid_for(self, shape: Sequence[int]) -> list[float]:
        """The grid for inputs of ``shape`` ``(C, H, W)`` (scaled from 32 px when ``scale``)."""
        if not self.scale or len(shape) != 3:
            return list(self.grid)
        ratio = float(shape[-1]) / 32.0
        power = {"l2": 1.0, "l1": 2.0}.get(self.norm, 0.0)
        return [v * ratio**power for v in self.grid]

    def threat_at(self, value: float) -> ThreatModel:
        if self.threat == "lp":
            return LpBall(self.norm, float(value))
        return build_threat(self.threat, strength=float(value))

    def check_inputs(self, shape: Sequence[int], owner: str) -> None:
        """Raise ConfigError when inputs of ``shape`` ``(N, ...)`` cannot take this member."""
        if self.threat != "lp":
            threat = self.threat_at(self.grid[-1])
            assert isinstance(threat, ParametricThreat)
            threat.check_inputs(shape, owner)


def _member(spec: Mapping[str, Any], owner: str) -> Member:
    unknown = sorted(set(spec) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"{owner}: a union member has no key {', '.join(map(repr, unknown))}; its keys: "
            f"{', '.join(_KEYS)} (attack parameters go under 'params')."
        )
    if "threat" not in spec:
        raise ConfigError(
            f"{owner}: a union member needs a 'threat' key naming its threat model, e.g. "
            f"{{threat: lp, norm: linf, grid: [2/255, 4/255, 8/255]}}. Got {dict(spec)!r}."
        )
    name = str(spec["threat"])
    cls = THREATS.get(name)  # unknown names raise with did-you-mean
    if cls.modality != "image":
        raise ConfigError(f"{owner}: threat model {name!r} is for {cls.modality}, not images.")
    grid = tuple(check_grid(owner, spec.get("grid"), what=f"grid of union member {name!r}"))
    params = dict(spec.get("params") or {})
    if name == "lp":
        norm = str(spec.get("norm", "linf")).lower()
        LpBall(norm, grid[0])  # checks the norm
        attack = str(spec.get("attack") or ("apgd" if norm in ("linf", "l2") else "pgd"))
        minimal = spec.get("minimal", "fmn")
        minimal = "" if minimal in (None, False, "", "none") else str(minimal)
        if minimal and not ATTACKS.get(minimal).minimal:
            raise ConfigError(
                f"{owner}: the 'minimal' attack of union member {norm} must be a minimal-norm "
                f"attack (fmn, fab, ...) or none. Got {minimal!r}."
            )
        if minimal and norm not in ATTACKS.get(minimal).norms:  # type: ignore[attr-defined]
            raise ConfigError(f"{owner}: minimal attack {minimal!r} does not support {norm}.")
    else:
        if not issubclass(cls, ParametricThreat):
            raise ConfigError(f"{owner}: threat model {name!r} cannot be a union member.")
        norm = ""
        attack = str(spec.get("attack") or "grid_search")
        minimal = ""
    acls = ATTACKS.get(attack)
    if acls.modality != "image" or acls.minimal:
        raise ConfigError(
            f"{owner}: union member {name!r} needs a bounded image attack. Got {attack!r}."
        )
    fits = norm in acls.norms if norm else ParametricThreat in acls.threats  # type: ignore[attr-defined]
    if not fits:
        raise ConfigError(
            f"{owner}: attack {attack!r} cannot search union member {name!r}"
            f"{' ' + norm if norm else ''}; use "
            f"{'pgd (linf, l2, l1) or apgd (linf, l2)' if norm else 'grid_search'}."
        )
    ATTACKS.build(attack, **params)  # the attack checks its parameters
    return Member(
        name,
        grid,
        norm,
        attack,
        minimal,
        bool(spec.get("scale", False)),
        tuple(sorted(params.items())),
    )


def parse_members(specs: Any, owner: str = "union") -> tuple[Member, ...]:
    """Members from a list of mappings (or JSON strings); a ConfigError names what is wrong:
    an empty union, an unknown threat, a grid that is not increasing, grids of different
    lengths (the union's level k is every member's k-th strength)."""
    if isinstance(specs, (str, bytes)) or not isinstance(specs, Sequence) or not len(specs):
        raise ConfigError(
            f"{owner}: a union needs at least one member, e.g. members: [{{threat: lp, norm: "
            f"linf, grid: [4/255, 8/255]}}, {{threat: rotation_translation, grid: [0.5, 1]}}]. "
            f"Got {specs!r}."
        )
    parsed = []
    for spec in specs:
        if isinstance(spec, str):
            try:
                spec = json.loads(spec)
            except json.JSONDecodeError:
                raise ConfigError(f"{owner}: a union member is not a mapping: {spec!r}.") from None
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{owner}: a union member must be a mapping. Got {spec!r}.")
        parsed.append(_member(spec, owner))
    lengths = {len(m.grid) for m in parsed}
    if len(lengths) > 1:
        raise ConfigError(
            f"{owner}: every union member needs a grid of the same length (level k of the union "
            f"is each member's k-th strength); got lengths "
            f"{', '.join(f'{m.label}: {len(m.grid)}' for m in parsed)}."
        )
    labels = [m.label for m in parsed]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{owner}: the union lists a threat model twice ({labels}).")
    return tuple(parsed)


@dataclass
class UnionResult:
    """Per member and example, the first grid level at which the example broke.

    Attributes:
        members: The members.
        grids: Each member's grid as used (scaled to the image size).
        broken_at: ``(members, n)``: first level broken (0 for clean-misclassified examples,
            the grid length where the member never broke it).
        clean_correct: ``(n,)``.
        adversarial: Per example, an adversarial input at the top level of the first member
            that broke it there (the clean input where none did).
        evaluations: Per member, the points the bounded attack ran on over all levels.
        full_evaluations: Per member, the points an attack at every level would run on.
        elapsed_s: Per member, seconds spent.
    """

    members: tuple[Member, ...]
    grids: list[list[float]]
    broken_at: torch.Tensor
    clean_correct: torch.Tensor
    adversarial: torch.Tensor
    evaluations: list[int]
    full_evaluations: list[int]
    elapsed_s: list[float]
    search: str = "binary"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def levels(self) -> int:
        return len(self.grids[0])

    def member_curves(self) -> list[list[float]]:
        """Robust accuracy per member and level."""
        return [
            [float((row > k).double().mean()) for k in range(self.levels)] for row in self.broken_at
        ]

    def worst_case(self) -> list[float]:
        """Robust accuracy per level under the per-example worst case over the members."""
        first = self.broken_at.min(dim=0).values
        return [float((first > k).double().mean()) for k in range(self.levels)]


def attack_union(
    model: Model,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    members: Sequence[Member],
    *,
    search: str = "binary",
    seed: int = 0,
    bounds: tuple[float, float] | None = None,
) -> UnionResult:
    """Attack every member of a union at the grid levels the search needs per example.

    References:
        Dai et al., "MultiRobustBench: benchmarking robustness against multiple attacks",
        ICML 2023.
    """
    from robustlab.validation import check_choice

    owner = "attack_union()"
    check_choice(owner, "search", search, SEARCHES)
    if not members:
        parse_members([], owner)
    x = torch.as_tensor(inputs if torch.is_tensor(inputs) else np.asarray(inputs)).float().cpu()
    y = torch.as_tensor(targets if torch.is_tensor(targets) else np.asarray(targets)).long().cpu()
    for m in members:
        m.check_inputs(tuple(x.shape), owner)
    n = len(x)
    scores = model.predict_scores(x)
    clean_correct = (scores.argmax(dim=1) == y).cpu()
    candidates = clean_correct.nonzero().squeeze(1)
    found: list[tuple[torch.Tensor, torch.Tensor]] = []
    rows_out, grids, spent_all, full_all, times = [], [], [], [], []
    for m in members:
        start = time.perf_counter()
        grid = m.grid_for(tuple(x.shape[1:]))
        grids.append(grid)
        attack = ATTACKS.build(m.attack, **dict(m.params))
        top_adv = x.clone()
        top_hit = torch.zeros(n, dtype=torch.bool)
        from_minimal = torch.zeros(n, dtype=torch.bool)
        upper = torch.full((len(candidates),), len(grid), dtype=torch.long)
        if m.minimal and len(candidates):
            base = ATTACKS.build(m.minimal).run(
                model,
                x[candidates],
                y[candidates],
                norm=m.norm,
                epsilon=None,
                seed=seed,
                bounds=bounds,
            )
            hit = base.success & base.clean_correct
            eps = torch.tensor(grid, dtype=torch.float64)
            sizes = torch.where(hit, base.norms.double(), torch.inf)
            upper = torch.searchsorted(eps * (1 + TOLERANCE) + TOLERANCE, sizes, side="left")
            inside = upper < len(grid)
            top_adv[candidates[inside]] = base.adversarial[inside]
            top_hit[candidates[inside]] = True
            from_minimal[candidates[inside]] = True

        def attack_at(
            j: int,
            rows: torch.Tensor,
            m: Member = m,
            grid: list[float] = grid,
            attack: Any = attack,
            top_adv: torch.Tensor = top_adv,
            top_hit: torch.Tensor = top_hit,
            from_minimal: torch.Tensor = from_minimal,
        ) -> torch.Tensor:
            idx = candidates[rows]
            r = attack.run(
                model, x[idx], y[idx], threat=m.threat_at(grid[j]), seed=seed, bounds=bounds
            )
            hit = r.success & r.clean_correct
            # The bounded attack's adversarials replace the minimal run's, which lie on the
            # boundary (a re-check in another batch may round them back); the first found by
            # the bounded attack stays.
            new = hit & (~top_hit[idx] | from_minimal[idx])
            top_adv[idx[new]] = r.adversarial[new]
            top_hit[idx[new]] = True
            from_minimal[idx[new]] = False
            return hit

        first, spent = search_grid(upper, attack_at, search=search)
        row = torch.zeros(n, dtype=torch.long)
        row[candidates] = first
        rows_out.append(row)
        found.append((top_adv, top_hit))
        spent_all.append(spent)
        full_all.append(len(candidates) * len(grid))
        times.append(time.perf_counter() - start)
    # The worst case at the top level: per example the first member's adversarial that a fresh
    # pass over the whole batch confirms (minimal-norm adversarials lie on the boundary, and
    # another batch's round-off may move them back).
    adversarial = x.clone()
    settled = ~clean_correct
    for top_adv, top_hit in found:
        pick = top_hit & ~settled
        if not bool(pick.any()):
            continue
        trial = torch.where(pick.view(-1, *([1] * (x.ndim - 1))), top_adv, adversarial)
        ok = pick & (model.predict_scores(trial).argmax(dim=1).cpu() != y)
        adversarial[ok] = top_adv[ok]
        settled |= ok
    union_broken = torch.stack([h for _, h in found]).any(dim=0) if found else settled
    unconfirmed = int((union_broken & ~settled).sum())
    return UnionResult(
        info={"unconfirmed": unconfirmed},
        members=tuple(members),
        grids=grids,
        broken_at=torch.stack(rows_out) if rows_out else torch.zeros((0, n), dtype=torch.long),
        clean_correct=clean_correct,
        adversarial=adversarial,
        evaluations=spent_all,
        full_evaluations=full_all,
        elapsed_s=times,
        search=search,
    )
