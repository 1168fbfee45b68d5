"""Retrieval-augmented generation end to end: a retriever (a :class:`Ranker`) and a reader
callable ``reader(question, passages) -> answer``, scored by SQuAD exact match / F1 (or a user
scorer) under document typos and query perturbations, each failure attributed to the retriever
(the gold passage left the top k) or to the reader (the gold passage was kept, the answer wrong).

References:
    Rajpurkar et al., SQuAD: 100,000+ Questions for Machine Comprehension of Text, EMNLP 2016
    (answer normalisation, exact match and F1); Cho et al., Typos that Broke the RAG's Back,
    Findings of EMNLP 2024 (typos in retrieved documents break RAG pipelines end to end).
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from robustlab.errors import ConfigError, DataError, ModelError
from robustlab.metrics.accuracy import clopper_pearson
from robustlab.metrics.base import METRICS, Estimate, Metric, mean_estimate
from robustlab.ranking.base import Collection, Ranker
from robustlab.records import Records

__all__ = [
    "QA_ITEMS",
    "MiniLMReader",
    "QAExample",
    "QASet",
    "RAGAnswer",
    "RAGOutcome",
    "RAGPipeline",
    "RAGResult",
    "bundled_qa",
    "evaluate_rag",
    "exact_match",
    "f1_score",
    "normalize_answer",
]

Reader = Callable[[str, list[str]], str]
Scorer = Callable[[str, Sequence[str]], float]


# -- SQuAD answer scoring -------------------------------------------------------------------------
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, punctuation removed, articles (a, an, the) removed,
    whitespace collapsed."""
    text = "".join(c for c in str(text).lower() if c not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer, else 0.0."""
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(a) for a in answers))


def f1_score(prediction: str, answers: Sequence[str]) -> float:
    """The best token F1 of the normalised prediction against the gold answers (SQuAD)."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for a in answers:
        gold = normalize_answer(a).split()
        if not pred or not gold:
            best = max(best, float(pred == gold))
            continue
        common = sum((collections.Counter(pred) & collections.Counter(gold)).values())
        if common:
            precision, recall = common / len(pred), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


SCORERS: dict[str, Scorer] = {"f1": f1_score, "exact_match": exact_match}


# -- the QA set -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QAExample:
    """One question: its gold answers (any counts) and the ids of the passages that answer it."""

    id: str
    question: str
    answers: tuple[str, ...]
    gold: tuple[str, ...]


@dataclass(frozen=True)
class QASet:
    """Questions over one collection (``collection`` names it)."""

    name: str
    examples: tuple[QAExample, ...]
    collection: str

    def __len__(self) -> int:
        return len(self.examples)

    def check(self, collection: Collection) -> None:
        """Refuse gold passages the collection lacks and gold answers no gold passage holds."""
        for ex in self.examples:
            if not ex.answers or not ex.gold:
                raise DataError(
                    f"QA example {ex.id!r} needs at least one answer and one gold passage id."
                )
            missing = [g for g in ex.gold if g not in collection.docs]
            if missing:
                raise DataError(
                    f"QA example {ex.id!r} names gold passage {missing[0]!r}, which collection "
                    f"{collection.name!r} does not hold; fix the id or pass the collection the QA "
                    "set was written for."
                )


#: The bundled questions over the bundled stdlib docstring collection: (id, question, answers,
#: gold passage ids). Written for RobustLab; every answer is a span of its gold passage.
QA_ITEMS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("rag01", "What invariant does heapq.heappush maintain when pushing an item onto a heap?", ("the heap invariant",), ("heapq.heappush",)),
    ("rag02", "What does os.path.split return for a pathname?", ('tuple "(head, tail)"', "(head, tail)"), ("os.path.split",)),
    ("rag03", "What counts as the extension in os.path.splitext?", ("everything from the last dot to the end",), ("os.path.splitext",)),
    ("rag04", "What is the return value of tempfile.mkdtemp?", ("the pathname of the directory",), ("tempfile.mkdtemp",)),
    ("rag05", "How does statistics.median interpolate when the number of data points is even?", ("by taking the average of the two middle values", "taking the average of the two middle values"), ("statistics.median",)),
    ("rag06", "What does bisect.bisect_left assume about the list a?", ("a is sorted", "sorted"), ("bisect.bisect_left",)),
    ("rag07", "What does textwrap.wrap return after wrapping a paragraph?", ("a list of wrapped lines",), ("textwrap.wrap",)),
    ("rag08", "What is the cartesian product of itertools.product equivalent to?", ("nested for-loops",), ("itertools.product",)),
    ("rag09", "Which compression levels does zlib.compress accept?", ("0-9 or -1",), ("zlib.compress",)),
    ("rag10", "How is the protocol version detected when pickle.loads reads pickle data?", ("automatically",), ("pickle.loads",)),
    ("rag11", "What kind of object does base64.b64encode return?", ("a bytes object",), ("base64.b64encode",)),
    ("rag12", "What does hashlib.sha256 return?", ("a sha256 hash object",), ("hashlib.sha256",)),
    ("rag13", "What does random.shuffle return after shuffling the list in place?", ("None",), ("random.shuffle",)),
    ("rag14", "From what kind of sequence does random.choice choose an element?", ("a non-empty sequence",), ("random.choice",)),
    ("rag15", "What does os.getcwd return?", ("a unicode string representing the current working directory",), ("os.getcwd",)),
    ("rag16", "What does os.listdir return for a directory?", ("a list containing the names of the files in the directory",), ("os.listdir",)),
    ("rag17", "Which Unix command is shutil.move similar to?", ('the Unix "mv" command', "mv"), ("shutil.move",)),
    ("rag18", "What does glob.glob return?", ("a list of paths matching a pathname pattern",), ("glob.glob",)),
    ("rag19", "Which style are the patterns of fnmatch.fnmatch?", ("Unix shell style",), ("fnmatch.fnmatch",)),
    ("rag20", "What may the argument of time.sleep be for subsecond precision?", ("a floating point number",), ("time.sleep",)),
    ("rag21", "Since when does time.time count the current time in seconds?", ("since the Epoch", "the Epoch"), ("time.time",)),
    ("rag22", "What does uuid.uuid4 generate?", ("a random UUID",), ("uuid.uuid4",)),
    ("rag23", "Which error does math.factorial raise for a negative argument?", ("a ValueError", "ValueError"), ("math.factorial",)),
    ("rag24", "What does statistics.stdev return?", ("the square root of the sample variance",), ("statistics.stdev",)),
    ("rag25", "What is collections.Counter a subclass of, for counting hashable items?", ("Dict", "dict subclass"), ("collections.Counter",)),
    ("rag26", "What is the list-like collections.deque optimized for?", ("data accesses near its endpoints",), ("collections.deque",)),
    ("rag27", "What kind of cache decorator is functools.lru_cache?", ("Least-recently-used", "least-recently-used cache decorator"), ("functools.lru_cache",)),
    ("rag28", "What does functools.partial make?", ("new function with partial application of the given arguments and keywords",), ("functools.partial",)),
    ("rag29", "What does os.makedirs create?", ("a leaf directory and all intermediate ones",), ("os.makedirs",)),
    ("rag30", "What does shlex.quote return for the string s?", ("a shell-escaped version of the string",), ("shlex.quote",)),
    ("rag31", "What does platform.system return?", ("the system/OS name",), ("platform.system",)),
    ("rag32", "Which instance does subprocess.run return after running a command?", ("a CompletedProcess instance",), ("subprocess.run",)),
    ("rag33", "In which modes does gzip.open open a gzip-compressed file?", ("binary or text mode",), ("gzip.open",)),
    ("rag34", "What does heapq.nlargest find?", ("the n largest elements in a dataset",), ("heapq.nlargest",)),
    ("rag35", "What does secrets.token_hex return?", ("a random text string, in hexadecimal",), ("secrets.token_hex",)),
    ("rag36", "What does json.dumps serialize obj to?", ("a JSON formatted str",), ("json.dumps",)),
    ("rag37", "What does shutil.rmtree recursively delete?", ("a directory tree",), ("shutil.rmtree",)),
)  # fmt: skip


