"""Per-column sensitivity: how often the prediction changes when one column alone is perturbed
(a one-at-a-time screen in the spirit of Morris, Technometrics 1991, on schema-valid rows)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["column_sensitivity", "fragile_rows", "one_column_changes"]


def _outputs(model: Any, x: np.ndarray) -> np.ndarray:
    if model.task == "regression":
        return model.predict_values(x).numpy().reshape(-1)
    return model.predict_proba(x).numpy().argmax(axis=1)


def _changed(model: Any, a: np.ndarray, b: np.ndarray, tolerance: float) -> np.ndarray:
    if model.task == "regression":
        return np.abs(b - a) > tolerance * np.maximum(np.abs(a), 1e-12)
    return a != b


def one_column_changes(
    model: Any, x: np.ndarray, *, scale: float, seed: int
) -> dict[str, np.ndarray]:
    """Per mutable column, the encoded rows ``x`` with only that column perturbed (Gaussian
    noise of ``scale`` standard deviations for a numeric column, a swap to another level for a
    categorical one) and each row repaired to the schema."""
    schema = model.schema
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for j, col in enumerate(schema.columns):
        if col.immutable:
            continue
        y = x.copy()
        if col.kind == "categorical":
            k = len(col.levels or [])
            if k < 2:
                continue
            y[:, j] = (np.nan_to_num(y[:, j]) + rng.integers(1, k, len(y))) % k
        else:
            y[:, j] += scale * schema.scales[j] * rng.standard_normal(len(y))
        out[col.name] = schema.repair(y, original=x)
    return out


def column_sensitivity(
    model: Any, rows: Any, *, scale: float = 0.5, tolerance: float = 0.1, seed: int = 0
) -> dict[str, float]:
    """Per mutable column, the share of rows whose prediction changes when only that column is
    perturbed (see :func:`one_column_changes`); most sensitive first."""
    x = model.schema.encode(rows)
    base = _outputs(model, x)
    out = {
        name: float(_changed(model, base, _outputs(model, y), tolerance).mean())
        for name, y in one_column_changes(model, x, scale=scale, seed=seed).items()
    }
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def fragile_rows(rows: Any, adversarial: Any, schema: Any, *, top: int = 5) -> list[dict[str, Any]]:
    """The ``top`` rows an attack or perturbation changed most (standardised L2), each with its
    changed cells ``{column: (before, after)}`` in the original levels."""
    x, a = schema.encode(rows), schema.encode(adversarial)
    d = np.sqrt((np.nan_to_num((a - x) / schema.scales) ** 2).sum(axis=1))
    before, after = schema.decode(x), schema.decode(a)
    out = []
    for i in np.argsort(-d)[:top]:
        if d[i] == 0:
            break
        cells = {
            c: (before[c].iloc[i], after[c].iloc[i])
            for j, c in enumerate(schema.names)
            if not (x[i, j] == a[i, j] or (np.isnan(x[i, j]) and np.isnan(a[i, j])))
        }
        out.append({"row": int(i), "distance": float(d[i]), "changed": cells})
    return out
