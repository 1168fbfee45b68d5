"""Small offline builders shared by the core tests: records, tiny models and stores."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from robustlab.records import Records

CLEAN_SUITE: dict[str, Any] = {"name": "t", "version": 1, "probes": ["clean"]}


def random_records(
    n: int = 50, k: int = 4, seed: int = 0, *, perturbed: bool = True, task: str = "classification"
) -> Records:
    """Records from random probabilities over ``k`` classes, with group and domain columns (of
    another task: random outputs of that task, see :func:`random_outputs`)."""
    if task != "classification":
        return _random_task_records(task, n, seed, perturbed)
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    targets = rng.integers(0, k, size=n)
    ids = [f"ex-{i}" for i in range(n)]
    meta = {
        "group": [f"g{i % 3}" for i in range(n)],
        "domain": ["id" if i % 2 else "shifted" for i in range(n)],
    }
    pert = rng.uniform(0.0, 0.1, size=n) if perturbed else None
    value = rng.uniform(0.0, 1.0, size=n) if perturbed else None
    reference = rng.integers(0, k, size=n) if perturbed else None
    queries = rng.integers(1, 500, size=n).astype(float) if perturbed else None
    similarity = rng.uniform(0.5, 1.0, size=n) if perturbed else None
    return Records.from_probabilities(
        probs,
        targets,
        ids,
        meta=meta,
        perturbation=pert,
        value=value,
        reference=reference,
        queries=queries,
        similarity=similarity,
    )


def random_outputs(task: str, n: int, seed: int = 0) -> tuple[Any, Any]:
    """Random model outputs and valid targets of ``task`` for ``n`` examples."""
    rng = np.random.default_rng(seed)
    if task == "regression":
        targets = rng.normal(10.0, 3.0, size=n)
        return targets + rng.normal(0.0, 1.0, size=n), targets
    if task == "ranking":
        scores = rng.normal(size=(n, 12))
        grades = [
            {str(j): int(rng.integers(0, 3)) for j in rng.choice(12, 4, replace=False)}
            for _ in range(n)
        ]
        for g in grades:  # at least one relevant document per query
            g.setdefault("0", 1)
            g["0"] = max(g["0"], 1)
        return scores, grades
    if task == "certified_classification":
        logits = rng.normal(size=(n, 4))
        return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), rng.integers(0, 4, n)
    if task == "multiple_choice":
        from robustlab.tasks.multiple_choice import MCAnswer

        targets = rng.integers(0, 4, size=n)
        out = np.empty(n, dtype=object)
        out[:] = [
            MCAnswer(int(t), 4, int(rng.integers(-1, 4)), "", tuple(rng.normal(size=4)))
            for t in targets
        ]
        return out, targets
    if task == "code_generation":
        from robustlab.tasks.code_generation import CodeOutput

        targets = ["assert f() == 1\n"] * n
        out = np.empty(n, dtype=object)
        out[:] = [
            CodeOutput((f"def f():\n    return {int(rng.integers(0, 2))}\n",), ("",))
            for _ in range(n)
        ]
        return out, targets
    raise ValueError(f"no random outputs for task {task!r}")


def _random_task_records(task: str, n: int, seed: int, perturbed: bool) -> Records:
    from robustlab.tasks import get_task

    rng = np.random.default_rng(seed + 1)
    outputs, targets = random_outputs(task, n, seed)
    extra: dict[str, Any] = {}
    if perturbed:
        extra = {
            "perturbation": rng.uniform(0.0, 0.1, size=n),
            "value": rng.uniform(0.0, 1.0, size=n),
            "queries": rng.integers(1, 500, size=n).astype(float),
            "similarity": rng.uniform(0.5, 1.0, size=n),
        }
    if task == "ranking" and perturbed:  # agreement with the clean rankings
        extra.update(kendall_tau=rng.uniform(-1.0, 1.0, size=n), rbo=rng.uniform(0.0, 1.0, size=n))
    if task == "certified_classification":  # a smoothed classifier's certificates
        radius = np.where(rng.uniform(size=n) < 0.2, 0.0, rng.uniform(0.0, 1.5, size=n))
        extra.update(radius=radius, abstained=radius == 0.0, verified=radius >= 0.5)
    return get_task(task).records(
        outputs,
        targets,
        [f"ex-{i}" for i in range(n)],
        meta={
            "group": [f"g{i % 3}" for i in range(n)],
            "domain": ["id" if i % 2 else "shifted" for i in range(n)],
        },
        **extra,
    )


class TinyLinear(nn.Module):
    """A linear classifier on flattened 1x8x8 inputs."""

    def __init__(self, num_classes: int = 10, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def fit_logreg(max_iter: int = 300) -> Any:
    """A LogisticRegression fitted on the flattened digits training split."""
    from sklearn.linear_model import LogisticRegression

    from robustlab.data import load_digits

    train = load_digits("train")
    clf = LogisticRegression(max_iter=max_iter)
    clf.fit(train.inputs.reshape(len(train), -1).numpy(), train.targets)
    return clf