def bundled_qa() -> QASet:
    """The bundled QA set (37 questions) over the bundled ``stdlib`` docstring collection."""
    return QASet(
        "stdlib-qa",
        tuple(QAExample(i, q, a, g) for i, q, a, g in QA_ITEMS),
        "stdlib",
    )


# -- a simple real reader ---------------------------------------------------------------------------
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


def _stem(word: str) -> str:
    return word.lower()[:5]


_CLAUSE = re.compile(r"[,;:()]|\s[-\u2013\u2014]\s|\s(?:and|or|but|so|which|where)\s")


class MiniLMReader:
    """An extractive reader: the passage sentence (three words or more, not a bare identifier)
    most similar to the question by the bundled MiniLM (cosine), optionally narrowed to its
    clause (split at commas, semicolons, colons, brackets, dashes and conjunctions) most similar
    to the question, with the leading words the question already holds (or stopwords) trimmed, as
    the answer. A baseline that exercises the pipeline; plug in your own reader (an LLM) as any
    ``reader(question, passages) -> answer`` callable.

    Args:
        clauses: Answer with the best clause instead of the whole best sentence (on the bundled
            questions the sentence scores better: F1 0.31 against 0.29).
    """

    name = "minilm-extractive"

    def __init__(self, clauses: bool = False) -> None:
        self.clauses = clauses

    def __call__(self, question: str, passages: list[str]) -> str:
        from robustlab.attacks.text._base import STOPWORDS, Tokenized
        from robustlab.text.embeddings import encode

        sentences = [s.strip() for p in passages for s in _SENTENCE.split(p) if s and s.strip()]
        # three words or more, and not a bare identifier (a docstring's "os.path.split" line)
        sentences = [s for s in sentences if len(Tokenized.parse(s)) >= 3 and " " in s]
        if not sentences:
            return ""
        emb = encode([question, *sentences])
        best = sentences[int(np.argmax(emb[1:] @ emb[0]))]
        if self.clauses:
            parts = [c.strip() for c in _CLAUSE.split(best) if c and len(Tokenized.parse(c)) >= 2]
            if len(parts) > 1:
                part_emb = encode(parts)
                best = parts[int(np.argmax(part_emb @ emb[0]))]
        asked = {_stem(w) for w in Tokenized.parse(question).words}
        words = Tokenized.parse(best).words
        lo = 0
        while lo < len(words) - 1 and (_stem(words[lo]) in asked or words[lo].lower() in STOPWORDS):
            lo += 1
        return " ".join(words[lo:])


