"""Prompt rendering, answer parsing, and the prompt perturbations' invariants: the right option
moves with every permutation, formats and paraphrases keep the item, shot order keeps the shots."""

from __future__ import annotations

import itertools

import pytest

from robustlab.errors import ConfigError, DataError
from robustlab.llm.data import MCDataset
from robustlab.llm.prompts import FORMATS, MCItem, MCQuery, parse_answer, render
from robustlab.perturbations import PERTURBATIONS
from robustlab.perturbations.llm._base import example_queries

ITEM = MCItem("Which of these is a fruit?", ("dog", "apple", "saw", "red"), 1)


def shown_right(q: MCQuery) -> str:
    """The option text written after the right label in the rendered prompt."""
    p = q.prompt()
    label = p.labels[p.target]
    fmt = q.format
    for line in p.text.split(fmt.option_separator if fmt.option_separator != " " else "\n"):
        head = fmt.label_format.format(label=label) + " "
        if head in line:
            return line.split(head, 1)[1].split()[0]
    raise AssertionError(f"label {label} not in {p.text!r}")


def test_render_default_prompt_and_shots():
    shot = MCItem("Which of these is a tool?", ("axe", "cat"), 0)
    text = render(ITEM, instruction="Choose the correct answer.", shots=[shot]).text
    assert text == (
        "Choose the correct answer.\nQuestion: Which of these is a tool?\nA) axe\nB) cat\n"
        "Answer: A\n\nQuestion: Which of these is a fruit?\nA) dog\nB) apple\nC) saw\nD) red\n"
        "Answer:"
    )
    assert render(ITEM, FORMATS["digit_labels"]).labels == ("1", "2", "3", "4")


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" B", 1), ("B) apple", 1), ("(b)", 1), (" apple", 1), ("", -1), ("E", -1), (" x", -1)],
)
def test_parse_answer(text, expected):
    assert parse_answer(text, ["A", "B", "C", "D"], ITEM.options) == expected


def test_every_permutation_moves_the_right_option_with_it():
    q = MCQuery(ITEM)
    for perm in itertools.permutations(range(4)):
        moved = q.replace(order=perm)
        assert moved.shown.options[moved.target] == "apple"
        assert shown_right(moved) == "apple"
        assert moved.original_index(moved.target) == ITEM.answer


def test_cyclic_shifts_put_the_right_option_at_every_position():
    queries = [MCQuery(ITEM)]
    targets = set()
    for s in range(1, 4):
        out = PERTURBATIONS.build("option_order", mode="cyclic", shift=s).apply(queries, seed=0)
        (q,) = out.inputs
        assert out.changed.tolist() == [True] and q.variant == f"cyclic={s}"
        assert q.shown.options[q.target] == "apple"
        targets.add(q.target)
    assert targets | {ITEM.answer} == {0, 1, 2, 3}


def test_random_permutations_are_seeded_and_keep_the_options():
    p = PERTURBATIONS.build("option_order", mode="random")
    a = p.apply(example_queries(), seed=1).inputs
    assert a == p.apply(example_queries(), seed=1).inputs
    for q, orig in zip(a, example_queries()):
        assert sorted(q.shown.options) == sorted(orig.item.options)
        assert q.shown.options[q.target] == orig.item.options[orig.item.answer]


@pytest.mark.parametrize("name", list(FORMATS)[1:])
def test_formats_keep_the_item_and_change_the_text(name):
    (q,) = PERTURBATIONS.build("prompt_format", format=name).apply([MCQuery(ITEM)]).inputs
    assert q.item == ITEM and q.prompt().text != MCQuery(ITEM).prompt().text
    assert shown_right(q) == "apple"


def test_instruction_paraphrases_and_user_templates():
    q = MCQuery(ITEM, instruction="Choose the correct answer.")
    (out,) = PERTURBATIONS.build("instruction", index=3).apply([q]).inputs
    assert out.instruction.startswith("Which option is correct?") and out.item == ITEM
    (own,) = (
        PERTURBATIONS.build("instruction", template="About {subject}: pick one.")
        .apply([MCQuery(MCItem("Q?", ("a", "b"), 0, subject="food"))])
        .inputs
    )
    assert own.prompt().text.startswith("About food: pick one.")
    with pytest.raises(ConfigError, match="index"):
        PERTURBATIONS.build("instruction", index=99)


def test_shot_order_keeps_the_shots():
    queries = example_queries()
    out = PERTURBATIONS.build("shot_order", mode="reverse").apply(queries).inputs
    for q, orig in zip(out, queries):
        assert q.shots == orig.shots[::-1] and q.item == orig.item


def test_text_perturbations_change_the_question_only():
    out = PERTURBATIONS.build("prompt_text", transformation="typo_swap", rate=1.0).apply(
        example_queries(), seed=2
    )
    assert out.changed.all() and (out.size > 0).all()
    for q, orig in zip(out.inputs, example_queries()):
        assert q.item.options == orig.item.options and q.item.question != orig.item.question
    mix = PERTURBATIONS.build("mild_mix", strength=3.0).apply(example_queries(), seed=0)
    assert mix.changed.any()
    with pytest.raises(ConfigError, match="meaning"):
        PERTURBATIONS.build("prompt_text", transformation="negate")


def test_items_and_datasets_refuse_bad_input(tmp_path):
    with pytest.raises(DataError, match="answer 4"):
        MCItem("Q?", ("a", "b"), 4)
    with pytest.raises(DataError, match="repeats"):
        MCItem("Q?", ("a", "a"), 0)
    assert MCItem.from_mapping({"question": "Q?", "choices": ["x", "y"], "answer": "B"}).answer == 1
    path = tmp_path / "items.jsonl"
    path.write_text('{"question": "Q?", "options": ["x", "y"], "answer": 0, "id": "q1"}\n{bad\n')
    with pytest.raises(DataError, match=r"items\.jsonl:2"):
        MCDataset.from_jsonl(path)
    path.write_text('{"question": "Q?", "options": ["x", "y"], "answer": 0, "id": "q1"}\n')
    ds = MCDataset.from_jsonl(path)
    assert ds.ids == ["q1"] and ds.modality == "llm" and ds.task == "multiple_choice"
    assert ds.fingerprint() != MCDataset(ds.items, instruction="Pick.").fingerprint()
