"""DenseRanker.score agrees with its index on the indexed documents and encodes only new texts,
in one call (a document attack's variants), with the query's embedding kept."""

from __future__ import annotations

import hashlib

import numpy as np

from robustlab.ranking.data import bundled_collection
from robustlab.ranking.rankers import DenseRanker


def _fake_encoder(calls):
    def encode(texts):
        calls.append(list(texts))
        out = []
        for t in texts:
            seed = int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)
            v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.stack(out)

    return encode


def test_dense_score_reads_indexed_documents_and_encodes_new_texts_once():
    coll = bundled_collection("stdlib")  # its MiniLM embeddings ship with the package
    ranker = DenseRanker()
    ranker.index(coll)
    calls: list[list[str]] = []
    ranker._encode = _fake_encoder(calls)  # type: ignore[method-assign]
    ids = list(coll.docs)[:30]
    texts = [coll.docs[i] for i in ids]
    query = "join two paths"
    got = ranker.score(query, texts)
    assert calls == [[query]]  # the documents come from the index
    assert np.array_equal(got, ranker.collection_scores(query)[:30])  # same as retrieve's
    assert calls == [[query]]  # the query's embedding is kept
    variants = ["a brand new text", texts[3], "another new one", "a brand new text"]
    scores = ranker.score(query, variants)
    assert calls[1:] == [["a brand new text", "another new one"]]  # one call, each text once
    q = _fake_encoder([])([query])[0].astype(np.float64)
    new = _fake_encoder([])(["a brand new text"])[0].astype(np.float16).astype(np.float64)
    assert scores[0] == scores[3] == float(new @ q)  # rounded to float16 as the index is
    assert scores[1] == got[3]