# -- the pipeline -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RAGAnswer:
    """One pass of the pipeline: the passages retrieved (ids, best first) and the answer."""

    question: str
    retrieved: tuple[str, ...]
    answer: str


class RAGPipeline:
    """A retriever and a reader: ``answer(question)`` retrieves the top ``k`` passages of the
    indexed collection and asks ``reader(question, passages)`` for the answer.

    Args:
        retriever: A :class:`~robustlab.ranking.Ranker` (indexed by :func:`evaluate_rag`).
        reader: ``reader(question, passages) -> answer`` (a string).
        k: Passages given to the reader.
        scorer: ``"f1"``, ``"exact_match"`` or ``scorer(answer, gold_answers) -> float in [0, 1]``.
        threshold: Least score of a correct answer (exact match: 1).
    """

    def __init__(
        self,
        retriever: Ranker,
        reader: Reader,
        *,
        k: int = 3,
        scorer: str | Scorer = "f1",
        threshold: float = 0.5,
    ) -> None:
        from robustlab.validation import check_int, check_number

        if not isinstance(retriever, Ranker):
            raise ConfigError(
                f"The 'retriever' of RAGPipeline must be a robustlab Ranker. Got "
                f"{type(retriever).__name__}; wrap a retrieve callable with "
                "robustlab.ranking.rankers.as_ranker."
            )
        if not callable(reader):
            raise ConfigError(
                f"The 'reader' of RAGPipeline must be a callable reader(question, passages) -> "
                f"answer. Got {reader!r}."
            )
        check_int("RAGPipeline", "k", k, 1)
        check_number("RAGPipeline", "threshold", threshold, low=0.0, high=1.0, low_inclusive=True)
        if isinstance(scorer, str):
            if scorer not in SCORERS:
                raise ConfigError(
                    f"The 'scorer' of RAGPipeline must be one of {sorted(SCORERS)} or a callable "
                    f"scorer(answer, gold_answers) -> float. Got {scorer!r}."
                )
            self.scorer_name, self.scorer = scorer, SCORERS[scorer]
        elif callable(scorer):
            self.scorer_name = getattr(scorer, "__name__", "custom")
            self.scorer = scorer
        else:
            raise ConfigError(
                f"The 'scorer' of RAGPipeline must be a name or a callable; got {scorer!r}."
            )
        self.retriever, self.reader, self.k, self.threshold = retriever, reader, k, threshold

    def answer(self, question: str, collection: Collection) -> RAGAnswer:
        got = self.retriever.retrieve(question, self.k)
        ids = [str(d) for d, _ in got]
        where = f"question {question!r:.60}"
        if len(ids) > self.k or len(set(ids)) != len(ids):
            raise ModelError(
                f"The retriever returned {len(ids)} passages ({len(set(ids))} distinct) for "
                f"{where}; retrieve(query, k) must return at most k distinct ids."
            )
        unknown = [d for d in ids if d not in collection.docs]
        if unknown:
            raise ModelError(
                f"The retriever returned passage {unknown[0]!r} for {where}, which collection "
                f"{collection.name!r} does not hold."
            )
        answer = self.reader(question, [collection.docs[d] for d in ids])
        if not isinstance(answer, str):
            raise ModelError(
                f"The reader returned a {type(answer).__name__} for {where}; it must return the "
                "answer as a string."
            )
        return RAGAnswer(question, tuple(ids), answer)

    def score(self, answer: str, answers: Sequence[str], where: str) -> float:
        value = self.scorer(answer, answers)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise ModelError(
                f"The scorer returned {type(value).__name__} for {where}; it must return a float "
                "in [0, 1]."
            )
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ModelError(f"The scorer returned {value} for {where}; scores are in [0, 1].")
        return value


