"""Command-line specs of language models and multiple-choice data.

``--model hf:DIR`` loads a local ``transformers`` causal LM (``hf:tiny``: the tiny trained model,
trained once into the user cache); ``--data mc:FILE.jsonl`` reads multiple-choice items
(``mc:lookup``: the tiny model's fact-lookup test set).
"""

from __future__ import annotations

from typing import Any

__all__ = ["llm_dataset", "llm_model"]


def llm_model(spec: str) -> Any:
    """The LLMModel of an ``hf:`` spec, or None for any other spec."""
    if not spec.startswith("hf:"):
        return None
    from robustlab.llm.adapter import LLMModel
    from robustlab.llm.models import HFCausalLM

    path = spec[3:]
    if path == "tiny":
        from robustlab.llm.tiny import tiny_model

        return LLMModel(HFCausalLM.from_directory(tiny_model(), name="tiny-llama"))
    return LLMModel(HFCausalLM.from_directory(path))


def llm_dataset(spec: str) -> Any:
    """The MCDataset of an ``mc:`` spec, or None for any other spec."""
    if not spec.startswith("mc:"):
        return None
    from robustlab.llm.data import MCDataset, lookup_dataset

    path = spec[3:]
    return lookup_dataset() if path == "lookup" else MCDataset.from_jsonl(path)
