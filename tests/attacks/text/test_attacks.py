"""Text attacks: invariants for every registered attack, a known answer, the query budget and
bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import robustlab
from robustlab.attacks import ATTACKS as REGISTRY
from robustlab.attacks import attacks_for
from robustlab.attacks import text as attacks
from robustlab.attacks.text import BudgetExhausted, QueryCounter, Tokenized
from robustlab.attacks.text._typos import TYPO_OPS, typo
from robustlab.errors import ConfigError, DataError, ModelError, UnknownNameError
from robustlab.models.function import FunctionModel
from robustlab.models.sklearn_model import SklearnModel

REVIEWS = Path(robustlab.__file__).parent / "text" / "resources" / "reviews.tsv"
ATTACKS = [name for name, _ in attacks_for("text")]


def _reviews(split: str) -> tuple[list[str], list[int]]:
    with open(REVIEWS, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["split"] == split]
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


@pytest.fixture(scope="module")
def tfidf() -> SklearnModel:
    """TF-IDF (words and character n-grams, so typos matter) + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    texts, labels = _reviews("train")
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2)),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4)),
    )
    pipe = make_pipeline(features, LogisticRegression(C=10.0, max_iter=1000))
    pipe.fit(texts, labels)
    return SklearnModel(pipe, modality="text", name="tfidf")


@pytest.fixture(scope="module")
def sample() -> tuple[list[str], list[int]]:
    texts, labels = _reviews("test")
    return [*texts[:8], "Un film très bon, vraiment magnifique — j’ai adoré ☺", ""], [
        *labels[:8],
        1,
        1,
    ]


def keyword_model() -> FunctionModel:
    """Positive exactly when the word "good" appears (any case)."""

    def predict(texts: list[str]) -> np.ndarray:
        hit = np.array(["good" in Tokenized.parse(t.lower()).words for t in texts], dtype=float)
        p = 0.1 + 0.8 * hit
        return np.stack([1 - p, p], axis=1)

    return FunctionModel(predict, modality="text", num_classes=2, name="keyword")


def _check_edits(example: attacks.TextAdversarial) -> None:
    """The adversarial text differs from the original only inside the reported edits."""
    adv = example.adversarial
    rebuilt = adv
    for e in sorted(example.edits, key=lambda e: e.start, reverse=True):
        assert adv[e.start : e.end] == e.after
        assert e.before != e.after
        rebuilt = rebuilt[: e.start] + e.before + rebuilt[e.end :]
    assert rebuilt == example.original
    n_words = len(Tokenized.parse(example.original))
    assert example.words_perturbed == pytest.approx(len(example.edits) / max(n_words, 1))
    if not example.success:
        assert adv == example.original and not example.edits


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_invariants(name: str, tfidf: SklearnModel, sample) -> None:
    texts, labels = sample
    labels = list(labels)
    labels[0] = 1 - int(tfidf.predict_proba(texts[:1]).numpy().argmax())  # misclassified on purpose
    budget = 60
    result = attacks.run(
        tfidf,
        texts,
        labels,
        attack=name,
        budget=budget,
        seed=3,
        similarity=False,
        **REGISTRY.get(name).quick_params,
    )
    assert len(result) == len(texts)
    assert (result.queries <= budget).all() and (result.queries >= 1).all()
    fresh = tfidf.predict_proba(result.adversarial).numpy().argmax(1)
    clean = tfidf.predict_proba(texts).numpy().argmax(1)
    for i, ex in enumerate(result.examples):
        _check_edits(ex)
        assert ex.prediction == clean[i]
        if ex.success:
            assert fresh[i] != labels[i] and clean[i] == labels[i] and ex.edits
        if clean[i] != labels[i]:
            assert ex.skipped and ex.queries == 1 and not ex.success
    assert result.examples[0].skipped and result.examples[0].queries == 1
    assert result.examples[-1].skipped and result.examples[-1].queries == 1  # the empty text
    assert result.success.any(), f"{name} broke none of {len(texts)} reviews"
    again = attacks.run(
        tfidf,
        texts,
        labels,
        attack=name,
        budget=budget,
        seed=3,
        similarity=False,
        **REGISTRY.get(name).quick_params,
    )
    assert [e.to_dict() for e in again.examples] == [e.to_dict() for e in result.examples]


@pytest.mark.parametrize("name", ATTACKS)
@pytest.mark.parametrize("budget", [1, 2, 7])
def test_tiny_budgets_are_never_exceeded(name: str, budget: int, tfidf, sample) -> None:
    texts, labels = sample
    result = attacks.run(tfidf, texts[:4], labels[:4], attack=name, budget=budget, similarity=False)
    assert (result.queries <= budget).all()


def test_deepwordbug_known_answer() -> None:
    text = "The plot was good but the ending dragged on."
    result = attacks.run(
        keyword_model(), [text], [1], attack="deepwordbug", budget=100, similarity=False
    )
    ex = result.examples[0]
    assert ex.success and len(ex.edits) == 1
    edit = ex.edits[0]
    assert edit.before == "good" and edit.after != "good"
    assert ex.adversarial == text.replace("good", edit.after, 1)
    n_words = len(Tokenized.parse(text))
    # first prediction + one deletion per non-stopword word + the first word's 4 typos at most
    assert ex.queries <= 1 + n_words + 4
    assert ex.words_perturbed == pytest.approx(1 / n_words)


def test_genetic_typo_known_answer() -> None:
    result = attacks.run(
        keyword_model(), ["A good film."], [1], attack="genetic_typo", budget=50, similarity=False
    )
    ex = result.examples[0]
    assert ex.success and [e.before for e in ex.edits] == ["good"]


