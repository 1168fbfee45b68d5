"""The randomized-smoothing probe: certified L2 accuracy of the Gaussian-smoothed model."""

from __future__ import annotations

from dataclasses import dataclass

from robustlab.data.base import Batch
from robustlab.models.base import Model
from robustlab.probes.base import PROBES, Probe
from robustlab.records import Records
from robustlab.tasks import get_task
from robustlab.validation import check_int, check_number


@PROBES.register("certify_smoothing")
@dataclass(frozen=True)
class CertifySmoothing(Probe):
    """Certify the model smoothed with Gaussian noise of std ``sigma`` (CERTIFY with ``n0``
    selection and ``n`` estimation samples, failure rate ``alpha``); an example counts as
    certified when the smoothed prediction is correct with an L2 radius of at least
    ``epsilon``. Records hold the smoothed prediction (-1 when it abstains) and the radius.

    References:
        Cohen, Rosenfeld & Kolter, Certified Adversarial Robustness via Randomized Smoothing,
        ICML 2019.
    """

    sigma: float = 0.25
    epsilon: float = 0.5
    n0: int = 100
    n: int = 10_000
    alpha: float = 0.001
    batch_size: int = 1000

    name = "certify_smoothing"
    axis = "certified"
    modalities = ("image", "tabular")
    requires = frozenset({"scores"})
    metrics = ("accuracy", "certified_accuracy", "abstention_rate", "mean_certified_radius")

    @property
    def example_seeded(self) -> bool:
        return True  # per-example seeds by id (robustlab.seeding)

    def __post_init__(self) -> None:
        from robustlab.certify.smoothing import _check_samples

        owner = "probe 'certify_smoothing'"
        check_number(owner, "sigma", self.sigma)
        check_number(owner, "epsilon", self.epsilon, low_inclusive=True)
        check_number(owner, "alpha", self.alpha, high=0.5, high_inclusive=False)
        check_int(owner, "n0", self.n0)
        check_int(owner, "batch_size", self.batch_size)
        _check_samples("n", self.n, self.alpha, "certify")

    @classmethod
    def example(cls) -> CertifySmoothing:
        return cls(sigma=0.25, epsilon=0.25, n0=10, n=100, batch_size=100)

    def run(self, model: Model, batch: Batch, seed: int) -> Records:
        from robustlab.certify import smoothing
        from robustlab.seeding import ExampleSeeds

        res = smoothing(
            model,
            batch.inputs,
            sigma=self.sigma,
            n0=self.n0,
            n=self.n,
            alpha=self.alpha,
            batch_size=self.batch_size,
            seed=ExampleSeeds.of(seed, batch.ids),  # noise keyed by example id
        )
        task = get_task("certified_classification")
        return task.records(
            task.predict(model, batch.inputs),
            batch.targets,
            batch.ids,
            meta=batch.meta,
            prediction=res.prediction,
            radius=res.radius,
            abstained=res.abstained,
            verified=res.radius >= self.epsilon,
        )

    @property
    def label(self) -> str:
        return f"smoothing σ={self.sigma:g} L2 r={self.epsilon:.4g}"
