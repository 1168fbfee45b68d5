"""Bound propagation: interval bounds (IBP) and CROWN linear relaxation over a torch.fx graph."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from robustlab.errors import ConfigError, ModelError
from robustlab.validation import check_choice, check_int, check_number

__all__ = ["UnsupportedLayerError", "VerifyResult", "verify"]

_OWNER = "robustlab.certify.verify"

Fn = Callable[[torch.Tensor], torch.Tensor]


class UnsupportedLayerError(ModelError):
    """The network holds a layer bound propagation has no rule for."""


@dataclass(frozen=True)
class VerifyResult:
    """Per-example outcome of :func:`verify` (NumPy arrays).

    Attributes:
        verified: Whether every input in the ball is classified as the target (margin > 0).
        margin_lower: Lower bound over the ball of ``min_j (z_target - z_j)``.
        lower, upper: ``(n, K)`` bounds of the logits over the ball.
        method, norm, epsilon: What the bounds hold for.
    """

    verified: np.ndarray
    margin_lower: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    method: str
    norm: str
    epsilon: float


@dataclass
class _Node:
    kind: str  # input | affine | add | sub | relu | maxpool
    parents: tuple[int, ...] = ()
    fn: Fn | None = None  # affine map of one parent
    abs_fn: Fn | None = None  # |L| r for the affine map's radius
    pool: dict[str, Any] = field(default_factory=dict)
    label: str = ""


_AFFINE_MODULES = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Flatten,
    nn.Identity,
    nn.Dropout,
)
_NONNEG_FUNCS = {torch.flatten, torch.reshape, F.avg_pool2d, F.adaptive_avg_pool2d}
_NONNEG_METHODS = {"view", "reshape", "flatten", "contiguous"}
_ADD = {operator.add, operator.iadd, torch.add}
_SUB = {operator.sub, operator.isub, torch.sub}
_RELU_FUNCS = {F.relu, torch.relu}


def _abs_of(mod: nn.Module) -> Fn | None:
    """``r -> |L| r`` for modules whose linear part can have negative entries."""
    if isinstance(mod, nn.Linear):
        return lambda r: F.linear(r, mod.weight.abs())
    if isinstance(mod, nn.Conv2d):
        return lambda r: F.conv2d(
            r, mod.weight.abs(), None, mod.stride, mod.padding, mod.dilation, mod.groups
        )
    if isinstance(mod, nn.Conv1d):
        return lambda r: F.conv1d(
            r, mod.weight.abs(), None, mod.stride, mod.padding, mod.dilation, mod.groups
        )
    if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
        assert mod.running_var is not None
        scale = (mod.weight if mod.weight is not None else 1.0) / torch.sqrt(
            mod.running_var + mod.eps
        )
        shape = (1, -1) + (1,) * (2 if isinstance(mod, nn.BatchNorm2d) else 0)
        return lambda r: (
            r * scale.abs().view(shape) if r.ndim > 2 or shape == (1, -1) else r * scale.abs()
        )
    return None


class _Graph:
    """The network as a list of bound-propagation nodes in topological order."""

    def __init__(self, module: nn.Module, example: torch.Tensor, prefix: list[_Node]) -> None:
        if isinstance(module, (*_AFFINE_MODULES, nn.ReLU, nn.MaxPool2d)):
            module = nn.Sequential(module)  # a bare layer traces to functional calls
        try:
            traced = fx.symbolic_trace(module)
        except Exception as exc:
            raise UnsupportedLayerError(
                f"{_OWNER} could not trace {type(module).__name__} with torch.fx ({exc}); bound "
                "propagation needs a network without data-dependent control flow."
            ) from None
        self.nodes: list[_Node] = list(prefix)
        mods = dict(traced.named_modules())
        env: dict[str, Any] = {}
        concrete: dict[int, torch.Tensor] = {}
        with torch.no_grad():
            x0 = example
            for n in prefix[1:]:
                assert n.fn is not None
                x0 = n.fn(x0)
            concrete[len(self.nodes) - 1] = x0
            for node in traced.graph.nodes:
                if node.op == "placeholder":
                    env[node.name] = _Sym(len(self.nodes) - 1)
                elif node.op == "output":
                    out = env[node.args[0].name] if isinstance(node.args[0], fx.Node) else None
                    if not isinstance(out, _Sym):
                        raise UnsupportedLayerError(
                            f"{_OWNER} needs a network returning one logits tensor."
                        )
                    self.output = out.index
                else:
                    env[node.name] = self._node(node, env, mods, concrete)

    def _add(self, node: _Node, concrete: dict[int, torch.Tensor], value: torch.Tensor) -> _Sym:
        self.nodes.append(node)
        concrete[len(self.nodes) - 1] = value
        return _Sym(len(self.nodes) - 1)

    def _node(
        self,
        node: fx.Node,
        env: dict[str, Any],
        mods: dict[str, nn.Module],
        concrete: dict[int, torch.Tensor],
    ) -> Any:
        def val(a: Any) -> Any:
            if isinstance(a, fx.Node):
                v = env[a.name]
                return concrete[v.index] if isinstance(v, _Sym) else v
            if isinstance(a, (tuple, list)):
                return type(a)(val(b) for b in a)
            return a

        syms = [
            env[a.name]
            for a in node.args
            if isinstance(a, fx.Node) and isinstance(env[a.name], _Sym)
        ]
        args = [val(a) for a in node.args]
        kwargs = {k: val(v) for k, v in node.kwargs.items()}
        if node.op == "call_method" and node.target in ("size", "dim"):
            syms = []  # shapes are read from the concrete batch
        if not syms:  # a constant computation (shapes, sizes)
            if node.op == "call_module":
                return mods[str(node.target)](*args, **kwargs)
            if node.op == "call_method":
                return getattr(args[0], str(node.target))(*args[1:], **kwargs)
            if node.op == "get_attr":
                return _attr(mods[""], str(node.target))
            return node.target(*args, **kwargs)  # type: ignore[operator]
        first = node.args[0]
        rest_syms = [
            a for a in node.args[1:] if isinstance(a, fx.Node) and isinstance(env[a.name], _Sym)
        ]
        here = f"{node.op} {node.target!s} ({node.name})"
        if node.op == "call_module":
            mod = mods[str(node.target)]
            label = f"layer {node.target!r} ({type(mod).__name__})"
            if isinstance(mod, nn.ReLU):
                return self._add(
                    _Node("relu", (syms[0].index,), label=label), concrete, mod(args[0])
                )
            if isinstance(mod, nn.MaxPool2d):
                if mod.dilation not in (1, (1, 1)) or mod.ceil_mode:
                    raise UnsupportedLayerError(
                        f"{_OWNER}: {label} uses dilation or ceil_mode, which bound propagation does not support; use a plain MaxPool2d."
                    )
                pool = {
                    "kernel_size": mod.kernel_size,
                    "stride": mod.stride,
                    "padding": mod.padding,
                }
                return self._add(
                    _Node("maxpool", (syms[0].index,), pool=pool, label=label),
                    concrete,
                    mod(args[0]),
                )
            if isinstance(mod, _AFFINE_MODULES):
                if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)) and (
                    mod.training or mod.running_var is None
                ):
                    raise ConfigError(
                        f"{_OWNER}: {label} is in train mode or keeps no running statistics; call model.eval() first (bounds hold for eval-mode batch norm only)."
                    )
                abs_fn = _abs_of(mod)
                return self._affine(mod, abs_fn, syms[0].index, label, concrete, args[0])
            raise UnsupportedLayerError(
                f"{_OWNER} has no bound rule for {label}. Supported: Linear, Conv1d/Conv2d, ReLU, "
                "AvgPool2d, AdaptiveAvgPool2d, MaxPool2d, BatchNorm (eval), Flatten, Dropout, "
                "Identity, residual additions."
            )
        target = node.target
        if node.op == "call_function" and target in _ADD | _SUB and len(syms) == 2:
            kind = "add" if target in _ADD else "sub"
            return self._add(
                _Node(kind, (syms[0].index, syms[1].index), label=here),
                concrete,
                target(*args),
            )
        if (
            len(syms) != 1
            or rest_syms
            or not (isinstance(first, fx.Node) and isinstance(env[first.name], _Sym))
        ):
            if (
                node.op == "call_function"
                and target in (operator.mul, torch.mul)
                and len(syms) == 1
            ):
                args = args[::-1]
                first = node.args[1]
            else:
                raise UnsupportedLayerError(
                    f"{_OWNER} has no bound rule for {here}: it combines bounded tensors in a way other than addition."
                )
        index = syms[0].index
        other = args[1:]

        def apply(t: torch.Tensor) -> torch.Tensor:
            if node.op == "call_method":
                out: torch.Tensor = getattr(t, str(target))(*other, **kwargs)
                return out
            res: torch.Tensor = target(t, *other, **kwargs)  # type: ignore[operator]
            return res

        if (node.op == "call_method" and target == "relu") or target in _RELU_FUNCS:
            return self._add(_Node("relu", (index,), label=here), concrete, F.relu(args[0]))
        if target == F.max_pool2d:
            raise UnsupportedLayerError(
                f"{_OWNER}: use nn.MaxPool2d instead of {here} for bound propagation."
            )
        nonneg = (node.op == "call_method" and target in _NONNEG_METHODS) or target in _NONNEG_FUNCS
        if node.op == "call_function" and target in _ADD | _SUB:
            nonneg = True
        if node.op == "call_function" and target in (
            operator.mul,
            torch.mul,
            operator.truediv,
            operator.neg,
        ):
            c = other[0] if other else -1.0
            scale = abs(c) if target is not operator.truediv else 1.0 / abs(c)

            def scaled(r: torch.Tensor, s: float = scale) -> torch.Tensor:
                return r * s

            return self._affine(apply, scaled, index, here, concrete, args[0])
        if not nonneg:
            raise UnsupportedLayerError(f"{_OWNER} has no bound rule for {here}.")
        return self._affine(apply, None, index, here, concrete, args[0])

    def _affine(
        self,
        fn: Fn,
        abs_fn: Fn | None,
        parent: int,
        label: str,
        concrete: dict[int, torch.Tensor],
        x: torch.Tensor,
    ) -> _Sym:
        if abs_fn is None:
            abs_fn = lambda r, fn=fn: fn(r) - fn(torch.zeros_like(r))  # noqa: E731
        return self._add(
            _Node("affine", (parent,), fn=fn, abs_fn=abs_fn, label=label), concrete, fn(x)
        )


@dataclass(frozen=True)
class _Sym:
    index: int


def _attr(root: nn.Module, target: str) -> Any:
    obj: Any = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _relu_relax(
    lo_: torch.Tensor, u: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CROWN's ReLU relaxation: lower slope, upper slope and upper intercept."""
    active, unstable = lo_ >= 0, (lo_ < 0) & (u > 0)
    up = torch.where(unstable, u / (u - lo_).clamp_min(1e-12), active.to(u.dtype))
    b_up = torch.where(unstable, -lo_ * up, torch.zeros_like(u))
    lo = torch.where(unstable, (u >= -lo_).to(u.dtype), active.to(u.dtype))
    return lo, up, b_up


