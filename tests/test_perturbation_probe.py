"""The perturbation probe: the same records as the 0.2 corruption and text transformation probes,
deprecated aliases, modality mismatches, specs, and scans through the store and the report."""

from __future__ import annotations

import json
import pickle
import warnings
from typing import Any

import numpy as np
import pytest

import robustlab
from helpers_text import reviews, tfidf
from robustlab.errors import ConfigError
from robustlab.perturbations import PERTURBATIONS, perturbation_of
from robustlab.perturbations import image as corruptions
from robustlab.perturbations import text as transformations
from robustlab.probes import NotApplicable, make_probe
from robustlab.probes.base import gallery, predict_records
from robustlab.probes.perturbation import RUNNERS, PerturbationProbe
from robustlab.records import Records
from robustlab.seeding import ExampleSeeds

IMAGE = corruptions.names()
TEXT = transformations.names(preserves_label=True)


def _columns(records: Records) -> dict[str, Any]:
    return {name: records.column(name) for name in records.column_names}


def _assert_same_records(a: Records, b: Records) -> None:
    ca, cb = _columns(a), _columns(b)
    for name, x in ca.items():
        y = cb[name]
        if x is None or y is None:
            assert x is None and y is None, name
            continue
        x, y = np.asarray(x), np.asarray(y)
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name


def _artifacts(records: Records, key: str) -> str:
    return json.dumps(records.artifacts, sort_keys=True, default=str).replace(key, "<key>")


def _corruption_probe_02(probe: Any, corruption: str, severity: int, model, batch, seed) -> Records:
    """The records RobustLab 0.2's corruption probe made (its run(), written out), with the
    corruption seeded per example id as probes seed it since issue 19 item 2."""
    clean = batch.inputs.to(model.device)
    corrupted = corruptions.apply(
        clean, corruption, severity, seed=ExampleSeeds.of(seed, batch.ids)
    )
    size = (corrupted - clean).flatten(1).norm(dim=1)
    records = predict_records(model, corrupted, batch, perturbation=size)
    records.artifacts.extend(gallery(batch, corrupted, probe, records))
    return records


def _text_probe_02(name: str, rate: float, model, batch, seed) -> Records:
    """The records RobustLab 0.2's text transformation probe made (its run() without artifacts),
    with the texts seeded per example id as probes seed them since issue 19 item 2."""
    from robustlab.text._probing import sub_batch
    from robustlab.text.artifacts import word_change_fraction

    texts = list(batch.inputs)
    out = transformations.apply(texts, name, rate, ExampleSeeds.of(seed, batch.ids))
    changed = [i for i, o in enumerate(out) if o.changed]
    originals = [texts[i] for i in changed]
    perturbed = [out[i].text for i in changed]
    clean = model.predict_proba(originals).numpy().argmax(axis=1)
    records = predict_records(
        model,
        perturbed,
        sub_batch(batch, changed, perturbed),
        perturbation=np.array([word_change_fraction(a, b) for a, b in zip(originals, perturbed)]),
    )
    records.value = (records.prediction == clean).astype(np.float64)
    return records


# -- the same records as 0.2 -----------------------------------------------------------------


@pytest.mark.parametrize("name", IMAGE)
def test_image_records_equal_the_corruption_probe(name: str, cnn, small_digits) -> None:
    batch = small_digits.batch(np.arange(24))
    probe = PerturbationProbe.of(name, severity=4)
    new = probe.run(cnn, batch, seed=77)
    _assert_same_records(new, _corruption_probe_02(probe, name, 4, cnn, batch, 77))
    with pytest.warns(DeprecationWarning):
        alias = make_probe({"probe": "corruption", "corruption": name, "severity": 4})
    old = alias.run(cnn, batch, seed=77)
    _assert_same_records(new, old)
    assert _artifacts(new, probe.key) == _artifacts(old, alias.key)
    assert (alias.label, alias.kind, alias.metrics, alias.covers_batch) == (
        probe.label,
        probe.kind,
        probe.metrics,
        probe.covers_batch,
    )


