"""Per-example seeding: every random choice depends on (seed, probe, example id) only.

A scan derives one seed per probe (``derive_seed(scan seed, probe.seed_key)``) and turns it into
one 64-bit key per example with :func:`example_seeds` (a stable hash of the seed and the example
id), so an example draws the same numbers whatever shard, batch or position it comes in, on any
backend. :class:`ExampleSeeds` carries those keys through perturbations and attacks;
:meth:`ExampleSeeds.draws` gives a :class:`Draws`, which draws per-example noise vectorised: a
counter-based generator (SplitMix64's mixing function on ``key + golden * counter``, Steele et
al., OOPSLA 2014) evaluated for every example at once, with per-example call counters, so an
example that takes part in a draw consumes the same stream whatever other examples take part.
Samplers with no counter-based form (Poisson) use one ``torch.Generator`` per example, seeded from
the same keys.

Callers that pass a plain int seed (``perturbation.apply(x, seed=3)``) get positional keys, as if
the examples' ids were ``"0"``, ``"1"``, ...: the same seed gives the same result, and a scan,
which passes ids, gets id-keyed results.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from robustlab.errors import ConfigError
from robustlab.validation import check_seed

__all__ = [
    "Draws",
    "ExampleSeeds",
    "as_seeds",
    "base_seed",
    "example_seeds",
    "mix64",
    "rand",
    "randint",
    "randn",
]

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
#: Elements per vectorised block: bounds the int64 temporaries of one draw (64 MiB each).
_BLOCK = 1 << 23
#: Values per example from which a draw uses one native ``torch.Generator`` per example rather
#: than the vectorised counter-based hash (an image's noise; Square's windows stay vectorised).
PER_EXAMPLE_GENERATOR = 2048


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def example_seeds(seed: int, key: str, ids: Sequence[Any]) -> np.ndarray:
    """One 64-bit key per example (uint64 array), a stable hash (BLAKE2b) of ``(seed, key, id)``:
    the same on every machine and Python version, independent of the examples' order."""
    prefix = f"{int(seed)}\x1f{key}\x1f".encode()
    out = np.empty(len(ids), dtype=np.uint64)
    for i, example in enumerate(ids):
        digest = hashlib.blake2b(prefix + str(example).encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "little")
    return out


_U30, _U27, _U31 = np.uint64(30), np.uint64(27), np.uint64(31)
_UM1, _UM2, _UGOLDEN, _U1 = np.uint64(_M1), np.uint64(_M2), np.uint64(_GOLDEN), np.uint64(1)
_U11, _U40 = np.uint64(11), np.uint64(40)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on a uint64 array (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint64)
    x = (x ^ (x >> _U30)) * _UM1  # array arithmetic wraps silently
    x = (x ^ (x >> _U27)) * _UM2
    return x ^ (x >> _U31)


def _on_cpu(device: Any) -> bool:
    return device == "cpu" or (isinstance(device, torch.device) and device.type == "cpu")


