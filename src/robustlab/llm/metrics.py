"""Multiple-choice robustness metrics, each with an interval.

An LLM probe records every example under each of its prompt variants (the ``variant`` field),
the unchanged prompt as ``clean``; these metrics compare the variants of the same examples, so
their bootstrap intervals resample examples (paired). Accuracy drop (PDR, PromptBench: Zhu et al.
2023), worst variant, spread across formats (Sclar et al., ICLR 2024), answer consistency,
per-option recall standard deviation (RStd) and PriDe debiased accuracy (Zheng et al., "Large
Language Models Are Not Robust Multiple Choice Selectors", ICLR 2024), agreement of generated
and log-probability answers (Wang et al. 2024), and the Kendall tau of model rankings across
formats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from robustlab.errors import ConfigError
from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric
from robustlab.records import Records

__all__ = [
    "CLEAN",
    "Pivot",
    "debias_pride",
    "pivot",
    "pride_prior",
    "rank_stability",
    "recall_std",
]

#: The variant label of the unchanged prompt.
CLEAN = "clean"
TASKS = ("multiple_choice",)
RESAMPLES = 1000


@dataclass(frozen=True)
class Pivot:
    """A probe's records as examples x variants matrices (NaN where a variant is missing)."""

    examples: list[str]
    variants: list[str]
    correct: np.ndarray  # float (E, V): 1/0/NaN
    choice: np.ndarray  # float (E, V): original option index, -1 none, NaN missing

    def column(self, variant: str) -> int:
        return self.variants.index(variant)

    @property
    def perturbed(self) -> list[int]:
        return [j for j, v in enumerate(self.variants) if v != CLEAN]


def pivot(records: Records, field: str = "correct") -> Pivot:
    """Examples x variants of ``field`` (``correct``, ``correct_generate``, ``correct_logprob``)."""
    ids = [str(x) for x in records.example_id]
    variants = [str(v) for v in records.variant]
    examples = list(dict.fromkeys(ids))
    order = list(dict.fromkeys(variants))
    if CLEAN in order:
        order.remove(CLEAN)
        order.insert(0, CLEAN)
    row = {e: i for i, e in enumerate(examples)}
    col = {v: j for j, v in enumerate(order)}
    correct = np.full((len(examples), len(order)), np.nan)
    choice = np.full((len(examples), len(order)), np.nan)
    values = np.asarray(records.fields[field], dtype=np.float64)
    chosen = np.asarray(records.choice, dtype=np.float64)
    for k, (e, v) in enumerate(zip(ids, variants)):
        correct[row[e], col[v]] = values[k]
        choice[row[e], col[v]] = chosen[k]
    return Pivot(examples, order, correct, choice)


