"""Ranking data: the bundled test collections, loaders for TREC / JSONL / ir_datasets, checks.

The bundled collections are the docstrings of a fixed list of Python standard-library functions
and methods (``stdlib``, about 1,900 documents) and of NumPy's (``numpy``, about 1,000), extracted
once at build time (:mod:`robustlab.ranking._build_data`) and shipped gzipped, so they never depend
on the installed Python. Their queries and graded judgements (2 = does exactly this, 1 = related)
are hand-written: 70 stdlib information needs, each as a keyword query and as a natural-language
question (the second query style, for the OOD-queries task), and 30 NumPy needs (the second
collection, for the OOD-documents task).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robustlab.data.base import Batch, Dataset
from robustlab.errors import ConfigError, DataError
from robustlab.ranking.base import Collection, QuerySet

__all__ = [
    "BUNDLED_COLLECTIONS",
    "QUERY_STYLES",
    "RankingDataset",
    "TrecData",
    "bundled_collection",
    "bundled_dataset",
    "bundled_queries",
    "check_collection",
    "check_judgements",
    "load_ir_datasets",
    "load_jsonl",
    "load_trec",
    "make_collection",
]

RESOURCES = Path(__file__).parent / "resources"
BUNDLED_COLLECTIONS = ("stdlib", "numpy")
QUERY_STYLES = ("keyword", "question")
_CACHE: dict[str, Any] = {}


# -- collections --------------------------------------------------------------------------------
def make_collection(
    name: str, docs: Iterable[tuple[object, object]], description: str = ""
) -> Collection:
    """A :class:`Collection` from ``(doc_id, text)`` pairs, refusing duplicate ids and empty or
    non-text documents (each error names the document)."""
    out: dict[str, str] = {}
    for doc_id, text in docs:
        key = str(doc_id)
        if key in out:
            raise DataError(
                f"Collection {name!r}: document id {key!r} appears twice; document ids must be "
                "unique."
            )
        _check_document(name, key, text)
        out[key] = text  # type: ignore[assignment]
    if not out:
        raise DataError(f"Collection {name!r} has no documents.")
    return Collection(name, out, description)


def _check_document(name: str, key: str, text: object) -> None:
    if not isinstance(text, str):
        raise DataError(
            f"Collection {name!r}: document {key!r} is a {type(text).__name__}, not text."
        )
    if not text.strip():
        raise DataError(f"Collection {name!r}: document {key!r} is empty; drop it or give it text.")


def check_collection(collection: Collection) -> None:
    """Refuse a collection without documents, or with a non-text or empty document (the error
    names it), as :func:`make_collection` does: for collections built directly."""
    if not isinstance(collection, Collection):
        raise DataError(
            f"Ranking data needs a robustlab.ranking.Collection; got {type(collection).__name__}."
        )
    if not collection.docs:
        raise DataError(f"Collection {collection.name!r} has no documents.")
    for key, text in collection.docs.items():
        _check_document(collection.name, str(key), text)


def bundled_collection(name: str = "stdlib") -> Collection:
    """One of the bundled collections: ``stdlib`` (Python docstrings) or ``numpy``."""
    if name not in BUNDLED_COLLECTIONS:
        raise ConfigError(
            f"No bundled ranking collection {name!r}; choose one of {list(BUNDLED_COLLECTIONS)}."
        )
    key = f"collection:{name}"
    if key not in _CACHE:
        with gzip.open(RESOURCES / f"{name}-docs.jsonl.gz", "rt", encoding="utf-8") as fh:
            header = json.loads(fh.readline())
            rows = [json.loads(line) for line in fh]
        _CACHE[key] = make_collection(name, ((r["id"], r["text"]) for r in rows), header["meta"])
    return _CACHE[key]


def _queries_file() -> dict[str, Any]:
    if "queries" not in _CACHE:
        _CACHE["queries"] = json.loads((RESOURCES / "queries.json").read_text(encoding="utf-8"))
    return _CACHE["queries"]


def bundled_queries(collection: str = "stdlib", style: str = "keyword") -> QuerySet:
    """The hand-written judged queries of a bundled collection: ``keyword`` queries (both
    collections) or natural-language ``question`` s (stdlib; same needs and judgements)."""
    if collection not in BUNDLED_COLLECTIONS:
        raise ConfigError(
            f"No bundled ranking collection {collection!r}; choose one of "
            f"{list(BUNDLED_COLLECTIONS)}."
        )
    rows = _queries_file()[collection]
    styles = [s for s in QUERY_STYLES if s in rows[0]]
    if style not in styles:
        raise ConfigError(
            f"The bundled {collection!r} queries come in styles {styles}; got {style!r}."
        )
    return QuerySet(
        name=f"{collection}-{style}",
        queries={r["id"]: r[style] for r in rows},
        qrels={r["id"]: dict(r["qrels"]) for r in rows},
        collection=collection,
        meta={"style": style, "source": "hand-written for RobustLab"},
    )


# -- judgements ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class JudgementCheck:
    """What :func:`check_judgements` found: the judged query ids and those without judgements."""

    judged: list[str]
    unjudged: list[str]


def check_judgements(
    collection: Collection, queries: QuerySet, *, allow_unjudged: bool = False
) -> JudgementCheck:
    """Check ``queries``' judgements against ``collection``.

    The collection must pass :func:`check_collection`. Judgements naming documents the
    collection lacks, grades that are not numbers >= 0 and
    judgements of unknown queries are errors. Queries without any judgement are counted: an
    error unless ``allow_unjudged`` (then the judged ones are evaluated and the rest reported).
    """
    check_collection(collection)
    where = f"Query set {queries.name!r}"
    for qid in queries.qrels:
        if qid not in queries.queries:
            raise DataError(f"{where}: judgements for query {qid!r}, which has no text.")
    for qid, text in queries.queries.items():
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: query {qid!r} is empty; give it text or drop it.")
    for qid, grades in queries.qrels.items():
        for doc, grade in grades.items():
            if str(doc) not in collection.docs:
                raise DataError(
                    f"{where}: query {qid!r} judges document {doc!r}, which collection "
                    f"{collection.name!r} does not hold; check the document ids (or the "
                    "collection)."
                )
            if isinstance(grade, bool) or not isinstance(grade, (int, float)) or grade < 0:
                raise DataError(
                    f"{where}: query {qid!r}, document {doc!r} has grade {grade!r}; grades are "
                    "numbers >= 0."
                )
    judged = [q for q in queries.queries if queries.qrels.get(q)]
    unjudged = [q for q in queries.queries if not queries.qrels.get(q)]
    if not judged:
        raise DataError(f"{where}: none of its {len(queries.queries)} queries has judgements.")
    if unjudged and not allow_unjudged:
        shown = ", ".join(map(repr, unjudged[:5])) + (" ..." if len(unjudged) > 5 else "")
        raise DataError(
            f"{where}: {len(unjudged)} of {len(queries.queries)} queries have no judgements "
            f"({shown}); pass allow_unjudged=True to evaluate the {len(judged)} judged ones."
        )
    return JudgementCheck(judged, unjudged)


# -- the dataset the scan runs on ---------------------------------------------------------------
class RankingDataset(Dataset):
    """Judged queries over a collection, as a scan dataset: one example per query.

    Inputs are the query texts; targets are each query's judgements keyed by the documents'
    positions in the collection (the columns of the ranking model's score matrix). The
    collection, the query set and the OOD companions travel with each batch (``batch.ranking``)
    so the ranking probes can re-rank other query sets or collections.

    Args:
        collection: The documents.
        queries: Judged queries over ``collection``.
        companions: OOD data by name: other query sets over ``collection`` (a new query style)
            or ``(Collection, QuerySet)`` pairs (a new collection).
        allow_unjudged: Evaluate only the judged queries when some have no judgements (their
            count is in :meth:`describe`) instead of refusing the data.
    """

    modality = "ranking"
    task = "ranking"

    def __init__(
        self,
        collection: Collection,
        queries: QuerySet,
        *,
        companions: Mapping[str, QuerySet | tuple[Collection, QuerySet]] | None = None,
        allow_unjudged: bool = False,
        name: str | None = None,
    ) -> None:
        check = check_judgements(collection, queries, allow_unjudged=allow_unjudged)
        self.collection = collection
        self.query_set = queries
        self.unjudged = check.unjudged
        position = {d: i for i, d in enumerate(collection.docs)}
        self.texts = [queries.queries[q] for q in check.judged]
        targets = [
            {str(position[str(d)]): float(g) for d, g in queries.qrels[q].items()}
            for q in check.judged
        ]
        self.companions: dict[str, tuple[Collection, QuerySet]] = {}
        for key, value in (companions or {}).items():
            coll, qs = (collection, value) if isinstance(value, QuerySet) else value
            check_judgements(coll, qs, allow_unjudged=allow_unjudged)
            self.companions[key] = (coll, qs)
        super().__init__(
            name=name or queries.name,
            targets=np.asarray(targets, dtype=object),
            ids=check.judged,
            task="ranking",
        )

    def load_inputs(self, indices: np.ndarray) -> list[str]:
        return [self.texts[i] for i in indices]

    def batch(self, indices: np.ndarray | Sequence[int]) -> Batch:
        out = super().batch(indices)
        out.ranking = self  # type: ignore[attr-defined]
        return out

    def doc_id(self, position: int | str) -> str:
        """The collection's id of the document at ``position`` (a target key)."""
        return list(self.collection.docs)[int(position)]

    def _content_hash(self, h: Any) -> None:
        from robustlab.ranking.rankers import collection_fingerprint

        h.update(collection_fingerprint(self.collection).encode())
        h.update("\x00".join(self.texts).encode())
        for key in sorted(self.companions):
            coll, qs = self.companions[key]
            h.update(f"{key}:{collection_fingerprint(coll)}:{_queryset_hash(qs)}".encode())

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "collection": self.collection.name,
            "documents": len(self.collection.docs),
            "queries": self.query_set.name,
            "unjudged_queries": len(self.unjudged),
            "companions": {
                k: {"collection": c.name, "queries": q.name, "size": len(q.queries)}
                for k, (c, q) in sorted(self.companions.items())
            },
        }