def _lsr(x: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 values seen as uint64."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def _mix64_torch(x: torch.Tensor) -> torch.Tensor:
    """:func:`mix64` on int64 tensors (two's-complement wrapping, as uint64 bit patterns)."""
    x = (x ^ _lsr(x, 30)) * _signed(_M1)
    x = (x ^ _lsr(x, 27)) * _signed(_M2)
    return x ^ _lsr(x, 31)


class ExampleSeeds:
    """The per-example keys of a batch (see the module docstring).

    Attributes:
        keys: uint64 array ``(n,)``, one key per example.
        base: The int seed they come from (stored with results; attacks seed their batch-level
            choices, if any, from it).
    """

    __slots__ = ("base", "keys")

    def __init__(self, keys: np.ndarray, base: int = 0) -> None:
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)
        self.base = int(base)

    @classmethod
    def of(cls, seed: int, ids: Sequence[Any], key: str = "") -> ExampleSeeds:
        """Keys for examples ``ids`` under ``seed`` (a probe's seed) and an optional ``key``."""
        return cls(example_seeds(seed, key, ids), seed)

    @classmethod
    def positional(cls, seed: int, n: int) -> ExampleSeeds:
        """Keys for a batch given a plain int seed: example ``i`` is keyed as id ``str(i)``."""
        return cls(example_seeds(seed, "", [str(i) for i in range(n)]), seed)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: Any) -> ExampleSeeds:
        if isinstance(index, torch.Tensor):
            index = index.detach().cpu().numpy()
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return ExampleSeeds(self.keys[index], self.base)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExampleSeeds) and np.array_equal(self.keys, other.keys)

    def __hash__(self) -> int:
        return hash(self.keys.tobytes())

    def __repr__(self) -> str:
        return f"ExampleSeeds({len(self)} examples, base={self.base})"

    def stream(self, name: str) -> ExampleSeeds:
        """Independent keys for another purpose (``"start"``, ``"noise"``, ...)."""
        salt = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")
        with np.errstate(over="ignore"):
            return ExampleSeeds(mix64(self.keys ^ np.uint64(salt)), self.base)

    def seed(self, i: int) -> int:
        """Example ``i``'s key as a non-negative 63-bit int (for ``manual_seed`` and numpy)."""
        return int(self.keys[i]) >> 1

    def generator(self, i: int, device: torch.device | str = "cpu") -> torch.Generator:
        """A ``torch.Generator`` on ``device`` seeded for example ``i`` alone."""
        g = torch.Generator(device=device)
        g.manual_seed(self.seed(i))
        return g

    def rng(self, i: int) -> np.random.Generator:
        """A numpy generator seeded for example ``i`` alone."""
        return np.random.default_rng(self.seed(i))

    def draws(self) -> Draws:
        """A fresh :class:`Draws` over these examples (every call counter at 0)."""
        return Draws(self.keys)


def as_seeds(owner: str, seed: object, n: int) -> ExampleSeeds:
    """``seed`` as the per-example seeds of a batch of ``n``: an :class:`ExampleSeeds` of length
    ``n`` as it is, a non-negative int as positional keys (:meth:`ExampleSeeds.positional`)."""
    if isinstance(seed, ExampleSeeds):
        if len(seed) != n:
            raise ConfigError(
                f"The 'seed' parameter of {owner} holds seeds for {len(seed)} examples, but the "
                f"batch has {n}; pass ExampleSeeds.of(seed, ids) for these examples' ids."
            )
        return seed
    return ExampleSeeds.positional(check_seed(owner, seed), n)


def base_seed(seed: object) -> int:
    """The int behind ``seed`` (an int, or an :class:`ExampleSeeds`' base)."""
    return seed.base if isinstance(seed, ExampleSeeds) else int(seed)  # type: ignore[call-overload]


