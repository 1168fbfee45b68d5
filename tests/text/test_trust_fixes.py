"""Issue 19's text defects: CheckList verdicts and label spaces, synonym, number and NFD
semantics, DeepWordBug presets and floor, pipeline output, text-table columns, raw modules."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers_text import keyword_model
from robustlab import attacks
from robustlab.attacks import text as text_attacks
from robustlab.attacks.text.deepwordbug import DeepWordBug
from robustlab.data import TextDataset
from robustlab.data.tables import load_text_table
from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.models import FunctionModel
from robustlab.perturbations import text as T
from robustlab.probes import NotApplicable, make_probe

# -- 6: a failed CheckList case gets the red border ----------------------------------------------


def test_failed_directional_case_is_shown_as_failed(tmp_path: Path) -> None:
    """P(positive) falls from 0.9 to 0.7 when "meh" is appended: the prediction stays positive,
    yet the "up" test fails, and the report must say so."""
    import robustlab
    from robustlab.report import write_report
    from robustlab.report.data import run_data
    from robustlab.report.html import text_examples

    (tmp_path / "tests.yaml").write_text(
        json.dumps(
            {
                "classes": ["negative", "positive"],
                "tests": [
                    {
                        "name": "meh_up",
                        "type": "DIR",
                        "append": ["Meh."],
                        "class": "positive",
                        "direction": "up",
                        "tolerance": 0.05,
                    }
                ],
            }
        )
    )
    (tmp_path / "suite.yaml").write_text(
        f"name: dir-only\nprobes:\n  - {{probe: checklist, test: meh_up, file: {tmp_path}/tests.yaml}}\n"
    )
    model = keyword_model(lambda t: 0.7 if "Meh" in t else 0.9, name="meh")
    data = TextDataset(
        ["A fine day.", "Lovely food."], [1, 1], class_names=["negative", "positive"]
    )
    result = robustlab.scan(
        model,
        data,
        str(tmp_path / "suite.yaml"),
        store=f"sqlite:///{tmp_path}/s.db",
        progress=False,
    )
    (group,) = text_examples(run_data(result.store, result.run_id, artifacts=True))
    assert group["items"] and all(ex["failed"] for ex in group["items"])
    assert all(ex["prediction"] == ex["perturbed_prediction"] for ex in group["items"])
    html, _ = write_report(result.store, [result.run_id], tmp_path / "rep")
    page = html.read_text()
    assert page.count('class="example failed"') == len(group["items"])
    assert 'class="example held"' not in page


# -- 7: CheckList tests declare their label space -------------------------------------------------


def _three_topics() -> tuple[FunctionModel, TextDataset]:
    def predict(texts: list[str]) -> np.ndarray:
        return np.tile([0.2, 0.5, 0.3], (len(texts), 1))

    model = FunctionModel(predict, modality="text", num_classes=3, name="topics")
    return model, TextDataset(["The game was great.", "Stocks fell.", "It rained."], [0, 1, 2])


@pytest.mark.parametrize("test", ["simple_positive", "simple_negative", "negation"])
def test_sentiment_tests_are_skipped_on_a_topic_model(test: str) -> None:
    model, data = _three_topics()
    with pytest.raises(NotApplicable, match=r"assumes the 2 classes \['negative', 'positive'\]"):
        make_probe({"probe": "checklist", "test": test}).applicable(model, data)
    make_probe("checklist test=typos").applicable(model, data)  # invariance fits any labels


def test_skipped_checklist_test_is_reported_with_its_reason(tmp_path: Path) -> None:
    import robustlab

    (tmp_path / "suite.yaml").write_text(
        "name: topics\nprobes:\n  - clean\n  - {probe: checklist, test: simple_positive}\n"
    )
    model, data = _three_topics()
    result = robustlab.scan(
        model,
        data,
        str(tmp_path / "suite.yaml"),
        store=f"sqlite:///{tmp_path}/s.db",
        progress=False,
    )
    (reason,) = result.skipped.values()
    assert "assumes the 2 classes ['negative', 'positive']" in reason


def test_a_test_may_declare_its_own_label_space(tmp_path: Path) -> None:
    from robustlab.text import checklist

    (tmp_path / "t.yaml").write_text(
        json.dumps(
            {
                "classes": ["negative", "positive"],
                "tests": [
                    {
                        "name": "sport",
                        "type": "MFT",
                        "classes": ["sport", "business", "weather"],
                        "templates": ["The match was {x}."],
                        "fills": {"x": ["close"]},
                        "label": "sport",
                    }
                ],
            }
        )
    )
    test = checklist.load_tests(tmp_path / "t.yaml")["sport"]
    assert test.classes == ("sport", "business", "weather") and test.label == 0
    model, data = _three_topics()
    make_probe(
        {"probe": "checklist", "test": "sport", "file": str(tmp_path / "t.yaml")}
    ).applicable(model, data)


# -- 8: synonyms keep the meaning and the language; rate is documented ----------------------------


@pytest.mark.parametrize(
    ("word", "never"),
    [
        ("cheap", {"expensive", "costly"}),
        ("husband", {"wife", "wives", "married"}),
        ("small", {"large", "larger"}),
        ("sell", {"buy", "buys"}),
        ("democrat", {"republican", "republicans"}),
        ("quiet", {"loud"}),
        ("quickly", {"fast", "rapid"}),  # an adverb stays an adverb
        ("running", {"runs", "run", "ran"}),  # and a gerund a gerund
    ],
)
def test_synonyms_exclude_antonyms_contrasts_and_form_changes(word: str, never: set[str]) -> None:
    from robustlab.perturbations.text.synonym import synonyms

    assert not never & set(synonyms(word)), synonyms(word)


def test_synonyms_still_find_synonyms() -> None:
    from robustlab.perturbations.text.synonym import synonyms

    assert "inexpensive" in synonyms("cheap") and "movie" in synonyms("film")
    assert "horrible" in synonyms("terrible") and "huge" in synonyms("big")


def test_synonym_leaves_other_languages_alone() -> None:
    german = "Die Katze ist sehr klein und die Sonne scheint heute nicht."
    out = T.apply([german, "The film was terrible."], "synonym", 1.0, seed=0)
    assert out[0].text == german and out[1].changed
    assert T.apply(["I will die happy and the film was terrible."], "synonym", 1.0)[0].changed


def test_rate_is_documented_as_a_share_of_eligible_units() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert re.search(r"takes a `rate`: the fraction of the text's \*eligible\* units", readme)
    assert "preset=gao2018" in readme and "preset=robustlab" in readme
    doc = T.TRANSFORMATIONS.get("synonym").fn.__doc__ or ""
    assert "``rate`` is the\n    fraction of these eligible words" in doc


# -- 9: numbers that are not amounts stay --------------------------------------------------------


def test_change_numbers_skips_ratings_versions_dates_and_identifiers() -> None:
    text = (
        "Rated 10/10 and 4 out of 5 stars. Windows 95 and version 2.1.3 ran on 2020-05-12 "
        "(12/05/2020) at 10:30, order #123, ID 4411, call 5551234567. It cost 24 dollars for 3 "
        "nights."
    )
    for seed in range(10):
        out = T.apply([text], "change_numbers", 1.0, seed=seed)[0]
        assert sorted(e.original for e in out.edits) == ["24", "3"]
        every = T.apply([text], "change_all_numbers", 1.0, seed=seed)[0]
        assert {"10", "95", "2020", "123"} <= {e.original for e in every.edits}
    spec = T.TRANSFORMATIONS.get("change_numbers")
    assert not spec.applies_to("Windows 95, rated 10/10.")
    assert T.TRANSFORMATIONS.get("change_all_numbers").applies_to("Windows 95, rated 10/10.")


# -- 10: decomposed (NFD) accents stay on their letters ------------------------------------------

NFC_TEXT = "La crème brûlée était délicieuse, vraiment. The résumé was wonderful; I loved it."


@pytest.mark.parametrize("name", ["punctuation", "leetspeak"])
def test_nfd_text_is_edited_like_its_nfc_form(name: str) -> None:
    nfd = unicodedata.normalize("NFD", NFC_TEXT)
    for seed in range(5):
        out = T.apply([nfd], name, 1.0, seed=seed)[0]
        same = T.apply([NFC_TEXT], name, 1.0, seed=seed)[0]
        assert unicodedata.normalize("NFC", out.text) == same.text
        for i, char in enumerate(out.text):  # an accent follows a letter or another accent
            if unicodedata.combining(char):
                assert out.text[i - 1].isalpha() or unicodedata.combining(out.text[i - 1])
        assert out.undo() == nfd


def test_synonym_never_treats_a_piece_of_an_accented_word_as_a_word() -> None:
    nfd = unicodedata.normalize("NFD", "The exposé was shocking and the résumé was wonderful.")
    for seed in range(3):
        out = T.apply([nfd], "synonym", 1.0, seed=seed)[0]
        assert unicodedata.normalize("NFD", "résumé") in out.text
        assert unicodedata.normalize("NFD", "exposé") in out.text


# -- 11: DeepWordBug presets and similarity floor ------------------------------------------------


def test_deepwordbug_recipe_preset() -> None:
    from robustlab.attacks.text.deepwordbug import PRESETS

    recipe = DeepWordBug(preset="gao2018")
    assert (recipe.rounds, recipe.skip_stopwords, recipe.max_edits) == (1, True, 30)
    default = DeepWordBug()
    assert default.preset == "robustlab" and (default.rounds, default.skip_stopwords) == (2, False)
    assert PRESETS["gao2018"]["skip_stopwords"] is True
    with pytest.raises(ConfigError, match=r"'rounds' parameter .* is 1 in preset 'gao2018'"):
        DeepWordBug(preset="gao2018", rounds=2)
    with pytest.raises(ConfigError, match=r"'preset' parameter .* must be one of"):
        DeepWordBug(preset="textattack")
    # a model that only reads the stopword "but": the recipe never edits it, the default does
    model = keyword_model(lambda t: 0.9 if " but " in t else 0.2, name="but")
    text = ["It rained but we went."]
    kept = text_attacks.run(
        model, text, [1], attack="deepwordbug", preset="gao2018", budget=200, min_similarity=0.0
    )
    broken = text_attacks.run(
        model, text, [1], attack="deepwordbug", budget=200, min_similarity=0.0
    )
    assert not kept.examples[0].success and broken.examples[0].success
    assert kept.params["preset"] == "gao2018" and broken.params["preset"] == "robustlab"


def test_deepwordbug_successes_keep_a_similarity_floor() -> None:
    text = ["The plot was good but the ending dragged on."]
    loose = text_attacks.run(keyword_model(), text, [1], attack="deepwordbug", budget=100)
    assert loose.examples[0].success and loose.examples[0].similarity >= 0.5
    strict = text_attacks.run(
        keyword_model(), text, [1], attack="deepwordbug", budget=100, min_similarity=0.99
    )
    assert not strict.examples[0].success
    with pytest.raises(ConfigError, match=r"'min_similarity' parameter"):
        DeepWordBug(min_similarity=1.0)


# -- 13: Hugging Face pipeline output ------------------------------------------------------------


def _pipeline(all_scores: bool, names: tuple[str, str] = ("NEGATIVE", "POSITIVE")):
    def pipe(texts: list[str]) -> list:
        out = []
        for t in texts:
            p = 0.8 if "good" in t else 0.3
            rows = [{"label": names[1], "score": p}, {"label": names[0], "score": 1 - p}]
            rows.sort(key=lambda r: -r["score"])
            out.append(rows if all_scores else rows[0])
        return out

    return pipe


def test_pipeline_output_is_read_in_the_given_class_order() -> None:
    for all_scores in (True, False):
        model = FunctionModel(
            _pipeline(all_scores), modality="text", labels=["NEGATIVE", "POSITIVE"]
        )
        probs = model.predict_proba(["good", "bad"]).numpy()
        assert np.allclose(probs, [[0.2, 0.8], [0.7, 0.3]])
    numbered = FunctionModel(_pipeline(True, ("LABEL_0", "LABEL_1")), modality="text")
    assert np.allclose(numbered.predict_proba(["good"]).numpy(), [[0.2, 0.8]])


def test_pipeline_output_without_a_class_order_says_what_to_pass() -> None:
    with pytest.raises(ModelError, match=r"pass FunctionModel\(\.\.\., labels=\[\.\.\.\]\)"):
        FunctionModel(_pipeline(True), modality="text").predict_proba(["good"])
    three = FunctionModel(
        lambda ts: [{"label": "b", "score": 0.5} for _ in ts],
        modality="text",
        labels=["a", "b", "c"],
    )
    with pytest.raises(ModelError, match=r"top_k=None"):
        three.predict_proba(["x"])
    odd = FunctionModel(_pipeline(True), modality="text", labels=["NEGATIVE", "NEUTRAL"])
    with pytest.raises(ModelError, match=r"'POSITIVE'\], which are not in labels"):
        odd.predict_proba(["x"])


# -- 14: text and label columns, label names in class order, NaN labels ------------------------


def test_label_names_follow_the_given_class_order(tmp_path: Path) -> None:
    file = tmp_path / "t.csv"
    file.write_text("body,sentiment\nnice,positive\nugly,negative\nok,neutral\n")
    data = load_text_table(
        file,
        text_column="body",
        label_column="sentiment",
        class_names=["positive", "neutral", "negative"],
    )
    assert data.targets.tolist() == [0, 2, 1]
    assert data.class_names == ["positive", "neutral", "negative"]
    with pytest.raises(DataError, match=r"'neutral' in 'sentiment', which is none of"):
        load_text_table(
            file, text_column="body", label_column="sentiment", class_names=["positive", "negative"]
        )


def test_json_nan_label_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "t.jsonl"
    file.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": NaN}\n')
    assert math.isnan(json.loads('{"l": NaN}')["l"])
    with pytest.raises(DataError, match=r"row 2 has the label nan in 'label' \(JSON NaN"):
        load_text_table(file)


def test_cli_text_and_label_columns_and_class_names(tmp_path: Path, capsys) -> None:
    from robustlab.cli import main

    (tmp_path / "model.py").write_text(
        "import numpy as np\nfrom robustlab.models import FunctionModel\n\n"
        "def build():\n"
        "    def f(texts):\n"
        "        p = np.array([0.9 if 'good' in t else 0.1 for t in texts])\n"
        "        return np.stack([p, 1 - p], axis=1)  # class 0 is positive\n"
        "    return FunctionModel(f, modality='text', num_classes=2, name='kw')\n"
    )
    (tmp_path / "d.csv").write_text("body,y\ngood day,pos\nbad day,neg\ngood food,pos\n")
    (tmp_path / "suite.yaml").write_text("name: clean-only\nprobes:\n  - clean\n")
    args = [
        "scan",
        "--model",
        f"{tmp_path}/model.py:build",
        "--data",
        str(tmp_path / "d.csv"),
        "--text-column",
        "body",
        "--label-column",
        "y",
        "--class-names",
        "pos,neg",
        "--suite",
        str(tmp_path / "suite.yaml"),
        "--store",
        f"sqlite:///{tmp_path}/c.db",
        "--no-progress",
    ]
    with pytest.raises(SystemExit) as exc:
        main(args)
        raise SystemExit(0)
    assert int(exc.value.code or 0) == 0, capsys.readouterr()
    from robustlab.report.data import run_data
    from robustlab.store import open_store

    db = open_store(f"sqlite:///{tmp_path}/c.db")
    (run,) = db.runs()
    data = run_data(db, run["id"])
    assert data["dataset"]["class_names"] == ["pos", "neg"]
    clean = next(
        m for m in data["metrics"] if m["metric"] == "accuracy" and m["probe_key"] == "clean"
    )
    assert clean["value"] == pytest.approx(1.0)  # sorted order (neg, pos) would give 0.0
    with pytest.raises(SystemExit):
        main([*args[:9], "--class-names", "pos", *args[11:]])
    assert "--class-names takes two or more" in capsys.readouterr().err


# -- 15: attacks take what scan takes ------------------------------------------------------------


def test_attacks_accept_a_raw_module_with_a_note() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    x, y = torch.rand(6, 1, 2, 2), torch.arange(6) % 3
    for result in (
        attacks.standard(net, x, y, epsilon=0.05),
        attacks.run(net, x, y, "fgsm", epsilon=0.05),
        attacks.epsilon_sweep(net, x, y, [0.05], minimal_attack="deepfool").minimal,
    ):
        assert len(result.success) == 6
        (note,) = [w for w in result.warnings if w.code == "bounds-assumed"]
        assert "(0, 1)" in note.message and "bounds=" in note.advice
    given = attacks.run(net, x, y, "fgsm", epsilon=0.05, bounds=(0.0, 1.0))
    assert not [w for w in given.warnings if w.code == "bounds-assumed"]
