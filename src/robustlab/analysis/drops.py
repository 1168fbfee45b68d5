"""Drops against clean accuracy: paired perturbation drops, and the Source Drop and Target Drop
of a shift scan against models trained on the target domains.

A perturbation's paired drop compares clean and perturbed accuracy on the same examples; for
a probe that records only the examples it changed (text transformations), an unrecorded example
keeps its clean prediction, so it counts as unchanged.

The Source Drop measures the loss from the model's own in-domain accuracy; the Target Drop
measures it from what a model *trained on the target domain* reaches there, so a shift to a
merely harder domain is not mistaken for a robustness failure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robustlab.errors import DataError, StoreError
from robustlab.metrics.intervals import bca_from_replicates
from robustlab.records import ID_DOMAIN, Records
from robustlab.store import Store

__all__ = ["domain_drops", "drops_of", "paired_drop", "perturbation_drops"]

RESAMPLES = 1000


def _accuracy_by_domain(records: Records) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for d in dict.fromkeys(records.domain.tolist()):
        if d is not None:
            out[str(d)] = records.domain == d
    return out


def drops_of(
    source: Records,
    source_domain: str,
    target_domain: str,
    target: Records | None = None,
    *,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Source Drop ``(S_S - S_T) / S_S`` and, given the records of a model trained on the target
    domain, Target Drop ``(T_T - S_T) / T_T``, with BCa bootstrap intervals (the jackknife for
    the acceleration runs over the examples of both samples).

    ``S_S`` is the source model's accuracy on its own training domain, ``S_T`` its accuracy on
    the target domain and ``T_T`` the target-trained model's accuracy on the target domain (the
    same examples, matched by id, so the bootstrap resamples them jointly).

    References:
        Calderon et al., Measuring the Robustness of NLP Models to Domain Shifts, 2024.
    """
    masks = _accuracy_by_domain(source)
    own, tgt = masks[source_domain], masks[target_domain]
    s_own = source.correct[own].astype(np.float64)
    s_tgt = source.correct[tgt].astype(np.float64)
    ids = source.example_id[tgt]
    t_tgt: np.ndarray | None = None
    if target is not None:
        t_mask = target.domain == target_domain
        index = {str(i): k for k, i in enumerate(target.example_id[t_mask])}
        missing = [str(i) for i in ids if str(i) not in index]
        if missing:
            raise DataError(
                f"The target-domain run lacks {len(missing)} examples of domain "
                f"{target_domain!r} (e.g. {missing[0]!r}); scan both models on the same data."
            )
        t_correct = target.correct[t_mask].astype(np.float64)
        t_tgt = t_correct[[index[str(i)] for i in ids]]

    def source_drop(own_acc: np.ndarray, tgt_acc: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(own_acc > 0, (own_acc - tgt_acc) / own_acc, np.nan)

    def target_drop(t_acc: np.ndarray, tgt_acc: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(t_acc > 0, (t_acc - tgt_acc) / t_acc, np.nan)

    rng = np.random.default_rng(seed)
    i_own = rng.integers(0, len(s_own), size=(RESAMPLES, len(s_own)))
    i_tgt = rng.integers(0, len(s_tgt), size=(RESAMPLES, len(s_tgt)))
    boot_own, boot_tgt = s_own[i_own].mean(1), s_tgt[i_tgt].mean(1)

    def estimate(point: float, boot: np.ndarray, jack: np.ndarray) -> dict[str, Any]:
        boot = boot[np.isfinite(boot)]
        if not np.isfinite(point) or not len(boot):
            return {"value": None, "ci_low": None, "ci_high": None}
        low, high = bca_from_replicates(point, boot, jack, level)
        return {
            "value": point,
            "ci_low": min(float(low), point),
            "ci_high": max(float(high), point),
        }

    acc_own, acc_tgt = float(s_own.mean()), float(s_tgt.mean())
    out: dict[str, Any] = {
        "source_domain": source_domain,
        "target_domain": target_domain,
        "source_accuracy": acc_own,
        "shifted_accuracy": acc_tgt,
        "n": len(s_tgt),
        "source_drop": estimate(
            float(source_drop(np.array(acc_own), np.array(acc_tgt))),
            source_drop(boot_own, boot_tgt),
            np.concatenate(
                [
                    source_drop(_leave_one_out(s_own), np.array(acc_tgt)),
                    source_drop(np.array(acc_own), _leave_one_out(s_tgt)),
                ]
            ),
        ),
        "target_drop": None,
    }
    if t_tgt is not None:
        acc_t = float(t_tgt.mean())
        out["target_accuracy"] = acc_t
        out["target_drop"] = estimate(
            float(target_drop(np.array(acc_t), np.array(acc_tgt))),
            target_drop(t_tgt[i_tgt].mean(1), boot_tgt),
            target_drop(_leave_one_out(t_tgt), _leave_one_out(s_tgt)),  # paired examples
        )
    return out


def _leave_one_out(values: np.ndarray) -> np.ndarray:
    """The mean of ``values`` without each one in turn (the jackknife of a mean)."""
    n = len(values)
    if n < 2:
        return np.full(n, np.nan)
    return (values.sum() - values) / (n - 1)


def domain_drops(store: Store, run: dict[str, Any], *, probe: str = "clean") -> dict[str, Any]:
    """Source and Target Drop of ``run`` (a report run document) on every other domain of its
    shift scan. A domain's Target Drop needs a complete run, on the same data, of a model whose
    ``trained_on`` names that domain (``None`` for the in-distribution set); without one it is
    left undefined with the reason."""
    if not run["dataset"].get("domains"):
        return {"defined": False, "reason": "not a shift scan", "domains": []}
    try:
        records = store.load_records(run["id"], probe)
    except StoreError:  # the probe was not run or was skipped
        return {"defined": False, "reason": f"no {probe!r} records", "domains": []}
    trained: dict[str, dict[str, Any]] = {}  # domain -> newest run of a model trained on it
    for other in store.runs():  # newest first
        if other["dataset_fingerprint"] != run["dataset"]["fingerprint"]:
            continue
        if other["status"] != "complete" or other["id"] == run["id"]:
            continue
        domain = (other["model_spec"] or {}).get("trained_on") or ID_DOMAIN
        trained.setdefault(domain, other)
    source_domain = run["model"].get("trained_on") or ID_DOMAIN
    domains = [d for d in _accuracy_by_domain(records) if d != source_domain]
    if source_domain not in _accuracy_by_domain(records):
        return {
            "defined": False,
            "reason": f"the model's training domain {source_domain!r} is not in this data",
            "domains": [],
        }
    rows = []
    for domain in domains:
        ref = trained.get(domain)
        target = None
        if ref is not None:
            try:
                target = store.load_records(ref["id"], probe)
            except StoreError:
                ref = None
        row = drops_of(records, source_domain, domain, target, seed=int(run.get("seed", 0)))
        if ref is not None:
            row["target_model"] = ref["model_name"]
            row["target_run"] = ref["id"]
        else:
            row["target_reason"] = (
                f"no stored model trained on {domain!r}: scan one on this data with "
                f"trained_on={domain!r} (--trained-on {domain}) for its Target Drop"
            )
        rows.append(row)
    return {"defined": True, "source_domain": source_domain, "domains": rows}


#: Axes whose probes perturb the clean examples, so their accuracy pairs with clean accuracy.
PAIRED_AXES = ("corruptions", "adversarial", "text perturbations", "text attacks", "stability")


def paired_drop(
    clean: Records,
    perturbed: Records,
    *,
    fill_unrecorded: bool = False,
    level: float = 0.95,
) -> dict[str, Any] | None:
    """Paired accuracy drop ``clean - perturbed`` on the same examples (matched by id), with a
    normal interval for the mean of paired differences, and the performance drop rate
    ``1 - perturbed / clean`` with a delta-method interval.

    ``fill_unrecorded``: the probe recorded only the examples it changed, so a clean example
    missing from ``perturbed`` keeps its clean outcome (difference 0); otherwise only the
    examples in both are paired. The changed-only accuracy (the probe's own records) is kept as
    ``changed_accuracy``.

    References:
        Scheffé, The Analysis of Variance, 1959 (paired differences);
        Wang et al., Measure and Improve Robustness in NLP Models: A Survey, 2022 (drop rate).
    """
    from scipy.stats import norm

    c_ids = [str(i) for i in clean.example_id]
    c_correct = clean.correct.astype(np.float64)
    p_map: dict[str, list[float]] = {}
    for i, ok in zip(perturbed.example_id, perturbed.correct.astype(np.float64)):
        p_map.setdefault(str(i), []).append(float(ok))
    c_vals, p_vals = [], []
    for i, ok in zip(c_ids, c_correct):
        if i in p_map:
            c_vals.append(ok)
            p_vals.append(float(np.mean(p_map[i])))  # several records of one example: their mean
        elif fill_unrecorded:
            c_vals.append(ok)
            p_vals.append(ok)
    n = len(c_vals)
    if n == 0:
        return None
    c, p = np.asarray(c_vals), np.asarray(p_vals)
    d = c - p
    z = float(norm.ppf(0.5 + level / 2))
    mean_d = float(d.mean())
    se_d = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    acc_c, acc_p = float(c.mean()), float(p.mean())
    out: dict[str, Any] = {
        "n": n,
        "clean_accuracy": acc_c,
        "perturbed_accuracy": acc_p,
        "drop": mean_d,
        "drop_ci_low": mean_d - z * se_d,
        "drop_ci_high": mean_d + z * se_d,
        "drop_rate": None,
        "drop_rate_ci_low": None,
        "drop_rate_ci_high": None,
        "changed_n": len(perturbed),
        "changed_accuracy": float(perturbed.correct.mean()) if len(perturbed) else None,
    }
    if acc_c > 0:
        rate = 1.0 - acc_p / acc_c
        # delta method for the ratio of the paired means p / c
        g = np.array([acc_p / acc_c**2, -1.0 / acc_c])
        cov = np.cov(np.vstack([c, p])) / n if n > 1 else np.full((2, 2), np.nan)
        se_r = float(np.sqrt(max(float(g @ cov @ g), 0.0)))
        out.update(
            drop_rate=rate, drop_rate_ci_low=rate - z * se_r, drop_rate_ci_high=rate + z * se_r
        )
    return out


def perturbation_drops(store: Store, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The paired drop (:func:`paired_drop`) of every done perturbation probe of ``run`` (a report
    run document) against its clean probe, one row per probe with ``probe_key``, ``label`` and
    ``axis``; empty without clean records."""
    try:
        clean = store.load_records(run["id"], "clean")
    except StoreError:
        return []
    covers = {
        u["probe_key"]: bool(u["info"].get("covers_batch", True)) for u in store.units(run["id"])
    }
    rows = []
    for probe in run.get("probes", []):
        if probe.get("status") != "done" or probe.get("axis") not in PAIRED_AXES:
            continue
        try:
            records = store.load_records(run["id"], probe["key"])
        except StoreError:
            continue
        if "correct" not in records.fields:
            continue
        row = paired_drop(clean, records, fill_unrecorded=not covers.get(probe["key"], True))
        if row is not None:
            rows.append(
                {
                    "probe_key": probe["key"],
                    "label": probe.get("label"),
                    "axis": probe["axis"],
                    **row,
                }
            )
    return rows
