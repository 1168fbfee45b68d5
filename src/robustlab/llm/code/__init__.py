"""Code generation: sandboxed test runs, pass@k, ReCode's perturbations, bundled problems."""

from robustlab.llm.code.evaluate import (
    CODE_DECODING,
    DEFAULT_PERTURBATIONS,
    CodeEvaluation,
    CodeSample,
    evaluate_code,
)
from robustlab.llm.code.passk import pass_at_k, pass_at_k_per_problem, robust_pass_at_k
from robustlab.llm.code.perturb import CODE_PERTURBATIONS, CodePerturbation, rename_variables
from robustlab.llm.code.problems import PROBLEMS, CodeProblem, problems
from robustlab.llm.code.sandbox import TestOutcome, run_tests

__all__ = [
    "CODE_DECODING",
    "CODE_PERTURBATIONS",
    "DEFAULT_PERTURBATIONS",
    "PROBLEMS",
    "CodeEvaluation",
    "CodePerturbation",
    "CodeProblem",
    "CodeSample",
    "TestOutcome",
    "evaluate_code",
    "pass_at_k",
    "pass_at_k_per_problem",
    "problems",
    "rename_variables",
    "robust_pass_at_k",
    "run_tests",
]
