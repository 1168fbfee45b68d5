"""The attack probe: robust accuracy under one adversarial attack at one budget."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, NotApplicable, Probe, predict_records
from robustlab.records import Records


@PROBES.register("attack")
@dataclass(frozen=True)
class Attack(Probe):
    """Robust accuracy: the model on adversarial inputs found by ``attack`` within ``epsilon``.

    Predictions are re-computed on the returned adversarial inputs (a fresh forward pass), so a
    reported break is a real one; the per-example perturbation recorded is its size in ``norm``.

    References:
        Madry et al., Towards Deep Learning Models Resistant to Adversarial Attacks, ICLR 2018.
    """

    attack: str = "pgd"
    norm: str = "linf"
    epsilon: float = 8 / 255
    steps: int | None = None

    name = "attack"
    kind = "attack"
    modalities = ("image", "tabular")
    metrics = ("accuracy", "nll", "mean_confidence", "median_perturbation")

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
        if self.steps is not None and self.steps < 1:
            raise ConfigError(
                f"The 'steps' parameter of probe 'attack' must be a positive int. Got {self.steps!r}."
            )

    @classmethod
    def example(cls) -> Attack:
        return cls("pgd", "linf", 0.1, 5)

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

        params = {} if self.steps is None else {"steps": self.steps}
        result = attacks.run(
            model,
            batch.inputs,
            batch.targets,
            attack=self.attack,
            norm=self.norm,
            epsilon=self.epsilon,
            seed=seed,
            **params,
        )
        records = predict_records(model, result.adversarial, batch, perturbation=result.norms)
        records.warnings.extend(w.to_dict() for w in result.warnings)
        return records

    @property
    def label(self) -> str:
        norm = {"linf": "L∞", "l2": "L2", "l1": "L1"}[self.norm]
        return f"{self.attack} {norm} ε={self.epsilon:.4g}"
