"""``attack_documents()``: candidate lists per query, the documents to attack in each direction, a
per-document query budget, a fresh check of every result, ranks, edits and similarity."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from robustlab.attacks._registry import ATTACKS
from robustlab.attacks.text._base import BudgetExhausted, Tokenized, check_number
from robustlab.attacks.threat import EditBudget
from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.ranking.attacks._base import (
    DIRECTIONS,
    DocumentAttack,
    DocumentOracle,
    check_scores,
    diff_edits,
    rank_of,
)
from robustlab.ranking.attacks._result import DocumentAdversarial, DocumentAttackResult
from robustlab.ranking.base import Collection, QuerySet, Ranker

__all__ = ["attack_documents", "build_document_attack", "candidates", "document_similarity"]

#: Words of context on each side of an edit when measuring the similarity of long documents.
CONTEXT_WORDS = 50


def build_document_attack(name: str, **params: Any) -> DocumentAttack:
    """A registered document attack by name (did-you-mean on unknown names)."""
    cls = ATTACKS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, DocumentAttack)):
        names = [n for n, c in ATTACKS.items() if issubclass(c, DocumentAttack)]
        raise ConfigError(
            f"{name!r} is a {cls.modality} attack, not a document attack on rankers; use one "
            f"of: {', '.join(names)}."
        )
    return cls(**params)


def candidates(
    ranker: Ranker, collection: Collection, query_id: str, query: str, depth: int
) -> tuple[list[str], np.ndarray]:
    """The query's top ``depth`` document ids by ``ranker.retrieve`` and their ``ranker.score``
    scores (the scores an attacker's variants are compared with), checked: at most ``depth``
    ids, no duplicates, every id in the collection."""
    got = ranker.retrieve(query, depth)
    ids = [str(d) for d, _ in got]
    where = f"query {query_id!r}"
    if len(ids) > depth:
        raise ModelError(
            f"The ranker's retrieve() returned {len(ids)} documents for {where}, more than the "
            f"k={depth} asked for; return at most k (doc_id, score) pairs."
        )
    seen: set[str] = set()
    for d in ids:
        if d in seen:
            raise ModelError(
                f"The ranker's retrieve() returned document {d!r} twice for {where}; each "
                "document may appear once."
            )
        if d not in collection.docs:
            raise ModelError(
                f"The ranker's retrieve() returned document {d!r} for {where}, which is not in "
                f"collection {collection.name!r}; index the collection it retrieves from."
            )
        seen.add(d)
    texts = [collection.docs[d] for d in ids]
    scores = check_scores(ranker.score(query, texts), len(ids), f"{where}'s candidates")
    return ids, scores


def _ndcg(scores: np.ndarray, ids: Sequence[str], grades: Mapping[str, float], k: int) -> float:
    """nDCG@k as the ranking task's records compute it (linear gains, log2 discount)."""
    order = np.argsort(-scores, kind="stable")
    gains = np.array([float(grades.get(ids[j], 0.0)) for j in order[:k]])
    discount = 1.0 / np.log2(np.arange(2, len(gains) + 2))
    ideal = np.sort(np.array([float(g) for g in grades.values()]))[::-1][:k]
    idcg = float((ideal * (1.0 / np.log2(np.arange(2, len(ideal) + 2)))).sum())
    return float((gains * discount).sum() / idcg) if idcg > 0 else 0.0


def document_similarity(pairs: list[tuple[str, str]]) -> list[float]:
    """MiniLM cosine of each (original, adversarial) document pair: the whole texts when short,
    else the least similar pair of windows of :data:`CONTEXT_WORDS` words around each edit
    (MiniLM reads 256 word pieces, so a late edit of a long text would otherwise be unseen)."""
    from robustlab.text.embeddings import cosine, encode

    windows: list[list[tuple[str, str]]] = []
    for original, adversarial in pairs:
        if original == adversarial:
            windows.append([])
            continue
        a, b = Tokenized.parse(original), Tokenized.parse(adversarial)
        if max(len(a), len(b)) <= 2 * CONTEXT_WORDS:
            windows.append([(original, adversarial)])
            continue
        import difflib

        own = []
        matcher = difflib.SequenceMatcher(a=a.words, b=b.words, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            lo_a, hi_a = max(0, i1 - CONTEXT_WORDS), min(len(a), i2 + CONTEXT_WORDS)
            lo_b, hi_b = max(0, j1 - CONTEXT_WORDS), min(len(b), j2 + CONTEXT_WORDS)
            own.append((a.window(a.words, lo_a, hi_a), b.window(b.words, lo_b, hi_b)))
        windows.append(own)
    flat = [p for w in windows for p in w]
    sims: Iterator[float] = iter([])
    if flat:
        unique = list(dict.fromkeys(t for p in flat for t in p))
        emb = encode(unique)
        row = {t: i for i, t in enumerate(unique)}
        sims = iter(cosine(emb[[row[a] for a, _ in flat]], emb[[row[b] for _, b in flat]]))
    out = []
    for w in windows:
        values = [float(next(sims)) for _ in w]
        out.append(float(np.clip(min(values), 0.0, 1.0)) if values else 1.0)
    return out


def _targets(
    ids: list[str],
    scores: np.ndarray,
    grades: Mapping[str, float],
    direction: str,
    k: int,
    per_query: int,
    promote_from: int,
    rng: np.random.Generator,
) -> list[int]:
    """Positions (in ``ids``) of the documents to attack for one query and direction."""
    ranks = [rank_of(scores[j], np.delete(scores, j)) for j in range(len(ids))]
    if direction == "demote":
        pool = [j for j in range(len(ids)) if grades.get(ids[j], 0.0) > 0 and ranks[j] <= k]
        pool.sort(key=lambda j: ranks[j])
        return pool[:per_query]
    pool = [
        j
        for j in range(len(ids))
        if grades.get(ids[j], 0.0) <= 0 and promote_from <= ranks[j] and ranks[j] > k
    ]
    if len(pool) <= per_query:
        return pool
    return sorted(int(j) for j in rng.choice(pool, size=per_query, replace=False))


def attack_documents(
    ranker: Ranker,
    collection: Collection,
    queries: QuerySet,
    attack: str | DocumentAttack = "word_substitution",
    *,
    direction: str = "both",
    budget: int = 100,
    k: int = 10,
    depth: int = 100,
    per_query: int = 1,
    promote_from: int = 20,
    max_queries: int | None = None,
    seed: int = 0,
    threat: EditBudget | None = None,
    similarity: bool = True,
    fail_fast: bool = False,
    **params: Any,
) -> DocumentAttackResult:
    """Attack documents of ``collection`` for the judged ``queries`` through ``ranker.score``
    only (black box), within ``budget`` ranker queries per attacked document.

    Each query's candidates are the ranker's top ``depth`` (``retrieve``), scored once with
    ``score``; the other candidates keep those scores while one document is attacked, so its rank
    is its variant's score against them. ``demote`` attacks the ``per_query`` best-ranked relevant
    documents (grade > 0) of the top ``k``; ``promote`` attacks ``per_query`` irrelevant documents
    (grade 0 or unjudged) ranked between ``promote_from`` and ``depth``, picked with the seed.
    Every query-document pair the attack scores costs one query, the original included; the
    oracle refuses any call that would exceed the budget. The best variant found is re-scored by
    a fresh, uncounted call, which decides its rank and success.

    Args:
        ranker: A :class:`~robustlab.ranking.Ranker` (indexed on ``collection`` here).
        collection: The documents.
        queries: Judged queries over ``collection`` (queries without judgements are skipped, and
            a note says how many).
        attack: A registered document attack name or instance (``word_substitution``,
            ``trigger_insertion``, ``genetic_typo_document``, ``random_substitution``).
        direction: ``demote``, ``promote`` or ``both``.
        budget: Most ranker queries per attacked document.
        k: The top-k border that success is about (10 as in PRADA).
        depth: Candidates per query.
        per_query: Documents attacked per query and direction.
        promote_from: Least rank of a document to promote.
        max_queries: Attack at most this many queries (in their order; ``None``: all).
        seed: Seeds each document's generator.
        threat: An :class:`~robustlab.attacks.EditBudget` (most words / characters changed,
            least similarity); a variant outside it never counts.
        similarity: Measure MiniLM similarity of each adversarial document (NaN when off).
        fail_fast: Raise when the ranker fails on a candidate instead of recording the error.
        **params: The attack's own parameters.
    """
    start = time.perf_counter()
    atk = build_document_attack(attack, **params) if isinstance(attack, str) else attack
    if not isinstance(atk, DocumentAttack):
        raise ConfigError(
            f"The 'attack' parameter of attack_documents() must be a document attack name or "
            f"instance. Got {attack!r} instead."
        )
    if params and not isinstance(attack, str):
        raise ConfigError("Pass attack parameters with an attack name, not with a built attack.")
    if not isinstance(ranker, Ranker):
        raise ConfigError(
            f"The 'ranker' parameter of attack_documents() must be a robustlab Ranker. Got "
            f"{type(ranker).__name__}; wrap a scoring function with "
            "robustlab.ranking.as_ranker(fn)."
        )
    if not isinstance(collection, Collection) or not isinstance(queries, QuerySet):
        raise ConfigError(
            "attack_documents() needs a ranking Collection and a QuerySet (robustlab.ranking)."
        )
    directions = DIRECTIONS if direction == "both" else (direction,)
    if any(d not in DIRECTIONS for d in directions):
        raise ConfigError(
            f"The 'direction' parameter of attack_documents() must be 'demote', 'promote' or "
            f"'both'. Got {direction!r} instead."
        )
    owner = "attack_documents()"
    for name, value, low in (("budget", budget, 1), ("k", k, 1), ("depth", depth, 2)):
        check_number(owner, name, value, integer=True, low=low, low_inclusive=True)
    check_number(owner, "per_query", per_query, integer=True, low=1, low_inclusive=True)
    check_number(owner, "promote_from", promote_from, integer=True, low=1, low_inclusive=True)
    check_number(owner, "seed", seed, integer=True, low=0, low_inclusive=True)
    if max_queries is not None:
        check_number(owner, "max_queries", max_queries, integer=True, low=1, low_inclusive=True)
    if depth <= k:
        raise ConfigError(
            f"attack_documents() needs depth > k (candidates below the top k to compare with); "
            f"got depth={depth}, k={k}."
        )
    if threat is not None and not isinstance(threat, EditBudget):
        raise ConfigError(
            f"The 'threat' parameter of attack_documents() must be an EditBudget. Got {threat!r}."
        )
    if threat is not None and threat.min_similarity is not None and not similarity:
        raise ConfigError("The edit budget's min_similarity needs similarity=True.")
    if queries.collection and queries.collection != collection.name:
        raise DataError(
            f"Query set {queries.name!r} judges collection {queries.collection!r}, not "
            f"{collection.name!r}; pass the collection its judgements refer to."
        )
    from robustlab.ranking.data import check_judgements

    # empty or non-text documents, judgements of unknown documents, bad grades, empty queries
    check_judgements(collection, queries, allow_unjudged=True)

    ranker.index(collection)
    notes: list[str] = []
    judged = [q for q in queries.queries if queries.qrels.get(q)]
    if len(judged) < len(queries.queries):
        notes.append(
            f"{len(queries.queries) - len(judged)} of {len(queries.queries)} queries have no "
            "judgements; skipped"
        )
    if max_queries is not None:
        judged = judged[:max_queries]
    found: list[dict[str, Any]] = []
    pairs_scored = 0
    for qi, qid in enumerate(judged):
        query = queries.queries[qid]
        grades = {str(d): float(g) for d, g in queries.qrels[qid].items()}
        ids, scores = candidates(ranker, collection, qid, query, depth)
        pairs_scored += len(ids)
        for di, d in enumerate(directions):
            rng = np.random.default_rng([seed, qi, di])
            chosen = _targets(ids, scores, grades, d, k, per_query, promote_from, rng)
            if not chosen:
                notes.append(f"query {qid!r}: no document to {d}")
            for j in chosen:
                others = np.delete(scores, j)
                doc_id, text = ids[j], collection.docs[ids[j]]
                where = f"query {qid!r}, document {doc_id!r}"
                oracle = DocumentOracle(
                    ranker,
                    query,
                    text,
                    others,
                    direction=d,
                    budget=budget,
                    k=k,
                    threat=threat,
                    where=where,
                )
                error = None
                try:
                    oracle.scores([text])
                    tokens = Tokenized.parse(text)
                    if len(tokens) and not oracle.done:
                        atk._search(oracle, tokens, np.random.default_rng([seed, qi, di, j]))
                except BudgetExhausted:
                    pass
                except ConfigError:
                    raise
                except Exception as exc:  # one failing candidate must not lose the others
                    if fail_fast:
                        raise
                    error = f"{type(exc).__name__}: {exc}"
                    notes.append(f"{where}: the ranker failed on a candidate ({error})")
                if oracle.used > budget:  # the oracle refuses this; a broken one must not pass
                    raise AssertionError(f"{atk.name} spent {oracle.used} queries of {budget}")
                found.append(
                    {
                        "qid": qid,
                        "doc": doc_id,
                        "direction": d,
                        "query": query,
                        "original": text,
                        "adversarial": oracle.best,
                        "queries": oracle.used,
                        "before": float(scores[j]),
                        "others": others,
                        "ids": ids,
                        "j": j,
                        "grades": grades,
                        "scores": scores,
                        "error": error,
                    }
                )

    sims = (
        document_similarity([(f["original"], f["adversarial"]) for f in found])
        if similarity
        else [float("nan")] * len(found)
    )
    examples = []
    for f, sim in zip(found, sims, strict=True):
        adversarial = f["adversarial"]
        where = f"query {f['qid']!r}, document {f['doc']!r}"
        measured = None if np.isnan(sim) else sim
        if (
            adversarial != f["original"]
            and threat is not None
            and not threat.allows(f["original"], adversarial, measured)
        ):
            notes.append(f"{where}: the best variant exceeds the edit budget; not counted")
            adversarial, sim = f["original"], 1.0
        after = f["before"]
        if adversarial != f["original"]:
            after = float(check_scores(ranker.score(f["query"], [adversarial]), 1, where)[0])
        rank_before = rank_of(f["before"], f["others"])
        rank_after = rank_of(after, f["others"])
        success = rank_after > k if f["direction"] == "demote" else rank_after <= k
        new = f["scores"].copy()
        new[f["j"]] = after
        n_words = max(len(Tokenized.parse(f["original"])), 1)
        edits = diff_edits(f["original"], adversarial)
        from robustlab.attacks.threat import text_edits

        changed = text_edits(f["original"], adversarial)[0] if edits else 0
        examples.append(
            DocumentAdversarial(
                f["qid"], f["doc"], f["direction"], f["query"], f["original"], adversarial,
                bool(success), rank_before, rank_after, f["before"], after, f["queries"],
                edits, changed / n_words, sim,
                _ndcg(f["scores"], f["ids"], f["grades"], k), _ndcg(new, f["ids"], f["grades"], k),
                f["error"],
            )
        )  # fmt: skip
    return DocumentAttackResult(
        examples,
        atk.name,
        atk.params,
        budget,
        seed,
        k,
        depth,
        elapsed_s=time.perf_counter() - start,
        notes=notes,
        threat=None if threat is None or threat.unconstrained else threat.spec,
        pairs_scored=pairs_scored,
    )
