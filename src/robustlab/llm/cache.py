"""The generation cache: completions kept in the results store (schema 5, table ``generations``).

:class:`CachedLLM` wraps any :class:`~robustlab.llm.base.LanguageModel`. A completion is looked
up by (model fingerprint, prompt, :meth:`Decoding.key`), so a re-run, a resumed scan or another
suite on the same prompts never asks the model twice. Misses go to the model in chunks of
``chunk_size`` prompts and each chunk is stored as soon as it is back; an adapter that fails part
way raises :class:`IncompleteGeneration` with what finished, which is stored before the error
goes on, so no generation is lost. Option log-probabilities
(:meth:`~robustlab.llm.base.LanguageModel.continuation_logprobs`) are cached the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from robustlab import validation
from robustlab.errors import ModelError
from robustlab.llm.base import Completion, Decoding, LanguageModel

__all__ = ["CacheStats", "CachedLLM", "IncompleteGeneration", "sha256"]

_INSERT_IGNORING: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_LOOKUP_CHUNK = 400  # prompts per SELECT ... IN (...): under SQLite's bound-parameter limit


class IncompleteGeneration(ModelError):
    """A model failed part-way through a batch of prompts.

    Attributes:
        done: The completions of the prompts that finished, by position in the batch.
        total: How many prompts the batch had.
    """

    def __init__(self, message: str, *, done: Mapping[int, list[Completion]], total: int):
        super().__init__(message)
        self.done = dict(done)
        self.total = total


def _scoring_key(continuations: Sequence[str]) -> str:
    """The cache's "decoding" of option log-probabilities: the scored continuations."""
    return "continuation_logprobs:" + json.dumps(list(continuations), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _encode(completions: Sequence[Completion]) -> list[dict[str, Any]]:
    out = []
    for c in completions:
        lp = c.logprob
        out.append(
            {
                "text": c.text,
                "logprob": None if lp is None or not math.isfinite(lp) else float(lp),
                "finish_reason": c.finish_reason,
            }
        )
    return out


def _decode(rows: Iterable[Mapping[str, Any]]) -> list[Completion]:
    return [Completion(r["text"], r.get("logprob"), r.get("finish_reason", "stop")) for r in rows]


class CacheStats:
    """Counters of one :class:`CachedLLM`: ``hits`` and ``misses`` (prompts), ``model_calls``
    (calls of the wrapped model) and ``stored`` (rows written)."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.model_calls = 0
        self.stored = 0

    @property
    def hit_rate(self) -> float:
        seen = self.hits + self.misses
        return self.hits / seen if seen else float("nan")

    def as_dict(self) -> dict[str, float]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "model_calls": self.model_calls,
            "stored": self.stored,
            "hit_rate": self.hit_rate,
        }

    def __repr__(self) -> str:
        return (
            f"CacheStats(hits={self.hits}, misses={self.misses}, "
            f"model_calls={self.model_calls}, stored={self.stored})"
        )


class CachedLLM(LanguageModel):
    """``model`` with its completions kept in ``store``; the same model to everything else
    (name, fingerprint, capabilities, description), so runs through the cache and around it are
    the same runs.

    Args:
        model: Any language model.
        store: A :class:`robustlab.store.Store`, or its URL (SQLite or PostgreSQL).
        chunk_size: Prompts sent to the model per call on a miss; each chunk is stored when it
            is back, so an interruption loses at most one chunk.

    Attributes:
        stats: Hit, miss, model-call and stored counters (:class:`CacheStats`).
    """

    def __init__(self, model: LanguageModel, store: Any, *, chunk_size: int = 32) -> None:
        if not isinstance(model, LanguageModel):
            raise validation.fail(
                "CachedLLM", "model", "a robustlab.llm.LanguageModel", type(model).__name__
            )
        if isinstance(store, str):
            from robustlab.store import Store

            store = Store(store)
        if not hasattr(store, "engine"):
            raise validation.fail(
                "CachedLLM", "store", "a robustlab Store or a store URL", type(store).__name__
            )
        self.model = model
        self.store = store
        self.chunk_size = int(validation.check_int("CachedLLM", "chunk_size", chunk_size) or 1)
        self.stats = CacheStats()
        self.name = model.name
        self.context_length = model.context_length
        self._fingerprint = model.fingerprint()
        self._lock = threading.Lock()

    # -- the LanguageModel contract, delegated -------------------------------------------------

    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def capabilities(self) -> frozenset[str]:
        return self.model.capabilities

    def describe(self) -> dict[str, object]:
        return self.model.describe()

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        prompts = list(prompts)
        decoding_key = decoding.key()
        found = self._lookup(prompts, decoding_key)
        missing: list[str] = []
        for p in prompts:
            if p not in found and p not in missing:
                missing.append(p)
        with self._lock:
            self.stats.hits += sum(p in found for p in prompts)
            self.stats.misses += len(prompts) - sum(p in found for p in prompts)
        for start in range(0, len(missing), self.chunk_size):
            chunk = missing[start : start + self.chunk_size]
            with self._lock:
                self.stats.model_calls += 1
            try:
                out = self.model.generate(chunk, decoding)
            except IncompleteGeneration as exc:
                kept = {chunk[i]: c for i, c in exc.done.items() if 0 <= i < len(chunk)}
                self._save(kept, decoding_key)
                raise
            if len(out) != len(chunk) or not all(isinstance(c, list) for c in out):
                raise ModelError(
                    f"{type(self.model).__name__}.generate returned {len(out)} lists of "
                    f"completions for {len(chunk)} prompts; it must return one list per prompt."
                )
            new = dict(zip(chunk, out))
            self._save(new, decoding_key)
            found.update(new)
        return [list(found[p]) for p in prompts]

    def continuation_logprobs(self, prompt: str, continuations: Sequence[str]) -> np.ndarray:
        return self.score_batch([prompt], [list(continuations)])[0]

    def score_batch(
        self, prompts: Sequence[str], continuations: Sequence[Sequence[str]]
    ) -> list[np.ndarray]:
        """``continuation_logprobs`` of many prompts: cached ones from the store, the others
        from the model in one call (its ``score_batch`` where it has one)."""
        prompts = list(prompts)
        conts = [list(c) for c in continuations]
        if len(conts) != len(prompts):
            raise ModelError(
                f"score_batch: {len(prompts)} prompts but {len(conts)} lists of continuations."
            )
        out: list[np.ndarray | None] = [None] * len(prompts)
        groups: dict[str, list[int]] = {}
        for i, c in enumerate(conts):
            groups.setdefault(_scoring_key(c), []).append(i)
        missing: list[int] = []
        for key, idx in groups.items():
            found = self._lookup([prompts[i] for i in idx], key)
            for i in idx:
                if prompts[i] in found:
                    stored = [c.logprob for c in found[prompts[i]]]
                    out[i] = np.array([np.nan if v is None else v for v in stored], dtype=float)
                else:
                    missing.append(i)
        with self._lock:
            self.stats.hits += len(prompts) - len(missing)
            self.stats.misses += len(missing)
        if missing:
            inner = getattr(self.model, "score_batch", None)
            if callable(inner):
                with self._lock:
                    self.stats.model_calls += 1
                values: list[Any] = list(
                    inner([prompts[i] for i in missing], [conts[i] for i in missing])
                )
            else:
                with self._lock:
                    self.stats.model_calls += len(missing)
                values = [self.model.continuation_logprobs(prompts[i], conts[i]) for i in missing]
            new: dict[str, dict[str, list[Completion]]] = {}
            for i, v in zip(missing, values):
                arr = np.asarray(v, dtype=np.float64)
                out[i] = arr
                rows = [Completion(c, float(x)) for c, x in zip(conts[i], arr)]
                new.setdefault(_scoring_key(conts[i]), {})[prompts[i]] = rows
            for key, rows_by_prompt in new.items():
                self._save(rows_by_prompt, key)
        return [np.asarray(o) for o in out]

    # -- the store -----------------------------------------------------------------------------

    def _lookup(self, prompts: Sequence[str], decoding_key: str) -> dict[str, list[Completion]]:
        from robustlab.store import schema as t

        g = t.generations
        hashes = {sha256(p): p for p in prompts}
        found: dict[str, list[Completion]] = {}
        keys = list(hashes)
        with self.store.engine.connect() as conn:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                part = keys[start : start + _LOOKUP_CHUNK]
                rows = conn.execute(
                    select(g.c.prompt_hash, g.c.prompt, g.c.completions).where(
                        g.c.model_fingerprint == self._fingerprint,
                        g.c.decoding_hash == sha256(decoding_key),
                        g.c.prompt_hash.in_(part),
                    )
                ).all()
                for h, text, completions in rows:
                    if text == hashes[h]:  # a hash collision is a miss, never a wrong answer
                        found[text] = _decode(completions)
        return found

    def _save(self, completions: Mapping[str, list[Completion]], decoding_key: str) -> None:
        if not completions or getattr(self.store, "read_only", False):
            return
        from robustlab.store import schema as t

        now = dt.datetime.now(dt.timezone.utc)
        rows = [
            {
                "model_fingerprint": self._fingerprint,
                "prompt_hash": sha256(p),
                "decoding_hash": sha256(decoding_key),
                "prompt": p,
                "decoding": decoding_key,
                "completions": _encode(c),
                "created_at": now,
            }
            for p, c in completions.items()
        ]
        engine = self.store.engine
        make = _INSERT_IGNORING.get(engine.dialect.name)

        def write() -> None:
            with engine.begin() as conn:
                if make is not None:  # another process may have stored the same prompt
                    conn.execute(make(t.generations).on_conflict_do_nothing(), rows)
                    return
                for row in rows:
                    try:
                        with conn.begin_nested():
                            conn.execute(insert(t.generations), row)
                    except IntegrityError:
                        pass

        # the store's own retries while its database server is briefly away (restart, failover)
        retrying = getattr(self.store, "_retrying", None)
        if callable(retrying):
            retrying(f"{len(rows)} cached generation(s)", None, write)
        else:
            write()
        with self._lock:
            self.stats.stored += len(rows)

    def cached_count(self) -> int:
        """How many prompts (with any decoding) the store holds for this model."""
        from sqlalchemy import func

        from robustlab.store import schema as t

        g = t.generations
        with self.store.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(g.c.model_fingerprint == self._fingerprint)
                ).scalar()
                or 0
            )