def _bootstrap(
    stat: Callable[[np.ndarray], float], n: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of ``stat(rows)`` over resampled example rows."""
    rng = np.random.default_rng(seed)
    draws = np.array([stat(rng.integers(0, n, size=n)) for _ in range(RESAMPLES)])
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    return float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha))


def _mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else float("nan")


def _estimate(stat: Callable[[np.ndarray], float], n: int, seed: int, **details: Any) -> Estimate:
    value = stat(np.arange(n))
    low, high = _bootstrap(stat, n, seed)
    return Estimate(value, low, high, n, "paired bootstrap over examples", details=details or None)


class _MC(Metric):
    tasks = TASKS


def _has_variants(records: Records) -> bool:
    return records.task in TASKS and "variant" in records.fields


@METRICS.register("mc_accuracy")
@dataclass(frozen=True)
class MCAccuracy(_MC):
    """Accuracy under the probe's perturbed prompts (the clean prompt's where it has none)."""

    name = "mc_accuracy"
    higher_is_better = True
    description = "share of multiple-choice answers that pick the right option (perturbed prompts)"

    def _compute(self, records: Records, seed: int) -> Estimate:
        variants = np.asarray(records.variant, dtype=object)
        keep = variants != CLEAN if (variants != CLEAN).any() else np.ones(len(records), bool)
        correct = np.asarray(records.correct, dtype=bool)[keep]
        k, n = int(correct.sum()), len(correct)
        low, high = clopper_pearson(k, n)
        return Estimate(k / n, low, high, n, "clopper-pearson")


@METRICS.register("clean_mc_accuracy")
@dataclass(frozen=True)
class CleanMCAccuracy(_MC):
    """Accuracy of the unchanged prompts the probe also measured."""

    name = "clean_mc_accuracy"
    higher_is_better = True
    description = "accuracy on the unchanged (clean) prompts"

    def applies(self, records: Records) -> bool:
        return bool((np.asarray(records.variant, dtype=object) == CLEAN).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        correct = np.asarray(records.correct, dtype=bool)[
            np.asarray(records.variant, dtype=object) == CLEAN
        ]
        k, n = int(correct.sum()), len(correct)
        low, high = clopper_pearson(k, n)
        return Estimate(k / n, low, high, n, "clopper-pearson")


def _paired(records: Records) -> bool:
    v = np.asarray(records.variant, dtype=object)
    return bool((v == CLEAN).any() and (v != CLEAN).any())


@METRICS.register("pdr")
@dataclass(frozen=True)
class PerformanceDropRate(_MC):
    """PDR = 1 - accuracy(perturbed) / accuracy(clean) on the same examples (PromptBench)."""

    name = "pdr"
    higher_is_better = False
    description = "performance drop rate, 1 - perturbed / clean accuracy (paired)"

    def applies(self, records: Records) -> bool:
        return _paired(records)

    def _compute(self, records: Records, seed: int) -> Estimate:
        p = pivot(records)
        clean, pert = p.correct[:, 0], p.correct[:, p.perturbed]

        def stat(rows: np.ndarray) -> float:
            c = _mean(clean[rows])
            return float("nan") if not c > 0 else 1.0 - _mean(pert[rows].ravel()) / c

        return _estimate(stat, len(p.examples), seed, variants=len(p.perturbed))


@METRICS.register("worst_variant_accuracy")
@dataclass(frozen=True)
class WorstVariantAccuracy(_MC):
    """The lowest accuracy over the probe's perturbed prompts (worst case)."""

    name = "worst_variant_accuracy"
    higher_is_better = True
    description = "accuracy under the worst of the probe's prompt variants"

    def applies(self, records: Records) -> bool:
        return _paired(records)

    def _compute(self, records: Records, seed: int) -> Estimate:
        p = pivot(records)
        cols = p.perturbed
        accs = [_mean(p.correct[:, j]) for j in cols]
        worst = p.variants[cols[int(np.nanargmin(accs))]]

        def stat(rows: np.ndarray) -> float:
            return float(np.nanmin([_mean(p.correct[rows, j]) for j in cols]))

        per = {p.variants[j]: a for j, a in zip(cols, accs)}
        return _estimate(stat, len(p.examples), seed, worst=worst, per_variant=per)


def _spread(kind: str) -> Callable[[np.ndarray], float]:
    return (
        (lambda a: float(np.nanmax(a) - np.nanmin(a)))
        if kind == "range"
        else (lambda a: float(np.nanstd(a)))
    )


@dataclass(frozen=True)
class _Spread(_MC):
    kind = "range"
    higher_is_better = False

    def applies(self, records: Records) -> bool:
        return len(set(np.asarray(records.variant, dtype=object).tolist())) >= 2

    def _compute(self, records: Records, seed: int) -> Estimate:
        p = pivot(records)
        spread = _spread(self.kind)

        def stat(rows: np.ndarray) -> float:
            return spread(np.array([_mean(p.correct[rows, j]) for j in range(len(p.variants))]))

        per = {v: _mean(p.correct[:, j]) for j, v in enumerate(p.variants)}
        return _estimate(stat, len(p.examples), seed, per_variant=per)


@METRICS.register("variant_range")
@dataclass(frozen=True)
class VariantRange(_Spread):
    """Range (max - min) of accuracy across the probe's variants, clean included (formats)."""

    name = "variant_range"
    kind = "range"
    description = "range of accuracy across prompt variants (max - min)"


@METRICS.register("variant_std")
@dataclass(frozen=True)
class VariantStd(_Spread):
    """Standard deviation of accuracy across the probe's variants, clean included."""

    name = "variant_std"
    kind = "std"
    description = "standard deviation of accuracy across prompt variants"


@METRICS.register("answer_consistency")
@dataclass(frozen=True)
class AnswerConsistency(_MC):
    """Share of examples whose chosen option (by content, so permutations compare) is the same
    under every variant."""

    name = "answer_consistency"
    higher_is_better = True
    description = "share of examples answered with the same option under every variant"

    def applies(self, records: Records) -> bool:
        return len(set(np.asarray(records.variant, dtype=object).tolist())) >= 2

    def _compute(self, records: Records, seed: int) -> Estimate:
        p = pivot(records)
        same = np.array(
            [len({x for x in row if np.isfinite(x)}) == 1 for row in p.choice], dtype=bool
        )
        k, n = int(same.sum()), len(same)
        low, high = clopper_pearson(k, n)
        return Estimate(k / n, low, high, n, "clopper-pearson")


