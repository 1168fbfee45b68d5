"""The union probe: robust accuracy under a union of threat models at a grid of strengths."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import EVERY_PROBE_METRICS, PROBES, Probe, gallery, predict_records
from robustlab.records import Records

__all__ = ["UNION_MEDIA_TYPE", "Union"]

#: Media type of the per-member, per-example levels each unit stores (JSON text).
UNION_MEDIA_TYPE = "application/vnd.robustlab.union+json"


@PROBES.register("union")
@dataclass(frozen=True)
class Union(Probe):
    """Every member threat model of a union (Lp balls, rotations/translations, colour) at an
    increasing grid of strengths, searched per example by a binary search over the grid
    (``search='full'`` runs every level). The records hold the per-example worst case over the
    union at the top level (``value``: how many members broke the example there); each unit
    stores, per member and example, the first level that broke it, from which the report
    draws per-member curves, the worst-case curve and, against the run named in ``reference``,
    CR_ind-avg and CR_ind-worst. Without ``members`` the default union (MultiRobustBench's
    families, ranges for 32 px scaled to the image side) is used, leaving out the members the
    inputs cannot take (colour on grayscale; ``skip_inapplicable``); members a user lists
    that the inputs cannot take are refused before any work.

    References:
        Dai et al., "MultiRobustBench: benchmarking robustness against multiple attacks",
        ICML 2023.
    """

    members: tuple[str, ...] = ()
    search: str = "binary"
    reference: str = ""
    skip_inapplicable: bool = False

    name = "union"
    axis: ClassVar[str] = "union"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    modalities = ("image",)
    requires = frozenset({"scores"})
    metrics = ("accuracy", "nll", "mean_confidence", *EVERY_PROBE_METRICS)

    @classmethod
    def normalise_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        from robustlab.attacks.image.union import DEFAULT_UNION

        out = dict(params)
        members = out.get("members")
        if members is None:
            members = list(DEFAULT_UNION)
            out.setdefault("skip_inapplicable", True)
        if isinstance(members, str):
            try:
                members = json.loads(members)
            except json.JSONDecodeError:
                raise ConfigError(
                    f"The 'members' parameter of probe 'union' must be a list of member "
                    f"mappings (YAML, or JSON on the command line). Got {members!r}."
                ) from None
        if isinstance(members, (list, tuple)):
            from robustlab.attacks.image.union import parse_members

            # Canonical member specs (defaults spelled out), so a stored spec rebuilds the probe.
            members = tuple(
                json.dumps(m.spec(), sort_keys=True)
                for m in parse_members(list(members), "probe 'union'")
            )
        out["members"] = members
        return out

    def __post_init__(self) -> None:
        from robustlab.attacks.image.curves import SEARCHES

        self.parsed()  # refuses an empty union, bad grids, unknown threats, before any work
        if self.search not in SEARCHES:
            raise ConfigError(
                f"The 'search' parameter of probe 'union' must be one of {list(SEARCHES)}. "
                f"Got {self.search!r} instead."
            )

    def parsed(self) -> tuple[Any, ...]:
        from robustlab.attacks.image.union import parse_members

        return parse_members(list(self.members), "probe 'union'")

    @classmethod
    def example(cls) -> Union:
        member = {"threat": "lp", "norm": "linf", "grid": [0.1, 0.3], "minimal": "none"}
        spatial = {"threat": "brightness", "grid": [0.2, 0.5], "params": {"per_axis": 3}}
        return cls(**cls.normalise_params({"members": [member, spatial]}))

    @property
    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"members": [m.spec() for m in self.parsed()], "search": self.search}
        if self.reference:
            out["reference"] = self.reference
        if self.skip_inapplicable:
            out["skip_inapplicable"] = True
        return out

    @property
    def key(self) -> str:
        labels = ",".join(
            f"{m.label}:{'/'.join(f'{v:.4g}' for v in m.grid)}" for m in self.parsed()
        )
        return f"union({labels},search={self.search})"

    def check_inputs(self, inputs: Any) -> None:
        """Preflight: refuse inputs a member cannot take (colour threats on 1 channel, spatial
        threats on non-images) before any unit runs."""
        shape = tuple(inputs.shape) if hasattr(inputs, "shape") else ()
        if not self.applicable_members(shape):
            raise ConfigError(
                f"Probe 'union': no member of the union applies to inputs shaped {shape}."
            )

    def applicable_members(self, shape: tuple[int, ...]) -> tuple[Any, ...]:
        """The members to run on inputs of ``shape``: all of them (a member the inputs cannot
        take raises), or with ``skip_inapplicable`` those the inputs can take."""
        kept = []
        for m in self.parsed():
            try:
                m.check_inputs(shape, "probe 'union'")
            except ConfigError:
                if not self.skip_inapplicable:
                    raise
                continue
            kept.append(m)
        return tuple(kept)

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)

    def resolved_axis(self) -> str:
        return self.axis

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.attacks.image.union import attack_union

        members = self.applicable_members(tuple(batch.inputs.shape))
        result = attack_union(
            model, batch.inputs, batch.targets, members, search=self.search, seed=seed
        )
        top = result.levels - 1
        broke = (result.broken_at <= top) & result.clean_correct
        count = torch.where(result.clean_correct, broke.sum(dim=0).double(), torch.nan)
        records = predict_records(model, result.adversarial, batch, value=count)
        payload = {
            "ids": list(map(str, batch.ids)),
            "members": [m.label for m in result.members],
            "grids": result.grids,
            "broken_at": result.broken_at.tolist(),
            "clean_correct": result.clean_correct.tolist(),
            "evaluations": result.evaluations,
            "full_evaluations": result.full_evaluations,
            "elapsed_s": result.elapsed_s,
            "unconfirmed": result.info.get("unconfirmed", 0),
        }
        records.artifacts.append(
            {
                "name": f"union/{batch.ids[0] if len(batch.ids) else 'empty'}",
                "media_type": UNION_MEDIA_TYPE,
                "data": json.dumps(payload),
                "meta": {"role": "union", "probe": self.key, "label": self.label},
            }
        )
        records.artifacts.extend(gallery(batch, result.adversarial, self, records))
        return records

    @property
    def label(self) -> str:
        return f"union of {len(self.members)} threat models"


def union_levels(artifacts: list[dict[str, Any]], probe_key: str) -> dict[str, Any] | None:
    """The stored per-member levels of one union probe, joined over its units (None if none)."""
    parts = [
        json.loads(a["data"])
        for a in artifacts
        if a.get("media_type") == UNION_MEDIA_TYPE and a.get("probe_key", probe_key) == probe_key
    ]
    if not parts:
        return None
    first = parts[0]
    return {
        "members": first["members"],
        "grids": first["grids"],
        "ids": [i for p in parts for i in p["ids"]],
        "broken_at": np.concatenate([np.asarray(p["broken_at"], dtype=np.int64) for p in parts], 1),
        "clean_correct": np.concatenate([np.asarray(p["clean_correct"], bool) for p in parts]),
        "evaluations": np.sum([p["evaluations"] for p in parts], axis=0).tolist(),
        "full_evaluations": np.sum([p["full_evaluations"] for p in parts], axis=0).tolist(),
        "elapsed_s": np.sum([p["elapsed_s"] for p in parts], axis=0).tolist(),
    }
