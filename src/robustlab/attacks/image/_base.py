"""The image-attack base: parameter checks, model access, and the shared run() pipeline."""

from __future__ import annotations

import math
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import numpy as np
import torch

from robustlab import validation
from robustlab._progress import batch_done
from robustlab.attacks._base import Attack, resolve_criterion
from robustlab.attacks._registry import ATTACKS, attacks_for
from robustlab.attacks.image._ops import NORMS
from robustlab.attacks.image._result import AttackResult, AttackWarning
from robustlab.attacks.threat import LpBall, ThreatModel
from robustlab.errors import ConfigError, DataError
from robustlab.models.base import Model
from robustlab.seeding import Draws, ExampleSeeds, as_seeds
from robustlab.tasks.base import Criterion
from robustlab.tasks.criteria import Misclassified

__all__ = [
    "Context",
    "ImageAttack",
    "build_attack",
    "check_epsilon",
    "check_seed",
    "prepare_batch",
]


def check_int(owner: str, param: str, value: object, minimum: int = 1) -> None:
    """Raise unless ``value`` is an int >= ``minimum`` (see :func:`robustlab.validation.check_int`)."""
    validation.check_int(owner, param, value, minimum)


def check_float(
    owner: str,
    param: str,
    value: object,
    *,
    low: float = 0.0,
    high: float = math.inf,
    low_inclusive: bool = False,
    optional: bool = False,
) -> None:
    """Raise unless ``value`` is a finite real number in the given range (or ``None`` if optional)."""
    validation.check_number(
        owner, param, value, low=low, high=high, low_inclusive=low_inclusive, optional=optional
    )


