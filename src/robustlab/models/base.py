"""The Model contract every adapter fulfils: modality, classes, bounds, capabilities, scores."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from robustlab import validation
from robustlab.errors import ConfigError, DataError, ModelError

__all__ = ["MODALITIES", "OUTPUTS", "Model", "check_texts", "resolve_device"]

MODALITIES = ("image", "tabular", "text", "ranking", "llm")
OUTPUTS = ("logits", "probabilities", "labels", "values")

Output = Literal["logits", "probabilities", "labels", "values"]


def check_task(task: object, owner: str) -> str:
    """The registered task name ``task``, or a ConfigError listing the tasks."""
    from robustlab.tasks import TASKS

    if not isinstance(task, str) or task not in TASKS:
        raise ConfigError(
            f"The 'task' parameter of {owner} must be one of {list(TASKS.names())}. Got "
            f"{task!r} instead."
        )
    return task


def default_output(task: str) -> str:
    """The ``output`` an adapter declares for ``task`` when none is given."""
    from robustlab.tasks import get_task

    return get_task(task).outputs[0]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn ``"auto"``/``None``/a name into a torch device, failing clearly if it is unavailable."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(
            f"The 'device' parameter must be 'cpu', 'cuda', 'cuda:N' or 'auto'. Got {device!r}."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device='cuda' was requested but no CUDA GPU is visible; use device='cpu'."
        )
    return dev


def check_texts(texts: object, where: str) -> list[str]:
    """``texts`` as a list of str, or a DataError saying which item is not one (a bare str, which
    would be read as a list of characters, is refused too)."""
    if isinstance(texts, str):
        raise DataError(
            f"{where} takes a list of texts, not a single str; wrap it in a list: [text]."
        )
    try:
        items = list(texts)  # type: ignore[call-overload]
    except TypeError:
        raise DataError(
            f"{where} takes a list of str. Got a {type(texts).__name__} instead."
        ) from None
    for i, t in enumerate(items):
        if not isinstance(t, str):
            kind = type(t).__name__
            article = "an" if kind[:1] in "aeiou" else "a"
            raise DataError(
                f"{where}: item {i} is {article} {kind} ({t!r:.40}), not a str; pass text only "
                f"(convert with str() or drop it)."
            )
    return items


def _check_choice(owner: str, param: str, value: object, choices: Sequence[object]) -> None:
    validation.check_choice(owner, param, value, choices)


class Model(ABC):
    """A model under test, seen through one interface whatever its framework.

    Attributes:
        name: Human-readable name, used in the store and the report.
        task: The task the model solves (``classification`` by default, ``regression``, ...;
            see :data:`robustlab.tasks.TASKS`): it decides what the model returns, which records
            its predictions give, and which datasets and metrics fit it.
        modality: One of ``image``, ``tabular``, ``text``, ``ranking``.
        num_classes: Number of output classes, or ``None`` until inferred from a first batch.
        bounds: ``(low, high)`` valid input range for numeric inputs, or ``None`` if unbounded.
        output: What the underlying model returns: ``logits``, ``probabilities`` or ``labels``
            (classification), ``values`` (regression).
        batch_size: How many inputs one forward call receives.
        device: Where tensors are placed for the model.
        trained_on: Name of the data domain the model was trained on, when a shift scan's
            domains include it (e.g. ``"thick-pen"``); ``None`` means the in-distribution set.
            Shift reports use it for the Target Drop: a model trained on a domain gives that
            domain's in-domain reference accuracy.
        robust_intervention: True for a model trained with a robustness intervention
            (adversarial training, heavy augmentation, ...). Effective robustness fits its
            baseline line on the models that are not, as Taori et al. do, and measures these
            against it. Metadata like the name: it is stored with the model, not part of its
            fingerprint.
    """

    kind: ClassVar[str] = "model"
    trained_on: str | None = None
    robust_intervention: bool = False
    task: str = "classification"

    def __init__(
        self,
        *,
        name: str,
        modality: str,
        num_classes: int | None,
        bounds: tuple[float, float] | None,
        output: str,
        batch_size: int,
        device: str | torch.device | None = "cpu",
        task: str = "classification",
    ) -> None:
        owner = type(self).__name__
        task = check_task(task, owner)
        _check_choice(owner, "modality", modality, MODALITIES)
        _check_choice(owner, "output", output, OUTPUTS)
        from robustlab.tasks import get_task

        allowed = get_task(task).outputs
        if output not in allowed:
            raise ConfigError(
                f"The 'output' parameter of {owner} must be one of {list(allowed)} for a {task} "
                f"model. Got {output!r} instead."
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(
                f"The 'batch_size' parameter of {owner} must be a positive int. Got {batch_size!r}."
            )
        if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 2):
            raise ConfigError(
                f"The 'num_classes' parameter of {owner} must be an int >= 2. Got {num_classes!r}."
            )
        if bounds is not None:
            if len(bounds) != 2 or not float(bounds[0]) < float(bounds[1]):
                raise ConfigError(
                    f"The 'bounds' parameter of {owner} must be (low, high) with low < high. "
                    f"Got {bounds!r} instead."
                )
            bounds = (float(bounds[0]), float(bounds[1]))
        self.name = name
        self.task = task
        self.modality = modality
        self.num_classes = num_classes
        self.bounds = bounds
        self.output: Output = output  # type: ignore[assignment]
        self.batch_size = batch_size
        self.device = resolve_device(device)

    # -- what subclasses provide -------------------------------------------------------------
    @abstractmethod
    def _forward_batch(self, inputs: Any) -> Any:
        """Raw outputs of the wrapped model for one batch (no gradient needed)."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A stable hash identifying this model's behaviour (weights, preprocessing, settings)."""

    @property
    def capabilities(self) -> frozenset[str]:
        """What attacks may use: ``gradients`` (white box), ``scores`` (not label-only)."""
        return frozenset() if self.output == "labels" else frozenset({"scores"})

    def _task_parts(self) -> list[str]:
        """What the task adds to the fingerprint: nothing for classification, so the fingerprints
        of classifiers (which resume and baselines match on) are those of earlier releases."""
        return [] if self.task == "classification" else [f"task={self.task}"]

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description stored with every run (``task`` where it is not
        classification)."""
        return {
            "name": self.name,
            **({"task": self.task} if self.task != "classification" else {}),
            "adapter": type(self).__name__,
            "modality": self.modality,
            "num_classes": self.num_classes,
            "bounds": list(self.bounds) if self.bounds else None,
            "output": self.output,
            "batch_size": self.batch_size,
            "capabilities": sorted(self.capabilities),
            **({"trained_on": self.trained_on} if self.trained_on else {}),
            **({"robust_intervention": True} if self.robust_intervention else {}),
        }

    # -- shared behaviour --------------------------------------------------------------------
    def predict_scores(self, inputs: Any) -> torch.Tensor:
        """Validated model outputs ``(N, num_classes)`` as float32 on the CPU, computed in batches.

        Logit models return logits, probability models probabilities and label-only models a
        one-hot encoding of the predicted label.
        """
        if self.output == "values":
            raise ModelError(
                f"Model {self.name!r} is a {self.task} model returning values, not class "
                "scores; use predict_values()."
            )
        return self._batched("predict_scores", inputs, self._as_scores)

    def predict_values(self, inputs: Any) -> torch.Tensor:
        """Validated real-valued predictions ``(N,)`` as float64 on the CPU (regression)."""
        if self.output != "values":
            raise ModelError(
                f"Model {self.name!r} is a {self.task} model returning {self.output}, not one "
                "value per input; use predict_scores() / predict_proba(), or wrap a regressor "
                "with task='regression'."
            )
        return self._batched("predict_values", inputs, self._as_values)

    def predict_outputs(self, inputs: Any) -> np.ndarray:
        """The model's outputs in the form its task's records are built from (class
        probabilities for classification, values for regression)."""
        from robustlab.tasks import get_task

        return get_task(self.task).predict(self, inputs)

    def _batched(self, what: str, inputs: Any, convert: Any) -> torch.Tensor:
        if self.modality == "text":
            inputs = check_texts(inputs, f"{what}() of model {self.name!r}")
        n = len(inputs)
        if n == 0:
            raise ModelError(f"{what}() of model {self.name!r} got an empty batch.")
        outs = []
        with torch.no_grad():
            for start in range(0, n, self.batch_size):
                chunk = inputs[start : start + self.batch_size]
                outs.append(convert(self._forward_batch(chunk), len(chunk)))
        return torch.cat(outs)

    def _as_values(self, raw: Any, n: int) -> torch.Tensor:
        out = torch.as_tensor(np.asarray(raw.detach().cpu() if torch.is_tensor(raw) else raw))
        where = f"Model {self.name!r}"
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1 or out.shape[0] != n:
            raise ModelError(
                f"{where} is a regression model and must return one value per input, shape "
                f"({n},); it returned shape {tuple(out.shape)}."
            )
        if not (out.is_floating_point() or out.dtype in (torch.int32, torch.int64)):
            raise ModelError(f"{where} returned {out.dtype} values; return numbers.")
        out = out.double()
        if not torch.isfinite(out).all():
            bad = int((~torch.isfinite(out)).sum())
            raise ModelError(
                f"{where} returned NaN or infinite values for {bad} of {n} inputs; check the "
                f"model's weights and that inputs are scaled as it expects."
            )
        return out

    def predict_proba(self, inputs: Any) -> torch.Tensor:
        """Class probabilities ``(N, num_classes)`` on the CPU."""
        return self.scores_to_proba(self.predict_scores(inputs))

    def scores_to_proba(self, scores: torch.Tensor) -> torch.Tensor:
        if self.output == "logits":
            return torch.softmax(scores.double(), dim=1).float()
        return scores

    def _as_scores(self, raw: Any, n: int) -> torch.Tensor:
        out = torch.as_tensor(np.asarray(raw.detach().cpu() if torch.is_tensor(raw) else raw))
        where = f"Model {self.name!r}"
        if self.output == "labels":
            if out.ndim != 1 or out.shape[0] != n:
                raise ModelError(
                    f"{where} declares output='labels' and must return one label per input, shape "
                    f"({n},); it returned shape {tuple(out.shape)}. Return class indices, or declare "
                    f"output='logits'/'probabilities' for score matrices."
                )
            if out.is_floating_point() and not torch.equal(out, out.round()):
                raise ModelError(f"{where} returned non-integer labels; return class indices.")
            labels = out.long()
            k = self.num_classes or int(labels.max()) + 1
            if labels.min() < 0 or labels.max() >= k:
                raise ModelError(
                    f"{where} returned labels outside 0..{k - 1}; check num_classes={k}."
                )
            return torch.nn.functional.one_hot(labels, k).float()
        single = out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1)
        if out.ndim != 2 or out.shape[0] != n or single:
            hint = (
                f" It returned one score per {'text' if self.modality == 'text' else 'input'}: "
                "return class probabilities instead, e.g. "
                "for p = P(class 1) of a binary model, np.stack([1 - p, p], axis=1)."
                if single and out.shape[0] == n
                else " Return one row of class scores per input."
            )
            raise ModelError(
                f"{where} must return scores of shape (batch, num_classes) = ({n}, "
                f"{self.num_classes or 'K'}); it returned shape {tuple(out.shape)}.{hint}"
            )
        if self.num_classes is not None and out.shape[1] != self.num_classes:
            raise ModelError(
                f"{where} returned {out.shape[1]} scores per input but num_classes="
                f"{self.num_classes}; pass the matching num_classes or fix the model's last layer."
            )
        out = out.float()
        if not torch.isfinite(out).all():
            bad = int((~torch.isfinite(out)).any(dim=1).sum())
            raise ModelError(
                f"{where} returned NaN or infinite scores for {bad} of {n} inputs; check the "
                f"model's weights and that inputs are scaled as it expects."
            )
        if self.output == "probabilities":
            sums = out.sum(dim=1)
            if (out < -1e-4).any() or (out > 1 + 1e-4).any() or (sums - 1).abs().max() > 1e-3:
                raise ModelError(
                    f"{where} declares output='probabilities' but its rows are not probability "
                    f"vectors (row sums range {float(sums.min()):.6g}..{float(sums.max()):.6g}, "
                    f"values {float(out.min()):.6g}..{float(out.max()):.6g}; each value must lie "
                    f"in 0..1 and each row sum to 1); declare output='logits' if it returns "
                    f"unnormalised scores."
                )
        return out

    @staticmethod
    def _hash(*parts: bytes | str) -> str:
        h = hashlib.sha256()
        for p in parts:
            h.update(p.encode() if isinstance(p, str) else p)
            h.update(b"\x00")
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, modality={self.modality!r}, "
            f"num_classes={self.num_classes}, bounds={self.bounds}, output={self.output!r})"
        )
