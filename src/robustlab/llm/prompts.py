"""Multiple-choice items, prompt formats, instruction templates, rendering and answer parsing.

A :class:`MCItem` is a question with options and the index of the right one. :func:`render`
turns it (with an instruction, a :class:`PromptFormat` and few-shot examples) into a
:class:`Prompt`: the text sent to the model and the option labels the answer is read against.
Formats vary what Sclar et al. (ICLR 2024, "Quantifying Language Models' Sensitivity to Spurious
Features in Prompt Design") vary: separators, casing, spacing, field names and option labels.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from robustlab import validation
from robustlab.errors import ConfigError, DataError

__all__ = [
    "BUILTIN_INSTRUCTIONS",
    "FORMATS",
    "LABEL_STYLES",
    "MCItem",
    "MCQuery",
    "Prompt",
    "PromptFormat",
    "format_of",
    "parse_answer",
    "render",
]

#: Option label alphabets.
LABEL_STYLES: dict[str, str] = {
    "upper": "ABCDEFGHIJ",
    "lower": "abcdefghij",
    "digit": "1234567890",
    "roman": "",  # i, ii, iii: built in labels()
}
_ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x")


@dataclass(frozen=True)
class MCItem:
    """One multiple-choice question.

    Attributes:
        question: The question text.
        options: The answer options (2 to 10), in their original order.
        answer: Index of the right option in ``options``.
        subject: Optional category (a metadata column).
    """

    question: str
    options: tuple[str, ...]
    answer: int
    subject: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise DataError(
                f"A multiple-choice item needs a non-empty question; got {self.question!r}."
            )
        opts = tuple(self.options)
        object.__setattr__(self, "options", opts)
        if not 2 <= len(opts) <= 10 or not all(isinstance(o, str) and o.strip() for o in opts):
            raise DataError(
                f"Item {self.question[:40]!r}: options must be 2 to 10 non-empty strings; got "
                f"{list(opts)!r}."
            )
        if len(set(opts)) != len(opts):
            raise DataError(f"Item {self.question[:40]!r} repeats an option: {list(opts)!r}.")
        if isinstance(self.answer, bool) or not isinstance(self.answer, int):
            raise DataError(f"Item {self.question[:40]!r}: answer must be an option index (int).")
        if not 0 <= self.answer < len(opts):
            raise DataError(
                f"Item {self.question[:40]!r}: answer {self.answer} is not an option index "
                f"(0..{len(opts) - 1})."
            )

    def permuted(self, order: Sequence[int]) -> MCItem:
        """The item with ``options[order[j]]`` at position ``j``; the answer moves with it."""
        order = list(order)
        if sorted(order) != list(range(len(self.options))):
            raise ConfigError(f"{order} is not a permutation of the {len(self.options)} options.")
        return dataclasses.replace(
            self, options=tuple(self.options[j] for j in order), answer=order.index(self.answer)
        )

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any], where: str = "item") -> MCItem:
        """From ``{"question", "options" (or "choices"), "answer"}``; the answer may be an index,
        a letter (``"B"``) or the right option's text."""
        try:
            question = row["question"]
            options = tuple(row["options"] if "options" in row else row["choices"])
            answer = row["answer"]
        except KeyError as exc:
            raise DataError(
                f"{where} lacks {exc}; a multiple-choice row has question, options, answer."
            ) from None
        if isinstance(answer, str):
            if answer in options:
                answer = options.index(answer)
            elif len(answer) == 1 and answer.upper() in LABEL_STYLES["upper"][: len(options)]:
                answer = LABEL_STYLES["upper"].index(answer.upper())
            else:
                raise DataError(
                    f"{where}: answer {answer!r} is neither an option, a letter nor an index."
                )
        return cls(str(question), options, int(answer), str(row.get("subject", "")))


