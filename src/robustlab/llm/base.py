"""The contracts the LLM package shares: decoding parameters, a completion, a language model.

Every LLM adapter (a user's callable, a local ``transformers`` model, an OpenAI-compatible
endpoint) and the generation cache implement :class:`LanguageModel`, so every LLM probe runs on
any of them.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Completion", "Decoding", "LanguageModel"]


@dataclass(frozen=True)
class Decoding:
    """Decoding parameters; part of the generation cache key."""

    max_new_tokens: int = 32
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 0
    num_samples: int = 1

    def key(self) -> str:
        """A stable string of these parameters (for cache keys)."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Completion:
    """One generated completion: its text, optional total log-probability, why it stopped."""

    text: str
    logprob: float | None = None
    finish_reason: str = "stop"


class LanguageModel(ABC):
    """A language model under test.

    Attributes:
        name: Human-readable name, used in the store and the report.
        context_length: The longest prompt (in tokens) the model takes, if known.
    """

    name: str = "llm"
    context_length: int | None = None

    @abstractmethod
    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        """``decoding.num_samples`` completions for each prompt (outer list: one per prompt)."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A stable hash of everything that decides the completions (weights, endpoint, model)."""

    @property
    def capabilities(self) -> frozenset[str]:
        """``logprobs`` when :meth:`continuation_logprobs` is available."""
        return frozenset()

    def continuation_logprobs(self, prompt: str, continuations: Sequence[str]) -> np.ndarray:
        """``log p(continuation | prompt)`` summed over each continuation's tokens."""
        from robustlab.errors import ModelError

        raise ModelError(
            f"{type(self).__name__} gives no log-probabilities; score multiple choice by the "
            "generated letter instead (scoring='generate')."
        )

    def describe(self) -> dict[str, object]:
        """A JSON-serialisable description stored with every run."""
        return {"name": self.name, "adapter": type(self).__name__}

    @staticmethod
    def hash_parts(*parts: str) -> str:
        """A short stable hash of ``parts`` (for fingerprints)."""
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
