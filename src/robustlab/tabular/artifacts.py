"""Table rows for the report: the changed cells of perturbed or attacked rows, and per-column
sensitivity counts, in one artifact format rendered by the report's tabular section::

    {"name": "table/<kind>/<example_id>", "media_type": TABLE_MEDIA_TYPE, "data": <JSON text>,
     "meta": {"example_id": ..., "probe": probe key, "label": probe label}}

with ``data`` the JSON of ``{"kind": "attack" | "perturbation" | "metamorphic", "changed":
{column: [before, after]}, "distance" (standardised L2), "target", "prediction" (on the
original row), "perturbed_prediction", "broken", "note"}``, or for ``"kind": "sensitivity"``
``{"columns": {column: [rows whose prediction changed, rows]}}`` (one per shard; the report
adds the shards' counts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from robustlab.errors import ConfigError

__all__ = [
    "ROWS_PER_SHARD",
    "TABLE_MEDIA_TYPE",
    "changed_cells",
    "row_artifact",
    "sensitivity_artifact",
]

TABLE_MEDIA_TYPE = "application/vnd.robustlab.table+json"

#: Rows a tabular probe keeps per shard for the report.
ROWS_PER_SHARD = 3

_KINDS = ("attack", "perturbation", "metamorphic")


def _plain(v: Any) -> Any:
    """A JSON-safe scalar: NumPy scalars as Python ones, NaN and None as None."""
    if v is None:
        return None
    if isinstance(v, np.generic) or (hasattr(v, "item") and getattr(v, "ndim", 1) == 0):
        v = v.item()  # NumPy and torch scalars
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def changed_cells(schema: Any, before: np.ndarray, after: np.ndarray) -> dict[str, list[Any]]:
    """``{column: [before, after]}`` for the cells of one encoded row that differ, in the
    schema's original levels (a categorical code shows as its level)."""
    b = np.asarray(before, dtype=np.float64).reshape(1, -1)
    a = np.asarray(after, dtype=np.float64).reshape(1, -1)
    frame_b, frame_a = schema.decode(b), schema.decode(a)
    out: dict[str, list[Any]] = {}
    for j, name in enumerate(schema.names):
        same = b[0, j] == a[0, j] or (np.isnan(b[0, j]) and np.isnan(a[0, j]))
        if not same:
            out[name] = [_plain(frame_b[name].iloc[0]), _plain(frame_a[name].iloc[0])]
    return out


def row_artifact(
    *,
    example_id: str,
    changed: Mapping[str, Sequence[Any]],
    distance: float,
    target: Any,
    prediction: Any,
    perturbed_prediction: Any,
    broken: bool,
    kind: str,
    probe_key: str,
    probe_label: str,
    note: str = "",
) -> dict[str, Any]:
    """One report row in the shared table artifact format (see the module docstring)."""
    if kind not in _KINDS:
        raise ConfigError(
            f"The 'kind' of a table artifact must be one of {list(_KINDS)}. Got {kind!r}."
        )
    data = {
        "kind": kind,
        "changed": {str(c): [_plain(v[0]), _plain(v[1])] for c, v in changed.items()},
        "distance": _plain(float(distance)),
        "target": _plain(target),
        "prediction": _plain(prediction),
        "perturbed_prediction": _plain(perturbed_prediction),
        "broken": bool(broken),
        "note": note,
    }
    return {
        "name": f"table/{kind}/{example_id}",
        "media_type": TABLE_MEDIA_TYPE,
        "data": json.dumps(data, ensure_ascii=False),
        "meta": {"example_id": str(example_id), "probe": probe_key, "label": probe_label},
    }


def sensitivity_artifact(
    counts: Mapping[str, tuple[int, int]], *, shard_id: str, probe_key: str, probe_label: str
) -> dict[str, Any]:
    """One shard's per-column sensitivity counts ``{column: (changed, rows)}``."""
    data = {
        "kind": "sensitivity",
        "columns": {str(c): [int(k), int(n)] for c, (k, n) in counts.items()},
    }
    return {
        "name": f"table/sensitivity/{shard_id}",
        "media_type": TABLE_MEDIA_TYPE,
        "data": json.dumps(data),
        "meta": {"example_id": str(shard_id), "probe": probe_key, "label": probe_label},
    }


def prediction_of(task: str, records: Any, i: int) -> Any:
    """The model's prediction in record ``i``: the class index, or the value for a regressor."""
    if task == "regression":
        return float(records.prediction[i])
    return int(records.prediction[i])
