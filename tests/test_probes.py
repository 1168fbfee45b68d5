"""Contract tests generated from the probe registry: every probe, no probe named."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robustlab.probes import PROBES, NotApplicable, make_probe

PROBE_NAMES = PROBES.names()
# Text probes have their own contract tests (tests/text/test_text_scan.py) on a text model.
IMAGE_PROBES = [n for n in PROBE_NAMES if "image" in PROBES.get(n).modalities]


@pytest.mark.parametrize("name", IMAGE_PROBES)
def test_probe_records_cover_the_batch_and_are_seeded(name, cnn, small_digits) -> None:
    probe = PROBES.get(name).example()
    batch = small_digits.batch(np.arange(0, 32))
    first = probe.run(cnn, batch, seed=123)
    again = probe.run(cnn, batch, seed=123)
    assert len(first) == len(batch)
    assert list(first.example_id) == batch.ids
    assert np.array_equal(first.target, batch.targets.numpy())
    assert np.array_equal(first.correct, first.prediction == first.target)
    assert np.all((first.confidence > 0) & (first.confidence <= 1 + 1e-9))
    assert np.all(first.loss >= 0)
    assert list(first.group) == batch.meta["group"]
    for column in ("prediction", "confidence", "loss", "brier"):
        assert np.array_equal(getattr(first, column), getattr(again, column)), column
    assert np.array_equal(first.perturbation, again.perturbation, equal_nan=True)


@pytest.mark.parametrize("name", PROBE_NAMES)
def test_probe_spec_round_trips_and_is_documented(name) -> None:
    probe = PROBES.get(name).example()
    assert make_probe(probe.spec) == probe
    assert probe.key.startswith(name)
    assert (type(probe).__doc__ or "").strip()


@pytest.mark.parametrize("name", PROBE_NAMES)
def test_probe_is_frozen(name) -> None:
    probe = PROBES.get(name).example()
    fields = dataclasses.fields(probe)
    if fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(probe, fields[0].name, getattr(probe, fields[0].name))


def test_gradient_probe_is_not_applicable_to_black_box(logreg, small_digits) -> None:
    probe = make_probe({"probe": "attack", "attack": "pgd", "epsilon": 0.1})
    with pytest.raises(NotApplicable, match="needs gradients"):
        probe.applicable(logreg, small_digits)


def test_attack_probe_respects_its_budget(cnn, small_digits) -> None:
    probe = make_probe({"probe": "attack", "attack": "pgd", "epsilon": 0.1, "steps": 10})
    records = probe.run(cnn, small_digits.batch(np.arange(40)), seed=0)
    assert np.nanmax(records.perturbation) <= 0.1 + 1e-6
    clean = make_probe("clean").run(cnn, small_digits.batch(np.arange(40)), seed=0)
    assert records.correct.sum() <= clean.correct.sum()


def test_perturbation_probe_changes_inputs_and_records_distance(cnn, small_digits) -> None:
    probe = make_probe("perturbation perturbation=gaussian_noise severity=5")
    batch = small_digits.batch(np.arange(16))
    records = probe.run(cnn, batch, seed=0)
    assert np.all(records.perturbation > 0)
    clean = make_probe("clean").run(cnn, batch, seed=0)
    assert not np.array_equal(records.confidence, clean.confidence)