@pytest.mark.parametrize("name", TEXT)
def test_text_records_equal_the_transformation_probe(name: str) -> None:
    model, batch = tfidf(), reviews("test").batch(np.arange(60))
    probe = PerturbationProbe.of(name, rate=0.3)
    new = probe.run(model, batch, seed=5)
    assert len(new) > 0
    _assert_same_records(new, _text_probe_02(name, 0.3, model, batch, 5))
    with pytest.warns(DeprecationWarning):
        alias = make_probe({"probe": "text_transformation", "transformation": name, "rate": 0.3})
    old = alias.run(model, batch, seed=5)
    _assert_same_records(new, old)
    assert _artifacts(new, probe.key) == _artifacts(old, alias.key)
    assert (alias.label, alias.kind, alias.metrics, alias.covers_batch) == (
        probe.label,
        probe.kind,
        probe.metrics,
        probe.covers_batch,
    )


def test_similarity_option_matches_the_transformation_probe() -> None:
    model, batch = tfidf(), reviews("test").batch(np.arange(8))
    probe = make_probe(
        {"probe": "perturbation", "perturbation": "typo_swap", "measure_similarity": True}
    )
    assert probe.key == "perturbation(typo_swap,rate=0.2,measure_similarity=True)"
    with pytest.warns(DeprecationWarning):
        alias = make_probe(
            {"probe": "text_transformation", "transformation": "typo_swap", "measure_similarity": 1}
        )
    new, old = probe.run(model, batch, seed=0), alias.run(model, batch, seed=0)
    _assert_same_records(new, old)
    assert np.all((new.similarity > 0.3) & (new.similarity < 1.0))


# -- specs, keys, declarations ----------------------------------------------------------------


def test_spec_key_and_parameters() -> None:
    probe = make_probe("perturbation perturbation=fog severity=2")
    assert probe == PerturbationProbe.of("fog", severity=2)
    assert probe.key == "perturbation(fog,severity=2)" and probe.label == "fog s2"
    assert probe.spec == {"probe": "perturbation", "perturbation": "fog", "severity": 2}
    assert make_probe(probe.spec) == probe and make_probe(probe) is probe
    restored = pickle.loads(pickle.dumps(probe))  # as the process backend ships it
    assert restored == probe and (restored.kind, restored.metrics) == (probe.kind, probe.metrics)
    # seeds derive from the 0.2 key, so a suite switched to this probe draws the same noise
    assert probe.seed_key == "corruption(fog,severity=2)"
    assert PerturbationProbe.of("synonym", rate=0.1, measure_similarity=True).seed_key == (
        "text_transformation(transformation=synonym,rate=0.1,measure_similarity=True)"
    )
    text = make_probe({"probe": "perturbation", "perturbation": "casing", "rate": "1/2"})
    assert text.key == "perturbation(casing,rate=0.5)" and text.label == "casing 0.5"


def test_declarations_follow_the_perturbation() -> None:
    image, text = PerturbationProbe.of("fog"), PerturbationProbe.of("typo_keyboard")
    assert (image.resolved_axis(), text.resolved_axis()) == ("corruptions", "text perturbations")
    assert (image.kind, text.kind) == ("corruption", "text_transformation")
    assert image.covers_batch and not text.covers_batch
    assert image.metrics == RUNNERS["image"].metrics and "consistency" in text.metrics
    assert "brier" in image.metrics and "brier" not in text.metrics
    assert PerturbationProbe.tasks == ("classification",)
    assert set(PerturbationProbe.modalities) == set(RUNNERS)