@dataclass(frozen=True)
class PromptFormat:
    """How an item is laid out in the prompt.

    Attributes:
        name: A short name for tables.
        question_field: The question's field name (``Question``).
        answer_field: The answer's field name (``Answer``).
        field_separator: Between a field name and its value (``": "``).
        label_style: ``upper`` (A B C), ``lower`` (a b c), ``digit`` (1 2 3) or ``roman``.
        label_format: How a label is written before its option, ``{label}`` replaced (``"{label})"``,
            ``"({label})"``, ``"{label}."``).
        option_separator: Between options (``"\\n"``, ``" "``, ``"; "``).
        block_separator: Between the question, the options and the answer line.
        example_separator: Between few-shot examples.
        casing: ``keep``, ``upper`` or ``lower``: applied to the field names.
    """

    name: str = "default"
    question_field: str = "Question"
    answer_field: str = "Answer"
    field_separator: str = ": "
    label_style: str = "upper"
    label_format: str = "{label})"
    option_separator: str = "\n"
    block_separator: str = "\n"
    example_separator: str = "\n\n"
    casing: str = "keep"

    def __post_init__(self) -> None:
        owner = f"prompt format {self.name!r}"
        validation.check_choice(owner, "label_style", self.label_style, tuple(LABEL_STYLES))
        validation.check_choice(owner, "casing", self.casing, ("keep", "upper", "lower"))
        if "{label}" not in self.label_format:
            raise ConfigError(
                f"The 'label_format' of {owner} must contain '{{label}}'; got {self.label_format!r}."
            )

    def labels(self, k: int) -> list[str]:
        if self.label_style == "roman":
            return list(_ROMAN[:k])
        return list(LABEL_STYLES[self.label_style][:k])

    def _case(self, text: str) -> str:
        return (
            text.upper()
            if self.casing == "upper"
            else text.lower()
            if self.casing == "lower"
            else text
        )

    @property
    def answer_prefix(self) -> str:
        """What ends the prompt: the answer field and its separator without trailing space."""
        return self._case(self.answer_field) + self.field_separator.rstrip()

    @property
    def answer_gap(self) -> str:
        """What goes between the prompt's end and the label in a completed answer."""
        sep = self.field_separator
        return sep[len(sep.rstrip()) :]


#: The built-in prompt formats (``default`` is what the tiny model was trained on).
FORMATS: dict[str, PromptFormat] = {
    f.name: f
    for f in (
        PromptFormat(),
        PromptFormat("digit_labels", label_style="digit"),
        PromptFormat("lower_labels", label_style="lower"),
        PromptFormat("paren_labels", label_format="({label})"),
        PromptFormat("dot_labels", label_format="{label}."),
        PromptFormat("inline_options", option_separator=" "),
        PromptFormat("upper_fields", casing="upper"),
        PromptFormat("lower_fields", casing="lower"),
        PromptFormat("dash_separator", field_separator=" - "),
        PromptFormat("double_spacing", block_separator="\n\n", option_separator="\n\n"),
        PromptFormat("q_a_fields", question_field="Q", answer_field="A"),
        PromptFormat("input_output_fields", question_field="Input", answer_field="Output"),
    )
}

#: Built-in instruction paraphrases (Sun et al., ICLR 2024: unseen equivalent instructions);
#: ``{subject}`` is replaced by the item's subject where it has one.
BUILTIN_INSTRUCTIONS: tuple[str, ...] = (
    "Choose the correct answer.",
    "Pick the right option.",
    "Select the correct option.",
    "Which option is correct? Answer with its letter.",
    "Read the question and choose the best answer.",
    "Answer the following multiple-choice question.",
    "Identify the correct answer among the options.",
    "Give the label of the correct option.",
)


