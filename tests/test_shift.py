"""Distribution shift: domains datasets, shift metrics with known answers, and a shift scan."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import robustlab
from robustlab.data import ArrayDataset, DomainsDataset, shifted_digits
from robustlab.errors import DataError
from robustlab.metrics import get_metric
from robustlab.metrics.atc import atc_threshold
from robustlab.records import Records


def _records(correct: list[int], confidence: list[float], domain: list[str]) -> Records:
    n = len(correct)
    return Records(
        example_id=[str(i) for i in range(n)],
        target=np.zeros(n, int),
        prediction=1 - np.array(correct),
        correct=np.array(correct, bool),
        confidence=confidence,
        loss=np.zeros(n),
        brier=np.zeros(n),
        perturbation=np.full(n, np.nan),
        domain=domain,
    )


RECORDS = _records(
    correct=[1, 1, 1, 0, 1, 0, 0, 1],
    confidence=[0.9, 0.8, 0.7, 0.6, 0.95, 0.65, 0.5, 0.75],
    domain=["id"] * 4 + ["night"] * 2 + ["fog"] * 2,
)


def test_ood_accuracy_and_relative_drop_known_answer() -> None:
    ood = get_metric("ood_accuracy").compute(RECORDS)
    assert ood.value == pytest.approx(2 / 4)
    assert ood.details["domains"]["id"]["accuracy"] == pytest.approx(0.75)
    night = ood.details["domains"]["night"]
    assert (night["accuracy"], night["n"]) == (0.5, 2)
    assert night["ci_low"] < 0.5 < night["ci_high"]  # exact Clopper-Pearson per domain
    drop = get_metric("relative_drop").compute(RECORDS)
    assert drop.value == pytest.approx((0.75 - 0.5) / 0.75)
    assert drop.details["domains"]["fog"] == pytest.approx((0.75 - 0.5) / 0.75)
    assert drop.ci_low <= drop.value <= drop.ci_high


def test_atc_known_answer() -> None:
    # ID accuracy 0.75, so the threshold is the 25% quantile of ID confidences [0.6, 0.7, 0.8, 0.9].
    t = atc_threshold(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 1, 1, 0], bool))
    assert t == pytest.approx(np.quantile([0.6, 0.7, 0.8, 0.9], 0.25))
    est = get_metric("atc_ood_accuracy").compute(RECORDS)
    ood_conf = np.array([0.95, 0.65, 0.5, 0.75])
    assert est.value == pytest.approx(np.mean(ood_conf >= t))
    assert est.details["error"] == pytest.approx(abs(est.value - 0.5))


def test_shift_metrics_do_not_apply_without_shift() -> None:
    only_id = _records([1, 0], [0.9, 0.6], ["id", "id"])
    for name in ("ood_accuracy", "relative_drop", "atc_ood_accuracy"):
        assert not get_metric(name).applies(only_id)


def test_domains_dataset_tags_and_loads_in_order(small_digits) -> None:
    thick = ArrayDataset(small_digits.inputs[:10] * 0.5, small_digits.targets[:10], name="dim")
    data = DomainsDataset(small_digits, {"dim": thick})
    assert len(data) == 130
    assert data.meta["domain"][:1] == ["id"] and data.meta["domain"][-1] == "dim"
    batch = data.batch(np.array([125, 3, 121]))
    assert torch_equal(batch.inputs[0], thick.inputs[5])
    assert torch_equal(batch.inputs[1], small_digits.inputs[3])
    assert batch.meta["domain"] == ["dim", "id", "dim"]
    assert data.describe()["domains"] == {"id": 120, "dim": 10}


def torch_equal(a, b) -> bool:
    return bool((a == b).all())


def test_ood_set_with_other_classes_is_refused(small_digits) -> None:
    other = ArrayDataset(
        small_digits.inputs[:5], [0, 1, 2, 3, 4], class_names=list("abcdefghij"), name="letters"
    )
    with pytest.raises(DataError, match="OOD set 'letters' has classes"):
        DomainsDataset(small_digits, {"letters": other})
    too_many = ArrayDataset(small_digits.inputs[:2], [0, 12], name="twelve")
    with pytest.raises(DataError, match="labels up to 12 but the ID set"):
        DomainsDataset(small_digits, {"twelve": too_many})
    with pytest.raises(DataError, match="may not be named 'id'"):
        DomainsDataset(small_digits, {"id": small_digits})


def test_domains_from_a_metadata_column(small_digits) -> None:
    data = DomainsDataset.from_column(small_digits, "group", "even")
    assert set(data.meta["domain"]) == {"id", "odd"}
    with pytest.raises(DataError, match="has no metadata column 'site'"):
        DomainsDataset.from_column(small_digits, "site", "a")


def test_shift_scan_reports_each_domain(cnn, small_digits, store_url) -> None:
    thick = shifted_digits("thick")
    sub = ArrayDataset(thick.inputs[:120], thick.targets[:120], name="thick")
    result = robustlab.scan(
        cnn,
        small_digits,
        {"name": "shift", "probes": ["clean"]},
        store=store_url,
        progress=False,
        shift={"thick": sub},
    )
    ood = next(m for m in result.metrics if m["metric"] == "ood_accuracy")
    preds = cnn.predict_scores(sub.inputs).argmax(1).numpy()
    assert ood["value"] == pytest.approx(np.mean(preds == sub.targets))
    ident = cnn.predict_scores(small_digits.inputs).argmax(1).numpy()
    assert ood["details"]["domains"]["id"]["accuracy"] == pytest.approx(
        np.mean(ident == small_digits.targets)
    )
    assert result.value("clean", "relative_drop") > 0  # thicker strokes really hurt this CNN


def test_accuracy_of_a_shift_scan_is_in_distribution(cnn, small_digits, store_url) -> None:
    dim = ArrayDataset(small_digits.inputs[:60] * 0.3, small_digits.targets[:60], name="dim")
    result = robustlab.scan(
        cnn,
        small_digits,
        {"name": "s", "probes": ["clean"]},
        store=store_url,
        progress=False,
        shift={"dim": dim},
    )
    ident = cnn.predict_scores(small_digits.inputs).argmax(1).numpy()
    assert result.value("clean") == pytest.approx(np.mean(ident == small_digits.targets))
    assert result.value("clean", "accuracy") != result.value("clean", "ood_accuracy")


@settings(max_examples=40, deadline=None)
@given(
    correct=st.lists(st.booleans(), min_size=8, max_size=40),
    seed=st.integers(0, 10_000),
)
def test_shift_metrics_ignore_example_order(correct: list[bool], seed: int) -> None:
    n = len(correct)
    rng = np.random.default_rng(seed)
    domain = ["id" if i % 3 else "night" for i in range(n)]
    records = _records([int(c) for c in correct], list(rng.uniform(0.3, 1.0, n)), domain)
    if not records.correct[records.domain == "id"].any():
        return  # relative drop is undefined without ID accuracy
    order = rng.permutation(n)
    shuffled = records.subset(order)
    for name in ("ood_accuracy", "relative_drop", "atc_ood_accuracy"):
        a = get_metric(name).compute(records).value
        b = get_metric(name).compute(shuffled).value
        assert a == pytest.approx(b), name


@settings(max_examples=40, deadline=None)
@given(acc=st.floats(0.05, 0.95), seed=st.integers(0, 10_000))
def test_atc_threshold_reproduces_id_accuracy(acc: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0, 1, 2000)
    correct = rng.uniform(0, 1, 2000) < acc
    t = atc_threshold(confidence, correct)
    # On the ID set itself, the share above the threshold is its accuracy (up to ties).
    assert np.mean(confidence >= t) == pytest.approx(correct.mean(), abs=2 / 2000)