def test_similarity_is_measured_for_successes(tfidf, sample) -> None:
    texts, labels = sample
    result = attacks.run(tfidf, texts, labels, attack="deepwordbug", budget=60, seed=0)
    ok = result.success
    assert ok.any()
    assert np.all((result.similarity[ok] >= 0.0) & (result.similarity[ok] <= 1.0))
    assert np.isnan(result.similarity[~ok]).all()
    summary = result.to_dict()
    assert summary["success_rate"] == pytest.approx(ok.sum() / result.clean_correct.sum())
    assert summary["queries_per_success"] == pytest.approx(result.queries[ok].mean())


def test_textfooler_substitutes_real_neighbours() -> None:
    text = "A good movie with a fine cast."
    result = attacks.run(keyword_model(), [text], [1], attack="textfooler", budget=100)
    ex = result.examples[0]
    assert ex.success and all(e.before.lower() == "good" for e in ex.edits)
    assert all(e.after.isalpha() and e.after.lower() != "good" for e in ex.edits)
    assert ex.similarity > 0.8


def test_long_text_importance_stays_within_budget(tfidf) -> None:
    texts, _ = _reviews("test")
    long_text = " ".join(texts[:40])
    result = attacks.run(tfidf, [long_text], [1], attack="deepwordbug", budget=30, similarity=False)
    assert result.queries[0] <= 30


def test_query_counter_refuses_and_caches(tfidf) -> None:
    oracle = QueryCounter(tfidf, budget=3)
    oracle.probs(["a", "b"])
    assert oracle.used == 2
    oracle.probs(["a", "b", "a"])  # cached: free
    assert oracle.used == 2
    with pytest.raises(BudgetExhausted):
        oracle.probs(["c", "d"])
    assert oracle.used == 2
    oracle.probs(["c"])
    assert oracle.remaining == 0


def test_tokens_round_trip() -> None:
    text = "  Don't stop — it’s 3 o'clock, café!  "
    tokens = Tokenized.parse(text)
    assert tokens.words == ("Don't", "stop", "it’s", "3", "o'clock", "café")
    assert tokens.render(tokens.words) == text
    words = list(tokens.words)
    words[1] = "STOPPED"
    spans = tokens.spans(words)
    assert tokens.render(words)[slice(*spans[1])] == "STOPPED"
    assert tokens.without(1, 2) == "  Don't it’s 3 o'clock, café!  "
    assert Tokenized.parse("").words == ()


@pytest.mark.parametrize("op", TYPO_OPS)
def test_typo_is_one_character_edit(op: str) -> None:
    rng = np.random.default_rng(0)
    for word in ["good", "Movie", "café", "ab"]:
        out = typo(word, op, rng)
        assert out != word
        if op == "swap":
            assert sorted(out) == sorted(word)
        else:
            assert abs(len(out) - len(word)) == (0 if op == "substitute" else 1)
    assert typo("a", "delete", rng) == "a"


def test_bad_input(tfidf) -> None:
    with pytest.raises(DataError, match="not one string"):
        attacks.run(tfidf, "a text", [1])
    with pytest.raises(DataError, match="Text 1 is a int"):
        attacks.run(tfidf, ["fine", 3], [1, 1])
    with pytest.raises(DataError, match="no texts"):
        attacks.run(tfidf, [], [])
    with pytest.raises(DataError, match="max_chars"):
        attacks.run(tfidf, ["x" * 50], [1], max_chars=10)
    with pytest.raises(DataError, match="integer targets"):
        attacks.run(tfidf, ["a", "b"], [1])
    with pytest.raises(DataError, match="has 2 classes"):
        attacks.run(tfidf, ["a"], [2])
    with pytest.raises(UnknownNameError, match="Did you mean 'deepwordbug'"):
        attacks.run(tfidf, ["a"], [1], attack="deepwordbig")
    with pytest.raises(ConfigError, match=r"no parameter 'candidate'.*'candidates'"):
        attacks.run(tfidf, ["a"], [1], candidate=3)
    with pytest.raises(ConfigError, match="'budget' parameter of run\\(\\) must be an int >= 1"):
        attacks.run(tfidf, ["a"], [1], budget=0)
    with pytest.raises(ConfigError, match="'population' parameter"):
        attacks.run(tfidf, ["a"], [1], attack="genetic_typo", population=1)
    with pytest.raises(ConfigError, match="text Model"):
        attacks.run(lambda t: t, ["a"], [1])  # type: ignore[arg-type]


def test_one_score_model_is_refused() -> None:
    one = FunctionModel(
        lambda t: np.zeros((len(t), 1)), modality="text", output="logits", name="one"
    )
    with pytest.raises(ModelError, match=r"one score per text.*\[1 - p, p\]"):
        attacks.run(one, ["fine film"], [0])
    flat = FunctionModel(lambda t: np.full(len(t), 0.7), modality="text", name="flat")
    with pytest.raises(ModelError, match="shape"):
        attacks.run(flat, ["fine film"], [0])


def test_similarity_windows_cover_every_edit_of_a_long_text() -> None:
    from robustlab.attacks.text._run import similarity_windows

    text = " ".join(f"w{i}" for i in range(250)) + "."
    tokens = Tokenized.parse(text)
    words = list(tokens.words)
    words[5], words[180] = "X", "Y"
    pairs = similarity_windows(tokens, words, window=100)
    assert len(pairs) == 2  # windows 0-99 and 100-199 hold edits; 200-249 does not
    assert "X" in pairs[0][1] and "w5" in pairs[0][0] and "Y" in pairs[1][1]
    short = Tokenized.parse("a short text")
    assert similarity_windows(short, ["a", "long", "text"]) == [("a short text", "a long text")]
