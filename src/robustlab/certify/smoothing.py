"""Randomized smoothing: Cohen et al.'s CERTIFY and PREDICT with noise streamed in batches."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import beta, binomtest, norm

from robustlab.errors import ConfigError, ModelError
from robustlab.seeding import ExampleSeeds
from robustlab.validation import check_int, check_number, check_seed

__all__ = ["ABSTAIN", "SmoothingResult", "min_samples", "predict", "smoothing"]

#: The prediction of an example the smoothed classifier abstains on.
ABSTAIN = -1

_OWNER = "robustlab.certify.smoothing"


@dataclass(frozen=True)
class SmoothingResult:
    """Per-example outcome of :func:`smoothing` (NumPy arrays of length ``n_examples``).

    Attributes:
        prediction: The smoothed prediction, :data:`ABSTAIN` (-1) where it abstains.
        radius: Certified L2 radius ``sigma * Phi^-1(p_A_lower)``, 0 where it abstains.
        abstained: Whether the smoothed classifier abstained.
        p_lower: One-sided Clopper-Pearson lower bound of ``p_A`` at level ``1 - alpha``.
        counts: Of the ``n`` estimation samples, how many the model labelled the top class.
        sigma, n, alpha: The parameters the certificates hold for.
    """

    prediction: np.ndarray
    radius: np.ndarray
    abstained: np.ndarray
    p_lower: np.ndarray
    counts: np.ndarray
    sigma: float
    n: int
    alpha: float

    def certified(self, targets: Any, radius: float = 0.0) -> np.ndarray:
        """Which examples are predicted correctly with a certified radius of at least ``radius``."""
        y = np.asarray(targets.cpu() if torch.is_tensor(targets) else targets)
        return (self.prediction == y) & ~self.abstained & (self.radius >= radius)

    def certified_accuracy(self, targets: Any, radius: float = 0.0) -> float:
        """Share of examples certified correct at ``radius`` (the paper's approximate certified
        test-set accuracy)."""
        return float(self.certified(targets, radius).mean())


def min_samples(alpha: float, *, test: str = "certify") -> int:
    """The smallest number of noise samples that can certify (``test='certify'``) or predict
    (``test='predict'``) anything at failure probability ``alpha``.

    CERTIFY needs ``alpha ** (1 / n) > 1/2`` (all ``n`` votes for one class); PREDICT's two-sided
    binomial test needs ``2 * 0.5 ** n <= alpha``.
    """
    if test == "certify":
        return math.floor(math.log2(1 / alpha)) + 1
    return math.ceil(math.log2(2 / alpha))


def _scorer(model: Any) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.device]:
    """A function from raw input batches to class scores on the model's device."""
    from robustlab.models.base import Model
    from robustlab.models.torch_model import TorchModel

    if isinstance(model, TorchModel):
        return model.forward, model.device
    if isinstance(model, torch.nn.Module):
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        return model, device
    if isinstance(model, Model):
        return (lambda x: model.predict_scores(x.cpu())), torch.device("cpu")
    if callable(model):
        return model, torch.device("cpu")
    raise ModelError(
        f"{_OWNER} needs a robustlab Model, a torch.nn.Module or a callable returning class "
        f"scores. Got a {type(model).__name__} instead."
    )


def _check(sigma: float, alpha: float, batch_size: int, seed: int | ExampleSeeds) -> None:
    check_number(_OWNER, "sigma", sigma)
    check_number(_OWNER, "alpha", alpha, high=0.5, high_inclusive=False)
    check_int(_OWNER, "batch_size", batch_size)
    if not isinstance(seed, ExampleSeeds):
        check_seed(_OWNER, seed)


def _check_samples(param: str, value: int, alpha: float, test: str) -> None:
    least = min_samples(alpha, test=test)
    check_int(_OWNER, param, value)
    if value < least:
        raise ConfigError(
            f"The {param!r} parameter of {_OWNER} must be at least {least} for alpha={alpha:g}: "
            f"with fewer noise samples nothing can be {test}d at that failure rate. Got {value!r} "
            "instead."
        )


