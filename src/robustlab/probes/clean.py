"""The clean probe: the model on the unmodified data, the reference for every other probe."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.data.base import Batch
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, Probe, gallery, predict_records
from robustlab.records import Records


@PROBES.register("clean")
@dataclass(frozen=True)
class Clean(Probe):
    """Accuracy and calibration on the data as given."""

    name = "clean"
    axis = "clean"
    kind = "clean"
    modalities = ("image", "tabular", "text", "ranking", "llm")

    @property
    def example_seeded(self) -> bool:
        return True  # per-example seeds by id (robustlab.seeding)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        records = predict_records(model, batch.inputs, batch)
        records.artifacts.extend(gallery(batch, batch.inputs, self, records))
        return records
