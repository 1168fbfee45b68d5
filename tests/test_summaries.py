"""Cross-probe summaries: known answers for mCE and friends, and the baseline plumbing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import robustlab
from robustlab.errors import ConfigError
from robustlab.summaries import SUMMARIES, ProbeErrors, evaluate_summary


def _probe(key: str, axis: str, errors: list[int], **spec) -> ProbeErrors:
    return ProbeErrors(key, axis, spec, np.array(errors, dtype=bool))


def _attack(key: str, errors: list[int]) -> ProbeErrors:
    spec = {"probe": "attack", "attack": "pgd", "norm": "linf", "epsilon": 0.03}
    return ProbeErrors(key, "adversarial", spec, np.array(errors, dtype=bool))


# Ten examples; two corruptions at two severities, plus clean.
MODEL = [
    _probe("clean", "clean", [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),  # E = 0.1
    _probe(
        "fog1",
        "corruptions",
        [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        probe="corruption",
        corruption="fog",
        severity=1,
    ),  # 0.2
    _probe(
        "fog2",
        "corruptions",
        [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
        probe="corruption",
        corruption="fog",
        severity=2,
    ),  # 0.4
    _probe(
        "snow1",
        "corruptions",
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        probe="corruption",
        corruption="snow",
        severity=1,
    ),  # 0.1
    _probe(
        "snow2",
        "corruptions",
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
        probe="corruption",
        corruption="snow",
        severity=2,
    ),  # 0.3
]
BASE = [
    _probe("clean", "clean", [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]),  # 0.2
    _probe(
        "fog1",
        "corruptions",
        [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
        probe="corruption",
        corruption="fog",
        severity=1,
    ),  # 0.4
    _probe(
        "fog2",
        "corruptions",
        [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
        probe="corruption",
        corruption="fog",
        severity=2,
    ),  # 0.8
    _probe(
        "snow1",
        "corruptions",
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
        probe="corruption",
        corruption="snow",
        severity=1,
    ),  # 0.3
    _probe(
        "snow2",
        "corruptions",
        [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        probe="corruption",
        corruption="snow",
        severity=2,
    ),  # 0.5
]


def test_mce_known_answer() -> None:
    # CE_fog = (0.2 + 0.4) / (0.4 + 0.8) = 0.5; CE_snow = (0.1 + 0.3) / (0.3 + 0.5) = 0.5.
    est = evaluate_summary(SUMMARIES.get("mce")(), MODEL, BASE)
    assert est is not None
    assert est.value == pytest.approx(0.5)
    assert est.ci_low <= est.value <= est.ci_high


def test_relative_mce_known_answer() -> None:
    # fog: (0.1 + 0.3) / (0.2 + 0.6) = 0.5; snow: (0.0 + 0.2) / (0.1 + 0.3) = 0.5.
    est = evaluate_summary(SUMMARIES.get("relative_mce")(), MODEL, BASE)
    assert est is not None and est.value == pytest.approx(0.5)


def test_unnormalised_mean_error_and_accuracy() -> None:
    err = evaluate_summary(SUMMARIES.get("mean_corruption_error")(), MODEL)
    acc = evaluate_summary(SUMMARIES.get("mean_corruption_accuracy")(), MODEL)
    assert err is not None and acc is not None
    assert err.value == pytest.approx((0.3 + 0.2) / 2)
    assert acc.value == pytest.approx(1 - 0.25)


def test_worst_case_is_per_example_not_per_attack() -> None:
    attacks = [
        _attack("a", [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        _attack("b", [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]),
    ]
    est = evaluate_summary(SUMMARIES.get("worst_case_robust_accuracy")(), attacks)
    # Each attack alone leaves 0.8 robust; together they break four different examples.
    assert est is not None and est.value == pytest.approx(0.6)
    assert evaluate_summary(SUMMARIES.get("worst_case_robust_accuracy")(), attacks[:1]) is None


def test_baseline_summaries_need_a_baseline_and_its_probes() -> None:
    assert evaluate_summary(SUMMARIES.get("mce")(), MODEL) is None
    with pytest.raises(ConfigError, match=r"baseline run lacks probe\(s\) snow2"):
        evaluate_summary(SUMMARIES.get("mce")(), MODEL, BASE[:4])


def _speckle(key: str, severity: int, errors: list[int]) -> ProbeErrors:
    """A probe of one of ImageNet-C's held-out corruptions."""
    spec = {"probe": "perturbation", "perturbation": "speckle_noise", "severity": severity}
    return ProbeErrors(key, "corruptions", spec, np.array(errors, dtype=bool))