def format_of(spec: str | Mapping[str, Any] | PromptFormat) -> PromptFormat:
    """A built-in format by name, a :class:`PromptFormat`, or a mapping of its fields."""
    if isinstance(spec, PromptFormat):
        return spec
    if isinstance(spec, str):
        if spec not in FORMATS:
            import difflib

            close = difflib.get_close_matches(spec, list(FORMATS), n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"Unknown prompt format {spec!r}.{hint} Built-in formats: {', '.join(FORMATS)}."
            )
        return FORMATS[spec]
    if isinstance(spec, Mapping):
        names = {f.name for f in dataclasses.fields(PromptFormat)}
        unknown = sorted(set(spec) - names)
        if unknown:
            raise ConfigError(f"Prompt formats have no field {unknown}; fields: {sorted(names)}.")
        return PromptFormat(**dict(spec))
    raise ConfigError(f"A prompt format is a name, a mapping or a PromptFormat; got {spec!r}.")


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt and what its answer is read against.

    Attributes:
        text: The prompt sent to the model (ends with the answer field).
        labels: The option labels in the order shown.
        gap: What separates the prompt's end from a label in an answer (``" "``): option
            log-probabilities score ``gap + label``.
        target: The position of the right option as shown.
        options: The options as shown.
    """

    text: str
    labels: tuple[str, ...]
    gap: str
    target: int
    options: tuple[str, ...] = field(default=())

    @property
    def continuations(self) -> list[str]:
        return [self.gap + label for label in self.labels]


def _block(item: MCItem, fmt: PromptFormat) -> str:
    labels = fmt.labels(len(item.options))
    options = fmt.option_separator.join(
        f"{fmt.label_format.format(label=label)} {text}"
        for label, text in zip(labels, item.options)
    )
    question = fmt._case(fmt.question_field) + fmt.field_separator + item.question
    return fmt.block_separator.join([question, options, fmt.answer_prefix])


def render(
    item: MCItem,
    fmt: PromptFormat | None = None,
    *,
    instruction: str = "",
    shots: Sequence[MCItem] = (),
) -> Prompt:
    """The prompt of ``item``: the instruction, the few-shot examples (answered) and the item."""
    fmt = fmt or FORMATS["default"]
    blocks = [
        _block(shot, fmt) + fmt.answer_gap + fmt.labels(len(shot.options))[shot.answer]
        for shot in shots
    ]
    body = fmt.example_separator.join([*blocks, _block(item, fmt)])
    if instruction:
        text = instruction.replace("{subject}", item.subject or "the topic")
        body = text + fmt.block_separator + body
    text = body
    return Prompt(
        text, tuple(fmt.labels(len(item.options))), fmt.answer_gap, item.answer, item.options
    )


def parse_answer(text: str, labels: Sequence[str], options: Sequence[str] = ()) -> int:
    """The option a generated answer names: its first label token (``"B"``, ``"(B)"``,
    ``"B) Paris"``), else an option's exact text at its start; -1 when it names none."""
    stripped = text.strip()
    if not stripped:
        return -1
    match = re.match(r"[\(\[]?\s*([^\s\)\]\.:,;]+)", stripped)
    if match:
        token = match.group(1)
        if token in labels:
            return list(labels).index(token)
        upper = [str(label).upper() for label in labels]
        if token.upper() in upper and len(set(upper)) == len(upper):
            return upper.index(token.upper())
    for i, option in enumerate(options):
        if option and stripped.startswith(option):
            return i
    return -1


@dataclass(frozen=True)
class MCQuery:
    """Everything that decides one multiple-choice prompt: the item, the few-shot examples, the
    instruction, the format and the order the options are shown in.

    Prompt perturbations return changed queries; the task renders them.

    Attributes:
        item: The item, options in their original order.
        shots: Answered examples shown before the item.
        instruction: The instruction line (empty for none).
        format: The prompt format.
        order: ``order[j]`` is the original index of the option shown at position ``j`` (None:
            the original order).
        variant: A label of what was changed (``"clean"``, ``"format=digit_labels"``, ...).
    """

    item: MCItem
    shots: tuple[MCItem, ...] = ()
    instruction: str = ""
    format: PromptFormat = field(default_factory=PromptFormat)
    order: tuple[int, ...] | None = None
    variant: str = "clean"

    @property
    def shown(self) -> MCItem:
        """The item with its options in the order shown."""
        return self.item if self.order is None else self.item.permuted(self.order)

    @property
    def target(self) -> int:
        """The position at which the right option is shown."""
        return self.shown.answer

    def original_index(self, position: int) -> int:
        """The original index of the option shown at ``position`` (-1 stays -1)."""
        if position < 0 or self.order is None:
            return position
        return self.order[position]

    def prompt(self) -> Prompt:
        return render(self.shown, self.format, instruction=self.instruction, shots=self.shots)

    def replace(self, **changes: Any) -> MCQuery:
        return dataclasses.replace(self, **changes)
