"""Several datasets scanned as one, each example tagged with its domain (``id`` for in-distribution)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from robustlab.data.base import Dataset
from robustlab.errors import DataError

__all__ = ["ID_DOMAIN", "DomainsDataset"]

from robustlab.records import ID_DOMAIN


class DomainsDataset(Dataset):
    """An in-distribution dataset and named out-of-distribution datasets, concatenated.

    Every probe of a scan then measures all domains in one run; the ``domain`` column of the
    records tells them apart, and shift metrics (OOD accuracy, relative drop, ATC) compare each
    domain with ``id``.

    Args:
        in_distribution: The in-distribution (test) set.
        shifted: OOD sets by name; names must be unique and not ``id``.
        name: Dataset name (``<id name>+<ood names>`` by default).
    """

    def __init__(
        self,
        in_distribution: Dataset,
        shifted: Mapping[str, Dataset],
        *,
        name: str | None = None,
    ) -> None:
        if not shifted:
            raise DataError("DomainsDataset needs at least one out-of-distribution set.")
        if ID_DOMAIN in shifted:
            raise DataError(f"An OOD set may not be named {ID_DOMAIN!r}; that names the ID set.")
        parts = {ID_DOMAIN: in_distribution, **shifted}
        ref = in_distribution
        for key, ds in shifted.items():
            if ds.modality != ref.modality:
                raise DataError(
                    f"OOD set {key!r} holds {ds.modality} data but the ID set {ref.name!r} holds "
                    f"{ref.modality}; shifted sets must have the ID set's modality."
                )
            if ds.class_names and ref.class_names and ds.class_names != ref.class_names:
                raise DataError(
                    f"OOD set {key!r} has classes {ds.class_names[:10]} but the ID set "
                    f"{ref.name!r} has {ref.class_names[:10]}; both must use the same classes in "
                    f"the same order."
                )
            if ds.task != ref.task:
                raise DataError(
                    f"OOD set {key!r} holds {ds.task} targets but the ID set {ref.name!r} holds "
                    f"{ref.task} targets; shifted sets must have the ID set's task."
                )
            if ref.num_classes is not None and int(ds.targets.max()) >= ref.num_classes:
                raise DataError(
                    f"OOD set {key!r} has labels up to {int(ds.targets.max())} but the ID set "
                    f"{ref.name!r} has {ref.num_classes} classes; both must use the same classes."
                )
        self.parts = parts
        self._offsets = np.cumsum([0] + [len(d) for d in parts.values()])
        domains = [k for k, d in parts.items() for _ in range(len(d))]
        meta: dict[str, list[Any]] = {"domain": domains}
        if any("group" in d.meta for d in parts.values()):
            # a set without a group column contributes examples of no group (None), so the ID
            # set's groups (and worst-group accuracy) survive a shifted set that lacks them
            meta["group"] = [
                g for d in parts.values() for g in d.meta.get("group", [None] * len(d))
            ]
        super().__init__(
            name=name or "+".join([in_distribution.name, *shifted]),
            targets=np.concatenate([d.targets for d in parts.values()]),
            ids=[f"{k}/{i}" for k, d in parts.items() for i in d.ids],
            meta=meta,
            class_names=in_distribution.class_names,
            task=in_distribution.task,
        )
        self.modality = in_distribution.modality

    @classmethod
    def from_column(cls, dataset: Dataset, column: str, id_value: Any) -> DomainsDataset:
        """Split one dataset into domains by a metadata column; rows equal to ``id_value`` are
        in-distribution."""
        if column not in dataset.meta:
            raise DataError(
                f"Dataset {dataset.name!r} has no metadata column {column!r}; its columns: "
                f"{', '.join(sorted(dataset.meta)) or 'none'}."
            )
        # Compared as text, so an ID value typed on the command line matches integer columns too.
        values = np.asarray([str(v) for v in dataset.meta[column]], dtype=object)
        id_value = str(id_value)
        if not np.any(values == id_value):
            raise DataError(f"No example of {dataset.name!r} has {column} == {id_value!r}.")
        subsets = {
            v: _Subset(dataset, np.flatnonzero(values == v), f"{dataset.name}[{v}]")
            for v in dict.fromkeys(values.tolist())
            if v != id_value
        }
        ident = _Subset(dataset, np.flatnonzero(values == id_value), f"{dataset.name}[{id_value}]")
        return cls(ident, subsets, name=dataset.name)

    @property
    def num_classes(self) -> int | None:
        return self.parts[ID_DOMAIN].num_classes

    def load_inputs(self, indices: np.ndarray) -> Any:
        idx = np.asarray(indices, dtype=np.int64)
        part_of = np.searchsorted(self._offsets, idx, side="right") - 1
        datasets = list(self.parts.values())
        order: list[np.ndarray] = []
        loaded: list[Any] = []
        for part in np.unique(part_of):
            where = np.flatnonzero(part_of == part)
            order.append(where)
            loaded.append(datasets[part].load_inputs(idx[where] - self._offsets[part]))
        position = np.argsort(np.concatenate(order), kind="stable")
        if self.modality in ("text", "ranking"):
            flat = [x for chunk in loaded for x in chunk]
            return [flat[i] for i in position]
        return torch.cat(loaded)[torch.as_tensor(position)]

    def _content_hash(self, h: Any) -> None:
        for key, ds in self.parts.items():
            h.update(key.encode())
            h.update(ds.fingerprint().encode())

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["domains"] = {k: len(v) for k, v in self.parts.items()}
        d["id_domain"] = ID_DOMAIN
        return d


class _Subset(Dataset):
    """Rows of another dataset (used to split one set into domains)."""

    def __init__(self, base: Dataset, rows: np.ndarray, name: str) -> None:
        self.base, self.rows = base, rows
        super().__init__(
            name=name,
            targets=base.targets[rows],
            ids=[base.ids[i] for i in rows],
            meta={k: [v[i] for i in rows] for k, v in base.meta.items()},
            class_names=base.class_names,
            task=base.task,
        )
        self.modality = base.modality

    def load_inputs(self, indices: np.ndarray) -> Any:
        return self.base.load_inputs(self.rows[np.asarray(indices)])

    def _content_hash(self, h: Any) -> None:
        h.update(self.base.fingerprint().encode())
        h.update(self.rows.tobytes())
