"""The attack probe: robust accuracy under one adversarial attack at one budget."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

import torch

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import (
    PROBES,
    NotApplicable,
    Probe,
    coerce,
    gallery,
    predict_records,
)
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
    kind = "attack"
    modalities = ("image", "tabular")
    metrics = ("accuracy", "nll", "mean_confidence", "median_perturbation")

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Gather the named attack's own parameters into ``options``, typed and validated."""
        from robustlab import attacks

        own = {k: v for k, v in params.items() if k in (*_OWN, "options")}
        extra = {k: v for k, v in params.items() if k not in own}
        attack_cls = attacks.ATTACKS.get(str(own.get("attack", "pgd")))
        fields = {f.name for f in dataclasses.fields(attack_cls)}
        unknown = sorted(set(extra) - fields)
        if unknown:
            raise ConfigError(
                f"Probe 'attack' with attack {attack_cls.name!r} has no parameter "
                f"{', '.join(map(repr, unknown))}. Its parameters: "
                f"{', '.join([*_OWN, *sorted(fields)])}."
            )
        hints = typing.get_type_hints(attack_cls)
        typed = {
            k: coerce(v, hints[k], f"{k!r} parameter of attack {attack_cls.name!r}")
            for k, v in extra.items()
        }
        if typed:
            attacks.build_attack(attack_cls.name, **typed)  # the attack validates its values
        merged = dict(own.get("options", ()))
        merged.update(typed)
        own["options"] = tuple(sorted(merged.items()))
        return own

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
        from robustlab import attacks

        super().applicable(model, dataset)
        missing = attacks.ATTACKS.get(self.attack).needs - model.capabilities
        if missing:
            black_box = [n for n, c in attacks.ATTACKS.items() if "gradients" not in c.needs]
            raise NotApplicable(
                f"{self.attack} needs {', '.join(sorted(missing))}, which the "
                f"{type(model).__name__} {model.name!r} does not offer; black-box attacks: "
                f"{', '.join(black_box) or 'none'}"
            )

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
        # A perturbation is recorded only where the attack broke a correctly classified input;
        # elsewhere no adversarial perturbation exists (NaN), so medians describe real attacks.
        broken = (result.success & result.clean_correct).cpu()
        size = torch.where(broken, result.norms.cpu().double(), torch.nan)
        records = predict_records(model, result.adversarial, batch, perturbation=size)
        records.warnings.extend(w.to_dict() for w in result.warnings)
        records.artifacts.extend(gallery(batch, result.adversarial, self))
        return records

    @property
    def label(self) -> str:
        norm = {"linf": "L∞", "l2": "L2", "l1": "L1"}[self.norm]
        return f"{self.attack} {norm} ε={self.epsilon:.4g}"