@dataclass(frozen=True)
class RAGOutcome:
    """One question, clean and under the condition (the perturbation of documents or query).

    ``gold_rank_*`` is the best rank of a gold passage among the retrieved (None: not retrieved).
    ``failure`` is True when the clean answer was correct and the perturbed one is not;
    ``attribution`` is ``"retriever"`` when the perturbed run lost every gold passage from the top
    k, ``"reader"`` when it kept one, for failures and for wrong clean answers alike
    (``clean_attribution``); None when correct.
    """

    id: str
    question: str
    perturbed_question: str
    answers: tuple[str, ...]
    gold: tuple[str, ...]
    clean: RAGAnswer
    perturbed: RAGAnswer
    clean_score: float
    perturbed_score: float
    clean_correct: bool
    perturbed_correct: bool
    clean_exact: float
    perturbed_exact: float
    gold_rank_clean: int | None
    gold_rank_perturbed: int | None
    edits: tuple[tuple[str, str, str], ...] = ()

    @property
    def failure(self) -> bool:
        return self.clean_correct and not self.perturbed_correct

    @property
    def attribution(self) -> str | None:
        if self.perturbed_correct:
            return None
        return "retriever" if self.gold_rank_perturbed is None else "reader"

    @property
    def clean_attribution(self) -> str | None:
        if self.clean_correct:
            return None
        return "retriever" if self.gold_rank_clean is None else "reader"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "perturbed_question": self.perturbed_question,
            "answers": list(self.answers),
            "gold": list(self.gold),
            "clean_answer": self.clean.answer,
            "perturbed_answer": self.perturbed.answer,
            "clean_retrieved": list(self.clean.retrieved),
            "perturbed_retrieved": list(self.perturbed.retrieved),
            "clean_score": self.clean_score,
            "perturbed_score": self.perturbed_score,
            "clean_exact": self.clean_exact,
            "perturbed_exact": self.perturbed_exact,
            "clean_correct": self.clean_correct,
            "perturbed_correct": self.perturbed_correct,
            "gold_rank_clean": self.gold_rank_clean,
            "gold_rank_perturbed": self.gold_rank_perturbed,
            "failure": self.failure,
            "attribution": self.attribution,
            "clean_attribution": self.clean_attribution,
            "edits": [list(e) for e in self.edits],
        }


@dataclass
class RAGResult:
    """The outcomes of one condition over a QA set, and the failure attribution."""

    outcomes: list[RAGOutcome]
    condition: dict[str, Any]
    scorer: str
    k: int
    threshold: float
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.outcomes)

    def mean(self, name: str) -> float:
        values = [float(getattr(o, name)) for o in self.outcomes]
        return float(np.mean(values)) if values else float("nan")

    def attribution_counts(self) -> dict[str, int]:
        """Failures (clean correct, perturbed wrong) by the component that lost them."""
        counts = {"retriever": 0, "reader": 0}
        for o in self.outcomes:
            if o.failure:
                counts[str(o.attribution)] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        n = len(self.outcomes)
        clean_wrong = collections.Counter(o.clean_attribution for o in self.outcomes)
        return {
            "n": n,
            "condition": dict(self.condition),
            "scorer": self.scorer,
            "k": self.k,
            "clean_score": self.mean("clean_score"),
            "perturbed_score": self.mean("perturbed_score"),
            "clean_exact_match": self.mean("clean_exact"),
            "perturbed_exact_match": self.mean("perturbed_exact"),
            "clean_recall_at_k": float(np.mean([o.gold_rank_clean is not None for o in self.outcomes])) if n else None,
            "perturbed_recall_at_k": float(np.mean([o.gold_rank_perturbed is not None for o in self.outcomes])) if n else None,
            "failures": sum(o.failure for o in self.outcomes),
            "failures_by": self.attribution_counts(),
            "clean_errors_by": {"retriever": clean_wrong["retriever"], "reader": clean_wrong["reader"]},
        }  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "notes": list(self.notes),
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


