"""The code-generation robustness probe: pass@k on nominal and ReCode-perturbed prompts.

Wang et al., "ReCode: Robustness Evaluation of Code Generation Models", ACL 2023 (robust pass@k,
robust drop); pass@k by the unbiased estimator of Chen et al., 2021.

Two entry points:

- ``llm_code`` (:class:`LLMCodeProbe`, registered): one probe per perturbation in a scan of a
  :class:`~robustlab.llm.code.scan.CodeModel` on a :class:`~robustlab.llm.code.scan.CodeDataset`
  (task ``code_generation``); records per problem, metric ``pass_at_k``.
- :class:`LLMCode`: every variant at once on a LanguageModel (no scan), with nominal pass@k,
  pass@k per variant and robust pass@k (the worst case over variants) with intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from robustlab import validation
from robustlab.data.base import Batch
from robustlab.errors import ConfigError
from robustlab.llm.base import Decoding, LanguageModel
from robustlab.llm.code.evaluate import (
    CODE_STOP,
    DEFAULT_PERTURBATIONS,
    CodeEvaluation,
    evaluate_code,
)
from robustlab.llm.code.perturb import CODE_PERTURBATIONS, check_perturbation, code_perturbation
from robustlab.llm.code.problems import CodeProblem
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, Probe, predict_records
from robustlab.records import Records


@PROBES.register("llm_code")
@dataclass(frozen=True)
class LLMCodeProbe(Probe):
    """Generated code on prompts changed by one ReCode perturbation (``none``: the nominal
    prompts); each problem's samples are tested in the sandbox (Wang et al., ReCode, ACL 2023)."""

    perturbation: str = "none"

    name = "llm_code"
    axis = "llm"
    kind = "llm_code"
    tasks: ClassVar[tuple[str, ...]] = ("code_generation",)
    modalities: ClassVar[tuple[str, ...]] = ("llm",)
    metrics: ClassVar[tuple[str, ...]] = ("pass_at_k",)

    def __post_init__(self) -> None:
        if self.perturbation != "none":
            CODE_PERTURBATIONS.get(self.perturbation)

    @classmethod
    def example(cls) -> LLMCodeProbe:
        return cls(perturbation="rename")

    @property
    def label(self) -> str:
        return f"code: {self.perturbation}"

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        items = list(batch.inputs)
        if self.perturbation != "none":
            pert = code_perturbation(self.perturbation)
            items = [
                dataclasses.replace(
                    p, prompt=pert.apply(p.prompt, p.entry_point, seed=seed * 1_000_003 + i).prompt
                )
                for i, p in enumerate(items)
            ]
        return predict_records(model, items, batch)


__all__ = ["LLMCode", "LLMCodeProbe"]


@dataclass(frozen=True)
class LLMCode:
    """pass@k of generated code on the nominal prompts and under ReCode's perturbations.

    Args:
        perturbations: Code perturbation names (see ``CODE_PERTURBATIONS``).
        k: The k of pass@k (at most ``num_samples``).
        num_samples: Completions per prompt (n of the estimator).
        temperature: Sampling temperature (0: greedy, then ``num_samples`` should be 1).
        max_new_tokens: Longest completion.
        timeout: Wall-clock (and CPU) seconds per test run.
        memory_mb: Memory limit per test run.
    """

    perturbations: tuple[str, ...] = DEFAULT_PERTURBATIONS
    k: int = 1
    num_samples: int = 1
    temperature: float = 0.0
    max_new_tokens: int = 256
    timeout: float = 5.0
    memory_mb: int = 512

    name: ClassVar[str] = "llm_code"
    axis: ClassVar[str] = "code generation"
    tasks: ClassVar[tuple[str, ...]] = ("code_generation",)

    def __post_init__(self) -> None:
        owner = "probe 'llm_code'"
        object.__setattr__(self, "perturbations", tuple(self.perturbations))
        for p in self.perturbations:
            check_perturbation(p)
        validation.check_int(owner, "k", self.k)
        validation.check_int(owner, "num_samples", self.num_samples)
        if self.k > self.num_samples:
            raise ConfigError(
                f"The 'k' parameter of {owner} must be at most num_samples ({self.num_samples}): "
                f"pass@{self.k} needs {self.k} samples per prompt. Raise num_samples."
            )
        validation.check_number(owner, "temperature", self.temperature, low_inclusive=True)
        validation.check_int(owner, "max_new_tokens", self.max_new_tokens)
        validation.check_number(owner, "timeout", self.timeout)
        validation.check_int(owner, "memory_mb", self.memory_mb, 16)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> LLMCode:
        """From a suite entry ``{"probe": "llm_code", **params}``."""
        params = {k: v for k, v in spec.items() if k != "probe"}
        if spec.get("probe", cls.name) != cls.name:
            raise ConfigError(f"Not an {cls.name!r} probe spec: {dict(spec)!r}.")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - fields)
        if unknown:
            raise ConfigError(
                f"Unknown parameter {unknown[0]!r} of probe 'llm_code'; it takes "
                f"{', '.join(sorted(fields))}."
            )
        if isinstance(params.get("perturbations"), str):
            params["perturbations"] = tuple(params["perturbations"].split(","))
        return cls(**params)

    @property
    def spec(self) -> dict[str, Any]:
        return {"probe": self.name, **dataclasses.asdict(self)}

    @property
    def key(self) -> str:
        return (
            f"{self.name}(k={self.k},n={self.num_samples},"
            f"perturbations={'+'.join(self.perturbations)})"
        )

    @property
    def decoding(self) -> Decoding:
        return Decoding(
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            stop=CODE_STOP,
            num_samples=self.num_samples,
        )

    def run(
        self, model: LanguageModel, problems: Sequence[CodeProblem] | None = None, seed: int = 0
    ) -> CodeEvaluation:
        """Generate, test and keep every sample (wrap ``model`` in CachedLLM to cache)."""
        return evaluate_code(
            model,
            problems,
            self.perturbations,
            decoding=self.decoding,
            seed=seed,
            timeout=self.timeout,
            memory_mb=self.memory_mb,
        )

    def metrics(self, evaluation: CodeEvaluation, seed: int = 0) -> dict[str, dict[str, Any]]:
        """``pass@k`` (nominal), ``pass@k[variant]`` per perturbation, ``robust_pass@k`` (worst
        case over every variant) and per ReCode family, each ``{value, ci_low, ci_high, n}``;
        the robust ones add ``robust_drop``."""
        k = self.k
        out: dict[str, dict[str, Any]] = {f"pass@{k}": evaluation.pass_at(k, seed=seed)}
        for v in evaluation.variants[1:]:
            out[f"pass@{k}[{v}]"] = evaluation.pass_at(k, v, seed=seed)
        if len(evaluation.variants) > 1:
            out[f"robust_pass@{k}"] = evaluation.robust_pass_at(k, seed=seed)
            for fam in sorted({evaluation.families[v] for v in evaluation.variants[1:]}):
                out[f"robust_pass@{k}[{fam}]"] = evaluation.robust_pass_at(k, family=fam, seed=seed)
        return out
