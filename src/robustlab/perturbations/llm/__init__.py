"""Prompt-level perturbations of multiple-choice queries (the ``llm`` modality): text
transformations of the question, HELM's mild mix, instruction paraphrases, prompt formats,
few-shot order and option order. Each takes and returns :class:`~robustlab.llm.prompts.MCQuery`
lists; one plugin per file."""

from robustlab.perturbations.llm._base import PromptPerturbation
from robustlab.registry import import_submodules

import_submodules(__name__)  # every plugin module registers its perturbation

__all__ = ["PromptPerturbation"]
