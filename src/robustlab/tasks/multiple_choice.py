"""Multiple choice: a language model picks one of an item's options, by the letter it generates
and by the option labels' log-probabilities; both are recorded with whether they agree (Wang et
al., "Look at the Text", 2024: the two disagree)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.tasks.base import CRITERIA, TASKS, Criterion, Task

if TYPE_CHECKING:
    from robustlab.models.base import Model

__all__ = ["MCAnswer", "MultipleChoice", "WrongOption"]


@dataclass(frozen=True)
class MCAnswer:
    """A model's answer to one rendered multiple-choice prompt.

    Attributes:
        target: The position the right option was shown at.
        num_options: How many options were shown.
        generated: The position the generated text names (-1: none).
        completion: The generated text.
        logprobs: ``log p(label | prompt)`` of each shown option (None: not available).
        order: The original index of each shown option (None: original order).
        variant: What the prompt changed (``clean``, ``format=digit_labels``, ...).
        scoring: ``logprob`` or ``generate``: which answer is the primary prediction.
    """

    target: int
    num_options: int
    generated: int
    completion: str = ""
    logprobs: tuple[float, ...] | None = None
    order: tuple[int, ...] | None = None
    variant: str = "clean"
    scoring: str = "generate"

    @property
    def by_logprob(self) -> int:
        return -1 if self.logprobs is None else int(np.argmax(self.logprobs))

    @property
    def prediction(self) -> int:
        return self.by_logprob if self.scoring == "logprob" else self.generated

    def original(self, position: int) -> int:
        if position < 0 or self.order is None:
            return position
        return self.order[position]


def _as_answer(row: Any, where: str) -> MCAnswer:
    if isinstance(row, MCAnswer):
        return row
    if isinstance(row, Mapping):
        return MCAnswer(**dict(row))
    raise ModelError(
        f"{where}: multiple-choice outputs are MCAnswer records (one per prompt); got a "
        f"{type(row).__name__}. Wrap the language model with robustlab.llm.LLMModel."
    )


@CRITERIA.register("wrong_option")
@dataclass(frozen=True)
class WrongOption(Criterion):
    """Broken when the chosen option is not the right one. Outputs are ``(n, K)`` option scores
    (log-probabilities); an example holds while the right option's score leads the others."""

    name = "wrong_option"
    tasks = ("multiple_choice",)

    def broken(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.margin(outputs, targets, clean) <= 0

    def margin(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        if outputs.ndim != 2 or not outputs.is_floating_point():
            raise ConfigError(
                "The 'wrong_option' criterion reads (n, K) option scores; multiple-choice probes "
                "judge generated answers from the records' 'correct' field instead."
            )
        right = outputs.gather(1, targets.long()[:, None])[:, 0]
        others = outputs.scatter(1, targets.long()[:, None], float("-inf")).max(dim=1).values
        return right - others


@TASKS.register("multiple_choice")
class MultipleChoice(Task):
    """Choose one of an item's options; an example breaks when the chosen option is wrong."""

    name: ClassVar[str] = "multiple_choice"
    output: ClassVar[str] = (
        "one MCAnswer per prompt (generated letter and option log-probabilities)"
    )
    target: ClassVar[str] = "the index of the right option of each item (int >= 0)"
    fields: ClassVar[dict[str, str]] = {
        "target": "int",
        "prediction": "int",
        "correct": "bool",
        "choice": "int",
        "generated": "int",
        "correct_generate": "bool",
        "logprob_prediction": "int",
        "correct_logprob": "bool",
        "agree": "bool",
        "confidence": "float",
        "option_logprobs": "str",
        "completion": "str",
        "variant": "str",
        "num_options": "int",
    }
    score_field: ClassVar[str] = "correct"
    metrics: ClassVar[tuple[str, ...]] = ("mc_accuracy", "generate_logprob_disagreement", "rstd")
    criterion: ClassVar[str] = "wrong_option"
    outputs: ClassVar[tuple[str, ...]] = ("labels",)

    def check_targets(self, targets: Any, where: str) -> np.ndarray:
        t = np.asarray(targets)
        if t.ndim != 1 or len(t) == 0:
            raise DataError(
                f"{where}: multiple-choice targets are one option index per item, a non-empty "
                f"1-d list; got shape {t.shape}."
            )
        integral = t.dtype.kind in "iu" or (
            t.dtype.kind == "f" and bool(np.all(np.isfinite(t))) and bool(np.all(t == np.round(t)))
        )
        if not integral:
            raise DataError(
                f"{where}: multiple-choice targets must be integer option indices; got "
                f"{t[:3].tolist()}."
            )
        if (t < 0).any():
            raise DataError(f"{where}: option indices must be >= 0; got {int(t.min())}.")
        return t.astype(np.int64)

    def predict(self, model: Model, inputs: Any) -> np.ndarray:
        answer = getattr(model, "answer", None)
        if answer is None:
            raise ConfigError(
                f"Model {model.name!r} cannot answer multiple-choice prompts; wrap a language "
                "model with robustlab.llm.LLMModel (or pass a LanguageModel to scan)."
            )
        out = np.empty(len(inputs), dtype=object)
        out[:] = list(answer(inputs))
        return out

    def reference_of(self, model: Model, inputs: Any) -> np.ndarray:
        raise ConfigError(
            "Multiple-choice records have no 'reference' field; scan without reference=."
        )

    def record_fields(
        self, outputs: Any, targets: Any, *, reference: Any = None, **options: Any
    ) -> dict[str, np.ndarray]:
        """Fields of each answer; ``targets`` are the items' right options (original order), so
        ``correct`` compares the chosen option's original index (``choice``) to them."""
        if reference is not None:
            self.reference_of(None, None)  # type: ignore[arg-type]
        rows = [_as_answer(r, "multiple_choice records") for r in list(outputs)]
        t = np.asarray(targets, dtype=np.int64)
        self._check_outputs(np.asarray(rows, dtype=object), len(t), "(n,)")
        n = len(rows)
        nan = float("nan")
        has_lp = np.array([r.logprobs is not None for r in rows], dtype=bool)
        lp_pred = np.array([r.by_logprob if h else nan for r, h in zip(rows, has_lp)])
        lp_choice = [r.original(int(p)) if h else -1 for r, p, h in zip(rows, lp_pred, has_lp)]
        gen_choice = np.array([r.original(r.generated) for r in rows], dtype=np.int64)
        prediction = np.array([r.prediction for r in rows], dtype=np.int64)
        choice = np.array([r.original(r.prediction) for r in rows], dtype=np.int64)
        correct_lp = np.array(
            [(c == y) if h else nan for c, y, h in zip(lp_choice, t, has_lp)], dtype=object
        )
        agree = np.array(
            [(int(lp) == r.generated) if h else nan for r, lp, h in zip(rows, lp_pred, has_lp)],
            dtype=object,
        )
        confidence = np.full(n, nan)
        for i, r in enumerate(rows):
            if r.logprobs is not None:
                v = np.asarray(r.logprobs, dtype=np.float64)
                p = np.exp(v - v.max())
                confidence[i] = float(p.max() / p.sum())
        return {
            "target": np.array([r.target for r in rows], dtype=np.int64),
            "prediction": prediction,
            "correct": choice == t,
            "choice": choice,
            "generated": np.array([r.generated for r in rows], dtype=np.int64),
            "correct_generate": gen_choice == t,
            "logprob_prediction": lp_pred,
            "correct_logprob": correct_lp,
            "agree": agree,
            "confidence": confidence,
            "option_logprobs": np.array(
                [
                    json.dumps([round(float(x), 5) for x in r.logprobs]) if r.logprobs else None
                    for r in rows
                ],
                dtype=object,
            ),
            "completion": np.array([r.completion for r in rows], dtype=object),
            "variant": np.array([r.variant for r in rows], dtype=object),
            "num_options": np.array([r.num_options for r in rows], dtype=np.int64),
        }

    def default_broken(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        return ~np.asarray(fields["correct"], dtype=bool)


def option_logprobs(values: Sequence[Any]) -> list[np.ndarray | None]:
    """The ``option_logprobs`` field of records back as arrays (None where not measured)."""
    return [None if v is None else np.asarray(json.loads(v), dtype=np.float64) for v in values]


import robustlab.llm.metrics  # noqa: E402, F401  (registers the multiple-choice metrics)
