"""The attack probe with text attacks and its metrics: records, report artifacts, known answers,
the edit budget, a targeted criterion, the deprecated text_attack name, a scan."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import robustlab
from robustlab.data.arrays import TextDataset
from robustlab.errors import ConfigError, UnknownNameError
from robustlab.metrics import get_metric
from robustlab.models.sklearn_model import SklearnModel
from robustlab.probes import make_probe
from robustlab.records import Records

REVIEWS = Path(robustlab.__file__).parent / "text" / "resources" / "reviews.tsv"
ATTACK_METRICS = (
    "attack_success_rate",
    "queries_per_success",
    "words_perturbed",
    "adversarial_similarity",
)


def _reviews(split: str) -> TextDataset:
    with open(REVIEWS, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["split"] == split]
    return TextDataset(
        [r["text"] for r in rows],
        [int(r["label"]) for r in rows],
        ids=[r["id"] for r in rows],
        class_names=["negative", "positive"],
        name=f"reviews-{split}",
    )


@pytest.fixture(scope="module")
def tfidf() -> SklearnModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = _reviews("train")
    pipe = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)), LogisticRegression(C=10.0)
    )
    pipe.fit(train.texts, train.targets)
    return SklearnModel(pipe, modality="text", name="tfidf")


@pytest.fixture(scope="module")
def test_set() -> TextDataset:
    return _reviews("test")


def test_probe_spec_types_and_validates_attack_parameters() -> None:
    probe = make_probe("attack attack=textfooler budget=100 neighbours=5")
    assert probe.params == {"attack": "textfooler", "budget": 100, "neighbours": 5}
    assert make_probe(probe.spec) == probe
    # Text attacks keep the key they had as text_attack probes: same unit seeds, stores resume.
    assert probe.key == "text_attack(attack=textfooler,budget=100,neighbours=5)"
    assert probe.kind == "text_attack" and probe.modalities == ("text",)
    assert probe.resolved_axis() == "text attacks" and probe.axis == "adversarial"
    assert make_probe("attack attack=deepwordbug") == make_probe(
        "attack attack=deepwordbug budget=500"
    )
    with pytest.raises(ConfigError, match=r"no parameter 'neighbors'.*neighbours"):
        make_probe({"probe": "attack", "attack": "textfooler", "neighbors": 5})
    with pytest.raises(ConfigError, match="'budget' parameter of probe 'attack'"):
        make_probe({"probe": "attack", "attack": "deepwordbug", "budget": 0})
    with pytest.raises(UnknownNameError, match="Did you mean 'genetic_typo'"):
        make_probe({"probe": "attack", "attack": "genetic_typos"})
    with pytest.raises(ConfigError, match="'population' parameter of attack 'genetic_typo'"):
        make_probe("attack attack=genetic_typo population=many")
    with pytest.raises(ConfigError, match="'epsilon' parameter of probe 'attack' applies to image"):
        make_probe("attack attack=deepwordbug epsilon=0.1")
    with pytest.raises(ConfigError, match="'budget' parameter of probe 'attack' applies to text"):
        make_probe("attack attack=pgd budget=10")
    with pytest.raises(ConfigError, match="'max_words_changed' parameter of threat model"):
        make_probe("attack attack=deepwordbug max_words_changed=2")


def test_text_attack_name_is_a_deprecated_alias_of_the_attack_probe() -> None:
    with pytest.deprecated_call(match="'text_attack' probe is deprecated"):
        old = make_probe("text_attack budget=100 candidates=2")
    new = make_probe("attack attack=deepwordbug budget=100 candidates=2")
    assert old == new and type(old) is type(new) and old.key == new.key
    assert old.spec["probe"] == "attack"


def test_edit_budget_and_targeted_criterion_in_the_probe(tfidf, test_set) -> None:
    batch = test_set.batch(np.arange(16))
    free = make_probe("attack attack=deepwordbug budget=80").run(tfidf, batch, seed=0)
    probe = make_probe("attack attack=deepwordbug budget=80 max_words_changed=0.05")
    assert probe.key == "text_attack(attack=deepwordbug,budget=80,max_words_changed=0.05)"
    tight = probe.run(tfidf, batch, seed=0)
    broken = np.isfinite(tight.perturbation)
    assert np.all(tight.perturbation[broken] <= 0.05 + 1e-9)
    assert broken.sum() < np.isfinite(free.perturbation).sum()
    targeted = make_probe(
        "attack attack=deepwordbug budget=80 criterion=targeted_class target_class=0"
    )
    assert targeted.params["criterion"] == "targeted_class" and targeted.params["target_class"] == 0
    records = targeted.run(tfidf, batch, seed=0)
    hit = np.isfinite(records.perturbation)
    assert hit.any() and np.all(records.prediction[hit] == 0)
    assert np.all(~hit[batch.targets.numpy() == 0])  # already of the target class: not attacked


def test_probe_records_and_artifacts(tfidf, test_set) -> None:
    batch = test_set.batch(np.arange(24))
    probe = make_probe({"probe": "attack", "attack": "deepwordbug", "budget": 80})
    records = probe.run(tfidf, batch, seed=0)
    assert len(records) == len(batch) and list(records.example_id) == batch.ids
    assert np.all((records.queries >= 1) & (records.queries <= 80))
    clean = tfidf.predict_proba(batch.inputs).numpy().argmax(1) == batch.targets.numpy()
    broken = np.isfinite(records.perturbation)
    assert broken.any() and not (broken & records.correct).any()
    assert np.array_equal(records.correct, clean & ~broken)
    assert np.array_equal(np.isfinite(records.similarity), broken)
    assert np.all((records.perturbation[broken] > 0) & (records.perturbation[broken] <= 1))
    assert np.all(records.queries[~clean] == 1)  # misclassified already: one query, skipped
    again = probe.run(tfidf, batch, seed=0)
    assert np.array_equal(records.perturbation, again.perturbation, equal_nan=True)

    arts = records.artifacts
    assert 1 <= len(arts) <= 3
    first = arts[0]
    assert first["media_type"] == "application/vnd.robustlab.text+json"
    assert first["meta"]["probe"] == probe.key and first["name"].startswith("text/")
    data = json.loads(first["data"])
    assert data["kind"] == "attack" and data["perturbed"] != data["original"]
    assert data["perturbed_prediction"] != data["target"] == data["prediction"]
    for start, end in data["edits"]:
        assert data["perturbed"][start:end] != ""
    assert "broken with" in data["note"]


def _records(correct, perturbation, queries, similarity) -> Records:
    n = len(correct)
    probs = np.where(np.asarray(correct)[:, None], [[0.2, 0.8]], [[0.8, 0.2]])
    return Records.from_probabilities(
        probs,
        np.ones(n, dtype=int),
        [f"e{i}" for i in range(n)],
        perturbation=perturbation,
        queries=queries,
        similarity=similarity,
    )


def test_metrics_known_answers() -> None:
    nan = np.nan
    # two broken (queries 10 and 30), one resisted, one misclassified already
    records = _records(
        [False, False, True, False],
        [0.1, 0.3, nan, nan],
        [10, 30, 50, 1],
        [0.9, 0.7, nan, nan],
    )
    est = {m: get_metric(m).compute(records) for m in ATTACK_METRICS}
    assert est["attack_success_rate"].value == pytest.approx(2 / 3)
    assert est["attack_success_rate"].n == 3
    assert est["attack_success_rate"].method == "clopper-pearson"
    assert est["queries_per_success"].value == pytest.approx(20.0)
    assert est["words_perturbed"].value == pytest.approx(0.2)
    assert est["adversarial_similarity"].value == pytest.approx(0.8)
    for e in est.values():
        assert e.ci_low <= e.value <= e.ci_high


def test_metrics_apply_only_to_attack_records() -> None:
    plain = _records([True, False], [0.1, 0.2], [np.nan] * 2, [np.nan] * 2)
    resisted = _records([True, True], [np.nan] * 2, [5, 7], [np.nan] * 2)
    for name in ATTACK_METRICS:
        assert not get_metric(name).applies(plain)
    assert get_metric("attack_success_rate").compute(resisted).value == 0.0
    for name in ATTACK_METRICS[1:]:  # nothing broken: no queries, words or similarity to average
        assert not get_metric(name).applies(resisted)


def test_scan_end_to_end(tfidf, test_set, tmp_path) -> None:
    suite = {
        "name": "text-attacks",
        "version": 1,
        "probes": [
            "clean",
            {"probe": "attack", "attack": "deepwordbug", "budget": 60},
            {"probe": "attack", "attack": "genetic_typo", "budget": 60, "population": 6},
        ],
    }
    data = TextDataset(test_set.texts[:30], test_set.targets[:30], ids=test_set.ids[:30])
    result = robustlab.scan(
        tfidf, data, suite, store=f"sqlite:///{tmp_path}/s.db", progress=False, shard_size=15
    )
    rows = result.metrics
    got = {(r["probe_key"], r["metric"]): r["value"] for r in rows}
    key = "text_attack(attack=deepwordbug,budget=60)"
    assert 0 < got[(key, "attack_success_rate")] <= 1
    assert 1 < got[(key, "queries_per_success")] <= 60
    assert got[(key, "accuracy")] < got[("clean", "accuracy")]
    assert 0 < got[(key, "adversarial_similarity")] <= 1
