"""White-box adapter: a torch ``nn.Module`` with its input bounds and preprocessing inside."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from robustlab.errors import ConfigError, ModelError
from robustlab.models.base import Model, check_task, default_output

__all__ = ["TorchModel"]


def _channel_stat(value: float | Sequence[float] | None, name: str) -> torch.Tensor | None:
    if value is None:
        return None
    t = torch.as_tensor(value, dtype=torch.float32).flatten()
    if t.numel() == 0 or not torch.isfinite(t).all():
        raise ConfigError(
            f"The {name!r} parameter of TorchModel must be finite numbers. Got {value!r}."
        )
    if name == "std" and (t <= 0).any():
        raise ConfigError(f"The 'std' parameter of TorchModel must be positive. Got {value!r}.")
    return t


class TorchModel(Model):
    """A PyTorch model (a classifier by default) evaluated in input space.

    Normalisation happens inside the wrapper (``(x - mean) / std`` per channel), so attacks and
    corruptions work on raw inputs within ``bounds`` and never see the normalised tensor. The module
    is put in eval mode and moved to ``device``.

    Args:
        module: The network; it must map a batch ``(N, ...)`` to logits ``(N, num_classes)``
            (a regression network, ``task='regression'``, to values ``(N,)`` or ``(N, 1)``).
        bounds: Valid range of raw inputs, ``(0, 1)`` for images by default.
        mean: Per-channel mean subtracted inside the wrapper (or ``None``).
        std: Per-channel standard deviation divided inside the wrapper (or ``None``).
        num_classes: Number of classes (inferred from the first batch when ``None``).
        output: ``logits`` (default) or ``probabilities`` if the module ends in a softmax;
            ``values`` for regression (its default).
        batch_size: Inputs per forward call.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
        name: Name shown in the store and report (the module's class name by default).
        modality: ``image`` (default) or ``tabular``.
        eval_mode: Put the module in eval mode (default). Pass ``False`` only for models that must
            stay in train mode; the attack checks then warn about it.
        task: The task the network solves (``classification`` by default, ``regression``).
    """

    kind = "torch"

    def __init__(
        self,
        module: nn.Module,
        *,
        bounds: tuple[float, float] | None = (0.0, 1.0),
        mean: float | Sequence[float] | None = None,
        std: float | Sequence[float] | None = None,
        num_classes: int | None = None,
        output: str | None = None,
        batch_size: int = 256,
        device: str | torch.device | None = "cpu",
        name: str | None = None,
        modality: str = "image",
        eval_mode: bool = True,
        task: str = "classification",
    ) -> None:
        task = check_task(task, "TorchModel")
        if output is None:
            output = "logits" if task == "classification" else default_output(task)
        if not isinstance(module, nn.Module):
            raise ConfigError(
                f"TorchModel wraps a torch.nn.Module. Got {type(module).__name__}; use "
                f"FunctionModel for a plain callable or SklearnModel for an estimator."
            )
        if output == "labels":
            raise ConfigError(
                "TorchModel needs scores; use FunctionModel(output='labels') instead."
            )
        super().__init__(
            name=name or type(module).__name__,
            modality=modality,
            num_classes=num_classes,
            bounds=bounds,
            output=output,
            batch_size=batch_size,
            device=device,
            task=task,
        )
        self.module = module.to(self.device)
        if eval_mode:
            self.module.eval()
        m, s = _channel_stat(mean, "mean"), _channel_stat(std, "std")
        self.mean = None if m is None else m.to(self.device)
        self.std = None if s is None else s.to(self.device)

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset({"scores", "gradients"})

    def to(self, device: str | torch.device | None) -> TorchModel:
        """Move the module and preprocessing to ``device`` (in place) and return self."""
        from robustlab.models.base import resolve_device

        self.device = resolve_device(device)
        self.module.to(self.device)
        self.mean = None if self.mean is None else self.mean.to(self.device)
        self.std = None if self.std is None else self.std.to(self.device)
        return self

    @property
    def training(self) -> bool:
        """Whether the wrapped module is in train mode (dropout / batch-norm statistics active)."""
        return bool(self.module.training)

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is None and self.std is None:
            return x
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.mean is not None:
            x = x - (self.mean.view(shape) if self.mean.numel() > 1 else self.mean)
        if self.std is not None:
            x = x / (self.std.view(shape) if self.std.numel() > 1 else self.std)
        return x

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Differentiable outputs (logits, unless ``output='probabilities'``) for raw inputs."""
        if not torch.is_tensor(inputs):
            raise ModelError(f"TorchModel {self.name!r} expects a torch.Tensor batch.")
        x = inputs.to(self.device, dtype=torch.float32)
        return self.module(self._normalise(x))

    __call__ = forward

    def _forward_batch(self, inputs: Any) -> torch.Tensor:
        return self.forward(torch.as_tensor(inputs))

    def fingerprint(self) -> str:
        parts: list[bytes | str] = [type(self.module).__qualname__, repr(self.bounds), self.output]
        parts += self._task_parts()
        for stat in (self.mean, self.std):
            parts.append(b"" if stat is None else stat.cpu().numpy().tobytes())
        for key, tensor in self.module.state_dict().items():
            parts.append(key)
            parts.append(tensor.detach().cpu().contiguous().numpy().tobytes())
        return self._hash(*parts)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["module"] = type(self.module).__qualname__
        d["mean"] = None if self.mean is None else self.mean.cpu().tolist()
        d["std"] = None if self.std is None else self.std.cpu().tolist()
        d["parameters"] = int(sum(p.numel() for p in self.module.parameters()))
        return d
