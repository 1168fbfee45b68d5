"""Short-answer scorers on known answers (SQuAD's own examples of normalisation and F1, number
formats), a scorer that raises, and MiniLM similarity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robustlab.errors import ConfigError, UnknownNameError
from robustlab.llm.scoring import (
    SCORERS,
    ExactMatch,
    NumericMatch,
    RegexMatch,
    Similarity,
    TokenF1,
    answer_and_score,
    get_scorer,
    normalize_answer,
    parse_number,
    score_answers,
)


def test_squad_normalisation_and_exact_match() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("An apple, a day.") == "apple day"
    em = ExactMatch()
    assert em.score("the Eiffel tower.", ["Eiffel Tower"]) == 1.0
    assert em.score("Eiffel", ["Eiffel Tower", "Paris"]) == 0.0
    assert em.score("paris", ["Eiffel Tower", "Paris"]) == 1.0
    assert ExactMatch(normalize=False).score("paris", ["Paris"]) == 0.0
    assert ExactMatch(normalize=False).score(" Paris\n", ["Paris"]) == 1.0


def test_token_f1_known_values() -> None:
    f1 = TokenF1()
    # pred "Denver Broncos won" vs "Denver Broncos": p = 2/3, r = 1 -> F1 = 0.8
    assert f1.score("Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)
    # repeated tokens count by multiplicity: "a a b" (norm: "b") ... use words without articles
    assert f1.score("cat cat dog", ["cat dog dog"]) == pytest.approx(2 / 3)
    assert f1.score("the", ["a"]) == 1.0  # both empty after normalisation
    assert f1.score("", ["Paris"]) == 0.0
    assert f1.score("London", ["Paris", "london city"]) == pytest.approx(2 / 3)


def test_regex() -> None:
    assert RegexMatch(r"\bparis\b").score("It is Paris.", []) == 1.0
    assert RegexMatch(r"paris", fullmatch=True).score("It is Paris.", []) == 0.0
    assert RegexMatch(r"paris", ignore_case=False).score("Paris", []) == 0.0
    assert RegexMatch().score("answer: 42", [r"\b4\d\b"]) == 1.0  # references as patterns
    with pytest.raises(ConfigError, match="valid regular expression"):
        RegexMatch("(unclosed")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,000", 1000.0),
        ("The total is $1,234.50.", 1234.5),
        ("3.50", 3.5),
        ("3/4", 0.75),
        ("about 1 / 2 of them", 0.5),
        ("-2", -2.0),
        ("−7 degrees", -7.0),
        ("1e3", 1000.0),
        ("50%", 0.5),
        (".5", 0.5),
        ("from 3 to 12", 12.0),
        ("no number here", None),
        ("1/0", None),
    ],
)
def test_parse_number(text: str, value: float | None) -> None:
    got = parse_number(text)
    assert got == (None if value is None else pytest.approx(value))


def test_numeric_match() -> None:
    num = NumericMatch()
    assert num.score("The answer is 1,000.", ["1000"]) == 1.0
    assert num.score("3.5", ["3.50"]) == 1.0
    assert num.score("0.75", ["3/4"]) == 1.0
    assert num.score("3 then 4", ["3"]) == 0.0  # the last number is the answer
    assert NumericMatch(which="first").score("3 then 4", ["3"]) == 1.0
    assert num.score("3.14", ["3.14159"]) == 0.0
    assert NumericMatch(rel_tol=0.01).score("3.14", ["3.14159"]) == 1.0
    assert NumericMatch(abs_tol=0.5).score("9.6", ["10"]) == 1.0
    assert num.score("none", ["10"]) == 0.0
    with pytest.raises(ConfigError, match="holds no number"):
        num.score("10", ["ten"])
    with pytest.raises(ConfigError, match="'which'"):
        NumericMatch(which="middle")


def test_a_scorer_that_raises_is_a_recorded_failure() -> None:
    def picky(prediction: str, references: list[str]) -> float:
        if "boom" in prediction:
            raise RuntimeError("cannot score explosions")
        return float(prediction == references[0])

    out = score_answers(picky, ["a", "boom", "b", 7], ["a", "a", "a", "a"])  # type: ignore[list-item]
    assert out.values[0] == 1.0 and out.values[2] == 0.0
    assert math.isnan(out.values[1]) and math.isnan(out.values[3])
    assert out.errors[1] == "RuntimeError: cannot score explosions"
    assert out.errors[3] == "the completion is not text (int)"
    assert out.failures == 2 and out.mean() == 0.5
    bad_range = score_answers(lambda p, r: 3.0, ["x"], ["y"])
    assert "must return a number in [0, 1]" in str(bad_range.errors[0])
    # a reference without a number fails that answer only
    mixed = score_answers("numeric", ["5", "6"], ["5", "six"])
    assert mixed.values[0] == 1.0 and "holds no number" in str(mixed.errors[1])


def test_registry_and_lookup() -> None:
    assert {"exact_match", "token_f1", "regex", "numeric", "similarity"} <= set(SCORERS.names())
    assert get_scorer("numeric", rel_tol=0.1) == NumericMatch(rel_tol=0.1)
    with pytest.raises(UnknownNameError, match="exact_match"):
        get_scorer("exact_mach")
    with pytest.raises(ConfigError, match="must be a name"):
        get_scorer(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="2 predictions but 1"):
        score_answers("exact_match", ["a", "b"], ["a"])


def test_minilm_similarity() -> None:
    pytest.importorskip("sentence_transformers")
    sim = Similarity()
    values = score_answers(
        sim,
        ["The cat sat on the mat.", "Stock prices fell sharply today.", "Paris"],
        [["A cat was sitting on the mat."], ["A cat was sitting on the mat."], ["paris"]],
    ).values
    assert values[0] > 0.7 > values[1] and values[2] == pytest.approx(1.0, abs=1e-4)
    assert Similarity(threshold=0.7).score_many(["The cat sat on the mat."], [["A cat sat."]]) == [
        1.0
    ]
    assert np.isfinite(sim.score("x", ["y", "z"]))


def test_answers_of_a_trained_model_scored_numerically() -> None:
    pytest.importorskip("transformers")
    from _llm_real import Adder, addition_prompts
    from robustlab.llm.base import Decoding

    pairs = addition_prompts(30, seed=3)
    model = Adder()
    prompts, refs = [p for p, _ in pairs], [a for _, a in pairs]
    decoding = Decoding(max_new_tokens=3, stop=(";",))
    answers, exact = answer_and_score(model, prompts, refs, "exact_match", decoding)
    _, numeric = answer_and_score(model, prompts, [f"{r}.0" for r in refs], "numeric", decoding)
    np.testing.assert_array_equal(exact.values, [float(a == r) for a, r in zip(answers, refs)])
    np.testing.assert_array_equal(numeric.values, exact.values)  # "7" is 7.0
    assert exact.failures == 0 and 0.4 <= exact.mean() <= 1.0  # a trained model, not a stub


def test_a_scorer_that_defines_no_scoring_method_says_which_to_write() -> None:
    from dataclasses import dataclass
    from typing import ClassVar

    from robustlab.errors import ConfigError
    from robustlab.llm.scoring import Scorer

    @dataclass(frozen=True)
    class Empty(Scorer):
        name: ClassVar[str] = "empty"

    with pytest.raises(ConfigError, match=r"neither score_one\(prediction, reference\) nor"):
        Empty().score("4", ["4"])
