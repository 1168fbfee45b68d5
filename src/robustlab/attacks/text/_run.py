"""The public entry point ``run()``: input checks, per-text query budgets, fresh checks of every
success, edits and similarity."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from robustlab._progress import batch_done
from robustlab.attacks._base import resolve_criterion
from robustlab.attacks.text._base import (
    TEXT,
    BudgetExhausted,
    QueryCounter,
    TextAttack,
    Tokenized,
    check_number,
)
from robustlab.attacks.text._result import Edit, TextAdversarial, TextAttackResult
from robustlab.attacks.threat import EditBudget
from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.models.base import Model
from robustlab.seeding import ExampleSeeds, as_seeds
from robustlab.tasks.base import Criterion
from robustlab.tasks.criteria import Misclassified

__all__ = ["attack_texts", "run", "similarity_windows"]

#: Words per window when measuring similarity (MiniLM reads at most 256 word pieces).
WINDOW_WORDS = 100


def _check_texts(texts: Any, max_chars: int | None) -> list[str]:
    if isinstance(texts, str):
        raise DataError("run() needs a list of texts, not one string; pass [text].")
    try:
        items = list(texts)
    except TypeError:
        raise DataError(
            f"run() needs a list of texts. Got {type(texts).__name__} instead."
        ) from None
    if not items:
        raise DataError("run() got no texts; pass a non-empty list of strings.")
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise DataError(
                f"Text {i} is a {type(t).__name__}, not a string ({t!r:.60}); text attacks take "
                f"a list of str."
            )
        if max_chars is not None and len(t) > max_chars:
            raise DataError(
                f"Text {i} has {len(t):,} characters, more than max_chars={max_chars:,}. "
                f"Truncate the texts first (e.g. text[:{max_chars}]) or pass a larger max_chars."
            )
    return items


def _check_targets(targets: Any, n: int) -> list[int]:
    y = np.asarray(targets)
    if (
        y.ndim != 1
        or len(y) != n
        or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.bool_))
    ):
        raise DataError(
            f"run() needs integer targets, one class index per text ({n}). Got {y.dtype} of "
            f"shape {y.shape}."
        )
    if n and y.min() < 0:
        raise DataError(f"run() got a negative target ({int(y.min())}); targets are class indices.")
    return [int(v) for v in y]


def _edits(tokens: Tokenized, words: Sequence[str]) -> tuple[Edit, ...]:
    spans = tokens.spans(words)
    return tuple(
        Edit(spans[i][0], spans[i][1], before, after)
        for i, (before, after) in enumerate(zip(tokens.words, words, strict=True))
        if before != after
    )


def similarity_windows(
    tokens: Tokenized, words: Sequence[str], window: int = WINDOW_WORDS
) -> list[tuple[str, str]]:
    """(original, adversarial) text pairs whose least similar pair is the texts' similarity:
    the whole texts when they are short, else each ``window``-word window holding an edit."""
    if len(tokens) <= window:
        return [(tokens.text, tokens.render(words))]
    pairs = []
    for lo in range(0, len(tokens), window):
        hi = min(lo + window, len(tokens))
        if any(tokens.words[i] != words[i] for i in range(lo, hi)):
            pairs.append((tokens.window(tokens.words, lo, hi), tokens.window(words, lo, hi)))
    return pairs


def _similarities(pairs: list[list[tuple[str, str]]]) -> list[float]:
    """MiniLM cosine similarity per example (min over its window pairs)."""
    from robustlab.text.embeddings import cosine, encode

    flat = [p for example in pairs for p in example]
    if not flat:
        return []
    unique = list(dict.fromkeys(t for p in flat for t in p))
    emb = encode(unique)
    row = {t: i for i, t in enumerate(unique)}
    sims = cosine(emb[[row[a] for a, _ in flat]], emb[[row[b] for _, b in flat]])
    out, k = [], 0
    for example in pairs:
        out.append(float(np.clip(sims[k : k + len(example)].min(), 0.0, 1.0)))
        k += len(example)
    return out


def run(
    model: Model,
    texts: Sequence[str],
    targets: Any,
    attack: str = "deepwordbug",
    *,
    budget: int = 500,
    seed: int | ExampleSeeds = 0,
    max_chars: int | None = 20_000,
    similarity: bool = True,
    threat: EditBudget | None = None,
    criterion: Criterion | str | None = None,
    fail_fast: bool = False,
    **params: Any,
) -> TextAttackResult:
    """Run the registered text attack ``attack`` on each text, within ``budget`` queries per text.

    Every model call goes through a per-text :class:`QueryCounter` that counts each text the
    model evaluates (the first prediction on the original included) and refuses any call that
    would exceed ``budget``. Texts the model already misclassifies are skipped after that first
    query (1 query); so are texts without a word to change. Each reported success is confirmed by
    a fresh, uncounted prediction on the adversarial text.

    Args:
        model: A :class:`~robustlab.models.Model` with ``modality="text"`` returning class
            probabilities or logits for a list of strings (only its outputs are used: black box).
        texts: The texts (any Unicode; empty ones are evaluated and counted as not broken).
        targets: True class per text.
        attack: ``deepwordbug``, ``textfooler`` or ``genetic_typo`` (see ``TEXT_ATTACKS``).
        budget: Most model queries per text, first prediction included.
        seed: Seeds each text's generator (``numpy.random.default_rng([seed, index])``), or
            per-example :class:`~robustlab.seeding.ExampleSeeds` (a scan's, by example id).
        max_chars: Longer texts are refused with a DataError (``None``: no limit). Long texts
            are attacked in full: when a text has more words than half the budget, importance is
            measured on groups of neighbouring words.
        similarity: Measure the MiniLM similarity of each success to its original (loads the
            sentence encoder; NaN when off).
        threat: An :class:`~robustlab.attacks.EditBudget`: the most words / characters changed
            and the least similarity; an adversarial text outside it is not a success (a note
            says so). Default: unconstrained.
        criterion: What counts as broken (a :class:`~robustlab.tasks.Criterion` or a name);
            default the model's task's (misclassification).
        fail_fast: Raise when the model fails (raises, or returns NaN) on a candidate text;
            by default that text's attack stops there, it counts as not broken, its
            ``error`` holds the message, a note says so, and the other texts are attacked.
        **params: The attack's own parameters (its dataclass fields).

    Returns:
        A :class:`TextAttackResult`, one :class:`TextAdversarial` per text, in order.

    Raises:
        ConfigError: Unknown attack or parameter, bad budget or seed, not a text model, or an
            image attack.
        DataError: Texts that are not a non-empty list of strings, too long, or bad targets.
        ModelError: The model returns one score per text instead of class probabilities.
    """
    atk = TEXT.build(attack, **params)
    return attack_texts(
        atk,
        model,
        texts,
        targets,
        budget=budget,
        seed=seed,
        max_chars=max_chars,
        similarity=similarity,
        threat=threat,
        criterion=criterion,
        fail_fast=fail_fast,
    )


def attack_texts(
    atk: TextAttack,
    model: Model,
    texts: Sequence[str],
    targets: Any,
    *,
    budget: int = 500,
    seed: int | ExampleSeeds = 0,
    max_chars: int | None = 20_000,
    similarity: bool = True,
    threat: EditBudget | None = None,
    criterion: Criterion | str | None = None,
    fail_fast: bool = False,
) -> TextAttackResult:
    """The pipeline of :func:`run` for a built text attack ``atk``."""
    start = time.perf_counter()
    attack = atk.name
    if threat is None:
        threat = EditBudget()
    elif not isinstance(threat, EditBudget):
        raise ConfigError(
            f"The 'threat' parameter of run() must be an EditBudget for text attack {attack!r}. "
            f"Got {threat!r} instead."
        )
    if threat.min_similarity is not None and not similarity:
        raise ConfigError(
            "The edit budget's min_similarity needs the similarity measured; pass "
            "similarity=True, or drop min_similarity."
        )
    if not isinstance(model, Model) or model.modality != "text":
        got = model.modality if isinstance(model, Model) else type(model).__name__
        raise ConfigError(
            f"The 'model' parameter of run() must be a robustlab text Model. Got {got!r}; wrap a "
            f"function with FunctionModel(fn, modality='text') or a pipeline with "
            f"SklearnModel(..., modality='text')."
        )
    check_number("run()", "budget", budget, integer=True, low=1, low_inclusive=True)
    seeds = seed if isinstance(seed, ExampleSeeds) else None
    if seeds is None:
        check_number("run()", "seed", seed, integer=True, low=0, low_inclusive=True)
    base = seeds.base if seeds is not None else int(seed)  # type: ignore[arg-type]
    if max_chars is not None:
        check_number("run()", "max_chars", max_chars, integer=True, low=1, low_inclusive=True)
    goal = resolve_criterion(
        criterion, model, f"text attack {attack!r}", tasks=("classification", "ranking")
    )
    items = _check_texts(texts, max_chars)
    ys = _check_targets(targets, len(items))
    if seeds is not None:
        seeds = as_seeds("run()", seeds, len(items))
    clean = model.predict_proba(items).numpy().astype(np.float64)
    notes: list[str] = []
    if clean.ndim != 2 or clean.shape[1] < 2:
        raise ModelError(
            f"Model {model.name!r} returns one score per text; text attacks need class "
            f"probabilities (N, K) with K >= 2. For a binary model that returns p(positive), "
            f"return [1 - p, p] per text."
        )
    if max(ys) >= clean.shape[1]:
        raise DataError(
            f"run() got target {max(ys)}, but model {model.name!r} has {clean.shape[1]} classes "
            f"(0..{clean.shape[1] - 1})."
        )
    found: list[tuple[Tokenized, list[str] | None, int, bool]] = []
    errors: dict[int, str] = {}  # text -> the model's error on one of its candidates
    for i, (text, y) in enumerate(zip(items, ys, strict=True)):
        oracle = QueryCounter(model, budget, goal, threat)
        oracle.paid(text, clean[i])
        tokens = Tokenized.parse(text)
        skipped = bool(oracle.broken(clean[i], y)) or len(tokens) == 0
        words = None
        if not skipped:
            try:
                # a scan's texts draw by example id (ExampleSeeds), a plain seed's by position
                rng = seeds.rng(i) if seeds is not None else np.random.default_rng([base, i])
                words = atk._attack(oracle, tokens, y, clean[i], rng)
            except BudgetExhausted:
                words = None
            except ConfigError:
                raise
            except Exception as exc:  # one bad candidate must not lose the other texts
                if fail_fast:
                    raise
                words = None
                errors[i] = f"{type(exc).__name__}: {exc}"
                notes.append(f"text {i}: the model failed on a candidate ({errors[i]}); not broken")
        if oracle.used > oracle.budget:  # the counter refuses this; a broken counter must not pass
            raise AssertionError(f"{attack} spent {oracle.used} queries of {oracle.budget}")
        found.append((tokens, words, oracle.used, skipped))
        batch_done(i + 1, len(items))  # scan progress inside the unit, per text

    adversarial = [t.render(w) if w is not None else t.text for t, w, _, _ in found]
    fresh_probs = model.predict_proba(adversarial).numpy().astype(np.float64)
    fresh = fresh_probs.argmax(axis=1)
    fresh_broken = goal.broken(
        torch.from_numpy(fresh_probs), torch.as_tensor(ys, dtype=torch.long)
    ).numpy()
    examples: list[TextAdversarial] = []
    pairs: list[list[tuple[str, str]]] = []
    for i, ((tokens, words, used, skipped), y) in enumerate(zip(found, ys, strict=True)):
        success = words is not None and bool(fresh_broken[i])
        if words is not None and not success:
            notes.append(f"text {i}: the model changed its mind on a fresh call; not counted")
        if success and not threat.unconstrained and not threat.allows(tokens.text, adversarial[i]):
            success = False
            notes.append(f"text {i}: the adversarial text exceeds the edit budget; not counted")
        if success:
            assert words is not None
            edits = _edits(tokens, words)
            pairs.append(similarity_windows(tokens, words))
            examples.append(
                TextAdversarial(
                    tokens.text,
                    adversarial[i],
                    y,
                    int(clean[i].argmax()),
                    int(fresh[i]),
                    True,
                    False,
                    used,
                    edits,
                    len(edits) / len(tokens),
                )
            )
        else:
            examples.append(
                TextAdversarial(
                    tokens.text,
                    tokens.text,
                    y,
                    int(clean[i].argmax()),
                    int(clean[i].argmax()),
                    False,
                    skipped,
                    used,
                    error=errors.get(i),
                )
            )
    if similarity and pairs:
        sims = iter(_similarities(pairs))
        examples = [e if not e.success else _with_similarity(e, next(sims)) for e in examples]
    if threat.min_similarity is not None:
        for i, e in enumerate(examples):
            if e.success and not threat.allows(e.original, e.adversarial, e.similarity):
                notes.append(
                    f"text {i}: similarity {e.similarity:.3f} is below the edit budget's "
                    f"{threat.min_similarity:g}; not counted"
                )
                examples[i] = _failed(e)
    return TextAttackResult(
        examples,
        atk.name,
        atk.params,
        budget,
        base,
        elapsed_s=time.perf_counter() - start,
        notes=notes,
        threat=None if threat.unconstrained else threat.spec,
        criterion=None if type(goal) is Misclassified else goal.spec,
    )


def _failed(example: TextAdversarial) -> TextAdversarial:
    return TextAdversarial(
        example.original,
        example.original,
        example.target,
        example.prediction,
        example.prediction,
        False,
        False,
        example.queries,
    )


def _with_similarity(example: TextAdversarial, value: float) -> TextAdversarial:
    from dataclasses import replace

    return replace(example, similarity=value)