def test_bad_parameters_say_what_to_type() -> None:
    with pytest.raises(ConfigError, match=r"Perturbation 'fog' has no parameter 'rate'"):
        make_probe({"probe": "perturbation", "perturbation": "fog", "rate": 0.2})
    with pytest.raises(KeyError, match=r"Unknown perturbation 'fgo'. Did you mean 'fog'"):
        make_probe({"probe": "perturbation", "perturbation": "fgo"})
    with pytest.raises(ConfigError, match=r"needs a 'perturbation' parameter naming one"):
        make_probe({"probe": "perturbation", "severity": 3})
    with pytest.raises(ConfigError, match=r"'severity' parameter of perturbation 'fog' must be"):
        make_probe("perturbation perturbation=fog severity=high")
    with pytest.raises(ConfigError, match=r"'severity' parameter of perturbation 'fog' must be"):
        make_probe("perturbation perturbation=fog severity=6")
    with pytest.raises(ConfigError, match=r"'negate' changes what an input says.*checklist"):
        make_probe("perturbation perturbation=negate")
    with pytest.raises(ConfigError, match=r"applies to text perturbations only; 'fog' is an"):
        make_probe("perturbation perturbation=fog measure_similarity=true")


def test_another_modality_is_refused_with_the_fix(cnn, small_digits) -> None:
    with pytest.raises(
        NotApplicable,
        match=r"fog is an image perturbation; the dataset 'reviews-test' is text — use a text "
        r"perturbation such as casing",
    ):
        PerturbationProbe.of("fog").applicable(tfidf(), reviews("test"))
    with pytest.raises(
        NotApplicable,
        match=r"typo_keyboard is a text perturbation; the dataset 'digits-small' is image — use "
        r"an image perturbation such as brightness",
    ):
        PerturbationProbe.of("typo_keyboard").applicable(cnn, small_digits)


def test_text_that_nothing_changes_is_not_applicable() -> None:
    ds = robustlab.TextDataset(["No places here.", "None."], [1, 0])
    probe = PerturbationProbe.of("swap_locations", rate=1.0)
    with pytest.raises(NotApplicable, match=r"no text of dataset 'texts' has anything"):
        probe.applicable(tfidf(), ds)


# -- deprecated aliases ------------------------------------------------------------------------


def test_old_probe_names_warn_and_keep_their_keys() -> None:
    with pytest.warns(
        DeprecationWarning,
        match=r"'corruption' probe is deprecated .* write \{probe: perturbation, perturbation: "
        r"fog, severity: 3\}",
    ) as caught:
        old = make_probe("corruption corruption=fog severity=3")
    assert caught[0].filename == __file__, "the warning points at the caller"
    assert old.key == "corruption(fog,severity=3)" and old.probe == PerturbationProbe.of("fog")
    with pytest.warns(DeprecationWarning, match=r"perturbation: synonym, rate: 0.1"):
        suite = robustlab.load_suite(
            {
                "name": "old",
                "probes": [
                    {"probe": "text_transformation", "transformation": "synonym", "rate": 0.1}
                ],
            }
        )
    assert suite.probes[0].key == "text_transformation(transformation=synonym,rate=0.1)"
    # the 0.2 messages of the old probes are kept
    with pytest.raises(ConfigError, match=r"'severity' parameter of probe 'corruption'"):
        make_probe("corruption corruption=fog severity=7")
    with pytest.raises(ConfigError, match=r"'rate' parameter of probe 'text_transformation'"):
        make_probe("text_transformation transformation=casing rate=0")


def test_builtin_suites_use_the_perturbation_probe() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for name in robustlab.SUITES.names():
            for probe in robustlab.load_suite(name).probes:
                assert probe.name not in ("corruption", "text_transformation"), (name, probe.key)
    standard = robustlab.load_suite("standard")
    corrupt = [p for p in standard.probes if isinstance(p, PerturbationProbe)]
    assert len({p.perturbation.name for p in corrupt}) == 34 == len(IMAGE)


