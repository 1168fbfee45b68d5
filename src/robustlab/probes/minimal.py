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

_OWN = ("attack", "norm")


@PROBES.register("minimal")
@dataclass(frozen=True)
class Minimal(Probe):
    """Minimal-norm adversarial perturbations (FAB-T by default; DeepFool, CW or HopSkipJump).

    The records hold each broken example's minimal perturbation size, so robust accuracy at any
    epsilon is the share of examples that are correct and not broken within epsilon; the report
    draws that curve and marks the fixed-epsilon probes of the suite on it. If a sizeable share of
    examples stays unbroken at unbounded budget, a warning is recorded.

    References:
        Croce & Hein, Minimally distorted adversarial examples with a fast adaptive boundary
        attack, ICML 2020.
    """

    attack: str = "fab"
    norm: str = "linf"
    options: tuple[tuple[str, Any], ...] = ()

    name = "minimal"
    kind = "minimal"
    axis: ClassVar[str] = "adversarial"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    modalities = ("image", "tabular")
    metrics = ("accuracy", "median_perturbation")

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        return gather_options(params, _OWN, "fab", cls.name)

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

    @property
    def params(self) -> dict[str, Any]:
        return {"attack": self.attack, "norm": self.norm, **dict(self.options)}

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

    @property
    def label(self) -> str:
        return f"{self.attack} minimal {NORM_LABELS[self.norm]}"