def test_mce_covers_imagenet_c_15_and_the_others_are_mce_extra() -> None:
    """mce reads only ImageNet-C's 15 corruptions (here fog and snow); a held-out corruption
    in the suite changes mce_extra, never mce (issue 22 item 5)."""
    extra = [_speckle("speckle1", 1, [1] * 4 + [0] * 6)]  # E = 0.4
    base_extra = [_speckle("speckle1", 1, [1] * 5 + [0] * 5)]  # 0.5
    alone = evaluate_summary(SUMMARIES.get("mce")(), MODEL, BASE)
    mixed = evaluate_summary(SUMMARIES.get("mce")(), MODEL + extra, BASE + base_extra)
    assert alone is not None and mixed is not None and mixed.value == pytest.approx(alone.value)
    ce = evaluate_summary(SUMMARIES.get("mce_extra")(), MODEL + extra, BASE + base_extra)
    assert ce is not None and ce.value == pytest.approx(0.4 / 0.5)
    assert evaluate_summary(SUMMARIES.get("mce_extra")(), MODEL, BASE) is None
    assert evaluate_summary(SUMMARIES.get("mce")(), extra, base_extra) is None
    rel_alone = evaluate_summary(SUMMARIES.get("relative_mce")(), MODEL, BASE)
    rel = evaluate_summary(SUMMARIES.get("relative_mce")(), MODEL + extra, BASE + base_extra)
    assert rel_alone is not None and rel is not None and rel.value == rel_alone.value
    rel_extra = evaluate_summary(
        SUMMARIES.get("relative_mce_extra")(), MODEL + extra, BASE + base_extra
    )
    # (E - E_clean) / (E_base - E_base_clean) = (0.4 - 0.1) / (0.5 - 0.2)
    assert rel_extra is not None and rel_extra.value == pytest.approx(1.0)


def test_the_benchmark_scope_is_imagenet_c_15() -> None:
    from robustlab.perturbations.image import names
    from robustlab.summaries.mce import benchmark_corruptions

    assert benchmark_corruptions() == set(names(family="imagenet_c"))
    assert len(benchmark_corruptions()) == 15 and "speckle_noise" not in benchmark_corruptions()


def test_undefined_summary_is_recorded_and_the_run_completes(cnn, small_digits, store_url) -> None:
    """A baseline whose error never changes leaves relative mCE undefined: the run still
    completes with every other metric, and the reason is stored and shown (issue 22 item 1)."""

    def constant(batch: np.ndarray) -> np.ndarray:
        scores = np.full((len(batch), 10), 0.01)
        scores[:, 0] = 0.91
        return scores

    suite = {
        "name": "undefined",
        "probes": ["clean", {"probe": "perturbation", "perturbation": "fog", "severity": 3}],
    }
    base = robustlab.scan(
        robustlab.FunctionModel(constant, num_classes=10, name="constant"),
        small_digits,
        suite,
        store=store_url,
        progress=False,
    )
    res = robustlab.scan(
        cnn, small_digits, suite, store=store_url, progress=False, baseline=base.run_id
    )
    assert res.status == "complete"
    assert "mce" in res.summaries and "mean_corruption_accuracy" in res.summaries
    assert "relative_mce" not in res.summaries
    assert "error does not change under 'fog'" in res.undefined_summaries["relative_mce"]
    assert {r["probe_key"] for r in res.table("accuracy")} == {
        "clean",
        "perturbation(fog,severity=3)",
    }
    assert "relative_mce" in str(res) and "undefined" in str(res)
    from robustlab.report.exports import markdown_summary

    md = markdown_summary(res._doc())
    assert "relative_mce | undefined: The baseline's error does not change" in md
    html = res.to_html(Path(store_url.removeprefix("sqlite:///")).with_suffix(".html"))
    assert "undefined: The baseline&#39;s error does not change" in html.read_text()


def test_a_failing_metrics_phase_marks_the_run_failed(
    cnn, small_digits, store_url, monkeypatch
) -> None:
    """An exception while computing metrics or summaries marks the run failed (or interrupted),
    never leaves it running (issue 22 item 1)."""
    import importlib

    scan_module = importlib.import_module("robustlab.runner.scan")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("summary exploded")

    monkeypatch.setattr(scan_module, "_summary_rows", boom)
    with pytest.raises(RuntimeError, match="summary exploded"):
        robustlab.scan(cnn, small_digits, "quick", store=store_url, progress=False)
    store = robustlab.open_store(store_url)
    assert [r["status"] for r in store.runs()] == ["failed"]

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(scan_module, "_summary_rows", interrupt)
    with pytest.raises(KeyboardInterrupt):
        robustlab.scan(cnn, small_digits, "quick", store=store_url, progress=False)
    assert [r["status"] for r in store.runs()] == ["interrupted"]


def test_perfect_baseline_makes_mce_undefined() -> None:
    perfect = [_probe(p.key, p.axis or "", [0] * 10, **p.spec) for p in BASE]
    with pytest.raises(ConfigError, match="baseline makes no errors under 'fog'"):
        evaluate_summary(SUMMARIES.get("mce")(), MODEL, perfect)


