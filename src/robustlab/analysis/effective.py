"""Effective robustness: OOD accuracy beyond what a model's ID accuracy predicts, fitted over
the population of models stored on the same data."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from robustlab.errors import ConfigError
from robustlab.store import Store

__all__ = [
    "MIN_MODELS",
    "POPULATIONS",
    "effective_robustness",
    "fit_logit_line",
    "fit_logit_plane",
]

#: Which models the baseline line is fitted on: ``standard`` (the default; models not marked
#: ``robust_intervention``, as Taori et al. fit it) or ``all`` (every stored model).
POPULATIONS = ("standard", "all")

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
    if out["nonlinear"] is not None:  # the quadratic fit, drawn when the line is rejected
        out["nonlinear"]["curve"] = {
            "id": _sigmoid(grid).tolist(),
            "ood": _sigmoid(np.polyval(quad, grid)).tolist(),
        }
    half = stats.t.ppf(0.975, dof) * s * np.sqrt(1 + 1 / n + (grid - x.mean()) ** 2 / sxx)
    out["curve"] = {
        "id": _sigmoid(grid).tolist(),
        "ood": _sigmoid(a + b * grid).tolist(),
        "low": _sigmoid(a + b * grid - half).tolist(),
        "high": _sigmoid(a + b * grid + half).tolist(),
    }
    return out


def fit_logit_plane(id_accs: np.ndarray, ood_acc: np.ndarray) -> dict[str, Any]:
    """Least squares ``logit(OOD) = b0 + sum_i b_i logit(ID_i)`` over several ID test sets
    (columns of ``id_accs``), with each model's residual in accuracy space.

    One ID test set cannot tell a robust model from one trained on data closer to the shift;
    fitting on accuracies on every training distribution's test set removes that confound.

    References:
        Shi et al., Effective Robustness against Natural Distribution Shifts for Models with
        Different Training Data, NeurIPS 2023.
    """
    x = _logit(np.asarray(id_accs, dtype=np.float64))
    y = _logit(np.asarray(ood_acc, dtype=np.float64))
    design = np.column_stack([np.ones(len(y)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted = design @ coef
    resid = y - fitted
    dof = max(len(y) - design.shape[1], 1)
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "intercept": float(coef[0]),
        "coefficients": coef[1:].tolist(),
        "residual_std": float(np.sqrt(np.sum(resid**2) / dof)),
        "r_squared": 1 - float(np.sum(resid**2)) / total if total > 0 else float("nan"),
        "predicted_ood": _sigmoid(fitted).tolist(),
        "effective_robustness": (np.asarray(ood_acc) - _sigmoid(fitted)).tolist(),
    }


def effective_robustness(
    store: Store,
    dataset_fingerprint: str,
    id_domains: list[str] | None = None,
    population: str = "standard",
) -> dict[str, Any]:
    """The fit over the complete runs on this (shifted) dataset, one point per model.

    The baseline is fitted on the ``population`` (see :data:`POPULATIONS`): by default the
    models not marked as robustness interventions (``Model.robust_intervention``,
    ``--robust-intervention``); the marked ones are measured against it. Every model gets its
    effective robustness and ``fitted`` (whether it is part of the fit); ``fitted_on`` lists
    the fit's models by name.

    With ``id_domains`` naming two or more of the data's domains (e.g. the test sets of the
    different training distributions in the population), the multi-ID-test-set variant is
    fitted instead: OOD accuracy pooled over the other domains against the accuracy on each
    ID domain (:func:`fit_logit_plane`).
    """
    if population not in POPULATIONS:
        raise ConfigError(
            f"The 'population' parameter of effective_robustness() must be one of "
            f"{', '.join(POPULATIONS)}. Got {population!r} instead."
        )
    multi = id_domains is not None and len(id_domains) >= 2
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
        domains = ood["details"]["domains"]
        point = {
            "model": run["model_name"],
            "run": run["id"],
            "id_accuracy": domains["id"]["accuracy"],
            "ood_accuracy": ood["value"],
            "robust_intervention": bool((run["model_spec"] or {}).get("robust_intervention")),
        }
        point["fitted"] = population == "all" or not point["robust_intervention"]
        if multi:
            assert id_domains is not None
            unknown = [d for d in id_domains if d not in domains]
            if unknown:
                return {
                    "defined": False,
                    "reason": f"ID domain(s) {', '.join(map(repr, unknown))} not in this data; "
                    f"its domains: {', '.join(map(repr, domains))}",
                    "models": [],
                }
            rest = [d for d in domains if d not in id_domains]
            if not rest:
                return {
                    "defined": False,
                    "reason": "every domain is an ID domain; leave at least one out as the shift",
                    "models": [],
                }
            n = sum(domains[d]["n"] for d in rest)
            point["id_accuracies"] = {d: domains[d]["accuracy"] for d in id_domains}
            point["ood_accuracy"] = sum(domains[d]["accuracy"] * domains[d]["n"] for d in rest) / n
            point["ood_domains"] = rest
        points[run["model_fingerprint"]] = point
    models = list(points.values())
    fitted = [m for m in models if m["fitted"]]
    about = {"population": population, "fitted_on": [m["model"] for m in fitted]}
    need = MIN_MODELS if not multi else len(id_domains or []) + 2
    if len(fitted) < need:
        marked = len(models) - len(fitted)
        left_out = (
            f" ({marked} marked as robustness interventions are not fitted on)" if marked else ""
        )
        return {
            "defined": False,
            "reason": f"needs at least {need} models scanned on this data with a shift to fit "
            f"the baseline on; the store has {len(fitted)}{left_out}",
            "models": models,
            **about,
        }
    if multi:
        assert id_domains is not None
        plane = fit_logit_plane(
            np.array([[m["id_accuracies"][d] for d in id_domains] for m in fitted]),
            np.array([m["ood_accuracy"] for m in fitted]),
        )
        plane.pop("effective_robustness"), plane.pop("predicted_ood")
        coef = np.array([plane["intercept"], *plane["coefficients"]])
        for m in models:
            x = _logit(np.array([m["id_accuracies"][d] for d in id_domains], dtype=np.float64))
            m["predicted_ood_accuracy"] = float(_sigmoid(coef[0] + x @ coef[1:]))
            m["effective_robustness"] = m["ood_accuracy"] - m["predicted_ood_accuracy"]
        return {
            "defined": True,
            "id_domains": list(id_domains),
            "models": models,
            **about,
            **plane,
        }
    fit = fit_logit_line(
        np.array([m["id_accuracy"] for m in fitted]), np.array([m["ood_accuracy"] for m in fitted])
    )
    fit.pop("effective_robustness")
    for m in models:
        line = fit["intercept"] + fit["slope"] * _logit(np.array(m["id_accuracy"]))
        m["effective_robustness"] = float(m["ood_accuracy"] - _sigmoid(line))
    return {"defined": True, "models": models, **about, **fit}