@METRICS.register("generate_logprob_disagreement")
@dataclass(frozen=True)
class GenerateLogprobDisagreement(_MC):
    """Share of answers where the generated letter and the option log-probabilities disagree
    (Wang et al. 2024, "Look at the Text")."""

    name = "generate_logprob_disagreement"
    higher_is_better = False
    description = "share of answers whose generated letter differs from the log-probability choice"

    def applies(self, records: Records) -> bool:
        return bool(np.isfinite(np.asarray(records.agree, dtype=np.float64)).any())

    def _compute(self, records: Records, seed: int) -> Estimate:
        agree = np.asarray(records.agree, dtype=np.float64)
        agree = agree[np.isfinite(agree)]
        k, n = int((agree == 0).sum()), len(agree)
        low, high = clopper_pearson(k, n)
        return Estimate(k / n, low, high, n, "clopper-pearson")


def recall_std(
    target: np.ndarray, correct: np.ndarray, num_options: int
) -> tuple[float, list[float]]:
    """RStd: the standard deviation over option positions of the recall of answers whose right
    option is at that position (PriDe's selection-bias measure; positions never right skipped)."""
    recalls = [
        float(correct[target == d].mean()) if (target == d).any() else float("nan")
        for d in range(num_options)
    ]
    present = [r for r in recalls if np.isfinite(r)]
    return (float(np.std(present)) if len(present) >= 2 else float("nan")), recalls


@METRICS.register("rstd")
@dataclass(frozen=True)
class RecallStd(_MC):
    """Per-option recall standard deviation (RStd; Zheng et al., ICLR 2024), as a fraction
    (the paper reports it x100)."""

    name = "rstd"
    higher_is_better = False
    description = "standard deviation of recall across answer positions (selection bias)"

    def applies(self, records: Records) -> bool:
        return len(set(np.asarray(records.target).tolist())) >= 2

    def _compute(self, records: Records, seed: int) -> Estimate:
        target = np.asarray(records.target, dtype=np.int64)
        correct = np.asarray(records.correct, dtype=bool)
        k = int(np.max(records.num_options))
        value, recalls = recall_std(target, correct, k)
        low, high = _bootstrap(lambda r: recall_std(target[r], correct[r], k)[0], len(target), seed)
        predicted = np.bincount(
            np.clip(np.asarray(records.prediction, dtype=np.int64), -1, k - 1) + 1, minlength=k + 1
        )
        return Estimate(
            value,
            low,
            high,
            len(target),
            "bootstrap",
            details={
                "recall_by_position": recalls,
                "predicted_by_position": (predicted[1:] / max(1, len(target))).tolist(),
                "right_by_position": (np.bincount(target, minlength=k) / len(target)).tolist(),
            },
        )


def _log_softmax(v: np.ndarray) -> np.ndarray:
    v = v - v.max(axis=-1, keepdims=True)
    return v - np.log(np.exp(v).sum(axis=-1, keepdims=True))


def pride_prior(logprobs_by_shift: np.ndarray) -> np.ndarray:
    """PriDe's prior over option positions of one item from its cyclic permutations.

    ``logprobs_by_shift`` is ``(K, K)``: row ``s`` holds the option-label log-probabilities (by
    shown position) of the item with its options cyclically shifted by ``s``. Each option visits
    each position once, so the mean over shifts of ``log P_observed(d)`` cancels the content
    term and leaves ``log P_prior(d)`` up to a constant (Zheng et al., ICLR 2024, eq. 3).
    """
    logp = _log_softmax(np.asarray(logprobs_by_shift, dtype=np.float64))
    prior = np.exp(logp.mean(axis=0))
    return prior / prior.sum()