def _queryset_hash(qs: QuerySet) -> str:
    h = hashlib.sha256()
    for qid in sorted(qs.queries):
        h.update(f"{qid}\x00{qs.queries[qid]}\x00{sorted(qs.qrels.get(qid, {}).items())}".encode())
    return h.hexdigest()[:16]


def bundled_dataset(style: str = "keyword", *, companions: bool = True) -> RankingDataset:
    """The bundled stdlib collection with its ``style`` queries; with ``companions``, the other
    query style (``ood-queries``) and the NumPy collection with its queries (``ood-documents``)."""
    coll = bundled_collection("stdlib")
    other = "question" if style == "keyword" else "keyword"
    comp: dict[str, QuerySet | tuple[Collection, QuerySet]] = {}
    if companions:
        comp = {
            "ood-queries": bundled_queries("stdlib", other),
            "ood-documents": (bundled_collection("numpy"), bundled_queries("numpy", "keyword")),
        }
    return RankingDataset(coll, bundled_queries("stdlib", style), companions=comp)


# -- TREC ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrecData:
    """Topics and judgements read by :func:`load_trec`, and the run file's rankings if given
    (``{query_id: {doc_id: score}}``)."""

    queries: QuerySet
    run: dict[str, dict[str, float]] | None = None


_TOP = re.compile(r"<top>(.*?)</top>", re.S | re.I)
_NUM = re.compile(r"<num>\s*(?:Number:)?\s*(\S+)", re.I)
_TITLE = re.compile(r"<title>\s*(?:Topic:)?\s*(.*?)\s*(?=<|$)", re.S | re.I)


