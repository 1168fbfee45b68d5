"""Portable scan jobs: what a unit needs, described so that another process can rebuild it.

A :class:`~robustlab.runner.plan.Unit` (probe spec, shard, bounds, seed) is sent per unit; the
objects every unit shares, the model, the dataset and the reference model, travel once per worker
as a :class:`Workload` of :class:`Source` objects. :func:`run_job` runs one unit in whichever
process holds them, with torch's random generators seeded for that unit alone, so results depend
neither on the order of the units nor on the process that runs them.
"""

from __future__ import annotations

import importlib.machinery
import io
import os
import pickle
import sys
import time
import types
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from robustlab._progress import unit_began
from robustlab.data.base import Dataset
from robustlab.errors import ConfigError
from robustlab.metrics.base import derive_seed
from robustlab.models.base import Model
from robustlab.models.loading import (
    USER_MODULE_PREFIX,
    ModelFactory,
    import_user_file,
    model_factory,
)
from robustlab.models.torch_model import TorchModel
from robustlab.probes.base import Probe
from robustlab.records import Records
from robustlab.runner.plan import Unit, portable_spec, rebuild_probe
from robustlab.runner.preflight import check_bounds

__all__ = [
    "Finished",
    "Source",
    "Workload",
    "attempt_job",
    "check_portable",
    "describe_error",
    "run_job",
    "seeded",
]

#: Model attributes a rebuilt model takes over from the one the scan was given (set after
#: loading, e.g. ``num_classes`` inferred by the preflight checks or ``--trained-on``).
_MODEL_SETTINGS = ("name", "num_classes", "batch_size", "trained_on", "robust_intervention")

_MODEL_FIX = (
    "Define the model's class (or function) at the top level of an importable module, not as a "
    "lambda, a closure, a local class or in an interactive session; or load it with "
    "robustlab.load_model('FILE.py:FACTORY', weights) (--model FILE.py:FACTORY) so that each "
    "worker rebuilds it from the file; or use the local backend (backend='local')."
)
_DATASET_FIX = (
    "Define the dataset's class at the top level of an importable module and keep only "
    "picklable values in it (arrays, lists, paths; no open files, lambdas or local classes); or "
    "use the local backend (backend='local')."
)


@dataclass
class Finished:
    """A unit that ran: its records and the seconds its probe took, or, for a unit that failed
    (its model or probe raised, e.g. on NaN scores), no records and the error's message."""

    unit: Unit
    records: Records | None
    seconds: float
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


