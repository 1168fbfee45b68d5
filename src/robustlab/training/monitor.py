"""A training monitor: robustness, calibration and subgroup curves on held-out data, with events."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robustlab.errors import ConfigError, DataError
from robustlab.validation import check_choice, check_int, check_number

__all__ = ["Monitor", "detect_events"]


def _tensor(value: Any, owner: str, param: str) -> torch.Tensor:
    if value is None:
        raise ConfigError(f"The {param!r} parameter of {owner} is required.")
    return torch.as_tensor(np.asarray(value) if not torch.is_tensor(value) else value)


class Monitor:
    """Log clean and robust accuracy (and more) every ``every`` steps; detect training events.

    Use it in your own loop (``monitor.step(model, step)`` after each optimiser step; it
    measures on every ``every``-th call) or pass it to :func:`robustlab.training.fit`. Each
    measurement runs with the model in eval mode and restores its mode afterwards:

    - ``clean_accuracy`` on the held-out ``inputs`` / ``targets``;
    - ``pgd_accuracy``: robust accuracy under a fast PGD (``pgd_steps`` steps, via
      ``robustlab.attacks.run``) and ``fgsm_accuracy`` under FGSM, when ``epsilon`` is given;
    - ``ensemble_accuracy`` every ``ensemble_every``-th measurement: the ``standard`` ensemble
      (AutoAttack) on the first ``ensemble_size`` examples, because PGD overstates robustness;
    - ``ece`` (15 equal-width bins, ``robustlab.metrics``) and, with ``groups``,
      ``worst_group_accuracy``;
    - with ``train_inputs`` / ``train_targets`` (a sample of the training data),
      ``train_accuracy``; with ``noisy`` (a bool mask over that sample marking injected label
      noise) also ``noisy_fit`` (share of noisy examples predicted as their wrong given label) and
      ``clean_fit`` (accuracy on the clean-labelled ones).

    The events (:func:`detect_events`) use these rules:

    - **robust overfitting** (Rice et al. 2020): the last ``pgd_accuracy`` is at least
      ``overfit_gap`` below the best one; the weights of the best measurement are kept
      (``best_state``), which is early stopping on robust accuracy.
    - **catastrophic overfitting** (Wong et al. 2020): at some measurement ``pgd_accuracy`` is
      below half its best so far and at least 0.1 below it, while ``fgsm_accuracy`` is at least
      its value at that best (FGSM accuracy holding or rising while PGD accuracy collapses).
    - **noisy-label memorisation onset** (Arpit et al. 2017; Liu et al. 2020): the first
      measurement where ``noisy_fit`` exceeds ``memorisation_threshold`` (a network that fits
      only the clean signal predicts an example's wrong label no more often than it errs).
    - **delayed robustness** ("Deep Networks Always Grok", Humayun et al. 2024): a curve
      (``clean_accuracy`` or ``pgd_accuracy``) rises by at least ``rise`` overall and reaches
      half of that rise at a step at least ``delay_factor`` times the step where
      ``train_accuracy`` (or, without training data, ``clean_accuracy``) reached half of its own
      rise, and at least two measurements later.

    References:
        Rice, Wong & Kolter, "Overfitting in adversarially robust deep learning", ICML 2020;
        Wong, Rice & Kolter, "Fast is better than free", ICLR 2020; Arpit et al., "A closer look
        at memorization in deep networks", ICML 2017; Humayun, Balestriero & Baraniuk, "Deep
        networks always grok and here is why", ICML 2024.

    Args:
        inputs: Held-out inputs ``(N, ...)`` within ``bounds``.
        targets: Their class indices ``(N,)``.
        every: Measure on every ``every``-th step.
        epsilon: Attack budget for the robust curves (``None``: clean curves only).
        norm: ``linf`` or ``l2``.
        pgd_steps: Steps of the monitoring PGD.
        groups: Group label per held-out example (worst-group accuracy).
        train_inputs: A sample of training inputs (training accuracy, memorisation).
        train_targets: Their (possibly noisy) labels.
        noisy: Bool mask over the training sample: True where the label was corrupted.
        ensemble_every: Run the ``standard`` ensemble every this many measurements (0: never).
        ensemble_size: Examples the ensemble attacks.
        bounds: Valid input range.
        seed: Seed of the attacks.
        keep_best: Keep a copy of the weights with the best robust (else clean) accuracy.
        overfit_gap: Best-minus-last robust accuracy that counts as robust overfitting.
        memorisation_threshold: ``noisy_fit`` above which memorisation has begun.
        rise: Smallest overall rise of a curve that can count as delayed.
        delay_factor: How much later than training accuracy the half-rise must come.
    """

    def __init__(
        self,
        inputs: Any,
        targets: Any,
        *,
        every: int = 50,
        epsilon: float | None = None,
        norm: str = "linf",
        pgd_steps: int = 10,
        groups: Sequence[Any] | None = None,
        train_inputs: Any = None,
        train_targets: Any = None,
        noisy: Any = None,
        ensemble_every: int = 0,
        ensemble_size: int = 64,
        bounds: tuple[float, float] = (0.0, 1.0),
        seed: int = 0,
        keep_best: bool = True,
        overfit_gap: float = 0.05,
        memorisation_threshold: float = 0.2,
        rise: float = 0.2,
        delay_factor: float = 2.0,
    ) -> None:
        owner = "Monitor"
        self.inputs = _tensor(inputs, owner, "inputs").float()
        self.targets = _tensor(targets, owner, "targets").long()
        if len(self.inputs) == 0 or len(self.inputs) != len(self.targets):
            raise DataError(
                f"Monitor needs as many held-out targets as inputs (at least one). Got "
                f"{len(self.inputs)} inputs and {len(self.targets)} targets."
            )
        self.every = int(check_int(owner, "every", every) or 1)
        self.epsilon = check_number(owner, "epsilon", epsilon, optional=True)
        self.norm = str(check_choice(owner, "norm", norm, ("linf", "l2")))
        self.pgd_steps = check_int(owner, "pgd_steps", pgd_steps)
        self.ensemble_every = check_int(owner, "ensemble_every", ensemble_every, minimum=0)
        self.ensemble_size = check_int(owner, "ensemble_size", ensemble_size)
        self.groups = None if groups is None else [None if g is None else str(g) for g in groups]
        if self.groups is not None and len(self.groups) != len(self.inputs):
            raise DataError(f"Monitor got {len(self.groups)} groups for {len(self.inputs)} inputs.")
        self.train_inputs = (
            None if train_inputs is None else _tensor(train_inputs, owner, "train_inputs").float()
        )
        self.train_targets = None
        if self.train_inputs is not None:
            self.train_targets = _tensor(train_targets, owner, "train_targets").long()
        self.noisy = None if noisy is None else _tensor(noisy, owner, "noisy").bool()
        if self.noisy is not None and (
            self.train_inputs is None or len(self.noisy) != len(self.train_inputs)
        ):
            raise DataError(
                "Monitor's 'noisy' mask marks training examples: pass train_inputs and "
                "train_targets of the same length with it."
            )
        self.bounds = (float(bounds[0]), float(bounds[1]))
        self.seed = seed
        self.keep_best = keep_best
        self.overfit_gap = float(overfit_gap)
        self.memorisation_threshold = float(memorisation_threshold)
        self.rise = float(rise)
        self.delay_factor = float(delay_factor)
        self.log: list[dict[str, Any]] = []
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_step: int | None = None
        self.notes: list[dict[str, Any]] = []
        self._calls = 0
        self._best = -math.inf

    # -- measuring ------------------------------------------------------------------------------
    def _wrap(self, model: Any) -> Any:
        from robustlab.models import TorchModel

        if isinstance(model, TorchModel):
            return model
        if not isinstance(model, nn.Module):
            raise ConfigError(
                f"Monitor measures a torch.nn.Module or a TorchModel. Got {type(model).__name__}."
            )
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        return TorchModel(
            model, bounds=self.bounds, eval_mode=False, device=device, name="training"
        )

    def step(self, model: Any, step: int, *, epoch: int | None = None) -> dict[str, Any] | None:
        """Measure if ``step`` is a multiple of ``every`` (call it after each optimiser step)."""
        if step % self.every != 0:
            return None
        return self.measure(model, step, epoch=epoch)

    __call__ = step

    def measure(self, model: Any, step: int, *, epoch: int | None = None) -> dict[str, Any]:
        """Measure now and append the entry to :attr:`log`."""
        from robustlab import attacks
        from robustlab.metrics import get_metric
        from robustlab.records import Records

        wrapped = self._wrap(model)
        module = wrapped.module
        was = module.training
        module.eval()
        try:
            entry: dict[str, Any] = {"step": int(step), "epoch": epoch}
            with torch.no_grad():
                logits = torch.cat([wrapped.forward(c) for c in self.inputs.split(512)]).cpu()
            probs = logits.float().softmax(dim=1).numpy()
            y = self.targets.numpy()
            entry["clean_accuracy"] = float((probs.argmax(1) == y).mean())
            ids = [str(i) for i in range(len(y))]
            meta = {"group": self.groups} if self.groups is not None else None
            records = Records.from_probabilities(probs, y, ids, meta=meta)
            entry["ece"] = float(get_metric("ece").compute(records, seed=self.seed).value)
            wga = get_metric("worst_group_accuracy")
            if self.groups is not None and wga.applies(records):
                entry["worst_group_accuracy"] = float(wga.compute(records, seed=self.seed).value)
            if self.epsilon is not None:
                eps, norm, seed = self.epsilon, self.norm, self.seed
                x, y_t = self.inputs, self.targets
                pgd = attacks.run(
                    wrapped, x, y_t, "pgd", norm=norm, epsilon=eps, seed=seed, steps=self.pgd_steps
                )
                fgsm = attacks.run(wrapped, x, y_t, "fgsm", norm=norm, epsilon=eps, seed=seed)
                entry["pgd_accuracy"] = pgd.robust_accuracy
                entry["fgsm_accuracy"] = fgsm.robust_accuracy
                if self.ensemble_every and self._calls % self.ensemble_every == 0:
                    n = self.ensemble_size
                    ens = attacks.standard(
                        wrapped, x[:n], y_t[:n], norm=norm, epsilon=eps, seed=seed, checks=False
                    )
                    entry["ensemble_accuracy"] = ens.robust_accuracy
            if self.train_inputs is not None and self.train_targets is not None:
                with torch.no_grad():
                    pred = torch.cat(
                        [wrapped.forward(c).argmax(1) for c in self.train_inputs.split(512)]
                    ).cpu()
                hit = pred == self.train_targets
                entry["train_accuracy"] = float(hit.float().mean())
                if self.noisy is not None and bool(self.noisy.any()):
                    entry["noisy_fit"] = float(hit[self.noisy].float().mean())
                    if bool((~self.noisy).any()):
                        entry["clean_fit"] = float(hit[~self.noisy].float().mean())
        finally:
            module.train(was)
        self._calls += 1
        self.log.append(entry)
        self._keep(module, entry)
        return entry

    def _keep(self, module: nn.Module, entry: dict[str, Any]) -> None:
        if not self.keep_best:
            return
        value = float(entry.get("pgd_accuracy", entry["clean_accuracy"]))
        if value > self._best:
            self._best = value
            self.best_state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
            self.best_step = entry["step"]

    def best_module(self, model: nn.Module) -> nn.Module:
        """A copy of ``model`` holding the best measurement's weights (early stopping)."""
        if self.best_state is None:
            raise ConfigError("The monitor has not measured yet, so it kept no best weights.")
        out = copy.deepcopy(model)
        out.load_state_dict(self.best_state)
        return out

    def note(self, event: dict[str, Any]) -> None:
        """Record an event raised by the training loop (a guard firing, a rollback)."""
        self.notes.append(dict(event))

    # -- results --------------------------------------------------------------------------------
    def events(self) -> list[dict[str, Any]]:
        """The detected events (see the class docstring for the rules), plus recorded notes."""
        return detect_events(
            self.log,
            overfit_gap=self.overfit_gap,
            memorisation_threshold=self.memorisation_threshold,
            rise=self.rise,
            delay_factor=self.delay_factor,
        ) + [dict(n) for n in self.notes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "robustlab.training-monitor/1",
            "settings": {
                "every": self.every,
                "epsilon": self.epsilon,
                "norm": self.norm,
                "pgd_steps": self.pgd_steps,
                "examples": len(self.inputs),
                "ensemble_every": self.ensemble_every,
                "seed": self.seed,
            },
            "log": list(self.log),
            "events": self.events(),
            "best_step": self.best_step,
        }

    def save(self, path: str | Path) -> Path:
        """Write the curves and events as JSON."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(), indent=2))
        return out

    def to_html(self, path: str | Path, *, title: str = "Training monitor") -> Path:
        """Write a standalone HTML page with the curves and the events marked."""
        from robustlab.training.chart import write_html

        return write_html(self.to_dict(), path, title=title)


def _half_rise_step(steps: list[int], values: list[float]) -> tuple[float, int | None, int | None]:
    """Overall rise of a curve (max minus first), the step and index where half of it is reached."""
    if not values:
        return 0.0, None, None
    lo = values[0]
    total = max(values) - lo
    for i, (s, v) in enumerate(zip(steps, values)):
        if v >= lo + total / 2 and total > 0:
            return total, s, i
    return total, None, None


def detect_events(
    log: Sequence[dict[str, Any]],
    *,
    overfit_gap: float = 0.05,
    memorisation_threshold: float = 0.2,
    rise: float = 0.2,
    delay_factor: float = 2.0,
) -> list[dict[str, Any]]:
    """The events of a monitor log, each ``{"kind", "step", "message", ...numbers}``.

    The rules are those of :class:`Monitor`; this function is pure so a saved log can be
    re-analysed with other thresholds.
    """
    events: list[dict[str, Any]] = []
    steps = [int(e["step"]) for e in log]

    def curve(key: str) -> tuple[list[int], list[float]]:
        pts = [(int(e["step"]), float(e[key])) for e in log if e.get(key) is not None]
        return [p[0] for p in pts], [p[1] for p in pts]

    s_pgd, pgd = curve("pgd_accuracy")
    if pgd:
        i_best = int(np.argmax(pgd))
        if pgd[i_best] - pgd[-1] >= overfit_gap:
            events.append(
                {
                    "kind": "robust_overfitting",
                    "step": s_pgd[-1],
                    "best_step": s_pgd[i_best],
                    "best": pgd[i_best],
                    "last": pgd[-1],
                    "message": f"robust accuracy fell from {pgd[i_best]:.3f} (step "
                    f"{s_pgd[i_best]}) to {pgd[-1]:.3f}; the best weights are kept",
                }
            )
        _, fg = curve("fgsm_accuracy")
        if len(fg) == len(pgd):
            best, best_i = -1.0, 0
            for i, v in enumerate(pgd):
                if v > best:
                    best, best_i = v, i
                elif v < best / 2 and best - v >= 0.1 and fg[i] >= fg[best_i]:
                    events.append(
                        {
                            "kind": "catastrophic_overfitting",
                            "step": s_pgd[i],
                            "pgd": v,
                            "fgsm": fg[i],
                            "best_pgd": best,
                            "message": f"PGD accuracy collapsed to {v:.3f} (best {best:.3f}) "
                            f"while FGSM accuracy is {fg[i]:.3f} (was {fg[best_i]:.3f})",
                        }
                    )
                    break
    s_noisy, noisy = curve("noisy_fit")
    for s, v in zip(s_noisy, noisy):
        if v > memorisation_threshold:
            events.append(
                {
                    "kind": "memorisation_onset",
                    "step": s,
                    "noisy_fit": v,
                    "message": f"{v:.0%} of the noisy-labelled training examples are fitted to "
                    f"their wrong label (threshold {memorisation_threshold:.0%})",
                }
            )
            break
    ref_key = "train_accuracy" if any("train_accuracy" in e for e in log) else "clean_accuracy"
    _, ref_step, ref_i = _half_rise_step(*curve(ref_key))
    if ref_step is None and steps:
        ref_step, ref_i = steps[0], 0
    for key in ("clean_accuracy", "pgd_accuracy"):
        if key == ref_key:
            continue
        s_k, v_k = curve(key)
        total, half_step, half_i = _half_rise_step(s_k, v_k)
        if half_step is None or ref_step is None or ref_i is None or half_i is None:
            continue
        late = half_step >= delay_factor * max(ref_step, 1) and half_i - ref_i >= 2
        if total >= rise and late:
            events.append(
                {
                    "kind": "delayed_robustness"
                    if key == "pgd_accuracy"
                    else "delayed_generalisation",
                    "step": half_step,
                    "reference_step": ref_step,
                    "rise": total,
                    "metric": key,
                    "message": f"{key} rose by {total:.3f}, reaching half of that at step "
                    f"{half_step}, {half_step / max(ref_step, 1):.1f}x later than {ref_key} (step "
                    f"{ref_step})",
                }
            )
    return events
