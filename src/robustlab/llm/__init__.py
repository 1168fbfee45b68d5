"""Language-model robustness: prompts, formats, option order, code generation (issue 18)."""

from robustlab.llm.base import Completion, Decoding, LanguageModel

__all__ = ["Completion", "Decoding", "LanguageModel"]
