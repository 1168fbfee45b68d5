"""Effective robustness: OOD accuracy beyond what a model's ID accuracy predicts, fitted over
the population of models stored on the same data."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from robustlab.store import Store

__all__ = ["MIN_MODELS", "effective_robustness", "fit_logit_line"]

#: Fewer models than this leave the ID-OOD relation undetermined.
MIN_MODELS = 3
_EPS = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def fit_logit_line(id_acc: np.ndarray, ood_acc: np.ndarray) -> dict[str, Any]:
    """Least-squares line ``logit(OOD) = a + b logit(ID)`` with residuals and, from five models
    on, a test of curvature (a quadratic term) for ID-OOD relations that are not linear.

    References:
        Taori et al., Measuring Robustness to Natural Distribution Shifts in Image
        Classification, 2020; Miller et al., Accuracy on the Line, 2021; Teney et al.
        (Accuracy on the Curve), 2023 (nonlinear relations under subpopulation shift).
    """
    x, y = _logit(id_acc), _logit(ood_acc)
    n = len(x)
    b, a = np.polyfit(x, y, 1)
    resid = y - (a + b * x)
    dof = max(n - 2, 1)
    s = float(np.sqrt(np.sum(resid**2) / dof))
    out: dict[str, Any] = {
        "intercept": float(a),
        "slope": float(b),
        "residual_std": s,
        "effective_robustness": (ood_acc - _sigmoid(a + b * x)).tolist(),
        "nonlinear": None,
    }
    if n >= 5:
        quad = np.polyfit(x, y, 2)
        rss1, rss2 = np.sum(resid**2), np.sum((y - np.polyval(quad, x)) ** 2)
        f = (rss1 - rss2) / max(rss2 / (n - 3), 1e-12)
        p = float(stats.f.sf(f, 1, n - 3))
        out["nonlinear"] = {"curvature": float(quad[0]), "p_value": p, "significant": p < 0.05}
    sxx = float(np.sum((x - x.mean()) ** 2)) or 1e-12
    grid = np.linspace(x.min() - 0.5, x.max() + 0.5, 50)
    half = stats.t.ppf(0.975, dof) * s * np.sqrt(1 + 1 / n + (grid - x.mean()) ** 2 / sxx)
    out["curve"] = {
        "id": _sigmoid(grid).tolist(),
        "ood": _sigmoid(a + b * grid).tolist(),
        "low": _sigmoid(a + b * grid - half).tolist(),
        "high": _sigmoid(a + b * grid + half).tolist(),
    }
    return out


def effective_robustness(store: Store, dataset_fingerprint: str) -> dict[str, Any]:
    """The fit over every complete run on this (shifted) dataset, one point per model."""
    points: dict[str, dict[str, Any]] = {}
    for run in store.runs():
        if run["dataset_fingerprint"] != dataset_fingerprint or run["status"] != "complete":
            continue
        ood = next(
            (
                m
                for m in store.metrics(run["id"])
                if m["probe_key"] == "clean" and m["metric"] == "ood_accuracy" and m["details"]
            ),
            None,
        )
        if ood is None or run["model_fingerprint"] in points:
            continue
        points[run["model_fingerprint"]] = {
            "model": run["model_name"],
            "run": run["id"],
            "id_accuracy": ood["details"]["domains"]["id"]["accuracy"],
            "ood_accuracy": ood["value"],
        }
    models = list(points.values())
    if len(models) < MIN_MODELS:
        return {
            "defined": False,
            "reason": f"needs at least {MIN_MODELS} models scanned on this data with a shift; "
            f"the store has {len(models)}",
            "models": models,
        }
    fit = fit_logit_line(
        np.array([m["id_accuracy"] for m in models]), np.array([m["ood_accuracy"] for m in models])
    )
    for m, er in zip(models, fit.pop("effective_robustness")):
        m["effective_robustness"] = er
    return {"defined": True, "models": models, **fit}
