"""The ensemble probe: robust accuracy under AutoAttack's standard (or rand) attack sequence."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes._adversarial import NORM_LABELS, attack_records
from robustlab.probes.base import EVERY_PROBE_METRICS, PROBES, Probe
from robustlab.records import Records
from robustlab.seeding import ExampleSeeds
from robustlab.validation import epsilon_label


@PROBES.register("ensemble")
@dataclass(frozen=True)
class Ensemble(Probe):
    """APGD-CE, APGD-T, FAB-T and Square in sequence, each on the points still robust; robust
    accuracy is the per-example worst case. ``version='rand'`` uses expectation over
    transformation for randomized models. The honest-evaluation checks run with it and their
    warnings are stored with the run.

    References:
        Croce & Hein, Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks, ICML 2020.
    """

    norm: str = "linf"
    epsilon: float = 8 / 255
    version: str = "standard"

    name = "ensemble"
    kind = "attack"
    axis: ClassVar[str] = "adversarial"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    modalities = ("image", "tabular")
    metrics = ("accuracy", "nll", "mean_confidence", "median_perturbation", *EVERY_PROBE_METRICS)

    @property
    def example_seeded(self) -> bool:
        return True  # per-example seeds by id (robustlab.seeding)

    def __post_init__(self) -> None:
        from robustlab.attacks.image.ensemble import VERSIONS

        if self.norm not in ("linf", "l2"):
            raise ConfigError(
                f"The 'norm' parameter of probe 'ensemble' must be 'linf' or 'l2'. Got {self.norm!r} instead."
            )
        if not self.epsilon > 0:
            raise ConfigError(
                f"The 'epsilon' parameter of probe 'ensemble' must be a positive float. "
                f"Got {self.epsilon!r} instead."
            )
        if self.version not in VERSIONS:
            raise ConfigError(
                f"The 'version' parameter of probe 'ensemble' must be one of {list(VERSIONS)}. "
                f"Got {self.version!r} instead."
            )

    @classmethod
    def example(cls) -> Ensemble:
        # A budget at which the first attack breaks every point keeps contract tests fast; the
        # full sequence is exercised by the attack engine's own tests.
        return cls("linf", 0.3)

    def resolved_axis(self) -> str:
        return self.axis

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab import attacks

        result = attacks.standard(
            model,
            batch.inputs,
            batch.targets,
            norm=self.norm,
            epsilon=self.epsilon,
            version=self.version,
            seed=ExampleSeeds.of(seed, batch.ids),
        )
        records = attack_records(model, batch, result, self)
        if "stage" in result.params:  # the fast version: which stage broke each point
            from robustlab.report.attacks_union import STAGES_MEDIA_TYPE

            keep = ("forward_passes", "backward_passes", "escalated", "audit_gain_pp", "passes")
            data = {"per_attack": result.per_attack, **{k: result.params[k] for k in keep}}
            records.artifacts.append(
                {
                    "name": f"stages/{batch.ids[0] if len(batch.ids) else 'empty'}",
                    "media_type": STAGES_MEDIA_TYPE,
                    "data": json.dumps(data),
                    "meta": {"role": "stages", "probe": self.key},
                }
            )
        return records

    @property
    def label(self) -> str:
        return f"{self.version} ensemble {NORM_LABELS[self.norm]} ε={epsilon_label(self.epsilon)}"