def debias_pride(logprobs: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Debiased option probabilities: ``P_observed(d) / P_prior(d)``, renormalised."""
    p = np.exp(_log_softmax(np.asarray(logprobs, dtype=np.float64))) / np.asarray(prior)
    return p / p.sum(axis=-1, keepdims=True)


@METRICS.register("pride_accuracy")
@dataclass(frozen=True)
class PriDeAccuracy(_MC):
    """Accuracy after PriDe debiasing (Zheng et al., ICLR 2024): the position prior is estimated
    from the cyclic permutations of the first ``estimation_share`` of the examples and divided out
    of the others' clean-order option probabilities."""

    name = "pride_accuracy"
    higher_is_better = True
    description = "accuracy after removing the estimated option-position prior (PriDe)"
    estimation_share: float = 0.25

    def applies(self, records: Records) -> bool:
        v = set(np.asarray(records.variant, dtype=object).tolist())
        return (
            CLEAN in v
            and any(str(x).startswith("cyclic=") for x in v)
            and any(x is not None for x in records.option_logprobs)
        )

    def _compute(self, records: Records, seed: int) -> Estimate:
        from robustlab.tasks.multiple_choice import option_logprobs

        ids = [str(x) for x in records.example_id]
        variants = [str(v) for v in records.variant]
        measured = option_logprobs(records.option_logprobs)
        lps = {k: v for k, v in enumerate(measured) if v is not None}
        target = np.asarray(records.target, dtype=np.int64)
        examples = sorted(dict.fromkeys(ids))
        by: dict[str, dict[str, int]] = {e: {} for e in examples}
        for k, (e, v) in enumerate(zip(ids, variants)):
            if k in lps:
                by[e][v] = k
        m = max(1, round(self.estimation_share * len(examples)))
        estimate_on, evaluate_on = examples[:m], examples[m:] or examples
        priors = []
        for e in estimate_on:
            rows = [by[e][v] for v in sorted(by[e]) if v == CLEAN or v.startswith("cyclic=")]
            shifted = np.stack([lps[k] for k in rows])  # by shown position, one row per shift
            if len(rows) == shifted.shape[1]:
                priors.append(pride_prior(shifted))
        if not priors:
            raise ConfigError(
                "pride_accuracy needs every cyclic shift of some items (option_permutation "
                "with mode=cyclic) and option log-probabilities."
            )
        prior = np.mean(priors, axis=0)
        clean = [by[e][CLEAN] for e in evaluate_on if CLEAN in by[e]]
        debiased = np.array([int(np.argmax(debias_pride(lps[k], prior))) for k in clean])
        right = debiased == target[clean]
        observed = np.array([int(np.argmax(lps[k])) for k in clean]) == target[clean]
        low, high = _bootstrap(lambda r: float(right[r].mean()), len(right), seed)
        return Estimate(
            float(right.mean()),
            low,
            high,
            len(right),
            "bootstrap",
            details={
                "prior": prior.tolist(),
                "observed_accuracy": float(observed.mean()),
                "estimation_examples": len(priors),
            },
        )


def rank_stability(
    accuracy: Mapping[str, Mapping[str, np.ndarray]] | Mapping[str, Records],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Estimate:
    """Kendall tau of several models' rankings across prompt variants: the mean over pairs of
    variants of the tau between the models' accuracy orders, with a paired bootstrap over
    examples (the same examples for every model).

    Args:
        accuracy: Per model either its records of one variant probe, or ``{variant: per-example
            correctness (E,)}`` with examples aligned across models and variants.
    """
    from scipy.stats import kendalltau

    tables: dict[str, dict[str, np.ndarray]] = {}
    for model, given in accuracy.items():
        if isinstance(given, Records):
            p = pivot(given)
            order = np.argsort(p.examples)
            tables[model] = {v: p.correct[order, j] for j, v in enumerate(p.variants)}
        else:
            tables[model] = {str(k): np.asarray(v, dtype=np.float64) for k, v in given.items()}
    models = list(tables)
    if len(models) < 3:
        raise ConfigError(f"Rank stability needs at least 3 models; got {len(models)}.")
    variants = sorted(set.intersection(*(set(t) for t in tables.values())))
    if len(variants) < 2:
        raise ConfigError("Rank stability needs at least 2 variants measured for every model.")
    cube = np.stack([np.stack([tables[m][v] for v in variants]) for m in models])  # (M, V, E)
    n = cube.shape[2]

    def stat(rows: np.ndarray) -> float:
        acc = np.nanmean(cube[:, :, rows], axis=2)  # (M, V)
        taus = [
            kendalltau(acc[:, a], acc[:, b]).statistic
            for a in range(len(variants))
            for b in range(a + 1, len(variants))
        ]
        taus = [t for t in taus if np.isfinite(t)]
        return float(np.mean(taus)) if taus else float("nan")

    value = stat(np.arange(n))
    rng = np.random.default_rng(seed)
    draws = np.array([stat(np.asarray(rng.integers(0, n, size=n))) for _ in range(resamples)])
    draws = draws[np.isfinite(draws)]
    low, high = (
        (float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975)))
        if len(draws)
        else (float("nan"), float("nan"))
    )
    acc = np.nanmean(cube, axis=2)
    return Estimate(
        value,
        low,
        high,
        n,
        "paired bootstrap over examples",
        details={
            "models": models,
            "variants": variants,
            "accuracy": {m: dict(zip(variants, acc[i].tolist())) for i, m in enumerate(models)},
        },
    )


def per_variant_accuracy(records: Records) -> dict[str, float]:
    """Accuracy of each variant of a probe's records."""
    p = pivot(records)
    return {v: _mean(p.correct[:, j]) for j, v in enumerate(p.variants)}