class Draws:
    """Per-example random draws, vectorised over the examples of a batch.

    Each method draws a tensor (or array) whose first dimension is the examples (all of them, or
    those of :meth:`take`); example ``i``'s values depend on its key, on how many draws it took
    part in before, and on the shape of its slice only. Each example has its own call counter,
    so the examples of a sub-batch (:meth:`take`) consume their own streams.

    The torch methods mirror ``torch.rand`` / ``randn`` / ``randint`` / ``poisson``; the numpy
    ones (``random``, ``standard_normal``, ``integers``) mirror ``numpy.random.Generator``'s, so
    code written against either generator takes a :class:`Draws` in its place.
    """

    def __init__(self, keys: np.ndarray, calls: np.ndarray | None = None, rows: Any = None):
        self._keys = np.asarray(keys, dtype=np.uint64)
        self._calls = np.zeros(len(self._keys), dtype=np.int64) if calls is None else calls
        self._rows = np.arange(len(self._keys)) if rows is None else rows

    def __len__(self) -> int:
        return len(self._rows)

    def take(self, rows: Any) -> Draws:
        """The draws of a subset of these examples (positions ``rows`` into them), sharing their
        call counters."""
        if isinstance(rows, torch.Tensor):
            rows = rows.detach().cpu().numpy()
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        return Draws(self._keys, self._calls, self._rows[rows])

    # -- the counter-based core ---------------------------------------------------------------

    def _subkeys(self) -> np.ndarray:
        """One fresh key per example for this draw; advances the examples' call counters."""
        rows = self._rows
        calls = self._calls[rows]
        self._calls[rows] = calls + 1
        counter = (calls.astype(np.uint64) + _U1) * _UGOLDEN
        return mix64(self._keys[rows] + counter)

    def _bits_np(self, m: int) -> np.ndarray:
        sub = self._subkeys()
        if m == 1:
            return mix64(sub + _UGOLDEN)[:, None]
        j = (np.arange(1, m + 1, dtype=np.uint64) * _UGOLDEN)[None, :]
        return mix64(sub[:, None] + j)

    def _bits_torch(self, m: int, device: torch.device | str) -> torch.Tensor:
        sub = torch.from_numpy(self._subkeys().view(np.int64)).to(device)
        j = torch.arange(1, m + 1, dtype=torch.int64, device=device) * _signed(_GOLDEN)
        return _mix64_torch(sub[:, None] + j[None, :])

    def _uniform_torch(
        self, shape: Sequence[int], device: Any, dtype: torch.dtype, *, open_low: bool = False
    ) -> torch.Tensor:
        n, m = self._check(shape)
        if n * m > _BLOCK and n > 1:  # bound the temporaries: the same numbers, in row blocks
            step = max(1, _BLOCK // max(m, 1))
            parts = [
                self.take(np.arange(s, min(s + step, n)))._uniform_torch(
                    (min(step, n - s), *shape[1:]), device, dtype, open_low=open_low
                )
                for s in range(0, n, step)
            ]
            return torch.cat(parts)
        if _on_cpu(device):  # numpy: the same bits, less overhead per call
            return torch.from_numpy(self._uniform_np(m, dtype, open_low)).to(dtype).view(*shape)
        bits = self._bits_torch(m, device)
        if dtype == torch.float64:
            u = _lsr(bits, 11).to(torch.float64) * 2.0**-53
            eps = 2.0**-53
        else:
            u = _lsr(bits, 40).to(torch.float32) * 2.0**-24
            eps = 2.0**-24
        if open_low:
            u = u + eps  # (0, 1]
        return u.to(dtype).view(*shape)

    def _uniform_np(self, m: int, dtype: torch.dtype, open_low: bool = False) -> np.ndarray:
        nbits = self._bits_np(m)
        if dtype == torch.float64:
            un = (nbits >> _U11).astype(np.float64) * 2.0**-53
            if open_low:
                un += 2.0**-53
            return un
        un32 = (nbits >> _U40).astype(np.float32) * np.float32(2.0**-24)
        if open_low:
            un32 += np.float32(2.0**-24)
        return un32

    def _check(self, shape: Sequence[int]) -> tuple[int, int]:
        shape = tuple(int(s) for s in shape)
        if not shape or shape[0] != len(self):
            raise ValueError(
                f"A per-example draw's first dimension must be the {len(self)} examples; got "
                f"shape {shape}."
            )
        return shape[0], math.prod(shape[1:])

    # -- torch ---------------------------------------------------------------------------------

    def _per_example(
        self,
        shape: Sequence[int],
        device: Any,
        dtype: torch.dtype,
        fill: Any,
    ) -> torch.Tensor:
        """``shape`` filled row by row, each row from a ``torch.Generator`` of its own seeded
        from the example's key and counter: native samplers, for draws of many values per
        example, where the counter-based hash would cost more than the sampling."""
        sub = self._subkeys()
        out = torch.empty(tuple(shape), device=device, dtype=dtype)
        for i in range(len(sub)):
            g = torch.Generator(device=out.device)
            g.manual_seed(int(sub[i]) >> 1)
            fill(out[i], g)
        return out

    def rand(
        self, shape: Sequence[int], *, device: Any = "cpu", dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """Uniform values in [0, 1), like ``torch.rand(shape)``."""
        dtype = dtype or torch.get_default_dtype()
        _, m = self._check(shape)
        if m >= PER_EXAMPLE_GENERATOR:
            return self._per_example(
                shape, device, dtype, lambda row, g: torch.rand(row.shape, generator=g, out=row)
            )
        return self._uniform_torch(shape, device, dtype)

    def randn(
        self, shape: Sequence[int], *, device: Any = "cpu", dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """Standard normal values, like ``torch.randn`` (Box-Muller on two counter-based
        uniforms per value for small draws, torch's sampler per example for large ones)."""
        dtype = dtype or torch.get_default_dtype()
        n, m = self._check(shape)
        if m >= PER_EXAMPLE_GENERATOR:
            return self._per_example(
                shape, device, dtype, lambda row, g: torch.randn(row.shape, generator=g, out=row)
            )
        both = self._uniform_torch((n, 2 * m), device, torch.float64, open_low=True)
        u1, u2 = both[:, :m], both[:, m:]
        z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
        return z.to(dtype).view(*shape)

    def randint(
        self, low: int, high: int, shape: Sequence[int], *, device: Any = "cpu", dtype: Any = None
    ) -> torch.Tensor:
        """Integers in ``[low, high)``, like ``torch.randint(low, high, shape)``."""
        if high <= low:
            raise ValueError(f"randint needs low < high; got {low}, {high}.")
        _, m = self._check(shape)
        if m >= PER_EXAMPLE_GENERATOR:
            out = self._per_example(
                shape,
                device,
                torch.int64,
                lambda row, g: torch.randint(low, high, row.shape, generator=g, out=row),
            )
        elif _on_cpu(device) and math.prod(shape) <= _BLOCK:
            un = self._uniform_np(m, torch.float64)
            k = np.minimum((un * (high - low)).astype(np.int64), high - low - 1) + low
            out = torch.from_numpy(k).view(*shape)
        else:
            u = self._uniform_torch(shape, device, torch.float64)
            out = (u * (high - low)).floor().to(torch.int64).clamp_(max=high - low - 1) + low
        return out if dtype is None else out.to(dtype)

    def poisson(self, rates: torch.Tensor) -> torch.Tensor:
        """Poisson samples with the given rates ``(n, ...)``, like ``torch.poisson``: one
        ``torch.Generator`` per example, seeded from its key and counter."""
        self._check(tuple(rates.shape))
        sub = self._subkeys()
        out = torch.empty_like(rates)
        for i in range(len(sub)):
            g = torch.Generator(device=rates.device)
            g.manual_seed(int(sub[i]) >> 1)
            out[i] = torch.poisson(rates[i], generator=g)
        return out

    # -- numpy ---------------------------------------------------------------------------------

    def random(self, size: int | Sequence[int]) -> np.ndarray:
        """Uniform floats in [0, 1), like ``numpy.random.Generator.random(size)``."""
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        _, m = self._check(shape)
        bits = self._bits_np(m)
        return ((bits >> np.uint64(11)).astype(np.float64) * 2.0**-53).reshape(shape)

    def standard_normal(self, size: int | Sequence[int]) -> np.ndarray:
        """Standard normal floats (Box-Muller), like ``numpy.random.Generator.standard_normal``."""
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        _, m = self._check(shape)
        bits = self._bits_np(2 * m)
        u = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53 + 2.0**-53
        z = np.sqrt(-2.0 * np.log(u[:, :m])) * np.cos(2.0 * np.pi * u[:, m:])
        return z.reshape(shape)

    def integers(
        self, low: int, high: int | None = None, size: int | Sequence[int] | None = None
    ) -> np.ndarray:
        """Integers in ``[low, high)`` (``[0, low)`` without ``high``), like
        ``numpy.random.Generator.integers``; ``size`` is required (its first dimension the
        examples)."""
        if high is None:
            low, high = 0, low
        if size is None:
            raise ValueError(
                "Per-example integers need a size whose first dimension is the examples."
            )
        u = self.random(size)
        return np.minimum(np.floor(u * (high - low)).astype(np.int64), high - low - 1) + low


def rand(
    generator: torch.Generator | Draws,
    shape: Sequence[int],
    *,
    device: Any = "cpu",
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``torch.rand`` from a ``torch.Generator`` or, per example, from :class:`Draws`."""
    if isinstance(generator, Draws):
        return generator.rand(shape, device=device, dtype=dtype)
    return torch.rand(tuple(shape), generator=generator, device=device, dtype=dtype)


def randn(
    generator: torch.Generator | Draws,
    shape: Sequence[int],
    *,
    device: Any = "cpu",
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``torch.randn`` from a ``torch.Generator`` or, per example, from :class:`Draws`."""
    if isinstance(generator, Draws):
        return generator.randn(shape, device=device, dtype=dtype)
    return torch.randn(tuple(shape), generator=generator, device=device, dtype=dtype)


def randint(
    generator: torch.Generator | Draws,
    low: int,
    high: int,
    shape: Sequence[int],
    *,
    device: Any = "cpu",
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``torch.randint`` from a ``torch.Generator`` or, per example, from :class:`Draws`."""
    if isinstance(generator, Draws):
        return generator.randint(low, high, shape, device=device, dtype=dtype)
    out = torch.randint(low, high, tuple(shape), generator=generator, device=device)
    return out if dtype is None else out.to(dtype)
