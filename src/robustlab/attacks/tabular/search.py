"""Schema-valid attacks on table rows: a constrained gradient attack for torch models (CAPGD-like,
Simonetto et al., Constrained Adaptive Attacks, 2024 / TabularBench NeurIPS 2024) and an
evolutionary search for any model, trees included (a simplified MOEVA with schema repair); the
default ``auto`` runs the gradient attack first where it can and searches the rows it left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from robustlab.errors import ConfigError

__all__ = ["TabularAttackResult", "attack_rows"]

ATTACKS = ("auto", "search", "gradient")
#: The criteria a tabular attack takes, by task: a classifier's row breaks when it is
#: misclassified, a regressor's when its prediction moves by more than the relative tolerance.
CRITERIA = {"misclassified": "classification", "score_changed": "regression"}


def check_criterion(criterion: str | None, model: Any, owner: str = "attack_rows") -> str:
    """The criterion to use for ``model`` (its task's when None), or a ConfigError naming the
    mismatch and the fix."""
    default = (
        next(c for c, t in CRITERIA.items() if t == model.task)
        if model.task in (CRITERIA.values())
        else None
    )
    if default is None:
        raise ConfigError(
            f"{owner} attacks classifiers and regressors; model {model.name!r} is a {model.task} "
            "model."
        )
    if criterion is None:
        return default
    if criterion not in CRITERIA:
        raise ConfigError(
            f"The 'criterion' parameter of {owner} must be one of {list(CRITERIA)} (or None for "
            f"the task's own). Got {criterion!r} instead."
        )
    if CRITERIA[criterion] != model.task:
        kind = {"classification": "classifier", "regression": "regressor"}[model.task]
        raise ConfigError(
            f"The 'criterion' parameter of {owner} is {criterion!r}, a {CRITERIA[criterion]} "
            f"criterion, but model {model.name!r} is a {kind}. A {kind} needs criterion "
            f"{default!r}"
            + (
                " (the prediction moves by more than 'tolerance' relative to the clean one)"
                if default == "score_changed"
                else ""
            )
            + "; pass it or drop criterion= to use the task's own."
        )
    return criterion


@dataclass(frozen=True)
class TabularAttackResult:
    """Per row: the adversarial row (the clean row where the attack failed), success, whether it
    is feasible under the schema, its distance in column standard deviations (L2) and queries."""

    adversarial: np.ndarray
    success: np.ndarray
    feasible: np.ndarray
    distance: np.ndarray
    queries: np.ndarray


def _margins(model: Any, x: np.ndarray, y: np.ndarray, clean: np.ndarray, tol: float) -> np.ndarray:
    """> 0 while the row holds: true-class probability margin, or for a regressor the relative
    tolerance minus the relative change of the prediction."""
    if model.task == "regression":
        pred = model.predict_values(x).numpy().reshape(-1)
        return tol - np.abs(pred - clean) / np.maximum(np.abs(clean), 1e-12)
    p = model.predict_proba(x).numpy()
    own = p[np.arange(len(p)), y]
    other = p.copy()
    other[np.arange(len(p)), y] = -np.inf
    return own - other.max(axis=1)


def _box(schema: Any, x0: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cols = np.flatnonzero(schema.numeric & schema.mutable)
    r = eps * schema.scales[cols]
    return cols, x0[:, cols] - r, x0[:, cols] + r


def _feasible(schema: Any, x: np.ndarray, x0: np.ndarray, eps: float) -> np.ndarray:
    cols, lo, hi = _box(schema, x0, eps)
    inside = ((x[:, cols] >= lo - 1e-9) & (x[:, cols] <= hi + 1e-9)).all(axis=1)
    return inside & schema.valid(x, original=x0)


def _search(model, schema, x0, y, clean, eps, tol, population, generations, rng):
    n = len(x0)
    cols, lo, hi = _box(schema, x0, eps)
    cats = [j for j, c in enumerate(schema.columns) if c.kind == "categorical" and not c.immutable]
    best = x0.copy()
    best_m = _margins(model, x0, y, clean, tol)
    queries = np.ones(n)
    sigma = 0.5
    for _ in range(generations):
        active = np.flatnonzero(best_m > 0)
        if not len(active):
            break
        k = len(active)
        cand = np.repeat(best[active], population, axis=0)
        base = np.repeat(x0[active], population, axis=0)
        span = np.repeat(hi[active] - lo[active], population, axis=0)
        cand[:, cols] += sigma * span * rng.standard_normal((k * population, len(cols)))
        cand[:, cols] = np.clip(
            cand[:, cols],
            np.repeat(lo[active], population, 0),
            np.repeat(hi[active], population, 0),
        )
        for j in cats:
            flip = rng.random(len(cand)) < 0.1
            levels = len(schema.columns[j].levels)
            cand[flip, j] = rng.integers(0, levels, int(flip.sum()))
        cand = schema.repair(cand, original=base)
        ok = _feasible(schema, cand, base, eps)
        m = _margins(
            model, cand, np.repeat(y[active], population), np.repeat(clean[active], population), tol
        )
        m = np.where(ok, m, np.inf).reshape(k, population)
        queries[active] += population
        pick = m.argmin(axis=1)
        better = m[np.arange(k), pick] < best_m[active]
        rows = active[better]
        best[rows] = cand.reshape(k, population, -1)[np.flatnonzero(better), pick[better]]
        best_m[rows] = m[np.flatnonzero(better), pick[better]]
        sigma = max(sigma * 0.9, 0.05)
    return best, best_m, queries


def _gradient(model, schema, x0, y, clean, eps, tol, steps):
    net = model.predictor
    cols, lo, hi = _box(schema, x0, eps)
    x = x0.copy()
    step = 2.5 * eps / steps * schema.scales[cols]
    for _ in range(steps):
        t = torch.as_tensor(x, dtype=torch.float32).requires_grad_(True)
        with torch.enable_grad():
            out = net(t)
            if model.task == "regression":
                loss = -(out.reshape(-1) - torch.as_tensor(clean, dtype=torch.float32)).abs().sum()
            else:
                logp = torch.log_softmax(out, dim=1)
                loss = logp.gather(1, torch.as_tensor(y).view(-1, 1)).sum()
            (g,) = torch.autograd.grad(loss, t)
        x[:, cols] -= step * np.sign(g.numpy()[:, cols].astype(np.float64))
        x[:, cols] = np.clip(x[:, cols], lo, hi)
        x = schema.repair(x, original=x0)
    m = _margins(model, x, y, clean, tol)
    ok = _feasible(schema, x, x0, eps)
    m = np.where(ok, m, np.inf)
    return np.where((m < np.inf)[:, None], x, x0), m, np.full(len(x0), steps + 1.0)


def attack_rows(
    model: Any,
    rows: Any,
    targets: Any,
    *,
    schema: Any = None,
    attack: str = "auto",
    epsilon: float = 0.5,
    tolerance: float = 0.1,
    population: int = 16,
    generations: int = 20,
    steps: int = 20,
    seed: int = 0,
    criterion: str | None = None,
) -> TabularAttackResult:
    """Attack encoded rows within ``epsilon`` column standard deviations per numeric cell (and
    any categorical swap), keeping every candidate valid under ``schema``; only feasible rows
    count as successes. A regressor's row breaks when its prediction moves by more than
    ``tolerance`` relative to the clean prediction (criterion ``score_changed``; a classifier's
    criterion is ``misclassified``; a mismatched criterion is refused)."""
    from robustlab.tabular.schema import Schema

    check_criterion(criterion, model)
    if attack not in ATTACKS:
        raise ConfigError(f"Tabular attack must be one of {list(ATTACKS)}; got {attack!r}.")
    x0 = np.asarray(rows.detach().cpu() if torch.is_tensor(rows) else rows, dtype=np.float64)
    schema = schema if schema is not None else getattr(model, "schema", None) or Schema.infer(x0)
    y = np.asarray(targets.cpu() if torch.is_tensor(targets) else targets)
    if model.task == "classification":
        y = y.astype(np.int64)
        clean = np.zeros(len(x0))
    else:
        clean = model.predict_values(x0).numpy().reshape(-1)
    rng = np.random.default_rng(seed)
    differentiable = bool(getattr(model, "is_torch", False))
    if attack == "gradient" and not differentiable:
        raise ConfigError(
            f"The gradient tabular attack needs a torch model; {model.name} is not one. Use "
            f"attack='search' (any model) or 'auto'."
        )
    best = x0.copy()
    margin = _margins(model, x0, y, clean, tolerance)
    already = margin <= 0  # wrong before any attack: not counted as broken by it
    queries = np.ones(len(x0))
    if attack in ("gradient", "auto") and differentiable:
        best, margin, queries = _gradient(model, schema, x0, y, clean, epsilon, tolerance, steps)
    if attack in ("search", "auto"):
        left = np.flatnonzero(margin > 0)
        if len(left):
            b, m, q = _search(
                model,
                schema,
                best[left],
                y[left],
                clean[left],
                epsilon,
                tolerance,
                population,
                generations,
                rng,
            )
            # the search starts from the gradient's result; keep it only if still feasible
            ok = _feasible(schema, b, x0[left], epsilon)
            m = np.where(ok, m, np.inf)
            best[left] = np.where(ok[:, None], b, x0[left])
            margin[left] = np.where(ok, m, margin[left])
            queries[left] += q
    success = margin <= 0
    adv = np.where(success[:, None], best, x0)
    feasible = _feasible(schema, adv, x0, epsilon)
    diff = (adv - x0) / schema.scales
    distance = np.where(success & ~already, np.sqrt((diff**2).sum(axis=1)), np.nan)
    return TabularAttackResult(adv, success & feasible, feasible, distance, queries)
