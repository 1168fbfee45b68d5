"""The bound-propagation probe: verified accuracy within an Lp ball (IBP or CROWN)."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.data.base import Batch
from robustlab.models.base import Model
from robustlab.probes._adversarial import NORM_LABELS
from robustlab.probes.base import PROBES, Probe
from robustlab.records import Records
from robustlab.tasks import get_task
from robustlab.validation import check_choice, check_number


@PROBES.register("verify_bounds")
@dataclass(frozen=True)
class VerifyBounds(Probe):
    """Bound the logits over the ``norm`` ball of radius ``epsilon`` (``method`` ``ibp`` or
    ``crown``); an example is verified when the lower bound of its margin is positive, so no
    perturbation in the ball can change its (correct) prediction. Records hold the clean
    prediction, the verified flag and the margin's lower bound.

    References:
        Gowal et al., On the Effectiveness of Interval Bound Propagation for Training Verifiably
        Robust Models, 2018.
        Zhang et al., Efficient Neural Network Robustness Certification with General Activation
        Functions, NeurIPS 2018.
    """

    norm: str = "linf"
    epsilon: float = 1 / 255
    method: str = "crown"

    name = "verify_bounds"
    axis = "certified"
    modalities = ("image", "tabular")
    requires = frozenset({"gradients"})
    metrics = ("accuracy", "certified_accuracy")

    def __post_init__(self) -> None:
        owner = "probe 'verify_bounds'"
        check_choice(owner, "norm", self.norm, ("linf", "l2"))
        check_number(owner, "epsilon", self.epsilon, low_inclusive=True)
        check_choice(owner, "method", self.method, ("ibp", "crown"))

    @classmethod
    def example(cls) -> VerifyBounds:
        return cls("linf", 0.01, "ibp")

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.certify import verify

        res = verify(
            model,
            batch.inputs,
            batch.targets,
            epsilon=self.epsilon,
            norm=self.norm,
            method=self.method,
        )
        task = get_task("certified_classification")
        return task.records(
            task.predict(model, batch.inputs),
            batch.targets,
            batch.ids,
            meta=batch.meta,
            perturbation=[self.epsilon] * len(batch.ids),
            verified=res.verified,
            margin_lower=res.margin_lower,
        )

    @property
    def label(self) -> str:
        return f"{self.method} {NORM_LABELS[self.norm]} ε={self.epsilon:.4g}"
