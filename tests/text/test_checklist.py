"""CheckList tests: templates, the three test types' pass rates on hand-worked models, test files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers_text import keyword_model, reviews, tfidf
from robustlab.data import Batch, TextDataset
from robustlab.errors import ConfigError, UnknownNameError
from robustlab.metrics import get_metric
from robustlab.perturbations.text._entities import FEMALE_NAMES
from robustlab.probes import NotApplicable, make_probe
from robustlab.text import checklist
from robustlab.text.artifacts import TEXT_MEDIA_TYPE
from robustlab.text.checklist import DIR, INV, MFT


def test_mft_cases_fill_every_combination_with_articles() -> None:
    test = MFT(
        "t",
        templates=("The {thing} was {adj}.", "What {a:adj} {thing}!"),
        fills=(("adj", ("good", "awful")), ("thing", ("film", "meal"))),
        label=1,
    )
    assert test.cases(0) == [
        "The film was good.",
        "The film was awful.",
        "The meal was good.",
        "The meal was awful.",
        "What a good film!",
        "What a good meal!",
        "What an awful film!",
        "What an awful meal!",
    ]
    small = MFT("s", templates=test.templates, fills=test.fills, label=1, max_cases=3)
    assert small.cases(4) == small.cases(4) and len(small.cases(4)) == 3
    assert set(small.cases(4)) <= set(test.cases(0))


def test_test_definitions_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"uses thing but 'fills' has no values for it"):
        MFT("t", templates=("The {thing}",), label=1)
    with pytest.raises(ConfigError, match=r"needs 'templates'"):
        MFT("t", label=1)
    with pytest.raises(ConfigError, match=r"changes the meaning; use it in a DIR test"):
        INV("t", transformation="negate")
    with pytest.raises(UnknownNameError, match=r"Did you mean 'swap_names'"):
        INV("t", transformation="swap_name")
    with pytest.raises(ConfigError, match=r"exactly one of 'transformation'"):
        DIR("t", transformation="negate", append=("Bad.",))
    with pytest.raises(ConfigError, match=r"'direction' of DIR 't' must be 'up' or 'down'"):
        DIR("t", append=("Bad.",), direction="sideways")
    with pytest.raises(ConfigError, match=r"'tolerance' of DIR 't' must be a float in \[0, 1\)"):
        DIR("t", append=("Bad.",), tolerance=-0.1)
    with pytest.raises(ConfigError, match=r"name must be a word"):
        INV("two words", transformation="casing")


def test_builtin_library_covers_the_three_types() -> None:
    tests = checklist.builtin_tests()
    types = {t.type for t in tests.values()}
    assert types == {"MFT", "INV", "DIR"}
    assert {"negated_positive", "negated_negative", "names", "negation"} <= set(tests)
    for test in tests.values():
        assert test.description and test.capability
        assert checklist.CHECKLIST_TESTS.get(test.name) == test
        if isinstance(test, MFT):
            cases = test.cases(0)
            assert len(cases) == min(test.max_cases, len(cases)) and "{" not in "".join(cases)


def _batch(texts: list[str], labels: list[int], start: int = 0) -> Batch:
    ds = TextDataset(texts, labels, ids=[f"e{i}" for i in range(len(texts))])
    return ds.batch(np.arange(start, len(texts)))


def _write_tests(tmp_path: Path, tests: list[dict], **extra: object) -> str:
    path = tmp_path / "tests.json"
    path.write_text(json.dumps({"classes": ["negative", "positive"], **extra, "tests": tests}))
    return str(path)


def test_mft_pass_rate_by_hand(tmp_path: Path) -> None:
    """The keyword model calls a text positive iff it has a positive keyword and no "not": of the
    six cases of "The {thing} was {adj}." with adj in good/great/fine, the four with good or great
    pass."""
    file = _write_tests(
        tmp_path,
        [
            {
                "name": "pos",
                "type": "MFT",
                "templates": ["The {thing} was {adj}."],
                "fills": {"adj": ["good", "great", "fine"]},
                "label": "positive",
            }
        ],
        fills={"thing": ["film", "meal"]},
    )
    probe = make_probe({"probe": "checklist", "test": "pos", "file": file})
    batch = _batch(["anything", "else"], [0, 1])
    records = probe.run(keyword_model(), batch, seed=0)
    assert len(records) == 6 and records.correct.sum() == 4
    assert list(records.example_id) == [f"pos/{i:04d}" for i in range(6)]
    assert (records.target == 1).all() and np.array_equal(records.correct, records.prediction == 1)
    est = get_metric("pass_rate").compute(records)
    assert est.value == pytest.approx(4 / 6) and est.details == {"cases": 6, "failures": 2}
    assert get_metric("accuracy").compute(records).value == est.value
    # only the unit holding the dataset's first example runs the cases
    assert len(probe.run(keyword_model(), _batch(["a", "b", "c"], [0, 1, 0], start=1), 0)) == 0
    # failures come first among the report examples
    data = [json.loads(a["data"]) for a in records.artifacts]
    assert [d["original"] for d in data[:2]] == ["The film was fine.", "The meal was fine."]
    assert data[0]["kind"] == "checklist" and data[0]["note"].startswith("failed: expected class 1")


def test_inv_pass_rate_by_hand() -> None:
    """A model that is positive iff the text mentions Emma fails the name swap exactly on the
    texts with Emma; texts without a name are no cases."""
    model = keyword_model(lambda t: 0.8 if "Emma" in t else 0.3, name="emma")
    texts = ["Emma loved it.", "Tom hated it.", "No names here.", "Emma and Tom, fine."]
    probe = make_probe({"probe": "checklist", "test": "names"})
    records = probe.run(model, _batch(texts, [1, 0, 1, 1]), seed=0)
    assert list(records.example_id) == ["e0", "e1", "e3"]
    assert records.correct.tolist() == [False, True, False]
    assert records.target.tolist() == [1, 0, 1]  # the predictions on the original texts
    assert records.value.tolist() == [0.0, 1.0, 0.0]
    assert records.correct.mean() == pytest.approx(1 / 3)
    art = json.loads(records.artifacts[0]["data"])
    assert art["original"] == "Emma loved it." and "Emma" not in art["perturbed"]
    start, end = art["edits"][0]
    assert art["perturbed"][start:end] in FEMALE_NAMES


def test_dir_pass_rate_by_hand(tmp_path: Path) -> None:
    """P(positive) = 0.9 - 0.2 per "hated" (floored at 0.1): appending "I hated it." lowers it
    by 0.2 except where it is at the floor already (a move of 0 passes with any tolerance)."""

    def score(text: str) -> float:
        return max(0.1, 0.9 - 0.2 * text.count("hated"))

    model = keyword_model(score, name="hated")
    file = _write_tests(
        tmp_path,
        [
            {
                "name": "down",
                "type": "DIR",
                "append": ["I hated it."],
                "class": "positive",
                "direction": "down",
                "tolerance": 0.0,
            },
            {
                "name": "up",
                "type": "DIR",
                "append": ["I hated it."],
                "class": 1,
                "direction": "up",
                "tolerance": 0.1,
            },
        ],
    )
    texts = ["Lovely", "I hated it, hated it, hated it, hated it.", "Fine!"]
    down = make_probe({"probe": "checklist", "test": "down", "file": file})
    records = down.run(model, _batch(texts, [1, 0, 1]), seed=0)
    assert records.correct.tolist() == [True, True, True]
    assert np.allclose(records.value, [-0.2, 0.0, -0.2])
    up = make_probe({"probe": "checklist", "test": "up", "file": file})
    records = up.run(model, _batch(texts, [1, 0, 1]), seed=0)
    assert records.correct.tolist() == [False, True, False]  # -0.2 is beyond the 0.1 tolerance
    art = json.loads(records.artifacts[0]["data"])
    assert art["perturbed"] == "Lovely. I hated it."
    assert art["perturbed"][art["edits"][0][0] :] == ". I hated it."


def test_negation_dir_tracks_the_predicted_class() -> None:
    model = keyword_model()  # "not" turns a positive text negative; negatives stay at 0.1
    texts = ["The food was great.", "The room was dirty.", "Great view."]
    probe = make_probe({"probe": "checklist", "test": "negation"})
    records = probe.run(model, _batch(texts, [1, 0, 1]), seed=0)
    assert list(records.example_id) == ["e0", "e1"]  # "Great view." has no auxiliary
    # e0: P(positive) 0.9 -> 0.1 passes; e1: P(negative) stays 0.9, tolerance 0 -> passes
    assert records.correct.tolist() == [True, True]
    assert np.allclose(records.value, [-0.8, 0.0])


def test_labelled_tests_need_matching_class_names() -> None:
    topics = TextDataset(["a film", "a meal"], [0, 1], class_names=["food", "cinema"])
    mft = make_probe("checklist test=simple_positive")
    with pytest.raises(NotApplicable, match=r"labels mean \['negative', 'positive'\] but"):
        mft.applicable(keyword_model(), topics)
    make_probe("checklist test=typos").applicable(keyword_model(), topics)  # class-agnostic
    mft.applicable(keyword_model(), TextDataset(["a", "b"], [0, 1]))  # no names: trusted


def test_probe_identity_digest_and_spec(tmp_path: Path) -> None:
    probe = make_probe("checklist test=negated_positive")
    assert probe.key == f"checklist(test=negated_positive,digest={probe.digest})"
    assert probe.label == "negated_positive (MFT)"
    assert make_probe(probe.spec) == probe
    with pytest.raises(ConfigError, match=r"has changed since this probe was specified"):
        make_probe({"probe": "checklist", "test": "negated_positive", "digest": "0" * 12})
    tests = [{"name": "t", "type": "INV", "transformation": "casing", "rate": 0.5}]
    first = make_probe({"probe": "checklist", "test": "t", "file": _write_tests(tmp_path, tests)})
    tests[0]["rate"] = 1.0
    second = make_probe({"probe": "checklist", "test": "t", "file": _write_tests(tmp_path, tests)})
    assert first.digest != second.digest and first.key != second.key
    with pytest.raises(UnknownNameError, match=r"Unknown CheckList test of .* 'tt'"):
        make_probe({"probe": "checklist", "test": "tt", "file": _write_tests(tmp_path, tests)})
    with pytest.raises(UnknownNameError, match=r"Unknown CheckList test 'negated_postive'"):
        make_probe("checklist test=negated_postive")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "type": "ABC"}, r"'type' must be one of \['MFT', 'INV', 'DIR'\]"),
        ({"name": "x", "type": "INV", "transformation": "casing", "labels": 1}, r"unknown key"),
        ({"name": "x", "type": "MFT", "templates": ["a"], "label": "neutral"}, r"class index"),
    ],
)
def test_bad_test_files(tmp_path: Path, entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        checklist.load_tests(_write_tests(tmp_path, [entry]))


def test_test_file_structure_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist"):
        checklist.load_tests(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tests: {name: x}\n")
    with pytest.raises(ConfigError, match=r"must be a mapping with a 'tests' list"):
        checklist.load_tests(bad)
    dup = [{"name": "a", "type": "INV", "transformation": "casing"}] * 2
    with pytest.raises(ConfigError, match=r"defines 'a' twice"):
        checklist.load_tests(_write_tests(tmp_path, dup))


def test_python_defined_test_is_registered_and_run() -> None:
    test = checklist.register(
        MFT(
            "python_defined_mft",
            templates=("It is {adj}.",),
            fills=(("adj", ("good", "bad")),),
            label=1,
        )
    )
    with pytest.raises(ConfigError, match=r"registered twice"):
        checklist.register(MFT("python_defined_mft", templates=("x",), label=0))
    probe = make_probe({"probe": "checklist", "test": test.name})
    records = probe.run(keyword_model(), _batch(["a"], [0]), seed=0)
    assert records.correct.tolist() == [True, False]


def test_artifacts_follow_the_text_contract() -> None:
    probe = make_probe("checklist test=typos")
    records = probe.run(tfidf(), reviews("test").batch(np.arange(40)), seed=0)
    assert 0 < len(records.artifacts) <= 3
    for art in records.artifacts:
        assert art["media_type"] == TEXT_MEDIA_TYPE and art["name"].startswith("text/")
        assert art["meta"] == {
            "example_id": art["name"][5:],
            "probe": probe.key,
            "label": probe.label,
        }
        data = json.loads(art["data"])
        assert set(data) == {
            "original",
            "perturbed",
            "edits",
            "target",
            "prediction",
            "perturbed_prediction",
            "kind",
            "note",
            "passed",
        }
        assert data["original"] != data["perturbed"] and data["kind"] == "checklist"
    failed = ~records.correct
    if failed.any():
        first = json.loads(records.artifacts[0]["data"])
        assert first["prediction"] != first["perturbed_prediction"]
