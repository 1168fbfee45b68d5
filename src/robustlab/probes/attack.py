"""The attack probe: robust accuracy under one adversarial attack at one budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes._adversarial import (
    NORM_LABELS,
    attack_records,
    check_attack_applies,
    gather_options,
)
from robustlab.probes.base import EVERY_PROBE_METRICS, PROBES, Probe
from robustlab.records import Records

_OWN = ("attack", "norm", "epsilon")


@PROBES.register("attack")
@dataclass(frozen=True)
class Attack(Probe):
    """Robust accuracy: the model on adversarial inputs found by ``attack`` within ``epsilon``.

    Any other parameter of the named attack (``steps``, ``n_queries``, ``restarts``, ...) is
    passed through and becomes part of the probe's identity. Predictions are re-computed on the
    returned adversarial inputs (a fresh forward pass), so a reported break is a real one. The
    perturbation recorded is the adversarial perturbation's size in ``norm`` for examples the attack
    broke, and NaN for examples it did not break or that were misclassified already.

    References:
        Madry et al., Towards Deep Learning Models Resistant to Adversarial Attacks, ICLR 2018.
    """

    attack: str = "pgd"
    norm: str = "linf"
    epsilon: float = 8 / 255
    options: tuple[tuple[str, Any], ...] = ()

    name = "attack"
    axis = "adversarial"
    kind = "attack"
    modalities = ("image", "tabular")
    metrics = ("accuracy", "nll", "mean_confidence", "median_perturbation", *EVERY_PROBE_METRICS)

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Gather the named attack's own parameters into ``options``, typed and validated."""
        return gather_options(params, _OWN, "pgd", cls.name)

    def __post_init__(self) -> None:
        from robustlab import attacks

        cls = attacks.ATTACKS.get(self.attack)  # unknown names raise with "did you mean"
        if self.norm not in cls.norms:
            raise ConfigError(
                f"The 'norm' parameter of probe 'attack' must be one of {list(cls.norms)} for "
                f"attack {self.attack!r}. Got {self.norm!r} instead."
            )
        if not self.epsilon > 0:
            raise ConfigError(
                f"The 'epsilon' parameter of probe 'attack' must be a positive float. "
                f"Got {self.epsilon!r} instead."
            )

    @property
    def params(self) -> dict[str, Any]:
        return {
            "attack": self.attack,
            "norm": self.norm,
            "epsilon": self.epsilon,
            **dict(self.options),
        }

    @classmethod
    def example(cls) -> Attack:
        return cls("pgd", "linf", 0.1, (("steps", 5),))

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        check_attack_applies(self, self.attack, model)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab import attacks

        result = attacks.run(
            model,
            batch.inputs,
            batch.targets,
            attack=self.attack,
            norm=self.norm,
            epsilon=self.epsilon,
            seed=seed,
            **dict(self.options),
        )
        return attack_records(model, batch, result, self)

    @property
    def label(self) -> str:
        return f"{self.attack} {NORM_LABELS[self.norm]} ε={self.epsilon:.4g}"