@torch.no_grad()
def _counts(
    score: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    num: int,
    sigma: float,
    batch_size: int,
    generator: torch.Generator,
    num_classes: int | None,
) -> torch.Tensor:
    """Class counts of ``num`` noisy copies of one input ``x``, ``batch_size`` copies at a time,
    so memory does not grow with ``num``."""
    counts: torch.Tensor | None = None
    left = num
    while left > 0:
        b = min(batch_size, left)
        noise = torch.randn((b, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
        out = torch.as_tensor(score(x.unsqueeze(0) + sigma * noise))
        if out.ndim != 2:
            raise ModelError(
                f"{_OWNER} needs (n, K) class scores from the model; got shape {tuple(out.shape)}."
            )
        k = num_classes or out.shape[1]
        c = torch.bincount(out.argmax(1).to(x.device), minlength=k)
        counts = c if counts is None else counts + c
        left -= b
    assert counts is not None
    return counts.cpu()


def _prepare(inputs: Any, device: torch.device, bounds: tuple[float, float] | None) -> torch.Tensor:
    x = torch.as_tensor(inputs, dtype=torch.float32).to(device)
    if x.ndim < 2 or len(x) == 0:
        raise ConfigError(
            f"The 'inputs' parameter of {_OWNER} must be a non-empty batch (N, ...). Got shape "
            f"{tuple(x.shape)} instead."
        )
    if not torch.isfinite(x).all():
        raise ConfigError(f"The 'inputs' of {_OWNER} hold NaN or infinite values.")
    if bounds is not None and (x.min() < bounds[0] or x.max() > bounds[1]):
        raise ConfigError(
            f"The 'inputs' of {_OWNER} must lie within the model's bounds {bounds}. Got values in "
            f"[{float(x.min()):g}, {float(x.max()):g}] instead; pass raw (unnormalised) inputs."
        )
    return x


def _generator(device: torch.device, seed: int | ExampleSeeds, index: int) -> torch.Generator:
    if isinstance(seed, ExampleSeeds):  # a scan's: keyed by the example's id
        return seed.generator(index, device)
    g = torch.Generator(device=device)
    g.manual_seed((seed * 1_000_003 + index) % (2**63))
    return g


def smoothing(
    model: Any,
    inputs: Any,
    targets: Any = None,
    *,
    sigma: float,
    n0: int = 100,
    n: int = 100_000,
    alpha: float = 0.001,
    batch_size: int = 1000,
    seed: int | ExampleSeeds = 0,
) -> SmoothingResult:
    """Certify the Gaussian-smoothed ``model`` at each input (CERTIFY of Cohen et al.).

    ``n0`` samples pick the top class, ``n`` more estimate a one-sided Clopper-Pearson lower
    bound ``p_A_lower`` of its probability; the smoothed classifier abstains unless
    ``p_A_lower > 1/2`` and otherwise is certified robust within L2 radius
    ``sigma * Phi^-1(p_A_lower)``, each with failure probability at most ``alpha``.
    ``targets`` is accepted for symmetry with other checks and is not used.

    References:
        Cohen, Rosenfeld & Kolter, Certified Adversarial Robustness via Randomized Smoothing,
        ICML 2019.
    """
    _check(sigma, alpha, batch_size, seed)
    check_int(_OWNER, "n0", n0)
    _check_samples("n", n, alpha, "certify")
    score, device = _scorer(model)
    x = _prepare(inputs, device, getattr(model, "bounds", None))
    k = getattr(model, "num_classes", None)
    preds, radii, lowers, counts = [], [], [], []
    for i in range(len(x)):
        g = _generator(device, seed, i)
        top = int(_counts(score, x[i], n0, sigma, batch_size, g, k).argmax())
        c = _counts(score, x[i], n, sigma, batch_size, g, k)
        n_a = int(c[top]) if top < len(c) else 0
        p_low = float(beta.ppf(alpha, n_a, n - n_a + 1)) if n_a > 0 else 0.0
        preds.append(top if p_low > 0.5 else ABSTAIN)
        radii.append(sigma * float(norm.ppf(p_low)) if p_low > 0.5 else 0.0)
        lowers.append(p_low)
        counts.append(n_a)
    pred = np.asarray(preds, dtype=np.int64)
    return SmoothingResult(
        prediction=pred,
        radius=np.asarray(radii, dtype=np.float64),
        abstained=pred == ABSTAIN,
        p_lower=np.asarray(lowers, dtype=np.float64),
        counts=np.asarray(counts, dtype=np.int64),
        sigma=float(sigma),
        n=int(n),
        alpha=float(alpha),
    )


def predict(
    model: Any,
    inputs: Any,
    *,
    sigma: float,
    n: int = 100_000,
    alpha: float = 0.001,
    batch_size: int = 1000,
    seed: int | ExampleSeeds = 0,
) -> np.ndarray:
    """The smoothed prediction at each input, :data:`ABSTAIN` where the top two classes' counts
    do not differ significantly (two-sided binomial test at level ``alpha``; PREDICT of Cohen
    et al.): a returned class differs from the smoothed classifier's with probability <= alpha.

    References:
        Cohen, Rosenfeld & Kolter, Certified Adversarial Robustness via Randomized Smoothing,
        ICML 2019.
    """
    _check(sigma, alpha, batch_size, seed)
    _check_samples("n", n, alpha, "predict")
    score, device = _scorer(model)
    x = _prepare(inputs, device, getattr(model, "bounds", None))
    k = getattr(model, "num_classes", None)
    out = []
    for i in range(len(x)):
        c = _counts(score, x[i], n, sigma, batch_size, _generator(device, seed, i), k)
        top2 = torch.topk(c, min(2, len(c))).indices.tolist()
        n_a = int(c[top2[0]])
        n_b = int(c[top2[1]]) if len(top2) > 1 else 0
        p = binomtest(n_a, n_a + n_b, 0.5).pvalue if n_a + n_b > 0 else 1.0
        out.append(top2[0] if p <= alpha else ABSTAIN)
    return np.asarray(out, dtype=np.int64)
