"""A :class:`~robustlab.llm.base.LanguageModel` as the model under test of a scan.

``LLMModel`` is the :class:`~robustlab.models.Model` adapter of the ``llm`` modality: it renders
multiple-choice queries, asks the language model for a completion (the generated letter) and,
when it gives log-probabilities, for the log-probability of each option label, and returns one
:class:`~robustlab.tasks.multiple_choice.MCAnswer` per query. ``robustlab.scan`` wraps a
LanguageModel in it (``as_model``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from robustlab import validation
from robustlab.errors import ConfigError, DataError
from robustlab.llm.base import Decoding, LanguageModel
from robustlab.llm.prompts import MCQuery, parse_answer
from robustlab.models.base import Model

__all__ = ["SCORINGS", "LLMModel", "as_llm_model"]

#: ``auto``: by option log-probability where the model gives them, else by the generated letter.
SCORINGS = ("auto", "logprob", "generate")

#: Decoding of a multiple-choice answer: a few greedy tokens, up to the end of the line.
MC_DECODING = Decoding(max_new_tokens=4, temperature=0.0, stop=("\n",))


class LLMModel(Model):
    """A language model answering multiple-choice prompts.

    Args:
        llm: The language model (FunctionLLM, HFCausalLM, an endpoint, a cached one).
        scoring: Which answer is the prediction (``correct``); the other is recorded too.
        decoding: Decoding of the generated answer.
        name: Name in the store (the language model's by default).
        batch_size: Prompts per call of the language model.
    """

    def __init__(
        self,
        llm: LanguageModel,
        *,
        scoring: str = "auto",
        decoding: Decoding | None = None,
        name: str | None = None,
        batch_size: int = 32,
    ) -> None:
        if not isinstance(llm, LanguageModel):
            raise ConfigError(
                f"LLMModel wraps a robustlab.llm.LanguageModel; got a {type(llm).__name__}."
            )
        validation.check_choice("LLMModel", "scoring", scoring, SCORINGS)
        if scoring == "logprob" and "logprobs" not in llm.capabilities:
            raise ConfigError(
                f"{type(llm).__name__} {llm.name!r} gives no log-probabilities; use "
                "scoring='generate' (or 'auto')."
            )
        super().__init__(
            name=name or llm.name,
            modality="llm",
            num_classes=None,
            bounds=None,
            output="labels",
            batch_size=batch_size,
            device="cpu",
            task="multiple_choice",
        )
        self.llm = llm
        self.scoring = scoring
        self.decoding = decoding or MC_DECODING

    @property
    def primary(self) -> str:
        """The scoring that decides ``correct``: ``logprob`` or ``generate``."""
        if self.scoring == "auto":
            return "logprob" if "logprobs" in self.llm.capabilities else "generate"
        return self.scoring

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.llm.capabilities)

    def _forward_batch(self, inputs: Any) -> Any:
        return self.answer(inputs)

    def answer(self, queries: Sequence[MCQuery]) -> list[Any]:
        """One MCAnswer per query, by generated letter and (where available) by log-probability."""
        from robustlab.tasks.multiple_choice import MCAnswer

        queries = list(queries)
        for i, q in enumerate(queries):
            if not isinstance(q, MCQuery):
                raise DataError(
                    f"Model {self.name!r} answers MCQuery inputs (multiple-choice datasets, "
                    f"robustlab.llm.MCDataset); input {i} is a {type(q).__name__}."
                )
        out: list[Any] = []
        for start in range(0, len(queries), self.batch_size):
            chunk = queries[start : start + self.batch_size]
            prompts = [q.prompt() for q in chunk]
            texts = [p.text for p in prompts]
            completions = self.llm.generate(texts, self.decoding)
            logprobs: list[np.ndarray | None] = [None] * len(chunk)
            if "logprobs" in self.llm.capabilities:
                score_batch = getattr(self.llm, "score_batch", None)
                conts = [p.continuations for p in prompts]
                if callable(score_batch):
                    logprobs = list(score_batch(texts, conts))
                else:
                    logprobs = [self.llm.continuation_logprobs(t, c) for t, c in zip(texts, conts)]
            for q, p, comp, lp in zip(chunk, prompts, completions, logprobs):
                text = comp[0].text if comp else ""
                out.append(
                    MCAnswer(
                        target=p.target,
                        num_options=len(p.labels),
                        generated=parse_answer(text, p.labels, p.options),
                        completion=text,
                        logprobs=None if lp is None else tuple(float(x) for x in lp),
                        order=q.order,
                        variant=q.variant,
                        scoring=self.primary,
                    )
                )
        return out

    def fingerprint(self) -> str:
        return self._hash(
            "LLMModel", self.llm.fingerprint(), self.decoding.key(), f"scoring={self.scoring}"
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "llm": self.llm.describe(),
            "scoring": self.primary,
            "decoding": self.decoding.key(),
        }


def as_llm_model(obj: Any, **kwargs: Any) -> LLMModel:
    """``obj`` (a LanguageModel or an LLMModel) as the scan's model."""
    if isinstance(obj, LLMModel):
        return obj
    return LLMModel(obj, **kwargs)
