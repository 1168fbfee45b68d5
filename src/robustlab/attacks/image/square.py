"""Square Attack: score-based random search over square-shaped updates, for Linf and L2."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from robustlab.attacks._registry import register_attack
from robustlab.attacks.image._base import Context, ImageAttack, check_float, check_int
from robustlab.attacks.image._ops import batch_view, lp_norm
from robustlab.seeding import Draws, randint

__all__ = ["Square"]

# Fractions of the query budget (out of 10000) after which the square size halves again.
_SCHEDULE = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def _fraction(p_init: float, it: int, n_queries: int) -> float:
    scaled = int(it / n_queries * 10000)
    return p_init / 2 ** sum(scaled > s for s in _SCHEDULE)


def _as_image(x: torch.Tensor) -> torch.Tensor:
    # Non-image inputs are searched as a one-row image so windows run along their features.
    return x if x.ndim == 4 else x.reshape(len(x), 1, 1, -1)


def _window_table(h: int, w: int, sh: int, sw: int, device: torch.device) -> tuple[int, ...]:
    """The ``sh x sw`` windows of an ``h x w`` image, as their geometry: :func:`_window_masks`
    draws the masks of the chosen positions only, so memory grows with the batch, never with the
    number of positions (a table of every window of a 224 x 224 image would take gigabytes)."""
    return (h, w, sh, sw)


def _window_masks(windows: tuple[int, ...], pos: torch.Tensor) -> torch.Tensor:
    """Bool masks ``(n, 1, h, w)`` of the windows at positions ``pos`` (row-major over the
    ``(h - sh + 1) x (w - sw + 1)`` top-left corners)."""
    h, w, sh, sw = windows
    top = (pos // (w - sw + 1)).view(-1, 1, 1, 1)
    left = (pos % (w - sw + 1)).view(-1, 1, 1, 1)
    rows = torch.arange(h, device=pos.device).view(1, 1, h, 1)
    cols = torch.arange(w, device=pos.device).view(1, 1, 1, w)
    return (rows >= top) & (rows < top + sh) & (cols >= left) & (cols < left + sw)


def _positions(windows: tuple[int, ...]) -> int:
    h, w, sh, sw = windows
    return (h - sh + 1) * (w - sw + 1)


@functools.lru_cache(maxsize=64)
def _rectangles(rows: int, cols: int, device: torch.device) -> torch.Tensor:
    delta = torch.zeros(rows, cols, device=device)
    cr, cc = rows // 2, cols // 2
    for k in range(max(cr, cc) + 1):
        r0, c0 = max(cr - k, 0), max(cc - k, 0)
        delta[r0 : min(cr + k + 1, rows), c0 : min(cc + k + 1, cols)] += 1.0 / (k + 1) ** 2
    return delta / delta.norm().clamp(min=1e-12)


@functools.lru_cache(maxsize=64)
def _eta_base(s: int, device: torch.device) -> torch.Tensor:
    half = s // 2
    delta = torch.zeros(s, s, device=device)
    if half > 0:
        delta[:half] = _rectangles(half, s, device)
    delta[half:] = -_rectangles(s - half, s, device)
    return delta / delta.norm().clamp(min=1e-12)


def _eta(s: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """The L2 attack's ``s x s`` update: two opposite-sign halves of nested squares (unit norm)."""
    delta = _eta_base(s, device)
    if torch.rand(1, generator=gen, device=device).item() > 0.5:
        delta = delta.T
    return delta


def _random_signs(
    shape: tuple[int, ...], gen: torch.Generator | Draws, device: torch.device
) -> torch.Tensor:
    return randint(gen, 0, 2, shape, device=device).float() * 2 - 1


def _linf_size(p: float, h: int, w: int) -> tuple[int, int]:
    """Window height and width changing a fraction ``p`` of the pixels (one row for non-images)."""
    if h > 1:
        side = min(max(round(math.sqrt(p * h * w)), 1), h - 1)
        return side, side
    return 1, min(max(round(p * w), 1), max(w - 1, 1))


