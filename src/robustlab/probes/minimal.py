"""The minimal-perturbation probe: the smallest adversarial perturbation per example, which
gives robust accuracy as a function of epsilon in one run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes._adversarial import (
    NORM_LABELS,
    attack_records,
    check_attack_applies,
    gather_options,
)
from robustlab.probes.base import PROBES, Probe
from robustlab.records import Records
from robustlab.seeding import ExampleSeeds

_OWN = ("attack", "norm", "epsilons", "confirm", "search")


@PROBES.register("minimal")
@dataclass(frozen=True)
class Minimal(Probe):
    """Minimal-norm adversarial perturbations (FAB-T by default; FMN, DeepFool, CW or
    HopSkipJump).

    With ``epsilons`` (an increasing grid) the minimal run is confirmed on the grid: per example a
    binary search over the grid (``search='binary'``; ``'full'`` runs every value) with the
    bounded ``confirm`` attack (APGD; PGD for L1), since a point robust at one epsilon is robust
    at every smaller one. The records then hold the smallest adversarial found by either
    attack, and ``value`` the first grid epsilon at which the example broke (NaN: robust on the
    whole grid).

    The records hold each broken example's minimal perturbation size, so robust accuracy at any
    epsilon is the share of examples that are correct and not broken within epsilon; the report
    draws that curve and marks the fixed-epsilon probes of the suite on it. If a sizeable share of
    examples stays unbroken at unbounded budget, a warning is recorded.

    References:
        Croce & Hein, Minimally distorted adversarial examples with a fast adaptive boundary
        attack, ICML 2020; Pintor et al., Fast minimum-norm adversarial attacks through adaptive
        norm constraints, NeurIPS 2021.
    """

    attack: str = "fab"
    norm: str = "linf"
    options: tuple[tuple[str, Any], ...] = ()
    epsilons: tuple[float, ...] = ()
    confirm: str = ""
    search: str = "binary"

    name = "minimal"
    kind = "minimal"
    axis: ClassVar[str] = "adversarial"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    modalities = ("image", "tabular")
    metrics = ("accuracy", "median_perturbation")

    @property
    def example_seeded(self) -> bool:
        return not self.epsilons  # the grid path seeds its batch with an int

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        from robustlab.attacks.image.curves import check_grid

        out = gather_options(params, _OWN, "fab", cls.name)
        if "epsilons" in out:
            value = out["epsilons"]
            if isinstance(value, str):
                value = [v for v in value.replace(",", " ").split() if v]
            out["epsilons"] = tuple(check_grid("probe 'minimal'", value))
        return out

    def __post_init__(self) -> None:
        from robustlab import attacks

        cls = attacks.ATTACKS.get(self.attack)
        if not cls.minimal or cls.modality != "image":
            minimal = [n for n, c in attacks.attacks_for("image") if c.minimal]
            raise ConfigError(
                f"The 'attack' parameter of probe 'minimal' must be a minimal-norm attack "
                f"({', '.join(minimal)}). Got {self.attack!r} instead."
            )
        norms = getattr(cls, "norms", ())
        if self.norm not in norms:
            raise ConfigError(
                f"The 'norm' parameter of probe 'minimal' must be one of {list(norms)} for "
                f"attack {self.attack!r}. Got {self.norm!r} instead."
            )
        from robustlab.attacks.image.curves import SEARCHES, check_grid

        if self.epsilons:
            check_grid("probe 'minimal'", list(self.epsilons))
        if self.search not in SEARCHES:
            raise ConfigError(
                f"The 'search' parameter of probe 'minimal' must be one of {list(SEARCHES)}. "
                f"Got {self.search!r} instead."
            )
        confirm = attacks.ATTACKS.get(self.confirm_attack)
        if self.epsilons and (confirm.minimal or self.norm not in getattr(confirm, "norms", ())):
            raise ConfigError(
                f"The 'confirm' parameter of probe 'minimal' must be a bounded attack supporting "
                f"norm {self.norm!r} (pgd supports linf, l2 and l1; apgd linf and l2). Got "
                f"{self.confirm_attack!r} instead."
            )

    @property
    def confirm_attack(self) -> str:
        """The bounded attack of the grid search: ``confirm``, else APGD (PGD for L1 and L0)."""
        return self.confirm or ("apgd" if self.norm in ("linf", "l2") else "pgd")

    @property
    def params(self) -> dict[str, Any]:
        grid: dict[str, Any] = {}
        if self.epsilons:  # left out without a grid, so earlier probe keys stay the same
            grid = {"epsilons": list(self.epsilons), "search": self.search}
            if self.confirm:
                grid["confirm"] = self.confirm
        return {"attack": self.attack, "norm": self.norm, **dict(self.options), **grid}

    @classmethod
    def example(cls) -> Minimal:
        return cls("fab", "linf", (("steps", 10),))

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        check_attack_applies(self, self.attack, model)

    def resolved_axis(self) -> str:
        return self.axis

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab import attacks
        from robustlab.attacks.image.checks import check_curve

        if self.epsilons:
            return self._run_grid(model, batch, seed)
        result = attacks.run(
            model,
            batch.inputs,
            batch.targets,
            attack=self.attack,
            norm=self.norm,
            epsilon=None,
            seed=ExampleSeeds.of(seed, batch.ids),
            **dict(self.options),
        )
        records = attack_records(model, batch, result, self)
        unbroken = float(np.mean(records.correct))
        records.warnings.extend(w.to_dict() for w in check_curve([float("inf")], [unbroken]))
        return records

    def _run_grid(self, model: Model, batch: Batch, seed: int) -> Records:
        import torch

        from robustlab.attacks.image.curves import grid_curve
        from robustlab.probes.base import gallery, predict_records

        curve = grid_curve(
            model,
            batch.inputs,
            batch.targets,
            list(self.epsilons),
            norm=self.norm,
            minimal_attack=self.attack,
            confirm_attack=self.confirm_attack,
            search=self.search,
            seed=seed,
            minimal_params=dict(self.options),
        )
        base = curve.minimal
        broken = torch.isfinite(curve.norms) & base.clean_correct
        size = torch.where(broken, curve.norms.double(), torch.nan)
        grid = torch.tensor([*self.epsilons, float("nan")], dtype=torch.float64)
        first = torch.where(base.clean_correct, grid[curve.broken_at], torch.nan)
        records = predict_records(model, curve.adversarial, batch, perturbation=size, value=first)
        records.warnings.extend(w.to_dict() for w in base.warnings)
        records.artifacts.extend(gallery(batch, curve.adversarial, self, records))
        return records

    @property
    def label(self) -> str:
        grid = f" on {len(self.epsilons)} ε" if self.epsilons else ""
        return f"{self.attack} minimal {NORM_LABELS[self.norm]}{grid}"
