"""Language-model robustness: prompts, formats, option order, code generation (issue 18).

``FunctionLLM`` and ``HFCausalLM`` (:mod:`robustlab.llm.models`) implement
:class:`LanguageModel`; ``LLMModel`` makes one the model under test of a scan, on an
``MCDataset`` of multiple-choice items, with the ``llm-standard`` suite::

    from robustlab import scan
    from robustlab.llm import HFCausalLM, MCDataset
    result = scan(HFCausalLM.from_directory("model/"), MCDataset(items), "llm-standard")
"""

from robustlab.llm.base import Completion, Decoding, LanguageModel

__all__ = [
    "Completion",
    "Decoding",
    "FunctionLLM",
    "HFCausalLM",
    "LLMModel",
    "LanguageModel",
    "MCDataset",
    "MCItem",
    "MCQuery",
    "PromptFormat",
]


def __getattr__(name: str) -> object:
    # the adapters import torch / transformers lazily: importing robustlab.llm stays cheap
    if name in ("FunctionLLM", "HFCausalLM"):
        from robustlab.llm import models

        return getattr(models, name)
    if name == "LLMModel":
        from robustlab.llm.adapter import LLMModel

        return LLMModel
    if name == "MCDataset":
        from robustlab.llm.data import MCDataset

        return MCDataset
    if name in ("MCItem", "MCQuery", "PromptFormat"):
        from robustlab.llm import prompts

        return getattr(prompts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
