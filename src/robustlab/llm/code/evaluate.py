"""Code generation under ReCode perturbations: generate, run the tests in the sandbox, pass@k.

:func:`evaluate_code` asks the model once for every (problem, variant) prompt, one call for
all of them (so a :class:`~robustlab.llm.cache.CachedLLM` pays once), runs each completion's
tests in a sandboxed subprocess (:func:`~robustlab.llm.code.sandbox.run_tests`) and returns
every sample with its outcome. pass@k per variant and ReCode's robust pass@k (the worst case
over the perturbed variants) come with percentile-bootstrap intervals over problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from robustlab import validation
from robustlab.errors import ConfigError, ModelError
from robustlab.llm.base import Completion, Decoding, LanguageModel
from robustlab.llm.code.passk import pass_at_k_per_problem, robust_drop
from robustlab.llm.code.perturb import CodePerturbation, check_perturbation
from robustlab.llm.code.problems import CodeProblem, check_problems, problems
from robustlab.llm.code.sandbox import run_tests

__all__ = [
    "CODE_DECODING",
    "CODE_STOP",
    "DEFAULT_PERTURBATIONS",
    "CodeEvaluation",
    "CodeSample",
    "evaluate_code",
]

#: Where a function's completion ends (HumanEval's stop sequences).
CODE_STOP = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ")
CODE_DECODING = Decoding(max_new_tokens=256, temperature=0.0, stop=CODE_STOP)

#: One perturbation of each of ReCode's classes, and every format change.
DEFAULT_PERTURBATIONS = (
    "docstring",
    "rename",
    "newline_insertion",
    "tab_indent",
    "doc_to_comments",
    "line_split",
)

NOMINAL = "nominal"


@dataclass(frozen=True)
class CodeSample:
    """One completion of one variant of one problem, with its test outcome."""

    task_id: str
    variant: str
    family: str
    sample: int
    prompt: str
    completion: str
    passed: bool
    reason: str
    message: str
    output: str
    seconds: float
    changed: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _interval(per_problem: np.ndarray, seed: int) -> tuple[float, float]:
    from robustlab.metrics.base import bootstrap_ci

    if len(per_problem) < 2:
        v = float(per_problem.mean()) if len(per_problem) else float("nan")
        return v, v
    return bootstrap_ci(per_problem, seed=seed)


@dataclass
class CodeEvaluation:
    """Every sample of a code evaluation and the pass@k figures derived from them.

    Attributes:
        samples: One :class:`CodeSample` per (problem, variant, sample).
        task_ids: The problems, in order.
        variants: ``nominal`` first, then each perturbation's label.
        families: ReCode's class of each variant (``nominal`` for the nominal prompt).
        num_samples: Completions per prompt.
    """

    samples: list[CodeSample]
    task_ids: list[str]
    variants: list[str]
    families: dict[str, str] = field(default_factory=dict)
    num_samples: int = 1

    def correct(self) -> np.ndarray:
        """``(problems, variants, samples)`` booleans: whether each sample passed its tests."""
        out = np.zeros((len(self.task_ids), len(self.variants), self.num_samples), dtype=bool)
        pi = {t: i for i, t in enumerate(self.task_ids)}
        vi = {v: i for i, v in enumerate(self.variants)}
        for s in self.samples:
            out[pi[s.task_id], vi[s.variant], s.sample] = s.passed
        return out

    def _per_problem(self, correct: np.ndarray, k: int) -> np.ndarray:
        n = correct.shape[-1]
        return np.array([pass_at_k_per_problem(n, int(row.sum()), k) for row in correct])

    def pass_at(self, k: int = 1, variant: str = NOMINAL, *, seed: int = 0) -> dict[str, float]:
        """pass@k on one variant: ``value``, ``ci_low``, ``ci_high``, ``n`` (problems)."""
        if variant not in self.variants:
            raise ConfigError(
                f"No variant {variant!r} in this evaluation; it has {', '.join(self.variants)}."
            )
        per = self._per_problem(self.correct()[:, self.variants.index(variant)], k)
        low, high = _interval(per, seed)
        return {"value": float(per.mean()), "ci_low": low, "ci_high": high, "n": len(per)}

    def robust_pass_at(
        self, k: int = 1, *, family: str | None = None, seed: int = 0
    ) -> dict[str, float]:
        """ReCode's robust pass@k: a sample counts only if it passes on every perturbed variant
        (of ``family``, or all of them), with its interval and the robust drop."""
        chosen = [
            i
            for i, v in enumerate(self.variants)
            if v != NOMINAL and (family is None or self.families.get(v) == family)
        ]
        if not chosen:
            raise ConfigError(
                f"No perturbed variants{'' if family is None else f' of family {family!r}'} in "
                "this evaluation; pass perturbations to evaluate_code."
            )
        worst = np.asarray(self.correct()[:, chosen].all(axis=1), dtype=bool)
        per = self._per_problem(worst, k)
        low, high = _interval(per, seed)
        nominal = self.pass_at(k, seed=seed)["value"]
        value = float(per.mean())
        return {
            "value": value,
            "ci_low": low,
            "ci_high": high,
            "n": len(per),
            "variants": len(chosen),
            "robust_drop": robust_drop(nominal, value),
        }

    def failures(self, variant: str | None = None) -> list[CodeSample]:
        """The samples that failed (of one variant, or all), with their reason and output."""
        return [s for s in self.samples if not s.passed and variant in (None, s.variant)]

    def failure_rows(self, limit: int = 20) -> list[dict[str, Any]]:
        """Rows for a report: the failed samples of perturbed variants whose nominal prompt
        passed first (what the perturbation broke), then the others, each with its reason,
        message and the end of its test output."""
        passed_nominal = {
            (s.task_id, s.sample) for s in self.samples if s.variant == NOMINAL and s.passed
        }
        failed = self.failures()
        failed.sort(
            key=lambda s: ((s.task_id, s.sample) not in passed_nominal, s.variant == NOMINAL)
        )
        return [
            {
                "task_id": s.task_id,
                "variant": s.variant,
                "family": s.family,
                "sample": s.sample,
                "reason": s.reason,
                "message": s.message,
                "output": s.output[-1000:],
                "prompt": s.prompt,
                "completion": s.completion,
                "broken_by_perturbation": (s.task_id, s.sample) in passed_nominal,
            }
            for s in failed[:limit]
        ]

    def reasons(self) -> dict[str, int]:
        """How many samples ended with each reason (passed, assertion, error, timeout, memory)."""
        out: dict[str, int] = {}
        for s in self.samples:
            out[s.reason] = out.get(s.reason, 0) + 1
        return out

    def summary(self, k: int = 1) -> dict[str, Any]:
        """A JSON-ready table: pass@k per variant and robust pass@k per family and overall."""
        rows = {v: self.pass_at(k, v) for v in self.variants}
        out: dict[str, Any] = {"k": k, "pass_at_k": rows, "reasons": self.reasons()}
        if len(self.variants) > 1:
            out["robust_pass_at_k"] = self.robust_pass_at(k)
            out["robust_by_family"] = {
                f: self.robust_pass_at(k, family=f)
                for f in sorted({self.families[v] for v in self.variants if v != NOMINAL})
            }
        return out


def evaluate_code(
    model: LanguageModel,
    items: Sequence[CodeProblem] | None = None,
    perturbations: Sequence[str | CodePerturbation | dict[str, Any]] = DEFAULT_PERTURBATIONS,
    *,
    decoding: Decoding = CODE_DECODING,
    seed: int = 0,
    timeout: float = 5.0,
    memory_mb: int = 512,
    workers: int = 2,
) -> CodeEvaluation:
    """Generate completions for every problem's nominal and perturbed prompts and run the tests.

    Args:
        model: Any language model (wrap it in :class:`~robustlab.llm.cache.CachedLLM` to cache).
        items: The problems (default: the bundled :data:`~robustlab.llm.code.problems.PROBLEMS`).
        perturbations: Code perturbations (names, instances or ``{"name": ..., **params}``).
        decoding: Decoding parameters; ``num_samples`` completions per prompt (n of pass@k).
        seed: Seed of the perturbations (each problem draws from ``seed`` and its position).
        timeout: Wall-clock seconds per test run (also its CPU-time limit).
        memory_mb: Memory limit per test run.
        workers: Test runs at once (each a subprocess).
    """
    if not isinstance(model, LanguageModel):
        raise validation.fail(
            "evaluate_code", "model", "a robustlab.llm.LanguageModel", type(model).__name__
        )
    chosen = check_problems(problems() if items is None else items)
    perts = [check_perturbation(p) for p in perturbations]
    labels = [p.label for p in perts]
    if len(set(labels)) != len(labels):
        raise ConfigError(
            f"evaluate_code: two perturbations share a label ({labels}); give each other "
            "parameters or list it once."
        )
    validation.check_int("evaluate_code", "workers", workers)
    variants = [NOMINAL, *labels]
    families = {NOMINAL: NOMINAL, **{p.label: p.family for p in perts}}
    prompts: list[tuple[CodeProblem, str, str, bool]] = []
    for i, prob in enumerate(chosen):
        prompts.append((prob, NOMINAL, prob.prompt, False))
        for p in perts:
            out = p.apply(prob.prompt, prob.entry_point, seed=seed * 1_000_003 + i)
            prompts.append((prob, p.label, out.prompt, out.changed))
    texts = [t for _, _, t, _ in prompts]
    unique = list(dict.fromkeys(texts))
    generated = model.generate(unique, decoding)
    if len(generated) != len(unique):
        raise ModelError(
            f"{type(model).__name__}.generate returned {len(generated)} results for "
            f"{len(unique)} prompts."
        )
    by_prompt: dict[str, list[Completion]] = dict(zip(unique, generated))
    jobs = []
    for prob, variant, text, changed in prompts:
        completions = by_prompt[text]
        if len(completions) != decoding.num_samples:
            raise ModelError(
                f"{type(model).__name__} returned {len(completions)} completions where "
                f"num_samples={decoding.num_samples} were asked for."
            )
        for j, c in enumerate(completions):
            jobs.append((prob, variant, text, changed, j, c))

    def run(job: tuple[CodeProblem, str, str, bool, int, Completion]) -> CodeSample:
        prob, variant, text, changed, j, c = job
        completion = c.text if isinstance(c.text, str) else ""
        outcome = run_tests(text + completion, prob.tests, timeout=timeout, memory_mb=memory_mb)
        return CodeSample(
            prob.task_id,
            variant,
            families[variant],
            j,
            text,
            completion,
            outcome.passed,
            outcome.reason,
            outcome.message,
            outcome.output,
            outcome.seconds,
            changed or variant == NOMINAL,
        )

    with ThreadPoolExecutor(workers) as pool:
        samples = list(pool.map(run, jobs))
    return CodeEvaluation(
        samples,
        [p.task_id for p in chosen],
        variants,
        families,
        decoding.num_samples,
    )
