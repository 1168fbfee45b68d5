"""Paired comparisons (McNemar, churn) and effective robustness over a population of models."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

import robustlab
from robustlab.data import ArrayDataset
from robustlab.report import collect
from robustlab.report.compare import mcnemar_exact
from robustlab.report.effective import effective_robustness, fit_logit_line


def test_mcnemar_known_answer() -> None:
    a = np.array([1, 1, 1, 1, 1, 0, 1, 0], bool)
    b = np.array([0, 0, 0, 0, 0, 1, 1, 0], bool)
    n_ab, n_ba, p = mcnemar_exact(a, b)
    assert (n_ab, n_ba) == (5, 1)
    assert p == pytest.approx(2 * (1 + 6) / 2**6)  # two-sided exact binomial, k <= 1 of 6
    assert mcnemar_exact(a, a)[2] == 1.0


def test_logit_line_recovers_a_known_relation() -> None:
    ident = np.array([0.6, 0.7, 0.8, 0.9, 0.95])
    ood = expit(0.8 * logit(ident) - 0.5)
    ood[2] += 0.05  # one model above the line
    fit = fit_logit_line(ident, ood)
    assert fit["effective_robustness"][2] > 0.03
    assert abs(fit["effective_robustness"][0]) < 0.02
    assert fit["nonlinear"] is not None and "p_value" in fit["nonlinear"]


def test_effective_robustness_needs_three_models_then_fits(small_digits, store_url) -> None:
    from robustlab.demo import train_digits_logreg

    dim = ArrayDataset(small_digits.inputs * 0.5, small_digits.targets, name="dim")
    suite = {"name": "pop", "probes": ["clean"]}
    runs = []
    for c in (0.001, 0.01):
        model = train_digits_logreg(C=c, name=f"lr{c}")
        runs.append(
            robustlab.scan(
                model, small_digits, suite, store=store_url, progress=False, shift={"dim": dim}
            )
        )
    fp = runs[0].store.run(runs[0].run_id)["dataset_fingerprint"]
    er = effective_robustness(runs[0].store, fp)
    assert not er["defined"] and "needs at least 3 models" in er["reason"]
    model = train_digits_logreg(C=1.0, name="lr1")
    runs.append(
        robustlab.scan(
            model, small_digits, suite, store=store_url, progress=False, shift={"dim": dim}
        )
    )
    er = effective_robustness(runs[0].store, fp)
    assert er["defined"] and len(er["models"]) == 3
    doc = collect(runs[0].store, [r.run_id for r in runs])
    assert doc["comparisons"][0]["probes"][0]["probe"] == "clean"
    assert next(iter(doc["effective_robustness"].values()))["defined"]
