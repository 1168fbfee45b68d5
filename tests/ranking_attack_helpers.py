"""Real rankers and a small real collection for the document-attack and RAG tests: the first
paragraphs of standard-library docstrings as documents, BM25 (bm25s tokeniser and stemmer, Lucene
formula) and MiniLM bi-encoder rankers over them, and a ranker wrapper that counts every pair."""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
from collections.abc import Sequence

import numpy as np

from robustlab.ranking import Collection, QuerySet, Ranker

MODULES = [
    "base64",
    "bisect",
    "calendar",
    "collections",
    "csv",
    "datetime",
    "difflib",
    "fnmatch",
    "functools",
    "glob",
    "gzip",
    "hashlib",
    "heapq",
    "html",
    "inspect",
    "itertools",
    "json",
    "math",
    "operator",
    "os",
    "os.path",
    "pathlib",
    "pickle",
    "random",
    "re",
    "shutil",
    "statistics",
    "string",
    "tarfile",
    "tempfile",
    "textwrap",
    "time",
    "urllib.parse",
    "uuid",
    "zipfile",
    "zlib",
]

#: Hand-written queries with graded judgements (2: the function asked for, 1: a close relative).
QUERIES = {
    "q1": ("serialize an object to a JSON formatted string", {"json.dumps": 2, "json.dump": 1}),
    "q2": ("recursively delete a directory tree", {"shutil.rmtree": 2}),
    "q3": ("split a pathname into directory and final component", {"os.path.split": 2}),
    "q4": ("greatest common divisor of integers", {"math.gcd": 2}),
    "q5": ("decode a base64 encoded string", {"base64.b64decode": 2, "base64.standard_b64decode": 1}),
    "q6": ("push an item onto a heap", {"heapq.heappush": 2, "heapq.heappushpop": 1}),
    "q7": ("create a temporary directory securely", {"tempfile.mkdtemp": 2}),
    "q8": ("copy data of a file to a destination file", {"shutil.copyfile": 2, "shutil.copy": 1}),
    "q9": ("median of numeric data", {"statistics.median": 2, "statistics.median_low": 1}),
    "q10": ("find close matches to a word in a list of possibilities", {"difflib.get_close_matches": 2}),
    "q11": ("find the insertion point to keep a list sorted", {"bisect.bisect_left": 2, "bisect.bisect_right": 1}),
    "q12": ("compute the SHA256 hash of data", {"hashlib.sha256": 2}),
    "q13": ("wrap a paragraph of text to a given width", {"textwrap.wrap": 2, "textwrap.fill": 1}),
    "q14": ("return the cartesian product of iterables", {"itertools.product": 2}),
    "q15": ("compress data with zlib", {"zlib.compress": 2}),
    "q16": ("unpickle an object from bytes", {"pickle.loads": 2}),
}  # fmt: skip


@functools.cache
def stdlib_collection() -> Collection:
    """About 900 documents: the first two paragraphs (at most 80 words) of each public callable's
    docstring in :data:`MODULES`."""
    docs: dict[str, str] = {}
    for name in MODULES:
        mod = importlib.import_module(name)
        for attr in sorted(dir(mod)):
            if attr.startswith("_"):
                continue
            obj = getattr(mod, attr, None)
            if not callable(obj):
                continue
            doc = inspect.getdoc(obj) or ""
            para = " ".join(" ".join(doc.split("\n\n")[:2]).split()[:80])
            if len(para.split()) >= 3:
                docs.setdefault(f"{name}.{attr}", para)
    return Collection("stdlib-docstrings", docs, "first docstring paragraphs of the stdlib")


@functools.cache
def stdlib_queries() -> QuerySet:
    coll = stdlib_collection()
    qrels = {}
    for qid, (_, grades) in QUERIES.items():
        missing = [d for d in grades if d not in coll.docs]
        assert not missing, f"{qid} judges missing documents {missing}"
        qrels[qid] = dict(grades)
    return QuerySet("stdlib-hand", {q: text for q, (text, _) in QUERIES.items()}, qrels, coll.name)


def _tokens(texts: Sequence[str]) -> list[list[str]]:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    out = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
    )
    return [list(t) for t in out]


class TestBM25(Ranker):
    """Lucene BM25 (k1 = 1.2, b = 0.75) with the bm25s tokeniser and English Snowball stemmer;
    document frequencies and mean length from the indexed collection, so any text can be scored."""

    name = "test-bm25"
    __test__ = False

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        super().__init__()
        self.k1, self.b = k1, b
        self.df: dict[str, int] = {}
        self.n_docs = 0
        self.avgdl = 1.0
        self.calls = 0

    def index(self, collection: Collection) -> None:
        if self._collection is collection:
            return
        super().index(collection)
        toks = _tokens(list(collection.docs.values()))
        self.n_docs = len(toks)
        self.avgdl = float(np.mean([len(t) for t in toks]))
        df: dict[str, int] = {}
        for t in toks:
            for w in set(t):
                df[w] = df.get(w, 0) + 1
        self.df = df

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        self.calls += 1
        q = _tokens([query])[0]
        out = np.zeros(len(docs))
        for i, toks in enumerate(_tokens(list(docs))):
            dl = len(toks)
            for w in set(q):
                tf = toks.count(w)
                if not tf:
                    continue
                n = self.df.get(w, 0)
                idf = np.log(1 + (self.n_docs - n + 0.5) / (n + 0.5))
                out[i] += idf * tf / (tf + self.k1 * (1 - self.b + self.b * dl / self.avgdl))
        return out

    def fingerprint(self) -> str:
        return hashlib.sha256(f"bm25-{self.k1}-{self.b}".encode()).hexdigest()[:16]


class TestDense(Ranker):
    """The bundled MiniLM as a bi-encoder: cosine of query and document embeddings (document
    embeddings of the indexed collection cached)."""

    name = "test-dense"
    __test__ = False

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[str, np.ndarray] = {}

    def index(self, collection: Collection) -> None:
        if self._collection is collection:
            return
        super().index(collection)
        from robustlab.text.embeddings import encode

        texts = list(collection.docs.values())
        for t, e in zip(texts, encode(texts), strict=True):
            self._cache[t] = e

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        from robustlab.text.embeddings import encode

        new = [d for d in dict.fromkeys(docs) if d not in self._cache]
        if new:
            for t, e in zip(new, encode(new), strict=True):
                if len(self._cache) < 20_000:
                    self._cache[t] = e
        q = encode([query])[0]
        emb = np.stack([self._cache[d] if d in self._cache else encode([d])[0] for d in docs])
        return emb.astype(np.float64) @ q.astype(np.float64)

    def fingerprint(self) -> str:
        return "test-dense-minilm"


class Counting(Ranker):
    """Wraps a ranker and counts the query-document pairs it scores per query text."""

    name = "counting"
    __test__ = False

    def __init__(self, inner: Ranker) -> None:
        super().__init__()
        self.inner = inner
        self.pairs: dict[str, int] = {}

    def index(self, collection: Collection) -> None:
        super().index(collection)
        self.inner.index(collection)

    def retrieve(self, query: str, k: int) -> list[tuple[str, float]]:
        return self.inner.retrieve(query, k)

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        self.pairs[query] = self.pairs.get(query, 0) + len(docs)
        return self.inner.score(query, docs)

    def fingerprint(self) -> str:
        return "counting-" + self.inner.fingerprint()