def test_perturbation_of_reads_old_and_new_specs() -> None:
    pairs = [
        ({"probe": "corruption", "corruption": "fog", "severity": 2}, "fog", {"severity": 2}),
        ({"probe": "corruption", "corruption": "fog"}, "fog", {"severity": 3}),
        (
            {"probe": "text_transformation", "transformation": "synonym", "rate": 0.1,
             "measure_similarity": True},
            "synonym",
            {"rate": 0.1},
        ),
        ({"probe": "perturbation", "perturbation": "fog", "severity": 2}, "fog", {"severity": 2}),
        (PerturbationProbe.of("synonym", rate=0.1, measure_similarity=True).spec, "synonym",
         {"rate": 0.1}),
    ]  # fmt: skip
    for spec, name, params in pairs:
        assert perturbation_of(spec) == (name, params)
    assert perturbation_of({"corruption": "fog", "severity": 1}) == ("fog", {"severity": 1})
    for spec in ({"probe": "clean"}, {"probe": "attack", "attack": "pgd"}, {"attack": "pgd"}):
        assert perturbation_of(spec) is None
    from robustlab.probes.perturbation import RUNNERS

    for name in PERTURBATIONS.names():
        p = PERTURBATIONS.get(name).example()
        if p.preserves_label and p.modality in RUNNERS:  # prompt variants: the llm_prompts probe
            assert perturbation_of(PerturbationProbe(p).spec) == (name, p.params)


# -- end to end --------------------------------------------------------------------------------


def test_scan_summaries_and_report_with_the_new_probe(cnn, logreg, small_digits, tmp_path) -> None:
    def suite(probe: str, key: str) -> dict[str, Any]:
        grid = {key: ["contrast", "gaussian_noise"], "severity": [3, 5]}
        return {"name": "mce", "probes": ["clean", {"probe": probe, "grid": grid}]}

    new, store = suite("perturbation", "perturbation"), f"sqlite:///{tmp_path}/new.db"
    base = robustlab.scan(logreg, small_digits, new, store=store, progress=False)
    res = robustlab.scan(cnn, small_digits, new, store=store, progress=False, baseline=base.run_id)
    with pytest.warns(DeprecationWarning):
        old = suite("corruption", "corruption")
        store_old = f"sqlite:///{tmp_path}/old.db"
        base_old = robustlab.scan(logreg, small_digits, old, store=store_old, progress=False)
        res_old = robustlab.scan(
            cnn, small_digits, old, store=store_old, progress=False, baseline=base_old.run_id
        )
    assert set(res.summaries) >= {"mce", "mean_corruption_error"}
    assert res.summaries == res_old.summaries
    # the same seeds (derived from the 0.2 key), so every metric and interval is the same
    rows = {(r["probe_key"], r["metric"]): r for r in res.table()}
    old_rows = {
        (r["probe_key"].replace("corruption(", "perturbation("), r["metric"]): r
        for r in res_old.table()
    }
    assert rows.keys() == old_rows.keys() and len(rows) > 20
    for k, row in rows.items():
        assert [row[c] for c in ("value", "ci_low", "ci_high", "n")] == [
            old_rows[k][c] for c in ("value", "ci_low", "ci_high", "n")
        ], k
    from robustlab.report import write_report

    html, js = write_report(res.store, [res.run_id], tmp_path / "rep")
    assert html.exists() and "gaussian_noise" in js.read_text()


def test_cli_lists_every_perturbation(capsys, monkeypatch) -> None:
    from robustlab import cli
    from robustlab.cli import main

    # wide enough that no description wraps (the width, not COLUMNS: another test may have fixed
    # the console's width when it restored it)
    monkeypatch.setattr(cli.console, "width", 400)
    with pytest.raises(SystemExit) as exc:
        main(["list", "perturbations"])
        raise SystemExit(0)
    assert int(exc.value.code or 0) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("│")]
    assert len(rows) == len(PERTURBATIONS)
    for name, row in zip(PERTURBATIONS.names(), rows):
        cls = PERTURBATIONS.get(name)
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[:3] == [name, cls.modality, cls.axis]
        assert cells[3] == ", ".join(f"{k}={v}" for k, v in cls.example().params.items())
