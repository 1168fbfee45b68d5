"""The sequence probe: how often predictions flip along an ImageNet-P perturbation sequence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, Probe, gallery, predict_records
from robustlab.records import Records


@PROBES.register("sequence")
@dataclass(frozen=True)
class Sequence(Probe):
    """Flip rate: the share of frames whose prediction differs from the previous frame's (or,
    for noise sequences, from the clean first frame's), per example.

    The records hold the predictions on the sequence's last frame, and each example's flip
    rate in ``value``.

    References:
        Hendrycks & Dietterich, Benchmarking Neural Network Robustness to Common Corruptions and
        Perturbations, ICLR 2019 (ImageNet-P, flip probability and mFR).
    """

    sequence: str
    length: int | None = None

    name = "sequence"
    axis = "stability"
    kind = "sequence"
    modalities = ("image",)
    tasks = ("classification",)
    metrics = ("flip_rate", "accuracy")

    @property
    def example_seeded(self) -> bool:
        return True  # per-example seeds by id (robustlab.seeding)

    def __post_init__(self) -> None:
        from robustlab.perturbations.image import sequences

        sequences.SEQUENCES.get(self.sequence)  # unknown names raise with "did you mean"
        if self.length is not None and (not isinstance(self.length, int) or self.length < 2):
            raise ConfigError(
                f"The 'length' parameter of probe 'sequence' must be an int >= 2. "
                f"Got {self.length!r} instead."
            )

    @classmethod
    def example(cls) -> Sequence:
        return cls("gaussian_noise", 6)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.perturbations.image import sequences
        from robustlab.seeding import ExampleSeeds

        frames = sequences.sequence(
            batch.inputs.to(model.device),
            self.sequence,
            self.length,
            seed=ExampleSeeds.of(seed, batch.ids),
        )
        preds = torch.stack([model.predict_scores(f).argmax(dim=1) for f in frames]).numpy()
        compare_to = sequences.SEQUENCES.get(self.sequence).compare_to
        flips = np.array(
            [sequences.flip_rate(preds[:, i : i + 1], compare_to) for i in range(preds.shape[1])]
        )
        records = predict_records(model, frames[-1], batch, value=flips)
        records.artifacts.extend(gallery(batch, frames[-1], self, records))
        return records

    @property
    def label(self) -> str:
        return f"{self.sequence} sequence"
