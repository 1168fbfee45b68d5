"""Ranking measures through ``ir-measures`` (pytrec_eval), intervals, paired tests, rank agreement.

Per-query nDCG@k, RR@k, Recall@k, AP and P@k come from ``ir-measures`` over a TREC run built
from the score matrix; ties are broken in candidate order (the run's scores are the ranks), so
trec_eval's docid tie-breaking never decides a result. Intervals are percentile bootstraps over
queries (Sakai, "Evaluating evaluation metrics based on the bootstrap", SIGIR 2006); paired tests
are Fisher randomisation tests on per-query differences (Smucker, Allan & Carterette, CIKM 2007)
with a paired t-test beside them; rank agreement is Kendall's tau over the union of the two top-k
lists and rank-biased overlap (Webber, Moffat & Zobel, TOIS 2010).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.errors import ConfigError

__all__ = [
    "MEASURES",
    "Paired",
    "bootstrap_mean",
    "evaluate_run",
    "kendall_tau_topk",
    "paired_test",
    "per_query",
    "rbo",
    "subset_spread",
]

#: Record field -> ir-measures measure name (cutoffs as in TREC and MS MARCO reports).
MEASURES: dict[str, str] = {
    "ndcg": "nDCG@10",
    "reciprocal_rank": "RR@10",
    "recall": "R@100",
    "average_precision": "AP@1000",
    "precision": "P@10",
}
DEPTH = 1000


def _ir_measures() -> Any:
    try:
        import ir_measures
    except ModuleNotFoundError:
        raise ConfigError(
            "Ranking measures need ir-measures and pytrec-eval-terrier: pip install "
            "'robustlab[ranking]'."
        ) from None
    return ir_measures


def evaluate_run(
    run: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, float]],
    measures: Mapping[str, str] = MEASURES,
) -> dict[str, dict[str, float]]:
    """``{field: {query_id: value}}`` of a TREC-style ``run`` (``{qid: {doc: score}}``) against
    ``qrels`` through ir-measures. Grades are rounded to integers (trec_eval's gains)."""
    r = {str(k): {str(d): float(s) for d, s in v.items()} for k, v in run.items()}
    return _calc(r, qrels, measures)


def _calc(
    run: dict[str, dict[str, float]],
    qrels: Mapping[str, Mapping[str, float]],
    measures: Mapping[str, str],
) -> dict[str, dict[str, float]]:
    """:func:`evaluate_run` of a ``run`` already keyed by str with float scores."""
    irm = _ir_measures()
    parsed = {irm.parse_measure(m): f for f, m in measures.items()}
    q = {str(k): {str(d): round(float(g)) for d, g in v.items()} for k, v in qrels.items()}
    out: dict[str, dict[str, float]] = {f: {} for f in measures}
    for metric in irm.iter_calc(list(parsed), q, run):
        out[parsed[metric.measure]][metric.query_id] = float(metric.value)
    return out


def per_query(
    scores: np.ndarray,
    qrels: Sequence[Mapping[str, float]],
    doc_ids: Sequence[Sequence[str]] | Sequence[str] | None = None,
    measures: Mapping[str, str] = MEASURES,
    depth: int = DEPTH,
) -> dict[str, np.ndarray]:
    """Per-query measures of an ``(n, D)`` score matrix: ``{field: (n,) values}``.

    The top ``depth`` candidates of each row make the run, scored by their rank (ties keep the
    candidates' order). ``doc_ids``: ``D`` ids shared by all rows or ``n`` lists (default: the
    column positions ``"0"``..)."""
    scores = np.asarray(scores, dtype=np.float64)
    n, d = scores.shape
    if doc_ids is None:
        rows: list[list[str]] = [[str(j) for j in range(d)]] * n
    elif len(doc_ids) and not isinstance(doc_ids[0], str):
        seen: dict[int, list[str]] = {}  # one str list per distinct id list (often one shared)
        rows = []
        for r in doc_ids:
            if id(r) not in seen:
                seen[id(r)] = [str(x) for x in r]
            rows.append(seen[id(r)])
    else:
        rows = [[str(x) for x in doc_ids]] * n
    top = min(depth, d)
    if n:
        order = np.argsort(-scores, axis=1, kind="stable")[:, :top].tolist()
    rank_scores = [float(d - r) for r in range(top)]  # the run's score of each rank
    run: dict[str, dict[str, float]] = {}
    for i in range(n):
        row = rows[i]
        run[str(i)] = dict(zip([row[j] for j in order[i]], rank_scores))
    qr = {str(i): dict(g) for i, g in enumerate(qrels)}
    got = _calc(run, qr, measures)
    return {f: np.array([got[f].get(str(i), 0.0) for i in range(n)]) for f in measures}


def bootstrap_mean(
    values: np.ndarray, *, resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of per-query ``values`` and its percentile bootstrap interval over queries."""
    from robustlab.metrics.base import bootstrap_ci

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    low, high = bootstrap_ci(v, resamples=resamples, level=level, seed=seed)
    return float(v.mean()), low, high


def subset_spread(
    values: np.ndarray, *, fraction: float = 0.5, subsets: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Wu et al.'s i.i.d. variance task: the spread of the mean over random query subsets of
    ``fraction`` of the queries (drawn without replacement): std, min, max and 5-95% range."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    m = max(1, round(fraction * len(v)))
    rng = np.random.default_rng(seed)
    means = np.array([v[rng.choice(len(v), m, replace=False)].mean() for _ in range(subsets)])
    return {
        "std": float(means.std(ddof=1)) if len(means) > 1 else 0.0,
        "min": float(means.min()),
        "max": float(means.max()),
        "p05": float(np.quantile(means, 0.05)),
        "p95": float(np.quantile(means, 0.95)),
        "subset_size": float(m),
    }


@dataclass(frozen=True)
class Paired:
    """A paired comparison of per-query values ``a`` and ``b``: mean difference ``b - a``, its
    bootstrap interval, a two-sided randomisation-test p-value and a paired t-test p-value."""

    mean_a: float
    mean_b: float
    difference: float
    low: float
    high: float
    p_randomisation: float
    p_ttest: float
    n: int


def paired_test(
    a: np.ndarray, b: np.ndarray, *, permutations: int = 10000, seed: int = 0
) -> Paired:
    """Compare two systems (or clean and perturbed runs) on the same queries."""
    from scipy import stats

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ConfigError(
            f"A paired test needs the same queries on both sides; got {len(x)} and {len(y)} values."
        )
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    diff = y - x
    n = len(diff)
    if n == 0:
        nan = float("nan")
        return Paired(nan, nan, nan, nan, nan, nan, nan, 0)
    mean, low, high = bootstrap_mean(diff, seed=seed)
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(permutations, n))
    null = np.abs((signs * diff).mean(axis=1))
    p_rand = float((1 + (null >= abs(diff.mean()) - 1e-12).sum()) / (permutations + 1))
    if n > 1 and np.ptp(diff) > 1e-9 * max(1.0, float(np.abs(diff).max())):
        p_t = float(stats.ttest_rel(y, x).pvalue)
    else:  # constant differences: no variance to test against
        p_t = 1.0 if abs(float(diff.mean())) < 1e-12 else 0.0
    return Paired(float(x.mean()), float(y.mean()), mean, low, high, p_rand, p_t, n)


def kendall_tau_topk(clean: np.ndarray, perturbed: np.ndarray, k: int = 10) -> float:
    """Kendall's tau-b between two score vectors over the union of their top ``k`` documents
    (1: same order; -1: reversed)."""
    from scipy import stats

    c, p = np.asarray(clean, dtype=np.float64), np.asarray(perturbed, dtype=np.float64)
    top = np.union1d(np.argsort(-c, kind="stable")[:k], np.argsort(-p, kind="stable")[:k])
    if len(top) < 2:
        return 1.0
    tau = stats.kendalltau(c[top], p[top]).statistic
    return float(tau) if np.isfinite(tau) else 0.0


def rbo(first: Sequence[Any], second: Sequence[Any], p: float = 0.9) -> float:
    """Extrapolated rank-biased overlap of two rankings (Webber et al., 2010, eq. 32), in [0, 1];
    ``p`` sets how top-heavy it is (0.9: the top 10 carry about 86% of the weight)."""
    if not 0 < p < 1:
        raise ConfigError(f"rbo: p must lie in (0, 1); got {p!r}.")
    s, t = list(first), list(second)
    k = min(len(s), len(t))
    if k == 0:
        return 1.0 if len(s) == len(t) else 0.0
    seen_s: set[Any] = set()
    seen_t: set[Any] = set()
    overlap = 0
    total = 0.0
    for d in range(1, k + 1):
        a, b = s[d - 1], t[d - 1]
        if a == b:
            overlap += 1
        else:
            overlap += (a in seen_t) + (b in seen_s)
        seen_s.add(a)
        seen_t.add(b)
        total += (overlap / d) * p**d
    return float((overlap / k) * p**k + (1 - p) / p * total)


def rbo_of_scores(clean: np.ndarray, perturbed: np.ndarray, depth: int = 100) -> float:
    """RBO of the top ``depth`` of two score vectors over the same documents."""
    a = np.argsort(-np.asarray(clean, dtype=np.float64), kind="stable")[:depth]
    b = np.argsort(-np.asarray(perturbed, dtype=np.float64), kind="stable")[:depth]
    return rbo(a.tolist(), b.tolist())
