"""Text probes: registry contract for every text probe, the transformation probe, consistency, and
end-to-end scans of a text model through the API and the CLI into the store and the report."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

import robustlab
from helpers_text import keyword_model, reviews, tfidf
from robustlab.axes import axis_scores
from robustlab.data import Batch
from robustlab.errors import ConfigError
from robustlab.metrics import get_metric
from robustlab.probes import PROBES, NotApplicable, make_probe
from robustlab.records import Records
from robustlab.text import slices
from robustlab.text.artifacts import TEXT_MEDIA_TYPE, edit_spans, word_change_fraction

# A probe's example instance says what it handles (the attack probe's example is an image attack;
# its text form is registered under the deprecated name text_attack, whose example is a text one).
TEXT_PROBES = [n for n in PROBES.names() if PROBES.get(n).example().modalities == ("text",)]


def _batch(n: int = 12) -> Batch:
    return reviews("test").batch(np.arange(n))


# -- contract, generated from the probe registry --------------------------------------------


def test_text_probes_are_registered() -> None:
    assert {"text_transformation", "checklist"} <= set(TEXT_PROBES)


@pytest.mark.parametrize("name", TEXT_PROBES)
def test_text_probe_records_are_seeded_and_well_formed(name: str) -> None:
    probe = PROBES.get(name).example()
    batch = _batch()
    first = probe.run(tfidf(), batch, seed=11)
    again = probe.run(tfidf(), batch, seed=11)
    assert len(first) > 0
    for column in ("example_id", "prediction", "confidence", "correct", "target"):
        assert np.array_equal(getattr(first, column), getattr(again, column)), column
    assert np.array_equal(first.value, again.value, equal_nan=True)
    ids = set(first.example_id)
    if getattr(probe, "covers_batch", True):
        assert list(first.example_id) == batch.ids
        assert np.array_equal(first.target, batch.targets.numpy())
    else:  # some of the batch's examples, or the probe's own cases
        assert ids <= set(batch.ids) or not ids & set(batch.ids)
    assert np.all((first.confidence > 0) & (first.confidence <= 1 + 1e-9))
    for art in first.artifacts:
        assert art["media_type"] == TEXT_MEDIA_TYPE and art["meta"]["probe"] == probe.key
        data = json.loads(art["data"])
        assert data["kind"] in ("transformation", "attack", "checklist")
        for start, end in data["edits"]:
            assert 0 <= start <= end <= len(data["perturbed"])
    assert len(first.artifacts) <= 3


@pytest.mark.parametrize("name", TEXT_PROBES)
def test_text_probe_spec_round_trips_and_is_frozen(name: str) -> None:
    probe = PROBES.get(name).example()
    assert make_probe(probe.spec) == probe and probe.key.startswith(name)
    assert (type(probe).__doc__ or "").strip() and probe.modalities == ("text",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        field = dataclasses.fields(probe)[0].name
        setattr(probe, field, getattr(probe, field))


@pytest.mark.parametrize("name", TEXT_PROBES)
def test_text_probe_does_not_apply_to_images(name: str, small_digits, cnn) -> None:
    with pytest.raises(NotApplicable, match=r"handles text data, not image"):
        PROBES.get(name).example().applicable(cnn, small_digits)


# -- the transformation probe ---------------------------------------------------------------


def test_transformation_probe_records_only_changed_texts() -> None:
    model = keyword_model(lambda t: 0.8 if "Emma" in t else 0.3, name="emma")
    ds = robustlab.TextDataset(
        ["Emma was here.", "Nobody came.", "Tom and Emma left."], [1, 0, 1], ids=list("abc")
    )
    probe = make_probe({"probe": "text_transformation", "transformation": "swap_names", "rate": 1})
    records = probe.run(model, ds.batch(np.arange(3)), seed=0)
    assert list(records.example_id) == ["a", "c"]
    assert records.value.tolist() == [0.0, 0.0]  # Emma gone: the prediction flips
    assert records.target.tolist() == [1, 1] and records.correct.tolist() == [False, False]
    assert records.perturbation.tolist() == [pytest.approx(1 / 3), pytest.approx(2 / 4)]
    assert get_metric("consistency").compute(records).value == 0.0
    art = json.loads(records.artifacts[0]["data"])
    assert art["kind"] == "transformation" and art["note"] == "prediction changed"
    assert art["prediction"] == 1 and art["perturbed_prediction"] == 0


def test_transformation_probe_measures_similarity() -> None:
    probe = make_probe(
        {"probe": "text_transformation", "transformation": "typo_swap", "measure_similarity": True}
    )
    assert "measure_similarity=True" in probe.key
    records = probe.run(tfidf(), _batch(6), seed=0)
    assert np.all((records.similarity > 0.3) & (records.similarity < 1.0))


def test_transformation_probe_refusals() -> None:
    with pytest.raises(ConfigError, match=r"'negate' changes what a text says"):
        make_probe("text_transformation transformation=negate")
    with pytest.raises(ConfigError, match=r"'rate' parameter of probe 'text_transformation'"):
        make_probe("text_transformation transformation=casing rate=0")
    ds = robustlab.TextDataset(["No places here.", "None."], [1, 0])
    probe = make_probe("text_transformation transformation=swap_locations")
    with pytest.raises(NotApplicable, match=r"no text of dataset 'texts' has anything"):
        probe.applicable(tfidf(), ds)


def test_edit_spans_and_word_change_fraction() -> None:
    assert edit_spans("the good film", "the gxod film") == [[5, 6]]
    assert edit_spans("abcd", "abXYcd") == [[2, 4]]
    assert edit_spans("abc", "ac") == [[1, 1]]
    assert word_change_fraction("the good film", "the good film") == 0.0
    assert word_change_fraction("the good film", "the g00d film") == pytest.approx(1 / 3)
    assert word_change_fraction("the good film", "thegood film") == pytest.approx(2 / 3)
    assert word_change_fraction("a b", "a b c d e") == pytest.approx(1 / 2)
    assert word_change_fraction("", "") == 0.0 and word_change_fraction("", "x") == 1.0


def test_consistency_metric_known_answers() -> None:
    probs = np.tile([[0.2, 0.8]], (5, 1))
    kept = Records.from_probabilities(
        probs, [1] * 5, list("abcde"), value=[1.0, 0.0, 1.0, 1.0, np.nan]
    )
    est = get_metric("consistency").compute(kept)
    assert est.value == 0.75 and est.n == 4 and est.method == "clopper-pearson"
    assert est.ci_low < 0.75 < est.ci_high
    frac = Records.from_probabilities(probs, [1] * 5, list("abcde"), value=[0.5] * 5)
    est = get_metric("consistency").compute(frac)
    assert est.value == 0.5 and est.method == "bootstrap"
    assert not get_metric("consistency").applies(
        Records.from_probabilities(probs, [1] * 5, "abcde")
    )


# -- end to end -----------------------------------------------------------------------------


def test_text_quick_scan_into_store_and_report(tmp_path: Path) -> None:
    data = slices.by_length(reviews("test"), bins=(8, 14))
    store = f"sqlite:///{tmp_path}/text.db"
    result = robustlab.scan(tfidf(), data, "text-quick", store=store, progress=False)
    suite = robustlab.load_suite("text-quick")
    assert result.skipped == {}
    rows = result.table()
    by = {(r["probe_key"], r["metric"]): r for r in rows}
    for probe in suite.probes:
        assert (probe.key, "accuracy" if probe.kind != "checklist" else "pass_rate") in by
        if probe.kind == "text_transformation":
            assert (probe.key, "consistency") in by
    for r in rows:
        assert all(math.isfinite(r[k]) for k in ("value", "ci_low", "ci_high"))
    assert by[("clean", "accuracy")]["value"] == pytest.approx(0.673, abs=0.001)
    assert ("clean", "worst_group_accuracy") in by  # the length slices
    axes = {a["axis"]: a for a in axis_scores(rows)}
    assert {"clean", "text perturbations", "behaviour", "text attacks", "subgroups"} <= set(axes)
    assert axes["text perturbations"]["note"] == "mean of 5 transformations"
    assert axes["behaviour"]["note"] == "mean of 5 behavioural tests"
    kinds = {a["media_type"] for a in result.store.artifacts(result.run_id)}
    assert kinds == {TEXT_MEDIA_TYPE}
    from robustlab.report import write_report

    html, js = write_report(result.store, [result.run_id], tmp_path / "rep")
    assert html.exists() and "text-quick" in js.read_text()
    again = robustlab.scan(tfidf(), data, "text-quick", store=store, progress=False)
    assert again.run_id == result.run_id  # resumed: nothing recomputed


MODEL_FILE = """
from robustlab.text import tfidf_model

