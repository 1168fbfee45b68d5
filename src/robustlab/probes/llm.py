"""The LLM prompt probe: every example under a family of prompt variants, the clean prompt too.

One probe measures one family (``format``, ``instruction``, ``shot_order``, ``option_order``,
``text``, ``mild_mix``): each example is answered under the clean prompt and under every variant
of the family, all recorded with their ``variant``, so the multiple-choice metrics (PDR, worst
variant, spread, consistency, RStd, PriDe) compare the same examples (paired).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, NotApplicable, Probe, predict_records
from robustlab.records import Records

__all__ = ["FAMILIES", "LLMPrompts"]

FAMILIES = ("format", "instruction", "shot_order", "option_order", "text", "mild_mix")

#: Text transformations of the ``text`` family by default (typos and character noise).
DEFAULT_TEXT = ("typo_keyboard", "typo_swap", "homoglyph", "casing", "whitespace", "punctuation")

#: Metrics of the probe's records.
LLM_METRICS = (
    "mc_accuracy",
    "clean_mc_accuracy",
    "pdr",
    "worst_variant_accuracy",
    "variant_range",
    "variant_std",
    "answer_consistency",
    "generate_logprob_disagreement",
    "rstd",
    "pride_accuracy",
)


@PROBES.register("llm_prompts")
@dataclass(frozen=True)
class LLMPrompts(Probe):
    """A language model under one family of prompt variants (formats, instruction paraphrases,
    few-shot order, option order, text perturbations, HELM's mild mix), clean prompt included.

    Parameters:
        family: The variant family.
        variants: Comma-separated variant names: format names, instruction template indices,
            text transformation names (default: the family's built-in set).
        templates: For ``instruction``: a file with one user instruction template per line
            (``{subject}`` is the item's subject), used in addition to the built-in set.
        mode: For ``option_order``: ``cyclic`` (every shift) or ``full`` (every permutation,
            or ``count`` random ones when there are more).
        count: Variants drawn where the family is random (shot orders, permutations, mild mix).
        rate: Rate of the text transformations.
    """

    family: str = "format"
    variants: str = ""
    templates: str = ""
    mode: str = "cyclic"
    count: int = 3
    rate: float = 0.2

    name: ClassVar[str] = "llm_prompts"
    axis: ClassVar[str] = "llm"
    tasks: ClassVar[tuple[str, ...]] = ("multiple_choice",)
    modalities: ClassVar[tuple[str, ...]] = ("llm",)
    covers_batch: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = LLM_METRICS

    def __post_init__(self) -> None:
        from robustlab.validation import check_choice, check_int

        check_choice(f"probe {self.name!r}", "family", self.family, FAMILIES)
        check_choice(f"probe {self.name!r}", "mode", self.mode, ("cyclic", "full"))
        check_int(f"probe {self.name!r}", "count", self.count)
        self.perturbations()  # refuses unknown variants before any work

    @property
    def label(self) -> str:
        if self.family == "option_order":
            return f"llm option order ({self.mode})"
        return f"llm {self.family.replace('_', ' ')}"

    def perturbations(self, num_options: int = 4, num_shots: int = 2) -> list[Any]:
        """The family's variants as prompt perturbations."""
        from robustlab.llm.prompts import BUILTIN_INSTRUCTIONS, FORMATS
        from robustlab.perturbations import PERTURBATIONS

        build = PERTURBATIONS.build
        names = [v.strip() for v in self.variants.split(",") if v.strip()]
        if self.family == "format":
            return [build("prompt_format", format=f) for f in names or list(FORMATS)[1:]]
        if self.family == "instruction":
            picked = [int(i) for i in names] if names else list(range(1, len(BUILTIN_INSTRUCTIONS)))
            out = [build("instruction", index=i) for i in picked]
            return out + [build("instruction", template=t) for t in self._templates()]
        if self.family == "shot_order":
            return [build("shot_order", mode="reverse")] + [
                build("shot_order", mode="shuffle") for _ in range(max(0, self.count - 1))
            ]
        if self.family == "option_order":
            if self.mode == "cyclic":
                return [
                    build("option_order", mode="cyclic", shift=s) for s in range(1, num_options)
                ]
            return [build("option_order", mode="random") for _ in range(self.count)]
        if self.family == "text":
            return [
                build("prompt_text", transformation=t, rate=self.rate)
                for t in names or DEFAULT_TEXT
            ]
        return [build("mild_mix") for _ in range(self.count)]

    def _templates(self) -> list[str]:
        if not self.templates:
            return []
        path = Path(self.templates)
        if not path.is_file():
            raise ConfigError(
                f"The 'templates' of probe {self.name!r} must be a file of instruction templates, "
                f"one per line; {path} does not exist."
            )
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]

    def applicable(self, model: Model, dataset: Dataset) -> None:
        super().applicable(model, dataset)
        if self.family == "shot_order" and len(getattr(dataset, "shots", ())) < 2:
            raise NotApplicable(
                f"{self.key}: dataset {dataset.name!r} has fewer than 2 few-shot examples to "
                "reorder; pass shots= to the dataset"
            )

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        queries = list(batch.inputs)
        k = max(len(q.item.options) for q in queries) if queries else 4
        parts = [_with_variant(predict_records(model, queries, batch), "clean")]
        variant_inputs: list[tuple[str, list[Any], np.ndarray]] = []
        if self.family == "option_order" and self.mode == "full":
            variant_inputs = self._permutations(queries, k, seed)
        else:
            for j, p in enumerate(self.perturbations(k)):
                out = p.apply(queries, seed=seed + 7919 * (j + 1))
                label = p.variant if not p.random else f"{p.variant} #{j}"
                variant_inputs.append((label, list(out.inputs), out.size))
        for label, inputs, size in variant_inputs:
            inputs = [q.replace(variant=label) for q in inputs]
            parts.append(
                _with_variant(predict_records(model, inputs, batch, perturbation=size), label)
            )
        return Records.concat(parts)

    def _permutations(
        self, queries: list[Any], k: int, seed: int
    ) -> list[tuple[str, list[Any], np.ndarray]]:
        perms = [p for p in itertools.permutations(range(k)) if list(p) != list(range(k))]
        if len(perms) > self.count:
            rng = np.random.default_rng(seed)
            perms = [perms[i] for i in sorted(rng.choice(len(perms), self.count, replace=False))]
        out = []
        for perm in perms:
            label = "options=" + "".join(str(j) for j in perm)
            inputs = [
                q.replace(order=tuple(perm)) if len(q.item.options) == k else q for q in queries
            ]
            moved = np.full(len(queries), sum(a != b for a, b in enumerate(perm)) / k)
            out.append((label, inputs, moved))
        return out

    @classmethod
    def example(cls) -> LLMPrompts:
        return cls(family="option_order")


def _with_variant(records: Records, label: str) -> Records:
    """The records with every row's ``variant`` set to ``label`` (queries a variant left
    unchanged are still that variant's rows)."""
    records.fields["variant"] = np.array([label] * len(records), dtype=object)
    return records
