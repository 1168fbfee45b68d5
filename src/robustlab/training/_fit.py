"""The training loop: recipe + optimiser + schedule + averaging + monitor, with checks up front."""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from robustlab.errors import ConfigError, DataError
from robustlab.training._base import Recipe, Step, make_recipe
from robustlab.training._data import TrainData, as_train_data, split_batch
from robustlab.training.averaging._base import Averager, make_averager, recompute_batchnorm
from robustlab.training.monitor import Monitor
from robustlab.validation import check_choice, check_int, check_number, check_seed, fail

__all__ = ["OPTIMIZERS", "SCHEDULES", "TrainResult", "fit"]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "step", "cyclic")
_STATEFUL_LAYERS = (nn.modules.batchnorm._BatchNorm, nn.Dropout)


@dataclass
class TrainResult:
    """What :func:`fit` returns.

    Attributes:
        module: The trained network (the averaged one when ``averaging`` was given).
        trained: The network as last optimised (before averaging); the same object as the
            module passed to ``fit``.
        recipe: The recipe training ended with (the guard's fallback if it fired).
        history: One row per epoch: mean loss, learning rate, and the recipe's reported numbers.
        events: Guard firings and rollbacks, and the monitor's detected events.
        monitor: The monitor, if one was given.
        spec: Everything needed to repeat the run (recipe, optimiser, schedule, seed, ...).
        elapsed_s: Wall time.
    """

    module: nn.Module
    trained: nn.Module
    recipe: Recipe
    history: list[dict[str, Any]]
    events: list[dict[str, Any]]
    monitor: Monitor | None
    spec: dict[str, Any]
    elapsed_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "robustlab.training-run/1",
            "spec": self.spec,
            "final_recipe": self.recipe.spec(),
            "history": self.history,
            "events": self.events,
            "monitor": None if self.monitor is None else self.monitor.to_dict(),
            "elapsed_s": self.elapsed_s,
        }

    def save(self, path: str | Path) -> Path:
        """Write the run (spec, history, events, monitor curves) as JSON."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(), indent=2, default=str))
        return out


def _resolve_model(
    model: Any, bounds: tuple[float, float] | None
) -> tuple[nn.Module, Callable[[torch.Tensor], torch.Tensor], tuple[float, float]]:
    from robustlab.models import Model, TorchModel

    if isinstance(model, TorchModel):
        # the wrapper put the module in eval mode for evaluation; training switches it back
        model.module.train()
        chosen = bounds if bounds is not None else model.bounds
        return model.module, model.forward, chosen or (0.0, 1.0)
    if isinstance(model, Model):
        raise ConfigError(
            f"fit() trains torch networks; model {model.name!r} is a {type(model).__name__} "
            f"(a black box). Pass the torch.nn.Module, or a TorchModel wrapping it."
        )
    if not isinstance(model, nn.Module):
        raise ConfigError(
            f"The 'model' parameter of fit() must be a torch.nn.Module or a TorchModel. Got "
            f"{type(model).__name__} instead."
        )
    if not model.training and any(isinstance(m, _STATEFUL_LAYERS) for m in model.modules()):
        raise ConfigError(
            f"The model ({type(model).__name__}) is in eval mode, so its batch-norm / dropout "
            f"layers would train with frozen statistics. Call model.train() before fit(), or "
            f"pass allow_eval_mode=True to fine-tune in eval mode on purpose."
        )
    return model, model, bounds or (0.0, 1.0)


def _preflight(
    forward: Callable[[torch.Tensor], torch.Tensor],
    module: nn.Module,
    data: TrainData,
    bounds: tuple[float, float],
    device: torch.device,
    batch_size: int,
) -> int:
    """Check one batch against the model before training; return the number of classes."""
    if not any(p.requires_grad for p in module.parameters()):
        raise ConfigError(
            f"The model ({type(module).__name__}) has no parameter with requires_grad=True, so "
            f"there is nothing to train. Unfreeze the layers to train (p.requires_grad_(True))."
        )
    x, y, _ = data.first_batch(min(batch_size, 64))
    if y.ndim != 1 or y.is_floating_point() or len(y) != len(x):
        raise DataError(
            f"Training batches must hold integer targets shaped ({len(x)},), one class index per "
            f"input. Got {y.dtype} of shape {tuple(y.shape)}."
        )
    low, high = bounds
    tol = 1e-5 * max(1.0, high - low)
    if float(x.min()) < low - tol or float(x.max()) > high + tol:
        raise DataError(
            f"Training inputs lie in [{float(x.min()):.4g}, {float(x.max()):.4g}], outside the "
            f"bounds ({low:g}, {high:g}). Give raw inputs in the bounds (normalise inside the "
            f"model, e.g. TorchModel(module, mean=..., std=...)), or pass the right bounds."
        )
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = forward(x.to(device))
    except Exception as exc:
        raise DataError(
            f"The model cannot run on a training batch of shape {tuple(x.shape)}: "
            f"{type(exc).__name__}: {exc}. Make the data match the model's input shape."
        ) from None
    finally:
        module.train(was)
    if out.ndim != 2 or out.shape[0] != len(x):
        raise DataError(
            f"The model must map a batch of {len(x)} inputs to logits shaped ({len(x)}, classes). "
            f"Got an output of shape {tuple(out.shape)}."
        )
    k = int(out.shape[1])
    top = int(y.max()) if data.targets is None else int(data.targets.max())
    low_y = int(y.min()) if data.targets is None else int(data.targets.min())
    if low_y < 0 or top >= k:
        raise DataError(
            f"Training targets run {low_y}..{top}, but the model outputs {k} classes (0..{k - 1}). "
            f"Give the model one output per class."
        )
    return k


def _optimizer(
    name: Any, params: Any, lr: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    if callable(name):
        opt = name(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise fail("fit()", "optimizer", "a name or a function returning an Optimizer", name)
        return opt
    check_choice("fit()", "optimizer", name, OPTIMIZERS)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _lr_factor(schedule: str, progress: float) -> float:
    """Multiplier of the base learning rate at ``progress`` in [0, 1) of training."""
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "step":
        return 0.1 ** (int(progress >= 0.5) + int(progress >= 0.75))
    if schedule == "cyclic":  # the triangular one-cycle of fast adversarial training
        return progress / 0.4 if progress < 0.4 else max(0.0, (1 - progress) / 0.6)
    return 1.0


def fit(
    model: Any,
    data: Any,
    recipe: str | Recipe = "standard",
    *,
    epochs: int = 10,
    batch_size: int = 64,
    optimizer: str | Callable[[Any], torch.optim.Optimizer] = "sgd",
    lr: float = 0.05,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    schedule: str = "constant",
    averaging: str | Averager | None = None,
    monitor: Monitor | None = None,
    groups: Any = None,
    bounds: tuple[float, float] | None = None,
    seed: int = 0,
    max_rollbacks: int = 2,
    allow_eval_mode: bool = False,
    on_step: Callable[[nn.Module, int], None] | None = None,
) -> TrainResult:
    """Train ``model`` on ``data`` with ``recipe``; return the trained (or averaged) network.

    The module is trained in place and left in eval mode; the returned ``module`` is a separate
    network when ``averaging`` is given.

    Everything is checked before the first step: the recipe and its parameters (did-you-mean),
    the model's mode and trainable parameters, a first batch against the model (shape, classes,
    bounds), the epsilon budget against the bounds, and groups for recipes that need them.

    Args:
        model: A ``torch.nn.Module`` taking raw inputs within ``bounds``, or a ``TorchModel``
            (its normalisation and bounds apply). Trained in place.
        data: ``(inputs, targets)``, ``(inputs, targets, groups)``, a robustlab ``ArrayDataset``
            (groups from its ``group`` metadata), or a DataLoader of such batches.
        recipe: A registered name (``robustlab.training.RECIPES``) or a Recipe instance
            (``make_recipe("pgd_at", epsilon=0.1)``).
        epochs: Passes over the data.
        batch_size: Examples per step (tensors and datasets; a DataLoader keeps its own).
        optimizer: ``sgd``, ``adam``, ``adamw`` or a function ``params -> Optimizer``.
        lr: Base learning rate.
        momentum: SGD momentum.
        weight_decay: L2 penalty of the optimiser.
        schedule: ``constant``, ``cosine``, ``step`` (x0.1 at 50% and 75%) or ``cyclic``.
        averaging: ``swa``, ``ema`` or an Averager (``make_averager("ema", decay=0.999)``).
        monitor: A :class:`Monitor`, called after every step.
        groups: Group label per example (when ``data`` is tensors without them).
        bounds: Valid input range (default the TorchModel's, else ``(0, 1)``).
        seed: Seeds shuffling, the recipe's random draws and (inside a forked RNG) dropout.
        max_rollbacks: How often a recipe's guard may roll training back.
        allow_eval_mode: Train a module left in eval mode (frozen batch-norm statistics).
        on_step: Called as ``on_step(module, step)`` after every optimiser step.
    """
    start_time = time.perf_counter()
    recipe = make_recipe(recipe)
    check_int("fit()", "epochs", epochs)
    check_int("fit()", "batch_size", batch_size)
    check_number("fit()", "lr", lr)
    check_number("fit()", "momentum", momentum, low_inclusive=True, high=1.0, high_inclusive=False)
    check_number("fit()", "weight_decay", weight_decay, low_inclusive=True)
    check_choice("fit()", "schedule", schedule, SCHEDULES)
    check_int("fit()", "max_rollbacks", max_rollbacks, minimum=0)
    seed = check_seed("fit()", seed)
    averager = None if averaging is None else make_averager(averaging)
    forward: Callable[[torch.Tensor], torch.Tensor]
    if allow_eval_mode and isinstance(model, nn.Module):
        module, forward, chosen = model, model, bounds or (0.0, 1.0)
    else:
        module, forward, chosen = _resolve_model(model, bounds)
    bounds = (float(chosen[0]), float(chosen[1]))
    train = as_train_data(data, groups)
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    num_classes = _preflight(forward, module, train, bounds, device, batch_size)
    x0, _, _ = train.first_batch(1)
    recipe.check_data(bounds, int(x0[0].numel()), len(train.group_names), tuple(x0.shape[1:]))
    if monitor is not None and not isinstance(monitor, Monitor):
        raise fail("fit()", "monitor", "a robustlab.training.Monitor", monitor)

    generator = torch.Generator(device=device).manual_seed(seed)
    shuffle = torch.Generator().manual_seed(seed)
    opt = _optimizer(
        optimizer, [p for p in module.parameters() if p.requires_grad], lr, momentum, weight_decay
    )
    base_lrs = [g["lr"] for g in opt.param_groups]
    state: dict[str, Any] = {"sample": _sample(train, shuffle)}
    num_groups = max(len(train.group_names), 0)
    recipe.start(
        state, num_examples=train.num_examples, num_groups=num_groups, num_classes=num_classes
    )
    avg_state = None if averager is None else averager.start(module, epochs=epochs)
    steps_per_epoch = (
        math.ceil(train.num_examples / batch_size)
        if train.loader is None
        else max(len(train.loader), 1)
    )
    total = epochs * steps_per_epoch
    history: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    snapshot: tuple[dict[str, Any], dict[str, Any], int] | None = None
    rollbacks = 0
    guard_off = False
    step_count = 0
    spec = {
        "recipe": recipe.spec(),
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": optimizer
        if isinstance(optimizer, str)
        else getattr(optimizer, "__name__", "custom"),
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "schedule": schedule,
        "averaging": None if averager is None else averager.spec(),
        "seed": seed,
        "bounds": list(bounds),
        "model": type(module).__name__,
    }
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module.train()
        if monitor is not None:
            monitor.step(model, 0, epoch=0)
        for epoch in range(epochs):
            losses: list[float] = []
            infos: dict[str, list[float]] = {}
            for x, y, g, idx in train.batches(batch_size, shuffle):
                progress = min(step_count / max(total, 1), 1.0 - 1e-9)
                for group, base in zip(opt.param_groups, base_lrs):
                    group["lr"] = base * _lr_factor(schedule, progress)
                st = Step(
                    forward=forward,
                    module=module,
                    inputs=x.to(device),
                    targets=y.to(device).long(),
                    groups=None if g is None else g.to(device),
                    indices=idx,
                    bounds=bounds,
                    generator=generator,
                    step=step_count,
                    epoch=epoch,
                    progress=progress,
                    state=state,
                )
                loss = recipe.objective(st)
                if not torch.isfinite(loss):
                    raise ConfigError(
                        f"The training loss became {float(loss)} at step {step_count} (recipe "
                        f"{recipe.name!r}). Lower the learning rate (lr={lr})."
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step_count += 1
                st.step = step_count
                losses.append(float(loss.detach()))
                fired = None if guard_off else recipe.guard(st)
                for k, v in st.info.items():
                    infos.setdefault(k, []).append(v)
                if fired is None and "guard_pgd_accuracy" in st.info:
                    snapshot = (
                        copy.deepcopy(module.state_dict()),
                        copy.deepcopy(opt.state_dict()),
                        step_count,
                    )
                elif fired is not None:
                    event = {"kind": "guard_fired", "step": step_count, "epoch": epoch, **fired}
                    nxt = recipe.fallback()
                    if snapshot is not None and rollbacks < max_rollbacks and nxt != recipe:
                        module.load_state_dict(snapshot[0])
                        opt.load_state_dict(snapshot[1])
                        rollbacks += 1
                        event["rolled_back_to"] = snapshot[2]
                        event["message"] = (
                            f"{fired['rule']} (PGD {fired['pgd_accuracy']:.3f}, FGSM "
                            f"{fired['fgsm_accuracy']:.3f}); rolled back to step {snapshot[2]} and "
                            f"switched from {recipe.spec()['params'].get('method')} to "
                            f"{nxt.spec()['params'].get('method')}"
                        )
                        recipe = nxt
                    else:
                        # reported once: without a fallback left, the guard has nothing to do
                        guard_off = True
                        event["message"] = (
                            f"{fired['rule']} (PGD {fired['pgd_accuracy']:.3f}, FGSM "
                            f"{fired['fgsm_accuracy']:.3f}); no rollback left, training continues"
                        )
                    events.append(event)
                    if monitor is not None:
                        monitor.note(event)
                if avg_state is not None and averager is not None:
                    averager.update(avg_state, module, epoch=epoch, end_of_epoch=False)
                if monitor is not None:
                    monitor.step(model, step_count, epoch=epoch)
                if on_step is not None:
                    on_step(module, step_count)
            if avg_state is not None and averager is not None:
                averager.update(avg_state, module, epoch=epoch, end_of_epoch=True)
            row: dict[str, Any] = {
                "epoch": epoch,
                "loss": sum(losses) / max(len(losses), 1),
                "lr": opt.param_groups[0]["lr"],
                "recipe": recipe.spec()["params"].get("method", recipe.name),
            }
            row.update({k: sum(v) / len(v) for k, v in infos.items()})
            history.append(row)
    final: nn.Module = module
    if avg_state is not None and averager is not None:
        averaged = averager.result(avg_state)
        if averaged is not None:
            if train.inputs is not None:
                fwd = averaged if forward is module else _rebind(model, averaged)
                recompute_batchnorm(averaged, fwd, train.inputs.split(batch_size))
            averaged.eval()
            final = averaged
    if monitor is not None:
        events.extend(e for e in monitor.events() if e.get("kind") != "guard_fired")
    module.eval()
    return TrainResult(
        module=final,
        trained=module,
        recipe=recipe,
        history=history,
        events=events,
        monitor=monitor,
        spec=spec,
        elapsed_s=time.perf_counter() - start_time,
    )


def _sample(
    train: TrainData, generator: torch.Generator, size: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed random sample of training examples (recipes' guards check on it)."""
    if train.inputs is not None and train.targets is not None:
        idx = torch.randperm(len(train.inputs), generator=generator)[:size]
        return train.inputs[idx], train.targets[idx]
    xs, ys, n = [], [], 0
    for batch in train.loader:
        x, y, _, _ = split_batch(batch)
        xs.append(x)
        ys.append(y.long())
        n += len(x)
        if n >= size:
            break
    return torch.cat(xs)[:size], torch.cat(ys)[:size]


def _rebind(model: Any, module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The forward of ``model``'s wrapper around another module (same preprocessing)."""
    from robustlab.models import TorchModel

    if isinstance(model, TorchModel):
        wrapped = TorchModel(
            module,
            bounds=model.bounds,
            mean=None if model.mean is None else model.mean.cpu().tolist(),
            std=None if model.std is None else model.std.cpu().tolist(),
            eval_mode=False,
            device=model.device,
        )
        return wrapped.forward
    return module