def _gold_rank(retrieved: Sequence[str], gold: Sequence[str]) -> int | None:
    ranks = [i + 1 for i, d in enumerate(retrieved) if d in gold]
    return min(ranks) if ranks else None


def _perturbation(spec: Any, owner: str) -> Any:
    if spec is None:
        return None
    from robustlab.perturbations import PERTURBATIONS
    from robustlab.perturbations.base import Perturbation

    if isinstance(spec, Perturbation):
        p = spec
    elif isinstance(spec, str):
        p = PERTURBATIONS.build(spec)
    elif isinstance(spec, Mapping):
        params = dict(spec)
        p = PERTURBATIONS.build(str(params.pop("name")), **params)
    else:
        raise ConfigError(
            f"The {owner} perturbation must be a text perturbation name (e.g. 'typo_swap'), "
            f"{{name: ..., rate: ...}} or a Perturbation. Got {spec!r}."
        )
    if p.modality != "text":
        raise ConfigError(
            f"The {owner} perturbation must be a text perturbation; {p.name!r} is {p.modality}."
        )
    return p


def evaluate_rag(
    pipeline: RAGPipeline,
    collection: Collection,
    qa: QASet,
    *,
    documents: Any = None,
    query: Any = None,
    scope: str = "gold",
    seed: int = 0,
    max_questions: int | None = None,
) -> RAGResult:
    """Answer every question of ``qa`` clean and under the condition, and attribute failures.

    Args:
        pipeline: The retriever and reader.
        collection: The passages (the retriever is indexed on it, and on its perturbed copy).
        qa: Questions whose gold passages ``collection`` holds.
        documents: A text perturbation of the passages (name, ``{name, rate}`` or instance), e.g.
            ``{"name": "typo_swap", "rate": 0.3}``: GARAG's typos in the documents.
        query: A text perturbation of the questions.
        scope: ``gold`` perturbs the gold passages of the questions asked (the documents an
            answer depends on), ``all`` every passage (then re-indexed).
        seed: Seeds the perturbations.
        max_questions: Ask only the first questions.
    """
    if scope not in ("gold", "all"):
        raise ConfigError(f"The 'scope' of evaluate_rag must be 'gold' or 'all'. Got {scope!r}.")
    qa.check(collection)
    doc_p = _perturbation(documents, "documents")
    query_p = _perturbation(query, "query")
    examples = list(qa.examples[:max_questions] if max_questions else qa.examples)
    pipeline.retriever.index(collection)
    clean = [pipeline.answer(ex.question, collection) for ex in examples]
    perturbed_coll = collection
    edits: dict[str, tuple[str, str, str]] = {}
    if doc_p is not None:
        ids = (
            list(dict.fromkeys(g for ex in examples for g in ex.gold))
            if scope == "gold"
            else list(collection.docs)
        )
        out = doc_p.apply([collection.docs[d] for d in ids], seed=seed).inputs
        docs = dict(collection.docs)
        for d, new in zip(ids, out, strict=True):
            if new != docs[d]:
                edits[d] = (d, docs[d], str(new))
                docs[d] = str(new)
        perturbed_coll = Collection(f"{collection.name}+{doc_p.name}", docs, collection.description)
    questions = [ex.question for ex in examples]
    if query_p is not None:
        questions = [str(q) for q in query_p.apply(questions, seed=seed + 1).inputs]
    if perturbed_coll is not collection:
        pipeline.retriever.index(perturbed_coll)
    try:
        perturbed = [pipeline.answer(q, perturbed_coll) for q in questions]
    finally:
        if perturbed_coll is not collection:
            pipeline.retriever.index(collection)
    outcomes = []
    for ex, q, c, p in zip(examples, questions, clean, perturbed, strict=True):
        where = f"QA example {ex.id!r}"
        cs, ps = (
            pipeline.score(c.answer, ex.answers, where),
            pipeline.score(p.answer, ex.answers, where),
        )
        outcomes.append(
            RAGOutcome(
                ex.id, ex.question, q, ex.answers, ex.gold, c, p, cs, ps,
                cs >= pipeline.threshold, ps >= pipeline.threshold,
                exact_match(c.answer, ex.answers), exact_match(p.answer, ex.answers),
                _gold_rank(c.retrieved, ex.gold), _gold_rank(p.retrieved, ex.gold),
                tuple(edits[g] for g in ex.gold if g in edits),
            )
        )  # fmt: skip
    condition: dict[str, Any] = {"scope": scope, "seed": seed}
    if doc_p is not None:
        condition["documents"] = {"name": doc_p.name, **_params(doc_p)}
    if query_p is not None:
        condition["query"] = {"name": query_p.name, **_params(query_p)}
    return RAGResult(outcomes, condition, pipeline.scorer_name, pipeline.k, pipeline.threshold)