class Source:
    """One object the units of a scan share (the model, the dataset or the reference model), as
    another process obtains it: the object itself, pickled once, or, for a model loaded from a
    file with :func:`~robustlab.models.load_model`, that file's factory and weights (the rebuilt
    model is checked against the original's fingerprint).

    In the process that made it, :meth:`get` returns the live object; an unpickled Source builds
    the object on first use and keeps it, so a worker builds it once for all its units.
    """

    def __init__(
        self,
        what: str,
        obj: Any,
        *,
        factory: ModelFactory | None = None,
        settings: dict[str, Any] | None = None,
        fingerprint: str | None = None,
    ) -> None:
        self.what = what
        self.factory = factory
        self.settings = dict(settings or {})
        self.fingerprint = fingerprint
        self._obj = obj
        self._payload: bytes | None = None
        self._user_files: tuple[str, ...] = ()

    @classmethod
    def of_model(
        cls, model: Model, *, role: str = "model", fingerprint: str | None = None
    ) -> Source:
        """A model: rebuilt from its factory if :func:`load_model` made it, else pickled."""
        what = f"{role} {model.name!r}"
        factory = model_factory(model)
        if factory is None:
            return cls(what, model)
        settings = {k: getattr(model, k, None) for k in _MODEL_SETTINGS}
        settings["device"] = str(model.device)
        return cls(
            what,
            model,
            factory=factory,
            settings=settings,
            fingerprint=fingerprint or model.fingerprint(),
        )

    @classmethod
    def of_dataset(cls, dataset: Dataset) -> Source:
        return cls(f"dataset {dataset.name!r}", dataset)

    @property
    def _fix(self) -> str:
        return _DATASET_FIX if self.what.startswith("dataset") else _MODEL_FIX

    def get(self) -> Any:
        """The object, built on first use in a process that received this Source pickled."""
        if self._obj is None:
            self._obj = self._build()
        return self._obj

    def check(self) -> None:
        """Raise :class:`ConfigError` unless a worker process can rebuild the object: it must
        pickle, and every class and function its pickle names must be importable there."""
        if self.factory is not None or self._payload is not None:
            return
        buffer = io.BytesIO()
        pickler = _NamingPickler(buffer)
        try:
            pickler.dump(self._obj)
        except Exception as exc:
            raise ConfigError(
                f"The process backend sends the {self.what} to worker processes, but it cannot "
                f"be pickled: {type(exc).__name__}: {exc}. {self._fix}"
            ) from None
        for module, name in sorted(pickler.names):
            why = unimportable(module)
            if why is not None:
                raise ConfigError(
                    f"The process backend sends the {self.what} to worker processes, but its "
                    f"{name} is defined in {module!r}, {why}. {self._fix}"
                )
        files = {
            getattr(sys.modules.get(module), "__file__", None)
            for module, _ in pickler.names
            if module.startswith(USER_MODULE_PREFIX)
        }
        self._user_files = tuple(sorted(f for f in files if f))
        self._payload = buffer.getvalue()

    def _build(self) -> Any:
        try:
            if self.factory is not None:
                obj: Any = self.factory.build()
                self._apply_settings(obj)
            else:
                for path in self._user_files:
                    import_user_file(path)
                obj = pickle.loads(self._payload or b"")
        except Exception as exc:
            raise ConfigError(
                f"The {self.what} could not be rebuilt in worker process {os.getpid()}: "
                f"{type(exc).__name__}: {exc}. {self._fix}"
            ) from exc
        if self.factory is not None and obj.fingerprint() != self.fingerprint:
            raise ConfigError(
                f"The {self.what} rebuilt in a worker process from {self.factory.spec} differs "
                f"from the one being scanned (fingerprint {obj.fingerprint()} instead of "
                f"{self.fingerprint}): the model was changed after loading, or its factory is not "
                f"deterministic. Make the factory return the same weights every time (or pass "
                f"--weights), or use the local backend (backend='local')."
            )
        return obj

    def _apply_settings(self, model: Model) -> None:
        for key in _MODEL_SETTINGS:
            if key in self.settings:
                setattr(model, key, self.settings[key])
        device = self.settings.get("device")
        if isinstance(model, TorchModel) and device is not None and str(model.device) != device:
            model.to(device)

    def __getstate__(self) -> dict[str, Any]:
        self.check()
        return {
            "what": self.what,
            "factory": self.factory,
            "settings": self.settings,
            "fingerprint": self.fingerprint,
            "payload": self._payload,
            "user_files": self._user_files,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.what = state["what"]
        self.factory = state["factory"]
        self.settings = state["settings"]
        self.fingerprint = state["fingerprint"]
        self._payload = state["payload"]
        self._user_files = state["user_files"]
        self._obj = None

    def __repr__(self) -> str:
        how = "factory" if self.factory is not None else "pickled"
        return f"Source({self.what}, {how})"


class _NamingPickler(pickle.Pickler):
    """A pickler that records the module and name of every class and function it refers to."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.names: set[tuple[str, str]] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            module = getattr(obj, "__module__", None)
            if isinstance(module, str):
                kind = "class" if isinstance(obj, type) else "function"
                self.names.add((module, f"{kind} {obj.__qualname__!r}"))
        return NotImplemented


def unimportable(module: str) -> str | None:
    """Why a freshly spawned worker process could not import ``module``; ``None`` if it can.

    Files loaded with ``--model FILE.py:FACTORY`` count as importable: the worker imports the same
    file. The main module counts when multiprocessing re-runs it in the worker (a script run as
    ``python script.py``), not in an interactive session, ``python -c`` or ``python -m pkg``.
    """
    if module.startswith(USER_MODULE_PREFIX):
        return None
    if module in ("__main__", "__mp_main__"):
        main = sys.modules.get("__main__")
        spec_name = getattr(getattr(main, "__spec__", None), "name", None)
        if spec_name is not None:
            if spec_name == "__main__" or spec_name.endswith(".__main__"):
                return f"the main module of `python -m {spec_name[: -len('.__main__')]}`, which worker processes do not run"
            return None
        path = getattr(main, "__file__", None)
        if path is None or os.path.basename(path).lower().startswith("ipython"):
            return "the main module of an interactive session, which worker processes cannot import"
        return None
    top = module.partition(".")[0]
    if top in sys.builtin_module_names or importlib.machinery.FrozenImporter.find_spec(top):
        return None
    if importlib.machinery.PathFinder.find_spec(top, sys.path) is None:
        return "a module no worker process can import from sys.path"
    return None


@dataclass
class Workload:
    """What every unit of one scan shares: the model, the dataset and the reference model.

    A backend sends it to each worker once (pickled: its Sources pickle their objects once);
    ``key`` identifies it, so a worker that receives it again can keep what it built.
    """

    model: Source
    dataset: Source
    reference: Source | None = None
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: Raise a unit's error (abort the scan) instead of recording the unit as failed.
    fail_fast: bool = False

    @property
    def sources(self) -> list[Source]:
        return [s for s in (self.model, self.dataset, self.reference) if s is not None]

    def build(self) -> None:
        """Build every object now (in a worker, before its first unit)."""
        for source in self.sources:
            source.get()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_received, (self.model, self.dataset, self.reference, self.key, self.fail_fast))


#: The workload this process last received: receiving it again (a backend that sends it with
#: every unit) reuses what was built instead of building the model and dataset again.
_LAST_RECEIVED: list[Workload] = []


def _received(
    model: Source, dataset: Source, reference: Source | None, key: str, fail_fast: bool = False
) -> Workload:
    if _LAST_RECEIVED and _LAST_RECEIVED[0].key == key:
        return _LAST_RECEIVED[0]
    workload = Workload(model, dataset, reference, key, fail_fast)
    _LAST_RECEIVED[:] = [workload]
    return workload


def check_portable(workload: Workload, probes: Sequence[Probe]) -> None:
    """Fail before any work, with :class:`ConfigError` naming the object, the reason and the fix,
    unless worker processes can rebuild the model, the dataset, the reference model and every
    probe (from its JSON spec)."""
    for source in workload.sources:
        source.check()
    for probe in probes:
        module = type(probe).__module__
        why = unimportable(module)
        if why is not None:
            raise ConfigError(
                f"The process backend rebuilds probe {probe.key} in worker processes, but its "
                f"class {type(probe).__qualname__!r} is defined in {module!r}, {why}. Define the "
                f"probe in an importable module, or use the local backend (backend='local')."
            )
        try:
            spec = portable_spec(probe)
            rebuilt = rebuild_probe(module, spec)
            same = type(rebuilt) is type(probe) and portable_spec(rebuilt) == spec
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        else:
            if same:
                continue
            reason = f"its spec rebuilds {rebuilt.key}"
        raise ConfigError(
            f"The process backend rebuilds probe {probe.key} in worker processes from its "
            f"JSON spec, but that fails ({reason}). Give the probe JSON-serialisable parameters "
            f"that make_probe() turns back into the same probe, or use the local backend "
            f"(backend='local')."
        )


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's global generators seeded with ``seed`` and restored afterwards, so
    that nothing one unit draws (models that sample, e.g. dropout) reaches another."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def run_job(unit: Unit, workload: Workload) -> tuple[Records, float]:
    """Run one unit in this process: its batch, with the reference model on it, measured by its
    probe under its own seed. Returns the records and the seconds the probe took."""
    unit_began(unit.probe.key)  # scan progress in this process (no-op in workers)
    model = workload.model.get()
    dataset = workload.dataset.get()
    batch = dataset.batch(np.arange(unit.start, unit.stop))
    check_bounds(batch.inputs, model, f"Dataset {dataset.name!r}, examples {unit.start}..")
    if workload.reference is not None:
        batch.reference = workload.reference.get()
    # torch's global generators (models that sample) per unit; a probe that keys its random
    # choices by (unit.seed, example id) gets the probe's seed whatever the shard, others one
    # per shard
    per_unit = derive_seed(unit.seed, unit.shard)
    seed = unit.seed if unit.probe.example_seeded else per_unit
    with seeded(per_unit):
        began = time.perf_counter()
        try:
            records = unit.probe.run(model, batch, seed)
        except Exception as exc:  # the message alone would not say which probe failed
            note = f"in probe {unit.probe.key!r}, examples {unit.start}..{unit.stop - 1}"
            # add_note() is Python 3.11+; it appends to this same list
            exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]
            raise
        return records, time.perf_counter() - began


def describe_error(exc: BaseException) -> str:
    """One unit's error as stored and shown: its type, message and notes (which probe, which
    examples)."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    notes = [str(n) for n in getattr(exc, "__notes__", [])]
    return "; ".join([text, *notes])


def attempt_job(unit: Unit, workload: Workload) -> Finished:
    """Run one unit with its error isolated: an exception the model or probe raises (NaN scores,
    a bad input) makes a failed :class:`Finished` carrying the message, so the rest of the scan
    goes on, unless ``workload.fail_fast``. Configuration errors (the model or dataset cannot be
    rebuilt), Ctrl-C and exits are never isolated: they would fail every unit the same way."""
    began = time.perf_counter()
    try:
        return Finished(unit, *run_job(unit, workload))
    except ConfigError:
        raise
    except Exception as exc:
        if workload.fail_fast:
            raise
        return Finished(unit, None, time.perf_counter() - began, describe_error(exc))