def _linf_step(
    gen: torch.Generator | Draws,
    cur: torch.Tensor,
    up: torch.Tensor,
    down: torch.Tensor,
    windows: tuple[int, ...],
) -> torch.Tensor:
    """Set one random window per example to a random vertex (``up``/``down`` per channel)."""
    n, c = cur.shape[:2]
    pos = randint(gen, 0, _positions(windows), (n,), device=cur.device)
    mask = _window_masks(windows, pos)
    high = randint(gen, 0, 2, (n, c, 1, 1), device=cur.device, dtype=torch.bool)
    # A window that already sits at the proposed vertex would waste the query: flip its sign.
    unchanged = ~((torch.where(high, up, down) != cur) & mask).flatten(1).any(dim=1)
    high = high ^ batch_view(unchanged, high)
    return torch.where(mask, torch.where(high, up, down), cur)


def _rows(rng: torch.Generator | Draws, idx: torch.Tensor) -> torch.Generator | Draws:
    """The draws of the working set ``idx`` (a batch generator is shared as it is)."""
    return rng.take(idx) if isinstance(rng, Draws) else rng


@register_attack("square")
@dataclass(frozen=True)
class Square(ImageAttack):
    """Random search that changes one square window per query (Linf: set it to a random vertex of
    the ball; L2: move mass between two windows) and keeps the change if the margin loss drops.

    It needs only scores, so it works on any model that returns them; the window size shrinks on
    a fixed schedule over the query budget. The loss is the criterion's margin (true class
    against the runner-up for plain misclassification); points stop as soon as it is <= 0.

    References:
        Andriushchenko et al., "Square Attack: a query-efficient black-box adversarial attack via
        random search", ECCV 2020.

    Args:
        n_queries: Query budget per example (including the initial query).
        p_init: Initial fraction of pixels changed per window.
        restarts: Independent runs (later ones only on points not yet broken).
    """

    norms: ClassVar[tuple[str, ...]] = ("linf", "l2")
    needs: ClassVar[frozenset[str]] = frozenset({"scores"})
    quick_params: ClassVar[dict[str, Any]] = {"n_queries": 100}
    n_queries: int = 5000
    p_init: float = 0.8
    restarts: int = 1

    def _check(self, owner: str) -> None:
        check_int(owner, "n_queries", self.n_queries, minimum=2)
        check_float(owner, "p_init", self.p_init, high=1.0)
        check_int(owner, "restarts", self.restarts)

    def _perturb(
        self, ctx: Context, inputs: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        best = inputs.clone()
        queries = torch.zeros(len(inputs), dtype=torch.long, device=inputs.device)
        found = torch.zeros(len(inputs), dtype=torch.bool, device=inputs.device)
        for _ in range(self.restarts):
            todo = (~found).nonzero().squeeze(1)
            if len(todo) == 0:
                break
            adv, hit, used = self._single_run(ctx, inputs[todo], targets[todo], todo)
            best[todo[hit]] = adv[hit]
            found[todo[hit]] = True
            queries[todo] += used
        return best, queries

    def _single_run(
        self, ctx: Context, inputs: torch.Tensor, y: torch.Tensor, rows: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        eps = ctx.epsilon
        assert eps is not None
        x = _as_image(inputs)
        n, c, h, w = x.shape
        gen, dev = ctx.generator, x.device
        # Linf: every draw per example (its own stream, whatever batch it is in); L2 moves the
        # same windows in every image of a batch, drawn from the batch's generator.
        rng = ctx.random_for(rows)
        shape = (-1, *inputs.shape[1:])
        linf = ctx.norm == "linf"
        if linf:
            adv = ctx.clip(x + eps * _random_signs((n, c, 1, w), rng, dev))
        else:
            adv = ctx.clip(x + self._l2_init(x, eps, gen))
        loss = ctx.margin(ctx.scores(adv.view(shape)), y)
        queries = torch.where(loss > 0, self.n_queries, 1)
        # The search runs on a compacted working set of the points still robust: broken points
        # leave it (with their query count) the moment they are broken, so no step touches them.
        idx = (loss > 0).nonzero().squeeze(1)
        xa, cur, la, ya = x[idx], adv[idx], loss[idx], y[idx]
        up, down = ctx.clip(xa + eps), ctx.clip(xa - eps)
        windows: tuple[int, ...] = ()
        size = (0, 0)
        for it in range(1, self.n_queries):
            if len(idx) == 0:
                break
            p = _fraction(self.p_init, it, self.n_queries)
            if linf:
                if _linf_size(p, h, w) != size:
                    size = _linf_size(p, h, w)
                    windows = _window_table(h, w, *size, dev)
                cand = _linf_step(_rows(rng, idx), cur, up, down, windows)
            else:
                cand = self._l2_step(ctx, xa, cur, eps, p)
            new_loss = ctx.margin(ctx.scores(cand.view(shape)), ya)
            better = new_loss < la
            cur = torch.where(batch_view(better, cur), cand, cur)
            la = torch.where(better, new_loss, la)
            broken = new_loss <= 0
            if bool(broken.any()):
                gone = idx[broken]
                adv[gone], loss[gone], queries[gone] = cur[broken], la[broken], it + 1
                keep = ~broken
                idx, xa, cur, la, ya = idx[keep], xa[keep], cur[keep], la[keep], ya[keep]
                up, down = up[keep], down[keep]
        adv[idx], loss[idx] = cur, la
        return adv.view_as(inputs), loss <= 0, queries

    def _l2_init(self, x: torch.Tensor, eps: float, gen: torch.Generator) -> torch.Tensor:
        n, c, h, w = x.shape
        s = max(h // 5, 1)
        delta = torch.zeros_like(x)
        top = (h - s * (h // s)) // 2
        for i in range(h // s):
            left = (w - s * (w // s)) // 2
            for _ in range(w // s):
                tile = _eta(s, gen, x.device).view(1, 1, s, s) if s > 1 else torch.ones(1, 1, 1, 1)
                signs = _random_signs((n, c, 1, 1), gen, x.device)
                delta[:, :, top + i * s : top + (i + 1) * s, left : left + s] += tile.to(x) * signs
                left += s
        return eps * delta / batch_view(lp_norm(delta, "l2").clamp(min=1e-12), delta)

    def _l2_step(
        self, ctx: Context, x: torch.Tensor, cur: torch.Tensor, eps: float, p: float
    ) -> torch.Tensor:
        n, c, h, w = x.shape
        gen, dev = ctx.generator, x.device
        delta = cur - x
        size = min(h, w)
        s = max(round(math.sqrt(p * h * w)), 3)
        s = min(s + (s % 2 == 0), size)
        if h == 1:
            s = 1
        sh, sw = (s, s) if h > 1 else (1, min(max(round(p * w), 1), w))
        top = int(torch.randint(0, h - sh + 1, (1,), generator=gen, device=dev))
        left = int(torch.randint(0, w - sw + 1, (1,), generator=gen, device=dev))
        top2 = int(torch.randint(0, h - sh + 1, (1,), generator=gen, device=dev))
        left2 = int(torch.randint(0, w - sw + 1, (1,), generator=gen, device=dev))
        win1 = (slice(None), slice(None), slice(top, top + sh), slice(left, left + sw))
        win2 = (slice(None), slice(None), slice(top2, top2 + sh), slice(left2, left2 + sw))
        both = torch.zeros_like(x, dtype=torch.bool)
        both[win1] = True
        both[win2] = True
        norm_image = lp_norm(delta, "l2")
        norm_windows = lp_norm(delta * both, "l2")
        old = delta[win1]
        old_norm = old.pow(2).sum(dim=(-2, -1), keepdim=True).sqrt()
        if sh > 1 and sw > 1:
            shape = _eta(sh, gen, dev)[:sh, :sw]
        else:
            shape = torch.ones(sh, sw, device=dev) / math.sqrt(sh * sw)
        new = shape.view(1, 1, sh, sw) * _random_signs((n, c, 1, 1), gen, dev)
        new = new + old / old_norm.clamp(min=1e-12)
        budget = ((eps**2 - norm_image**2).clamp(min=0) / c + norm_windows**2).sqrt()
        new_norm = new.pow(2).sum(dim=(-2, -1), keepdim=True).sqrt().clamp(min=1e-12)
        new = new / new_norm * budget.view(-1, 1, 1, 1)
        delta = delta.clone()
        delta[win2] = 0.0
        delta[win1] = new
        delta = eps * delta / batch_view(lp_norm(delta, "l2").clamp(min=1e-12), delta)
        return ctx.clip(x + delta)