def build():
    return tfidf_model()
"""


def test_cli_scans_a_text_table(tmp_path: Path, capsys) -> None:
    from robustlab.cli import main

    (tmp_path / "model.py").write_text(MODEL_FILE)
    test = reviews("test")
    lines = ["id,text,label"] + [
        f'{i},"{t}",{["negative", "positive"][y]}'
        for i, t, y in zip(test.ids, test.texts, test.targets)
    ]
    (tmp_path / "reviews.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "suite.yaml").write_text(
        "name: text-cli\nprobes:\n  - clean\n"
        "  - {probe: text_transformation, transformation: typo_keyboard, rate: 0.2}\n"
        "  - {probe: checklist, test: negated_positive}\n"
    )
    args = [
        "scan",
        "--model",
        f"{tmp_path}/model.py:build",
        "--data",
        str(tmp_path / "reviews.csv"),
        "--suite",
        str(tmp_path / "suite.yaml"),
        "--store",
        f"sqlite:///{tmp_path}/cli.db",
        "--out",
        str(tmp_path / "rep"),
        "--no-progress",
    ]
    with pytest.raises(SystemExit) as exc:
        main(args)
        raise SystemExit(0)
    out = capsys.readouterr().out
    assert int(exc.value.code or 0) == 0 and "text-cli" in out
    assert (tmp_path / "rep" / "index.html").exists()
    doc = json.loads((tmp_path / "rep" / "results.json").read_text())
    (run,) = doc["runs"]
    assert run["dataset"]["class_names"] == ["negative", "positive"]
    labels = {m["label"] for m in run["metrics"]}
    assert {"clean", "typo_keyboard 0.2", "negated_positive (MFT)"} <= labels


@pytest.mark.slow
def test_text_demo_end_to_end(tmp_path: Path) -> None:
    from robustlab.text import demo

    results, html, js = demo(store=f"sqlite:///{tmp_path}/d.db", out=tmp_path / "r", progress=False)
    assert [r.store.run(r.run_id)["model_name"] for r in results] == [
        "reviews-minilm",
        "reviews-tfidf",
    ]
    accuracy = [r.table("accuracy")[0]["value"] for r in results]
    assert accuracy[0] > accuracy[1]  # MiniLM beats the bag of words
    assert html.exists() and js.exists()