@pytest.mark.parametrize("name", SUMMARIES.names())
def test_summary_contract(name: str) -> None:
    summary = SUMMARIES.get(name)()
    attacks = [_attack("a", [1, 0] * 5), _attack("b", [0, 1, 1, 0, 0] * 2)]
    rng = np.random.default_rng(0)
    seqs = [_seq(k, list(rng.uniform(0, 0.5, 10))) for k in ("noise", "shift")]
    base_seqs = [_seq(k, list(rng.uniform(0.1, 0.6, 10))) for k in ("noise", "shift")]
    own = MODEL + attacks + seqs + [_speckle("speckle1", 1, [1, 1, 0, 0, 0, 0, 0, 0, 0, 0])]
    base = BASE + base_seqs + [_speckle("speckle1", 1, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0])]
    first = evaluate_summary(summary, own, base, seed=3)
    again = evaluate_summary(summary, own, base, seed=3)
    assert first is not None and first == again
    assert np.isfinite([first.value, first.ci_low, first.ci_high]).all()
    assert first.ci_low <= first.value <= first.ci_high
    assert isinstance(summary.higher_is_better, bool) and summary.description


def test_scan_with_baseline_stores_mce(cnn, logreg, small_digits, store_url) -> None:
    suite = {
        "name": "mce",
        "probes": [
            "clean",
            {
                "probe": "corruption",
                "grid": {"corruption": ["contrast", "gaussian_noise"], "severity": [3, 5]},
            },
        ],
    }
    base = robustlab.scan(logreg, small_digits, suite, store=store_url, progress=False)
    res = robustlab.scan(
        cnn, small_digits, suite, store=store_url, progress=False, baseline=base.run_id[:8]
    )
    err = {r["probe_key"]: 1 - r["value"] for r in res.table("accuracy")}
    berr = {k: 1 - base.value(k) for k in err}
    expected = np.mean(
        [
            sum(err[f"corruption({c},severity={s})"] for s in (3, 5))
            / sum(berr[f"corruption({c},severity={s})"] for s in (3, 5))
            for c in ("contrast", "gaussian_noise")
        ]
    )
    assert res.summaries["mce"] == pytest.approx(expected)
    assert "mce" not in base.summaries
    other = robustlab.ArrayDataset(
        small_digits.inputs[:50], small_digits.targets[:50], name="other"
    )
    runs_before = res.store.count_runs()
    with pytest.raises(ConfigError, match="a baseline must use the same data"):
        robustlab.scan(cnn, other, suite, store=store_url, progress=False, baseline=base.run_id)
    assert res.store.count_runs() == runs_before  # refused before any work


def _seq(key: str, flips: list[float]) -> ProbeErrors:
    return ProbeErrors(
        key,
        "stability",
        {"probe": "sequence", "sequence": key},
        np.zeros(len(flips), bool),
        np.array(flips),
    )


def test_flip_rate_summaries_known_answer() -> None:
    model = [_seq("noise", [0.0, 0.2, 0.4, 0.2]), _seq("shift", [0.5, 0.5, 0.0, 0.2])]  # 0.2, 0.3
    base = [_seq("noise", [0.4, 0.4, 0.4, 0.4]), _seq("shift", [0.6, 0.6, 0.6, 0.6])]  # 0.4, 0.6
    mean = evaluate_summary(SUMMARIES.get("mean_flip_rate")(), model)
    mfr = evaluate_summary(SUMMARIES.get("mfr")(), model, base)
    assert mean is not None and mean.value == pytest.approx(0.25)
    assert mfr is not None and mfr.value == pytest.approx((0.2 / 0.4 + 0.3 / 0.6) / 2)
    never = [_seq("noise", [0.0] * 4), _seq("shift", [0.0] * 4)]
    with pytest.raises(ConfigError, match="baseline never flips along noise"):
        evaluate_summary(SUMMARIES.get("mfr")(), model, never)


def test_sequence_probe_flip_rate_matches_predictions(cnn, small_digits) -> None:
    from robustlab.perturbations.image import sequences

    probe = robustlab.make_probe({"probe": "sequence", "sequence": "translate", "length": 5})
    batch = small_digits.batch(np.arange(20))
    records = probe.run(cnn, batch, seed=7)
    frames = sequences.sequence(batch.inputs, "translate", 5, seed=7)
    preds = np.stack([cnn.predict_scores(f).argmax(1).numpy() for f in frames])
    expected = (preds[1:] != preds[:-1]).mean(axis=0)
    assert np.allclose(records.value, expected)
    assert np.array_equal(records.prediction, preds[-1])


def test_vanishing_baseline_degradation_is_reported_not_divided_through() -> None:
    # The baseline's fog error barely exceeds its clean error, so many resamples leave the
    # relative mCE undefined; they are counted, never turned into astronomically wide intervals.
    base = [
        _probe("clean", "clean", [1] + [0] * 39),
        _probe(
            "fog1",
            "corruptions",
            [1, 1] + [0] * 38,
            probe="corruption",
            corruption="fog",
            severity=1,
        ),
    ]
    model = [
        _probe("clean", "clean", [0] * 40),
        _probe(
            "fog1", "corruptions", [1] + [0] * 39, probe="corruption", corruption="fog", severity=1
        ),
    ]
    est = evaluate_summary(SUMMARIES.get("relative_mce")(), model, base, seed=1)
    assert est is not None and est.value == pytest.approx(1.0)
    assert est.details is not None and 0.05 < est.details["undefined_resamples"] < 1
    assert abs(est.ci_high) < 100 and abs(est.ci_low) < 100
