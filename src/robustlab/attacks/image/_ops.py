"""Batched norm, projection and steepest-ascent helpers shared by every attack."""

from __future__ import annotations

import torch

from robustlab.seeding import Draws

__all__ = [
    "ALL_NORMS",
    "NORMS",
    "ascent_direction",
    "batch_view",
    "lp_norm",
    "project_ball",
    "random_in_ball",
]

NORMS = ("linf", "l2", "l1")
#: Every norm a threat model may use: the three above, and ``l0`` (the number of input elements
#: changed), which only the sparse attacks (FMN-L0) search.
ALL_NORMS = (*NORMS, "l0")


def batch_view(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape per-example values ``(N,)`` so they broadcast against a batch shaped ``like``."""
    return values.reshape(-1, *([1] * (like.ndim - 1)))


def lp_norm(delta: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-example norm ``(N,)`` of a batch of perturbations."""
    flat = delta.flatten(1)
    if norm == "linf":
        return flat.abs().amax(dim=1)
    if norm == "l2":
        return flat.norm(p=2, dim=1)
    if norm == "l0":
        return (
            (flat != 0).sum(dim=1).to(delta.dtype if delta.is_floating_point() else torch.float32)
        )
    return flat.abs().sum(dim=1)


def _project_l0(flat: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    # Keep the floor(eps) largest-magnitude coordinates of each row (exact, ties by position).
    k = eps.floor().clamp(min=0).long()
    order = flat.abs().argsort(dim=1, descending=True, stable=True)
    rank = torch.empty_like(order).scatter_(
        1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order).contiguous()
    )
    return flat * (rank < k.unsqueeze(1)).to(flat.dtype)


def _project_l1(flat: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    # Sort-based Euclidean projection onto the L1 ball (Duchi et al., 2008), vectorised per row.
    a = flat.abs()
    inside = a.sum(dim=1) <= eps
    mu, _ = a.sort(dim=1, descending=True)
    cs = mu.cumsum(dim=1)
    k = torch.arange(1, flat.shape[1] + 1, device=flat.device, dtype=flat.dtype)
    cond = mu - (cs - eps.unsqueeze(1)) / k > 0
    rho = (cond.to(flat.dtype) * k).amax(dim=1).clamp(min=1).long()
    theta = (cs.gather(1, (rho - 1).unsqueeze(1)).squeeze(1) - eps) / rho.to(flat.dtype)
    proj = flat.sign() * (a - theta.clamp(min=0).unsqueeze(1)).clamp(min=0)
    return torch.where(inside.unsqueeze(1), flat, proj)


def project_ball(delta: torch.Tensor, norm: str, eps: float | torch.Tensor) -> torch.Tensor:
    """Project perturbations onto the ``norm`` ball of radius ``eps`` (scalar or per example)."""
    n = delta.shape[0]
    eps_t = torch.as_tensor(eps, dtype=delta.dtype, device=delta.device).expand(n).clone()
    if norm == "linf":
        bound = batch_view(eps_t, delta)
        return torch.maximum(torch.minimum(delta, bound), -bound)
    flat = delta.flatten(1)
    if norm == "l2":
        length = flat.norm(p=2, dim=1)
        factor = torch.clamp(eps_t / length.clamp(min=1e-12), max=1.0)
        return delta * batch_view(factor, delta)
    if norm == "l0":
        return _project_l0(flat, eps_t).view_as(delta)
    return _project_l1(flat, eps_t).view_as(delta)


def ascent_direction(
    grad: torch.Tensor,
    norm: str,
    *,
    x: torch.Tensor | None = None,
    bounds: tuple[float, float] | None = None,
    l1_fraction: float = 0.1,
) -> torch.Tensor:
    """Unit-norm direction of steepest ascent for ``grad`` in the given norm.

    For L1 the direction is sparse: the sign of the gradient on its largest ``l1_fraction`` of
    coordinates, skipping coordinates already pinned at a bound that the step would push past.
    """
    if norm == "linf":
        return grad.sign()
    flat = grad.flatten(1)
    if norm == "l2":
        return grad / batch_view(flat.norm(p=2, dim=1).clamp(min=1e-12), grad)
    magnitude = flat.abs()
    if x is not None and bounds is not None:
        xf = x.flatten(1)
        blocked = ((xf <= bounds[0]) & (flat < 0)) | ((xf >= bounds[1]) & (flat > 0))
        magnitude = magnitude.masked_fill(blocked, 0.0)
    k = max(1, round(l1_fraction * flat.shape[1]))
    top = magnitude.topk(k, dim=1).values[:, -1:]
    mask = (magnitude >= top) & (magnitude > 0)
    direction = flat.sign() * mask
    count = mask.sum(dim=1, keepdim=True).clamp(min=1)
    return (direction / count).view_as(grad)


def random_in_ball(
    like: torch.Tensor,
    norm: str,
    eps: float | torch.Tensor,
    generator: torch.Generator | Draws,
) -> torch.Tensor:
    """Random perturbations inside the ``norm`` ball of radius ``eps`` (scalar or per example);
    each example's from its own stream when ``generator`` is a :class:`~robustlab.seeding.Draws`."""
    n = like.shape[0]
    eps_t = torch.as_tensor(eps, dtype=like.dtype, device=like.device).expand(n)

    def rand(shape: tuple[int, ...], dtype: torch.dtype | None = like.dtype) -> torch.Tensor:
        if isinstance(generator, Draws):
            return generator.rand(shape, device=like.device, dtype=dtype)
        return torch.rand(shape, generator=generator, device=like.device, dtype=dtype)

    shape = tuple(like.shape)
    if norm == "linf":
        u = rand(shape)
        return (2 * u - 1) * batch_view(eps_t, like)
    if norm == "l2":
        if isinstance(generator, Draws):
            g = generator.randn(shape, device=like.device, dtype=like.dtype)
        else:
            g = torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)
    else:
        e = rand(shape)
        sign = rand(shape, None) < 0.5
        g = -torch.log(e.clamp(min=1e-12)) * torch.where(sign, -1.0, 1.0).to(like.dtype)
    radius = rand((n,)) * eps_t
    unit = g / batch_view(lp_norm(g, norm).clamp(min=1e-12), g)
    return unit * batch_view(radius, like)