def _first(vjp: Callable[..., Any]) -> Fn:
    """The input cotangent of a one-input ``vjp`` function."""
    return lambda a: vjp(a)[0]


def _pos_neg(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return a.clamp_min(0), a.clamp_max(0)


def _sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``sum`` over the node dims of ``a`` (B, m, ...) times ``b`` (B, ...)."""
    return (a * b.unsqueeze(1)).flatten(2).sum(2)


class _Propagator:
    def __init__(
        self,
        graph: _Graph,
        x: torch.Tensor,
        xl: torch.Tensor,
        xu: torch.Tensor,
        norm: str,
        eps: float,
    ) -> None:
        self.g, self.x, self.xl, self.xu, self.norm, self.eps = graph, x, xl, xu, norm, eps
        self.lower: dict[int, torch.Tensor] = {}
        self.upper: dict[int, torch.Tensor] = {}
        self.center: dict[int, torch.Tensor] = {}

    def ibp(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Interval bounds of node ``i`` from its parents' bounds."""
        node, lo, up = self.g.nodes[i], self.lower, self.upper
        if node.kind == "input":
            return self.xl, self.xu
        p = node.parents
        if node.kind == "affine":
            assert node.fn is not None and node.abs_fn is not None
            mid, rad = (lo[p[0]] + up[p[0]]) / 2, (up[p[0]] - lo[p[0]]) / 2
            m, r = node.fn(mid), node.abs_fn(rad)
            return m - r, m + r
        if node.kind == "add":
            return lo[p[0]] + lo[p[1]], up[p[0]] + up[p[1]]
        if node.kind == "sub":
            return lo[p[0]] - up[p[1]], up[p[0]] - lo[p[1]]
        if node.kind == "relu":
            return lo[p[0]].clamp_min(0), up[p[0]].clamp_min(0)
        return F.max_pool2d(lo[p[0]], **node.pool), F.max_pool2d(up[p[0]], **node.pool)

    def backward(self, start: int, a0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """CROWN: lower and upper bounds of ``a0 @ node_start`` (``a0`` is (B, m, *shape))."""
        b, m = a0.shape[:2]
        al: dict[int, torch.Tensor] = {start: a0}
        au: dict[int, torch.Tensor] = {start: a0}
        bias_l = torch.zeros(b, m, dtype=a0.dtype, device=a0.device)
        bias_u = torch.zeros_like(bias_l)

        def push(k: int, l_: torch.Tensor, u_: torch.Tensor) -> None:
            al[k] = al[k] + l_ if k in al else l_
            au[k] = au[k] + u_ if k in au else u_

        for i in range(start, -1, -1):
            if i not in al:
                continue
            node, a_l, a_u = self.g.nodes[i], al.pop(i), au.pop(i)
            p = node.parents
            if node.kind == "input":
                return self._concretize(a_l, a_u, bias_l, bias_u)
            if node.kind == "affine":
                assert node.fn is not None
                x0 = self.center[p[0]]
                out0, vjp = torch.func.vjp(node.fn, torch.zeros_like(x0))[:2]
                back = torch.func.vmap(_first(vjp), in_dims=1, out_dims=1)
                bias_l = bias_l + _sum(a_l, out0)
                bias_u = bias_u + _sum(a_u, out0)
                push(p[0], back(a_l), back(a_u))
            elif node.kind in ("add", "sub"):
                push(p[0], a_l, a_u)
                sign = 1.0 if node.kind == "add" else -1.0
                push(p[1], sign * a_l, sign * a_u)
            elif node.kind == "relu":
                lo, up, b_up = _relu_relax(self.lower[p[0]], self.upper[p[0]])
                lp, ln = _pos_neg(a_l)
                up_, un = _pos_neg(a_u)
                bias_l = bias_l + _sum(ln, b_up)
                bias_u = bias_u + _sum(up_, b_up)
                push(
                    p[0],
                    lp * lo.unsqueeze(1) + ln * up.unsqueeze(1),
                    up_ * up.unsqueeze(1) + un * lo.unsqueeze(1),
                )
            else:
                lin = self.lower[p[0]]
                top_u = F.max_pool2d(self.upper[p[0]], **node.pool)
                _, idx = F.max_pool2d(lin, return_indices=True, **node.pool)
                lp, ln = _pos_neg(a_l)
                up_, un = _pos_neg(a_u)
                bias_l = bias_l + _sum(ln, top_u)
                bias_u = bias_u + _sum(up_, top_u)
                push(p[0], self._select(lp, idx, lin), self._select(un, idx, lin))
        raise AssertionError("the backward pass reaches the input")

    @staticmethod
    def _select(a: torch.Tensor, idx: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Coefficients on the max-pool output moved onto the selected inputs."""
        b, m, c = a.shape[:3]
        out = torch.zeros(b, m, c, like.shape[-2] * like.shape[-1], dtype=a.dtype, device=a.device)
        ix = idx.flatten(2).unsqueeze(1).expand(b, m, c, -1)
        out.scatter_add_(3, ix, a.flatten(3))
        return out.view(b, m, *like.shape[1:])

    def _concretize(
        self, a_l: torch.Tensor, a_u: torch.Tensor, bias_l: torch.Tensor, bias_u: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.norm == "l2":
            x = self.x.unsqueeze(1)
            lb = (a_l * x).flatten(2).sum(2) - self.eps * a_l.flatten(2).norm(dim=2)
            ub = (a_u * x).flatten(2).sum(2) + self.eps * a_u.flatten(2).norm(dim=2)
            return lb + bias_l, ub + bias_u
        lp, ln = _pos_neg(a_l)
        up, un = _pos_neg(a_u)
        lb = _sum(lp, self.xl) + _sum(ln, self.xu)
        ub = _sum(up, self.xu) + _sum(un, self.xl)
        return lb + bias_l, ub + bias_u

    def run(self, crown: bool) -> None:
        need = {p for n in self.g.nodes if n.kind in ("relu", "maxpool") for p in n.parents}
        need.add(self.g.output)
        consumers: dict[int, set[str]] = {}
        for n in self.g.nodes:
            for p in n.parents:
                consumers.setdefault(p, set()).add(n.kind)
        relu_only = {
            i for i, kinds in consumers.items() if kinds == {"relu"} and i != self.g.output
        }
        x = self.x
        for i, node in enumerate(self.g.nodes):
            if node.kind == "input":
                self.center[i] = x
            elif node.kind == "affine":
                assert node.fn is not None
                self.center[i] = node.fn(self.center[node.parents[0]])
            elif node.kind in ("add", "sub"):
                a, c = (self.center[p] for p in node.parents)
                self.center[i] = a + c if node.kind == "add" else a - c
            elif node.kind == "relu":
                self.center[i] = F.relu(self.center[node.parents[0]])
            else:
                self.center[i] = F.max_pool2d(self.center[node.parents[0]], **node.pool)
            lo, up = self.ibp(i)
            if crown and i in need and node.kind != "input":
                lo, up = self._tighten(i, lo, up, only_unstable=i in relu_only)
            self.lower[i], self.upper[i] = lo, up

    def _tighten(
        self, i: int, lo: torch.Tensor, up: torch.Tensor, *, only_unstable: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """CROWN bounds of node ``i`` intersected with its interval bounds ``lo``, ``up``.

        With ``only_unstable`` (every consumer is a ReLU) only the neurons whose interval
        crosses zero in some example of the batch are back-substituted: a ReLU's relaxation of
        a stable neuron is exact whatever its bounds, so the others cannot change a result."""
        shape = lo.shape[1:]
        d = int(np.prod(shape))
        flat_lo, flat_up = lo.reshape(len(lo), d), up.reshape(len(up), d)
        if only_unstable:
            rows = ((flat_lo < 0) & (flat_up > 0)).any(0).nonzero().flatten()
        else:
            rows = torch.arange(d, device=lo.device)
        if len(rows) == 0:
            return lo, up
        a0 = torch.zeros(len(rows), d, dtype=lo.dtype, device=lo.device)
        a0[torch.arange(len(rows), device=lo.device), rows] = 1.0
        a0 = a0.view(1, len(rows), *shape).expand(len(lo), len(rows), *shape)
        cl, cu = self.backward(i, a0)
        new_lo, new_up = flat_lo.clone(), flat_up.clone()
        new_lo[:, rows] = torch.maximum(flat_lo[:, rows], cl)
        new_up[:, rows] = torch.minimum(flat_up[:, rows], cu)
        return new_lo.view_as(lo), new_up.view_as(up)


def _network(model: Any) -> tuple[nn.Module, list[_Node], tuple[float, float] | None]:
    """The torch module, the preprocessing as leading affine nodes, and the input bounds."""
    from robustlab.models.base import Model
    from robustlab.models.torch_model import TorchModel

    prefix = [_Node("input", label="input")]
    if isinstance(model, TorchModel):
        if model.output != "logits":
            raise ModelError(
                f"{_OWNER} bounds logits; TorchModel {model.name!r} declares output={model.output!r}. Wrap the network without its final softmax."
            )
        if model.mean is not None or model.std is not None:
            prefix.append(
                _Node(
                    "affine",
                    (0,),
                    fn=model._normalise,
                    abs_fn=lambda r: model._normalise(r) - model._normalise(torch.zeros_like(r)),
                    label="normalisation",
                )
            )
            if model.std is None:
                prefix[-1].abs_fn = lambda r: r
            else:
                std = model.std
                prefix[-1].abs_fn = lambda r: (
                    r / (std.view((1, -1) + (1,) * (r.ndim - 2)) if std.numel() > 1 else std)
                )
        return model.module, prefix, model.bounds
    if isinstance(model, nn.Module):
        return model, prefix, None
    kind = type(model).__name__
    if isinstance(model, Model):
        raise ModelError(
            f"{_OWNER} needs the network's layers and gradients; the {kind} {model.name!r} offers neither. Wrap a torch network in TorchModel."
        )
    raise ModelError(f"{_OWNER} needs a TorchModel or a torch.nn.Module. Got a {kind} instead.")


def verify(
    model: Any,
    inputs: Any,
    targets: Any,
    *,
    epsilon: float,
    norm: str = "linf",
    method: str = "crown",
    batch_size: int = 32,
) -> VerifyResult:
    """Bound the logits of ``model`` over the ``norm`` ball of radius ``epsilon`` around each
    input (intersected with the model's input bounds for ``linf``) and verify the target class.

    ``method='ibp'`` propagates intervals; ``'crown'`` back-substitutes linear relaxations
    through every layer (intermediate bounds by CROWN too), intersected with the interval bounds,
    so it is never looser than IBP.

    References:
        Gowal et al., On the Effectiveness of Interval Bound Propagation for Training Verifiably
        Robust Models, 2018.
        Zhang et al., Efficient Neural Network Robustness Certification with General Activation
        Functions (CROWN), NeurIPS 2018.
    """
    check_number(_OWNER, "epsilon", epsilon, low_inclusive=True)
    check_choice(_OWNER, "norm", norm, ("linf", "l2"))
    check_choice(_OWNER, "method", method, ("ibp", "crown"))
    check_int(_OWNER, "batch_size", batch_size)
    module, prefix, bounds = _network(model)
    if module.training:
        raise ConfigError(
            f"{_OWNER}: the network is in train mode; call .eval() first (dropout and batch norm make bounds meaningless in train mode)."
        )
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    x = torch.as_tensor(inputs, dtype=torch.float32).to(device)
    y = torch.as_tensor(
        np.asarray(targets.cpu() if torch.is_tensor(targets) else targets), dtype=torch.long
    ).to(device)
    if x.ndim < 2 or len(x) == 0 or len(y) != len(x):
        raise ConfigError(
            f"The 'inputs' and 'targets' of {_OWNER} must be a non-empty batch (N, ...) and N labels. Got shapes {tuple(x.shape)} and {tuple(y.shape)} instead."
        )
    if bounds is not None and (x.min() < bounds[0] or x.max() > bounds[1]):
        raise ConfigError(
            f"The 'inputs' of {_OWNER} must lie within the model's bounds {bounds}. Got values in [{float(x.min()):g}, {float(x.max()):g}] instead; pass raw (unnormalised) inputs."
        )
    outs = []
    for s in range(0, len(x), batch_size):
        # Traced per batch: shapes such as x.size(0) are read from the batch itself.
        graph = _Graph(module, x[s : s + batch_size], prefix)
        outs.append(
            _verify_batch(
                graph, x[s : s + batch_size], y[s : s + batch_size], epsilon, norm, method, bounds
            )
        )
    margin = torch.cat([o[0] for o in outs]).detach().cpu().numpy()
    return VerifyResult(
        verified=margin > 0,
        margin_lower=margin.astype(np.float64),
        lower=torch.cat([o[1] for o in outs]).detach().cpu().numpy().astype(np.float64),
        upper=torch.cat([o[2] for o in outs]).detach().cpu().numpy().astype(np.float64),
        method=method,
        norm=norm,
        epsilon=float(epsilon),
    )


def _verify_batch(
    graph: _Graph,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    norm: str,
    method: str,
    bounds: tuple[float, float] | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    xl, xu = x - eps, x + eps
    if bounds is not None:
        xl, xu = xl.clamp(*bounds), xu.clamp(*bounds)
    prop = _Propagator(graph, x, xl, xu, norm, eps)
    with torch.no_grad():
        prop.run(method == "crown")
    out = graph.output
    lo, up = prop.lower[out], prop.upper[out]
    if lo.ndim != 2:
        raise ModelError(
            f"{_OWNER} needs (n, K) logits from the network; got shape {tuple(lo.shape)}."
        )
    k = lo.shape[1]
    if int(y.max()) >= k or int(y.min()) < 0:
        raise ConfigError(
            f"The 'targets' of {_OWNER} must be class ids in 0..{k - 1}. Got {y.tolist()[:5]} instead."
        )
    others = torch.stack(
        [torch.tensor([j for j in range(k) if j != t], device=x.device) for t in y.tolist()]
    )
    ibp_margin = (lo.gather(1, y[:, None]) - up.gather(1, others)).amin(1)
    if method == "ibp":
        return ibp_margin, lo, up
    c = -F.one_hot(others, k).to(lo.dtype) + F.one_hot(y, k).to(lo.dtype)[:, None, :]
    with torch.no_grad():
        cl, _ = prop.backward(out, c)
    return torch.maximum(cl.amin(1), ibp_margin), lo, up
