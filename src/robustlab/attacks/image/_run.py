"""The public single-attack entry point ``run()``, for image and text attacks alike."""

from __future__ import annotations

from typing import Any

from robustlab.attacks._registry import ATTACKS
from robustlab.attacks.threat import ThreatModel
from robustlab.errors import ConfigError
from robustlab.models.base import Model
from robustlab.seeding import ExampleSeeds
from robustlab.tasks.base import Criterion

__all__ = ["run"]


def run(
    model: Model,
    inputs: Any,
    targets: Any,
    attack: str = "pgd",
    *,
    norm: str = "linf",
    epsilon: float | None = None,
    seed: int | ExampleSeeds = 0,
    bounds: tuple[float, float] | None = None,
    threat: ThreatModel | None = None,
    criterion: Criterion | str | None = None,
    **params: Any,
) -> Any:
    """Run the registered attack ``attack`` on a batch.

    Only inputs the criterion does not count as broken (by default: correctly classified ones)
    are attacked; the others count as successes with the clean input returned. Success is decided
    by a fresh forward pass on the adversarial input, after projecting it onto the threat model
    (the ``norm`` ball of radius ``epsilon``) and the input bounds.

    A text attack (``deepwordbug``, ...) is run by :func:`robustlab.attacks.text.run`, with
    ``budget`` and its other keywords in ``params``; ``norm``, ``epsilon`` and ``bounds`` do not
    apply to it.

    Args:
        model: Any :class:`~robustlab.models.Model`; gradient attacks need a ``TorchModel``.
        inputs: Batch ``(N, ...)`` of raw inputs within the model's bounds (tensor or array).
        targets: True class indices ``(N,)``.
        attack: Registered name, see ``ATTACKS.names()``.
        norm: ``linf``, ``l2`` or ``l1`` (each attack supports a subset).
        epsilon: Perturbation budget; may be ``None`` only for minimal-norm attacks, which then
            return the smallest adversarial perturbation they find.
        seed: Seeds a ``torch.Generator`` on the model's device; same seed, same result.
        bounds: Valid input range, overriding ``model.bounds`` (required if the model has none).
        threat: An :class:`~robustlab.attacks.LpBall` instead of ``norm`` and ``epsilon``.
        criterion: What counts as broken: a :class:`~robustlab.tasks.Criterion` or a criterion
            name (``targeted_class``; its parameters, e.g. ``target_class=3``, go in a built
            criterion); default the model's task's (misclassification).
        **params: The attack's parameters (its dataclass fields), e.g. ``steps=100``.

    Returns:
        An :class:`AttackResult` with tensors on the CPU (a ``TextAttackResult`` for text).

    Raises:
        ConfigError: Unknown attack or parameter, unsupported norm, bad epsilon, or a gradient
            attack on a black-box model (the message names the attacks that would work).
        DataError: Inputs outside the bounds, or targets of the wrong shape or range.
    """
    cls = ATTACKS.get(attack)
    if cls.modality == "text":
        from robustlab.attacks.text._run import run as run_text

        if norm != "linf" or epsilon is not None or bounds is not None:
            raise ConfigError(
                f"Text attack {attack!r} takes no norm, epsilon or bounds; bound it with "
                f"budget=QUERIES and threat=EditBudget(max_words_changed=..., ...) instead."
            )

        return run_text(
            model,
            inputs,
            targets,
            attack,
            seed=seed,
            threat=threat,  # type: ignore[arg-type]
            criterion=criterion,
            **params,
        )
    built = ATTACKS.build(attack, **params)
    return built.run(
        model,
        inputs,
        targets,
        norm=norm,
        epsilon=epsilon,
        seed=seed,
        bounds=bounds,
        threat=threat,
        criterion=criterion,
    )