def check_choice(owner: str, param: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise unless ``value`` is one of ``choices``."""
    validation.check_choice(owner, param, value, choices)


def check_epsilon(owner: str, epsilon: object, *, required: bool) -> float | None:
    """Validate a perturbation budget; ``None`` is allowed only for minimal-norm attacks."""
    if epsilon is None and not required:
        return None
    check_float(owner, "epsilon", epsilon)
    return float(epsilon)  # type: ignore[arg-type]


def check_seed(owner: str, seed: object) -> int:
    return validation.check_seed(owner, seed)


def resolve_bounds(
    model: Model, bounds: tuple[float, float] | None, owner: str
) -> tuple[float, float]:
    """The input range attacks must stay in: ``bounds`` if given, else ``model.bounds``."""
    chosen = bounds if bounds is not None else model.bounds
    if chosen is None:
        raise ConfigError(
            f"Model {model.name!r} declares no input bounds, and attacks need the valid input range. "
            f"Pass bounds=(low, high) to {owner}, or construct the model with bounds=(low, high)."
        )
    try:
        low, high = float(chosen[0]), float(chosen[1])
    except (TypeError, ValueError, IndexError):
        raise validation.fail(owner, "bounds", "a (low, high) pair of floats", chosen) from None
    if not low < high:
        raise validation.fail(owner, "bounds", "(low, high) with low < high", chosen)
    return low, high


def prepare_batch(
    inputs: Any, targets: Any, device: torch.device, bounds: tuple[float, float], owner: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn inputs and targets into float32/int64 tensors on ``device`` and check them."""
    x = torch.as_tensor(np.asarray(inputs) if not torch.is_tensor(inputs) else inputs)
    y = torch.as_tensor(np.asarray(targets) if not torch.is_tensor(targets) else targets)
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataError(
            f"{owner} needs a non-empty batch of inputs shaped (N, ...). Got shape {tuple(x.shape)}."
        )
    if not x.is_floating_point():
        x = x.float()
    if y.ndim != 1 or y.shape[0] != x.shape[0] or y.is_floating_point():
        raise DataError(
            f"{owner} needs integer targets shaped ({x.shape[0]},), one class index per input. "
            f"Got {y.dtype} of shape {tuple(y.shape)}."
        )
    x = x.detach().to(device=device, dtype=torch.float32)
    y = y.detach().to(device=device, dtype=torch.long)
    low, high = bounds
    tol = 1e-5 * max(1.0, high - low)
    if float(x.min()) < low - tol or float(x.max()) > high + tol:
        raise DataError(
            f"{owner} got inputs in [{float(x.min()):.4g}, {float(x.max()):.4g}] outside the "
            f"bounds ({low:g}, {high:g}). Scale the inputs to the model's raw input range, or pass "
            f"the right bounds."
        )
    return x.clamp(low, high), y


@dataclass
class Context:
    """Everything an attack needs about the model and the run, with query counting.

    Attacks call :meth:`logits` for differentiable outputs (white box), :meth:`scores` and
    :meth:`predict` for gradient-free access; each call on a black-box model counts one query per
    input, which attacks read back through their own bookkeeping. :attr:`threat` is the set the
    attack searches and :attr:`criterion` what counts as broken: attacks ask :meth:`broken` for
    success and ascend on ``-``:meth:`margin` unless the criterion is the task's plain
    misclassification (:attr:`untargeted`), where they use their paper's loss.
    """

    model: Model
    threat: LpBall
    bounds: tuple[float, float]
    generator: torch.Generator
    device: torch.device
    num_classes: int
    criterion: Criterion = field(default_factory=Misclassified)
    warnings: list[AttackWarning] = field(default_factory=list)
    #: Per-example draws of the inputs given to ``_perturb`` (set by :meth:`ImageAttack.run`
    #: for each chunk): random starts and searches keyed by example, not by batch position.
    draws: Draws | None = None

    def random_for(self, rows: torch.Tensor | None = None) -> Draws | torch.Generator:
        """What to draw the random choices of the ``_perturb`` inputs at ``rows`` (all when
        None) from: their per-example :class:`~robustlab.seeding.Draws`, or the batch's
        ``generator`` where the caller gave none."""
        if self.draws is None:
            return self.generator
        return self.draws if rows is None else self.draws.take(rows)

    @property
    def norm(self) -> str:
        return self.threat.norm

    @property
    def epsilon(self) -> float | None:
        return self.threat.epsilon

    @property
    def untargeted(self) -> bool:
        """Success is plain misclassification, so the paper's own losses apply."""
        return type(self.criterion) is Misclassified

    @property
    def white_box(self) -> bool:
        return "gradients" in self.model.capabilities

    def broken(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Bool ``(n,)``: the criterion holds broken for these (logit-like) outputs."""
        return self.criterion.broken(outputs, targets)

    def margin(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The criterion's differentiable margin: ``> 0`` while an example holds."""
        return self.criterion.margin(outputs, targets)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable logit-like outputs (log-probabilities for probability models)."""
        out = self.model.forward(x)  # type: ignore[attr-defined]
        if self.model.output == "probabilities":
            return out.clamp(min=1e-12).log()
        return out

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Logit-like outputs on ``self.device`` without gradients, computed in batches."""
        if self.white_box:
            with torch.no_grad():
                size = self.model.batch_size
                if len(x) <= size:
                    # Attack loops call this once per step on small batches: skip split and cat.
                    return self.logits(x).float()
                out = torch.cat([self.logits(c) for c in x.split(size)]).float()
        else:
            out = self.model.predict_scores(x.detach().cpu()).to(self.device)
            if self.model.output == "probabilities":
                out = out.clamp(min=1e-12).log()
        return out

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted labels ``(N,)`` on ``self.device``."""
        return self.scores(x).argmax(dim=1)

    def clip(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(self.bounds[0], self.bounds[1])

    def project(self, adversarial: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        """``adversarial`` moved into the threat model around ``original`` and the bounds."""
        return self.threat.project(adversarial, original, self.bounds)


@dataclass(frozen=True)
class ImageAttack(Attack, ABC):
    """Base class of the attacks on numeric inputs (images, tabular rows).

    Subclasses set the class attributes below, validate their fields in ``_check``, and implement
    ``_perturb`` on a batch of inputs the criterion does not yet count as broken. :meth:`run` does
    the rest: argument checks, device placement, seeding, batching, projection onto the threat
    model, a fresh forward pass deciding success with the criterion, and the result.

    Class attributes:
        name: Registered name (set by ``register_attack``).
        norms: Norms the attack supports.
        threats: Threat model classes it searches (:class:`LpBall`; a spatial or colour attack
            names its own, which arrive as ``ctx.threat``).
        needs: Model capabilities it requires (``gradients`` for white box, ``scores``).
        minimal: It searches the smallest adversarial perturbation, so ``epsilon`` may be ``None``.
        quick_params: Parameters for a fast smoke run (contract tests, the ``quick`` suite).
    """

    modality: ClassVar[str] = "image"
    norms: ClassVar[tuple[str, ...]] = NORMS
    threats: ClassVar[tuple[type[ThreatModel], ...]] = (LpBall,)
    needs: ClassVar[frozenset[str]] = frozenset({"gradients"})

    @abstractmethod
    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Adversarial candidates for not-yet-broken ``inputs`` and queries per example."""

    def check_model(self, model: Model) -> None:
        """Raise ConfigError if ``model`` lacks a capability this attack needs."""
        missing = self.needs - model.capabilities
        if not missing:
            return
        usable = [
            f"{name!r} (norms {', '.join(cls.norms)})"  # type: ignore[attr-defined]
            if cls.norms  # type: ignore[attr-defined]
            else f"{name!r} (transformations)"
            for name, cls in attacks_for("image")
            if cls.needs <= model.capabilities
        ]
        kind = "a black box" if "gradients" in missing else "label-only (it returns no scores)"
        alternatives = " or ".join(usable) if usable else "none is registered"
        raise ConfigError(
            f"Attack {self.name!r} needs {' and '.join(sorted(missing))}, but model "
            f"{model.name!r} ({type(model).__name__}) is {kind}. Use an attack that works on it "
            f"instead: {alternatives}."
        )

    def threat_model(
        self, norm: str = "linf", epsilon: float | None = None, owner: str = "run()"
    ) -> LpBall:
        """The :class:`LpBall` for ``norm`` and ``epsilon``, checked against this attack."""
        norm = norm.lower() if isinstance(norm, str) else norm
        if norm not in self.norms:
            raise validation.fail(
                f"attack {self.name!r}", "norm", f"one of {list(self.norms)}", norm
            )
        eps = check_epsilon(owner, epsilon, required=not self.minimal)
        return LpBall(norm, eps)

    def run(
        self,
        model: Model,
        inputs: Any,
        targets: Any,
        *,
        norm: str = "linf",
        epsilon: float | None = None,
        seed: int | ExampleSeeds = 0,
        bounds: tuple[float, float] | None = None,
        threat: ThreatModel | None = None,
        criterion: Criterion | str | None = None,
    ) -> AttackResult:
        """Attack ``inputs`` of ``model``; see :func:`robustlab.attacks.run`."""
        start = time.perf_counter()
        owner = "run()"
        if not isinstance(model, Model):
            raise ConfigError(
                f"The 'model' parameter of {owner} must be a robustlab Model. Got "
                f"{type(model).__name__}; wrap it with TorchModel, FunctionModel or SklearnModel."
            )
        if model.modality not in self.modalities():
            text = [n for n, _ in attacks_for("text")]
            raise ConfigError(
                f"Attack {self.name!r} is an image attack (for {'/'.join(self.modalities())} "
                f"inputs), but model {model.name!r} takes {model.modality}. Use a text attack "
                f"instead ({', '.join(text) or 'none is registered'}), with budget=QUERIES."
            )
        if threat is None:
            threat = self.threat_model(norm, epsilon, owner)
        elif norm != "linf" or epsilon is not None:
            raise ConfigError(
                f"{owner} got both a threat model and norm/epsilon; pass threat=LpBall(norm, "
                f"epsilon) alone, or norm and epsilon alone."
            )
        elif not isinstance(threat, self.threats):
            accepted = " or ".join(t.__name__ for t in self.threats)
            raise validation.fail(f"attack {self.name!r}", "threat", f"a {accepted}", threat)
        elif isinstance(threat, LpBall):
            threat = self.threat_model(threat.norm, threat.epsilon, owner)
        goal = resolve_criterion(criterion, model, f"attack {self.name!r}")
        if not isinstance(seed, ExampleSeeds):
            seed = check_seed(owner, seed)
        self.check_model(model)
        low, high = resolve_bounds(model, bounds, owner)
        device = model.device
        x, y = prepare_batch(inputs, targets, device, (low, high), owner)
        num_classes = model.num_classes or int(model.predict_scores(x[:1].cpu()).shape[1])
        if int(y.min()) < 0 or int(y.max()) >= num_classes:
            raise DataError(
                f"{owner} got targets in {int(y.min())}..{int(y.max())}, but model {model.name!r} "
                f"has {num_classes} classes (0..{num_classes - 1})."
            )
        seeds = as_seeds(owner, seed, len(x))
        generator = torch.Generator(device=device)
        generator.manual_seed(seeds.base)
        ctx = Context(
            model, cast(LpBall, threat), (low, high), generator, device, num_classes, goal
        )
        draws = seeds.draws()

        correct = ~ctx.broken(ctx.scores(x), y)
        adversarial = x.clone()
        success = ~correct
        black_box = "gradients" not in self.needs
        queries = torch.zeros(len(x), dtype=torch.long, device=device) if black_box else None
        todo = correct.nonzero().squeeze(1)
        # an empty tensor splits into one empty chunk: with nothing correctly classified (a weak
        # model, a one-example shard) no attack may be called at all
        chunks = todo.split(model.batch_size) if len(todo) else ()
        for done, chunk in enumerate(chunks, 1):
            xs, ys = x[chunk], y[chunk]
            ctx.draws = draws.take(chunk)
            adv, used = self._perturb(ctx, xs, ys)
            adv = adv.detach().to(device=device, dtype=torch.float32)
            adv = ctx.project(adv, xs)
            broken = ctx.broken(ctx.scores(adv), ys)
            adversarial[chunk[broken]] = adv[broken]
            success[chunk] = broken
            if queries is not None and used is not None:
                queries[chunk] = used.to(device=device, dtype=torch.long)
            batch_done(done, len(chunks))  # scan progress inside the unit, per batch
        norms = ctx.threat.distance(adversarial - x)
        return AttackResult(
            adversarial=adversarial.cpu(),
            success=success.cpu(),
            norms=norms.cpu(),
            queries=None if queries is None else queries.cpu(),
            clean_correct=correct.cpu(),
            attack=self.name,
            params=self.params,
            norm=ctx.norm,
            epsilon=ctx.epsilon,
            seed=seeds.base,
            warnings=list(ctx.warnings),
            elapsed_s=time.perf_counter() - start,
            criterion=goal.spec,
        )


def build_attack(name: str, **params: Any) -> Any:
    """Construct the registered attack ``name`` (image or text) from keyword parameters."""
    return ATTACKS.build(name, **params)


def __getattr__(name: str) -> Any:
    if name == "Attack":
        warnings.warn(
            "robustlab.attacks.image._base.Attack is ImageAttack since RobustLab 0.2 (Attack is "
            "now the base of image and text attacks); the old name works until 0.3.",
            DeprecationWarning,
            stacklevel=2,
        )
        return ImageAttack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