def _params(p: Any) -> dict[str, Any]:
    import dataclasses

    return {
        f.name: getattr(p, f.name)
        for f in dataclasses.fields(p)
        if isinstance(getattr(p, f.name), (int, float, str, bool))
    }


# -- metrics of the rag probe's records -------------------------------------------------------------
# Records of the ``rag`` probe: one per question, ``value`` the perturbed answer's score,
# ``similarity`` the clean answer's score, ``broken`` a failure (right clean, wrong perturbed) and
# ``group`` the component that lost it (``retriever`` / ``reader``).


def _asked(records: Records) -> np.ndarray:
    return np.isfinite(records.value) & np.isfinite(records.similarity)


def _share(records: Records, component: str | None) -> Estimate:
    mask = _asked(records)
    hits = records.broken[mask]
    if component is not None:
        hits = hits & (np.asarray(records.group, dtype=object)[mask] == component)
    n, k = len(hits), int(hits.sum())
    low, high = clopper_pearson(k, n)
    return Estimate(k / n, low, high, n, "clopper-pearson")


@dataclass(frozen=True)
class _RAGMetric(Metric):
    tasks: ClassVar[tuple[str, ...]] = ("ranking",)

    def applies(self, records: Records) -> bool:
        return bool(_asked(records).any())


@METRICS.register("rag_answer_score")
@dataclass(frozen=True)
class RAGAnswerScore(_RAGMetric):
    """Mean answer score (F1 / exact match) of the pipeline under the probe's condition."""

    name = "rag_answer_score"
    higher_is_better = True
    description = "mean answer score of the RAG pipeline under the perturbation"

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.value[_asked(records)], seed)


@METRICS.register("rag_clean_answer_score")
@dataclass(frozen=True)
class RAGCleanAnswerScore(_RAGMetric):
    """Mean answer score of the pipeline on the clean questions and documents."""

    name = "rag_clean_answer_score"
    higher_is_better = True
    description = "mean answer score of the RAG pipeline, clean"

    def _compute(self, records: Records, seed: int) -> Estimate:
        return mean_estimate(records.similarity[_asked(records)], seed)


@METRICS.register("rag_failure_rate")
@dataclass(frozen=True)
class RAGFailureRate(_RAGMetric):
    """Share of the questions answered right clean and wrong under the perturbation."""

    name = "rag_failure_rate"
    higher_is_better = False
    description = "questions right clean and wrong perturbed"

    def _compute(self, records: Records, seed: int) -> Estimate:
        return _share(records, None)


@METRICS.register("rag_retriever_failures")
@dataclass(frozen=True)
class RAGRetrieverFailures(_RAGMetric):
    """Share of the questions that failed because every gold passage left the top k."""

    name = "rag_retriever_failures"
    higher_is_better = False
    description = "failures where the gold passage left the top k (retriever)"

    def _compute(self, records: Records, seed: int) -> Estimate:
        return _share(records, "retriever")


@METRICS.register("rag_reader_failures")
@dataclass(frozen=True)
class RAGReaderFailures(_RAGMetric):
    """Share of the questions that failed with a gold passage still in the top k."""

    name = "rag_reader_failures"
    higher_is_better = False
    description = "failures where a gold passage stayed in the top k (reader)"

    def _compute(self, records: Records, seed: int) -> Estimate:
        return _share(records, "reader")
