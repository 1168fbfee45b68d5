"""The Task contract: what a model returns, what its records hold, and what "broken" means.

A task is one file in this package registered in :data:`TASKS`. Models declare the task they solve
(``model.task``), datasets carry targets of the task's type, probes / metrics / summaries declare
the tasks they apply to, and attacks and perturbation probes ask the task's :class:`Criterion`
whether a perturbation broke an example instead of hard-coding misclassification.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from robustlab.errors import ConfigError, ModelError
from robustlab.registry import Registry

if TYPE_CHECKING:
    from robustlab.models.base import Model
    from robustlab.records import Records

__all__ = ["CRITERIA", "TASKS", "Criterion", "Task", "get_task"]

TASKS: Registry[type[Task]] = Registry("task")
CRITERIA: Registry[type[Criterion]] = Registry("criterion")

#: Types a task-declared record field may have (how the store encodes it).
FIELD_TYPES = ("int", "float", "bool", "str")


@dataclass(frozen=True)
class Criterion(ABC):
    """When a perturbation *breaks* an example, for one task.

    ``broken`` decides it from the model's outputs on the perturbed inputs (``outputs``, the task's
    model output, e.g. ``(n, K)`` class scores or ``(n,)`` regression values), the targets and,
    where the criterion compares to the unperturbed prediction, the ``clean`` outputs.
    ``margin`` is a differentiable surrogate for gradient attacks and early stopping: positive
    while the example holds, ``<= 0`` once it is broken. Both work on torch tensors.
    """

    name: ClassVar[str]
    #: Tasks whose outputs this criterion understands.
    tasks: ClassVar[tuple[str, ...]]
    #: Whether ``broken`` needs the clean outputs.
    needs_clean: ClassVar[bool] = False

    @abstractmethod
    def broken(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Boolean ``(n,)`` tensor: which examples the perturbation broke."""

    @abstractmethod
    def margin(
        self, outputs: torch.Tensor, targets: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Float ``(n,)`` tensor, ``> 0`` while the example holds and ``<= 0`` once broken."""

    def _need_clean(self, clean: torch.Tensor | None) -> torch.Tensor:
        if clean is None:
            raise ConfigError(
                f"The {self.name!r} criterion compares to the unperturbed prediction; pass the "
                "clean outputs as clean=..."
            )
        return clean

    @property
    def spec(self) -> dict[str, Any]:
        import dataclasses

        return {"criterion": self.name, **dataclasses.asdict(self)}


class Task(ABC):
    """One kind of prediction problem (classification, regression, ranking, ...).

    Class attributes:
        name: Registry name (``model.task``, ``probe.tasks``, ``metric.tasks`` use it).
        output: What a model of this task returns per batch, in words (shown in errors).
        target: What a dataset of this task holds per example, in words.
        fields: Task-declared per-example record fields, ``{name: type}`` with types from
            :data:`FIELD_TYPES`; the store keeps them without a schema change.
        score_field: The field that is the task's primary per-example score (records' ``score``).
        metrics: Default metrics of a probe's records for this task.
        criterion: Default :class:`Criterion` name.
        outputs: The model ``output`` declarations that produce this task's outputs (the first
            is the default of adapters given only ``task=``).

    A task turns a model's outputs on a batch into records (:meth:`records`, built on
    :meth:`record_fields` and :meth:`default_broken`) and says how to get those outputs from a
    model (:meth:`predict`) and how a reference model's outputs become the ``reference`` field
    (:meth:`reference_of`).
    """

    name: ClassVar[str]
    output: ClassVar[str]
    target: ClassVar[str]
    fields: ClassVar[Mapping[str, str]]
    score_field: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]] = ()
    criterion: ClassVar[str]
    outputs: ClassVar[tuple[str, ...]]

    @abstractmethod
    def check_targets(self, targets: Any, where: str) -> np.ndarray:
        """Validate a dataset's targets for this task and return them as an array; raise
        :class:`~robustlab.errors.DataError` naming ``where``, the problem and the fix."""

    @abstractmethod
    def record_fields(
        self, outputs: Any, targets: Any, *, reference: Any = None, **options: Any
    ) -> dict[str, np.ndarray]:
        """The task fields of the records of ``outputs`` (the model's outputs on a batch, as
        :meth:`predict` returns them) against ``targets``; ``reference`` is the reference
        model's field (:meth:`reference_of`) or None."""

    @abstractmethod
    def default_broken(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        """``broken`` of records whose probe set none: the task's criterion judged from the
        fields alone (for classification ``~correct``; False where the criterion needs the
        unperturbed prediction to judge)."""

    @abstractmethod
    def predict(self, model: Model, inputs: Any) -> np.ndarray:
        """The model's outputs on ``inputs`` in the form :meth:`record_fields` takes."""

    @abstractmethod
    def reference_of(self, model: Model, inputs: Any) -> np.ndarray:
        """The ``reference`` field from a reference model's predictions on ``inputs``."""

    def records(
        self,
        outputs: Any,
        targets: Any,
        ids: Sequence[str],
        *,
        meta: Mapping[str, Sequence[Any]] | None = None,
        perturbation: Any = None,
        value: Any = None,
        reference: Any = None,
        queries: Any = None,
        similarity: Any = None,
        broken: Any = None,
        clean: Any = None,
        criterion: Criterion | None = None,
        **options: Any,
    ) -> Records:
        """Records of one batch: the task fields from ``outputs`` and ``targets`` plus the core
        columns. ``options`` go to :meth:`record_fields`.

        Args:
            meta: Metadata columns of the batch; ``group`` and ``domain`` become columns.
            broken: Explicit ``broken`` flags (a probe that judged them itself).
            clean: The model's outputs on the unperturbed inputs: ``broken`` then comes from
                ``criterion`` (the task's default unless given), which may compare to them
                (regression's ``score_changed``). Without ``broken``, ``clean`` and
                ``criterion``, ``broken`` is derived from the fields (:meth:`default_broken`).
            criterion: The criterion deciding ``broken`` from the outputs (with ``clean``
                where it needs them); numeric targets only (ranking probes pass ``broken``).
        """
        from robustlab.records import Records

        ids = list(ids)
        n = len(ids)
        outputs, targets = _plain_array(outputs), _plain_array(targets)
        fields = self.record_fields(outputs, targets, reference=reference, **options)
        if broken is None and (clean is not None or criterion is not None):
            judge = criterion or self.make_criterion()
            broken = judge.broken(
                torch.as_tensor(np.asarray(outputs)),
                torch.as_tensor(np.asarray(targets)),
                None if clean is None else torch.as_tensor(np.asarray(_plain_array(clean))),
            )
        meta = meta or {}
        return Records(
            np.asarray(ids, dtype=object),
            task=self.name,
            perturbation=_plain_array(perturbation),
            value=_plain_array(value),
            group=np.asarray(list(meta.get("group", [None] * n)), dtype=object),
            domain=np.asarray(list(meta.get("domain", [None] * n)), dtype=object),
            queries=_plain_array(queries),
            similarity=_plain_array(similarity),
            broken=_plain_array(broken),
            fields=fields,
        )

    def _check_outputs(self, outputs: np.ndarray, n: int, shape: str) -> None:
        """Refuse outputs that are not ``n`` finite rows, naming the task's output form."""
        if len(outputs) != n:
            raise ModelError(
                f"{self.name} outputs must have one row per example ({n}); got {len(outputs)}. "
                f"A {self.name} model returns {self.output}."
            )
        if outputs.dtype.kind in "fc" and not np.isfinite(outputs).all():
            raise ModelError(
                f"{self.name} outputs {shape} hold NaN or infinite values; check the model."
            )

    def make_criterion(self, name: str | None = None, **params: Any) -> Criterion:
        """The task's criterion (its default unless ``name`` picks another one of the task)."""
        cls = CRITERIA.get(name or self.criterion)
        if self.name not in cls.tasks:
            raise ConfigError(
                f"The {cls.name!r} criterion applies to {'/'.join(cls.tasks)} tasks, not "
                f"{self.name!r}. Criteria for {self.name}: "
                f"{', '.join(n for n, c in CRITERIA.items() if self.name in c.tasks)}."
            )
        return CRITERIA.build(cls.name, **params)

    def __repr__(self) -> str:
        return f"Task({self.name!r})"


def _plain_array(x: Any) -> Any:
    """NumPy from a tensor (on any device); other values unchanged."""
    if torch.is_tensor(x):
        return x.detach().cpu().numpy()
    return x


def get_task(task: str | Task) -> Task:
    """The registered task ``task`` (a name or an instance)."""
    if isinstance(task, Task):
        return task
    import robustlab.tasks  # noqa: F401  (registers the bundled tasks)

    return TASKS.get(task)()