def _read_topics(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    out: dict[str, str] = {}
    tops = _TOP.findall(text)
    if tops:
        for i, block in enumerate(tops):
            num, title = _NUM.search(block), _TITLE.search(block)
            if num is None or title is None or not title.group(1).strip():
                raise DataError(f"{path}: topic {i + 1} has no <num> or no <title>.")
            out[num.group(1)] = " ".join(title.group(1).split())
        return out
    for n, line in enumerate(text.splitlines(), 1):  # "qid<TAB>text" (MS MARCO style)
        if not line.strip():
            continue
        parts = line.split("\t", 1)
        if len(parts) != 2 or not parts[1].strip():
            raise DataError(
                f"{path}, line {n}: expected TREC <top> blocks or 'query_id<TAB>text' lines."
            )
        if parts[0] in out:
            raise DataError(f"{path}, line {n}: query {parts[0]!r} appears twice.")
        out[parts[0]] = parts[1].strip()
    return out


def _read_qrels(path: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise DataError(f"{path}, line {n}: a qrels line is 'query_id 0 doc_id grade'.")
        try:
            grade = float(parts[3])
        except ValueError:
            raise DataError(f"{path}, line {n}: grade {parts[3]!r} is not a number.") from None
        if grade < 0:
            grade = 0.0  # TREC's -1/-2 ("junk") grades count as not relevant
        out.setdefault(parts[0], {})[parts[2]] = grade
    return out


def _read_run(path: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6:
            raise DataError(f"{path}, line {n}: a run line is 'query_id Q0 doc_id rank score tag'.")
        try:
            score = float(parts[4])
        except ValueError:
            raise DataError(f"{path}, line {n}: score {parts[4]!r} is not a number.") from None
        docs = out.setdefault(parts[0], {})
        if parts[2] in docs:
            raise DataError(
                f"{path}, line {n}: document {parts[2]!r} ranked twice for query {parts[0]!r}."
            )
        docs[parts[2]] = score
    return out


def load_trec(
    topics: str | Path,
    qrels: str | Path,
    run: str | Path | None = None,
    *,
    name: str | None = None,
    collection: str = "",
) -> TrecData:
    """Read TREC topics (``<top>`` blocks, or ``query_id<TAB>text`` lines), qrels
    (``query_id 0 doc_id grade``) and optionally a run file (``query_id Q0 doc_id rank score
    tag``). Judgements of queries without a topic are an error; check the query set against its
    collection with :func:`check_judgements` (or build a :class:`RankingDataset`)."""
    tpath, qpath = Path(topics), Path(qrels)
    for p in (tpath, qpath, *([Path(run)] if run is not None else [])):
        if not p.is_file():
            raise DataError(f"TREC file {str(p)!r} does not exist.")
    texts = _read_topics(tpath)
    judgements = _read_qrels(qpath)
    extra = sorted(set(judgements) - set(texts))
    if extra:
        raise DataError(
            f"{qpath}: judgements for {len(extra)} queries without a topic in {tpath} "
            f"(e.g. {extra[0]!r})."
        )
    qs = QuerySet(name or tpath.stem, texts, judgements, collection)
    return TrecData(qs, None if run is None else _read_run(Path(run)))


# -- JSONL --------------------------------------------------------------------------------------
def _jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DataError(f"JSONL file {str(path)!r} does not exist.")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {n}: not JSON ({exc.msg}).") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}, line {n}: each line must be a JSON object.")
            yield n, row


def _field(row: dict[str, Any], names: Sequence[str], where: str) -> Any:
    for key in names:
        if key in row:
            return row[key]
    raise DataError(f"{where}: no {' / '.join(map(repr, names))} field.")


def load_jsonl(
    docs: str | Path,
    queries: str | Path,
    qrels: str | Path,
    *,
    name: str | None = None,
) -> tuple[Collection, QuerySet]:
    """Read a collection and judged queries from JSON lines (BEIR's layout works as is).

    ``docs``: ``{"id" | "_id" | "doc_id", "text", ["title"]}`` per line (a title is prefixed
    to the text); ``queries``: ``{"id" | "_id" | "query_id", "text"}``; ``qrels``: JSONL
    ``{"query_id", "doc_id" | "corpus_id", "grade" | "score" | "relevance"}`` or a TSV with the
    columns ``query-id corpus-id score`` (and a header line). ``.gz`` files are read too.
    """
    dpath, qpath, rpath = Path(docs), Path(queries), Path(qrels)
    cname = name or dpath.name.split(".")[0]

    def doc_rows() -> Iterable[tuple[object, object]]:
        for n, row in _jsonl(dpath):
            where = f"{dpath}, line {n}"
            doc_id = _field(row, ("id", "_id", "doc_id", "docid"), where)
            text = _field(row, ("text", "contents", "body"), where)
            title = row.get("title")
            yield doc_id, f"{title}\n{text}" if title and isinstance(text, str) else text

    coll = make_collection(cname, doc_rows())
    texts: dict[str, str] = {}
    for n, row in _jsonl(qpath):
        where = f"{qpath}, line {n}"
        qid = str(_field(row, ("id", "_id", "query_id", "qid"), where))
        if qid in texts:
            raise DataError(f"{where}: query {qid!r} appears twice.")
        texts[qid] = str(_field(row, ("text", "query"), where))
    judgements: dict[str, dict[str, float]] = {}
    if rpath.suffix in (".tsv", ".txt") or rpath.name.endswith((".tsv.gz",)):
        lines = rpath.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            parts = line.split("\t") if "\t" in line else line.split()
            if not parts or (n == 1 and not parts[-1].lstrip("-").isdigit()):
                continue  # header
            if len(parts) < 3:
                raise DataError(f"{rpath}, line {n}: expected query-id, corpus-id, score.")
            judgements.setdefault(parts[0], {})[parts[-2]] = float(parts[-1])
    else:
        for n, row in _jsonl(rpath):
            where = f"{rpath}, line {n}"
            qid = str(_field(row, ("query_id", "qid", "query-id"), where))
            doc = str(_field(row, ("doc_id", "corpus_id", "corpus-id", "docid"), where))
            grade = _field(row, ("grade", "score", "relevance", "label"), where)
            judgements.setdefault(qid, {})[doc] = grade
    extra = sorted(set(judgements) - set(texts))
    if extra:
        raise DataError(
            f"{rpath}: judgements for {len(extra)} queries missing from {qpath} (e.g. "
            f"{extra[0]!r})."
        )
    qs = QuerySet(qpath.name.split(".")[0], texts, judgements, coll.name)
    return coll, qs


def load_ir_datasets(name: str, *, max_docs: int | None = None) -> tuple[Collection, QuerySet]:
    """A collection and its judged queries from an ``ir_datasets`` name (e.g.
    ``"beir/scifact/test"``). Needs ``pip install ir_datasets`` (it downloads the data; never
    used in the tests)."""
    try:
        import ir_datasets
    except ModuleNotFoundError:
        raise ConfigError(
            f"Loading {name!r} needs the ir_datasets package: pip install ir_datasets (it "
            "downloads the collection)."
        ) from None
    ds = ir_datasets.load(name)
    if not (ds.has_docs() and ds.has_queries() and ds.has_qrels()):
        raise DataError(f"ir_datasets {name!r} lacks documents, queries or judgements.")

    def doc_rows() -> Iterable[tuple[object, object]]:
        for i, doc in enumerate(ds.docs_iter()):
            if max_docs is not None and i >= max_docs:
                return
            text = getattr(doc, "text", None) or getattr(doc, "body", "")
            title = getattr(doc, "title", "")
            yield doc.doc_id, f"{title}\n{text}" if title else text

    coll = make_collection(name, doc_rows())
    texts = {
        str(q.query_id): str(getattr(q, "text", None) or getattr(q, "title", ""))
        for q in ds.queries_iter()
    }
    judgements: dict[str, dict[str, float]] = {}
    for qr in ds.qrels_iter():
        if qr.doc_id in coll.docs:
            judgements.setdefault(qr.query_id, {})[qr.doc_id] = float(max(qr.relevance, 0))
    return coll, QuerySet(name, texts, judgements, coll.name)
