"""Benchmark: RobustLab's text transformations against nlpaug, its text attacks against TextAttack.

(a) Throughput, texts per second, of ``robustlab.perturbations.text.apply`` and nlpaug's nearest
augmenters on the same texts at the same rate (10% of the words, one character edit per chosen
word; both round up: ours ``ceil(0.1 * n)`` of a text's ``n`` eligible words, nlpaug
``ceil(0.1 * tokens)`` capped at its candidate words), each given one first pass (timed apart),
then timed ``--repeats`` times with the tools alternating; medians. The share of words each tool
actually changed (word diff of the first pass) is reported beside, so the rates can be compared.

(b) DeepWordBug and TextFooler: RobustLab's attacks and TextAttack's recipes on the same model (the
MiniLM + logistic-regression review classifier, ``robustlab.text.minilm_model``), the same texts
(the reviews' test split) and the same query budget per text. Both tools query the model through
one counting wrapper, so "queries" are texts the model actually scored, first prediction
included; words perturbed and similarity are computed the same way for both (word diff; MiniLM
cosine of the whole texts).

Run:  python benchmarks/text.py [--texts 2000] [--repeats 5] [--budget 300]
The peer rows need nlpaug and TextAttack (see benchmarks/README.md); without them only RobustLab
runs.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import os
import platform
import random
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
RATE = 0.1  # fraction of words each transformation changes

#: (our transformation, what nlpaug calls the nearest augmenter, its constructor arguments)
PAIRS = [
    ("typo_keyboard", "char.KeyboardAug", {}),
    ("typo_swap", "char.RandomCharAug", {"action": "swap"}),
    ("typo_insert", "char.RandomCharAug", {"action": "insert"}),
    ("typo_delete", "char.RandomCharAug", {"action": "delete"}),
    ("homoglyph", "char.OcrAug", {}),
    ("synonym", "word.SynonymAug", {"aug_src": "wordnet"}),
]


def _stub(name: str) -> None:
    """An importable placeholder module whose attributes are classes that refuse to be built."""

    class Missing:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError(f"{name} is not installed in the benchmark environment")

    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__path__ = []

    def attr(key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return type(key, (Missing,), {})

    module.__getattr__ = attr  # type: ignore[method-assign]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, module)


def load_textattack() -> tuple[Any, list[str]]:
    """Import TextAttack 0.3.11 with the shims it needs offline; returns (module, shims applied)."""
    shims = []
    for name in ["flair", "flair.data", "flair.models", "flair.embeddings", "jieba", "pinyin",
                 "OpenHowNet", "bert_score", "language_tool_python", "datasets"]:  # fmt: skip
        try:
            __import__(name)
        except ImportError:
            _stub(name)
            shims.append(f"stub module {name}")
    import nltk.corpus

    from robustlab.attacks.text import STOPWORDS

    try:
        nltk.corpus.stopwords.words("english")
    except LookupError:

        class Stopwords:
            def words(self, language: str = "english") -> list[str]:
                return sorted(STOPWORDS)

        nltk.corpus.stopwords = Stopwords()
        shims.append("nltk stopwords corpus -> RobustLab's STOPWORDS (NLTK data is not offline)")
    from importlib.metadata import version

    import textattack

    textattack.__version__ = version("textattack")
    return textattack, shims


# -- (a) transformation throughput --------------------------------------------------------------


def _nlpaug(spec: str, kwargs: dict[str, Any]) -> Any:
    import nlpaug.augmenter.char as nac
    import nlpaug.augmenter.word as naw

    kind, cls = spec.split(".")
    module = nac if kind == "char" else naw
    args = dict(kwargs)
    if kind == "char":
        # one character edit in 10% of the words, as ours
        args |= {"aug_word_p": RATE, "aug_char_min": 1, "aug_char_max": 1, "aug_word_max": 1000}
    else:
        args |= {"aug_p": RATE, "aug_max": 1000}
    return getattr(module, cls)(**args)


def _first_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip().strip("*")]
    return lines[0] if lines else ""


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _words_changed(texts: list[str], outputs: list[str]) -> float:
    """Mean share of each text's words that a tool changed (word diff, as in part (b))."""
    from robustlab.text.artifacts import word_change_fraction

    return statistics.fmean(word_change_fraction(a, b) for a, b in zip(texts, outputs, strict=True))


def throughput(texts: list[str], repeats: int, with_peer: bool) -> list[dict[str, Any]]:
    from robustlab.perturbations import text as transformations

    rows = []
    for ours, spec, kwargs in PAIRS:
        row: dict[str, Any] = {
            "transformation": ours,
            "peer": f"nlpaug {spec}",
            "peer_args": kwargs,
        }
        # One untimed-for-the-median pass over the same texts first, for both tools: it loads
        # what each needs (ours fills its per-word neighbour memo); its time is kept apart. Its
        # output gives the share of words each tool changed (the same word diff for both).
        first: list[Any] = []
        row["ours_first_call_s"] = _time(
            lambda o=ours, f=first: f.append(transformations.apply(texts, o, RATE, seed=99))
        )
        row["ours_words_changed"] = _words_changed(texts, [t.text for t in first[0]])
        aug = None
        if with_peer:
            try:
                aug = _nlpaug(spec, kwargs)
                random.seed(99)
                row["peer_first_call_s"] = _time(lambda a=aug, f=first: f.append(a.augment(texts)))
                row["peer_words_changed"] = _words_changed(texts, first[1])
            except Exception as exc:  # the peer's reason is the result
                row["peer_error"] = f"{type(exc).__name__}: {_first_line(exc)}"
                aug = None
        ours_s, peer_s = [], []
        for rep in range(repeats):
            ours_s.append(
                _time(lambda r=rep, o=ours: transformations.apply(texts, o, RATE, seed=r))
            )
            if aug is not None:
                random.seed(rep)
                peer_s.append(_time(lambda a=aug: a.augment(texts)))
        row["ours_texts_per_s"] = len(texts) / statistics.median(ours_s)
        # nlpaug counts its rate on all tokens (punctuation and short words too), so it changes
        # more words per text than ours at the same rate: ours again at twice the rate, which
        # changes about as many words, shows what equal work costs.
        double = [
            _time(lambda r=rep, o=ours: transformations.apply(texts, o, 2 * RATE, seed=r))
            for rep in range(repeats)
        ]
        row["ours_double_rate"] = {
            "rate": 2 * RATE,
            "texts_per_s": len(texts) / statistics.median(double),
            "words_changed": _words_changed(
                texts, [t.text for t in transformations.apply(texts, ours, 2 * RATE, seed=99)]
            ),
        }
        if peer_s:
            row["peer_texts_per_s"] = len(texts) / statistics.median(peer_s)
            row["speedup"] = row["ours_texts_per_s"] / row["peer_texts_per_s"]
        row["ours_s"], row["peer_s"] = ours_s, peer_s
        rows.append(row)
        print(
            f"  {ours:<14} {row['ours_texts_per_s']:>10.0f}/s  nlpaug {spec:<20} "
            + (
                f"{row['peer_texts_per_s']:>9.0f}/s  x{row['speedup']:.1f}  words changed "
                f"{row['ours_words_changed']:.3f} vs {row['peer_words_changed']:.3f}; ours at "
                f"rate {2 * RATE:.1f}: {row['ours_double_rate']['texts_per_s']:.0f}/s, "
                f"{row['ours_double_rate']['words_changed']:.3f}"
                if "speedup" in row
                else row.get("peer_error", "not run")
            )
        )
    return rows


# -- (b) attacks ----------------------------------------------------------------------------------


class Counted:
    """The victim model behind a counter of the texts it scores (shared by both tools)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return self.model.predict_proba(list(texts)).numpy()


def _measures(originals: list[str], adversarial: list[str]) -> tuple[list[float], list[float]]:
    """Words changed (fraction, word diff) and MiniLM similarity, the same way for both tools."""
    from robustlab.text.artifacts import word_change_fraction
    from robustlab.text.embeddings import cosine, encode

    words = [word_change_fraction(a, b) for a, b in zip(originals, adversarial, strict=True)]
    if not originals:
        return words, []
    sims = cosine(encode(originals), encode(adversarial))
    return words, [float(s) for s in sims]


def _summary(tool: str, attack: str, per: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    attacked = [p for p in per if not p["skipped"]]
    ok = [p for p in attacked if p["success"]]
    words, sims = _measures([p["original"] for p in ok], [p["adversarial"] for p in ok])
    mean = statistics.fmean
    return {
        "tool": tool,
        "attack": attack,
        "attacked": len(attacked),
        "successes": len(ok),
        "success_rate": len(ok) / len(attacked) if attacked else float("nan"),
        "queries_per_success": mean(p["queries"] for p in ok) if ok else float("nan"),
        "reported_queries_per_success": mean(p["reported"] for p in ok) if ok else float("nan"),
        "max_queries": max((p["queries"] for p in per), default=0),
        "words_perturbed": mean(words) if ok else float("nan"),
        "similarity": mean(sims) if ok else float("nan"),
        "wall_s": wall,
        "examples": [{"original": p["original"], "adversarial": p["adversarial"]} for p in ok[:5]],
    }


#: TextFooler with the constraints TextAttack's recipe applies: 50 neighbours at word cosine
#: >= 0.5, no limit on the words changed, and the sentence check only on texts of 15 words or
#: more (cosine 0.877, the recipe's angular 0.8408) and none on shorter ones.
RECIPE_TEXTFOOLER = {"neighbours": 50, "word_similarity": 0.5, "max_words_perturbed": 1.0}
RECIPE_WINDOW = 15
RECIPE_COSINE = 0.877


def run_ours(
    victim: Counted,
    texts: list[str],
    ys: list[int],
    attack: str,
    budget: int,
    label: str | None = None,
    split: Callable[[str], dict[str, Any]] | None = None,
) -> dict:
    """Our attack through the shared counter; ``split`` gives per-text parameters (texts with the
    same parameters run together, results are put back in order)."""
    from robustlab.attacks import text as attacks
    from robustlab.models.function import FunctionModel

    model = FunctionModel(victim, modality="text", num_classes=2, name="minilm-counted")
    groups: dict[str, list[int]] = {}
    params: dict[str, dict[str, Any]] = {}
    for i, text in enumerate(texts):
        p = split(text) if split else {}
        key = json.dumps(p, sort_keys=True)
        groups.setdefault(key, []).append(i)
        params[key] = p
    per: list[dict[str, Any]] = [{} for _ in texts]
    start = time.perf_counter()
    for key, idx in groups.items():
        calls = victim.calls
        result = attacks.run(
            model,
            [texts[i] for i in idx],
            [ys[i] for i in idx],
            attack=attack,
            budget=budget,
            seed=0,
            similarity=False,
            **params[key],
        )
        used = victim.calls - calls
        # The model saw every counted query, plus one uncounted fresh check per text.
        assert used == int(result.queries.sum()) + len(idx), (used, int(result.queries.sum()))
        for i, e in zip(idx, result.examples, strict=True):
            per[i] = {
                "original": e.original,
                "adversarial": e.adversarial,
                "success": e.success,
                "skipped": e.skipped,
                "queries": e.queries,
                "reported": e.queries,
            }
    row = _summary("robustlab", label or attack, per, time.perf_counter() - start)
    row["per_text"] = [(p["success"], p["skipped"], p["queries"]) for p in per]
    return row


def _recipe_textfooler(text: str) -> dict[str, Any]:
    from robustlab.attacks.text import Tokenized

    long = len(Tokenized.parse(text)) >= RECIPE_WINDOW
    return {**RECIPE_TEXTFOOLER, "sentence_similarity": RECIPE_COSINE if long else -1.0}


def _common(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """Queries per success on the texts both tools broke (a like-for-like cost)."""
    both = [
        (a[2], b[2])
        for a, b in zip(ours["per_text"], peer["per_text"], strict=True)
        if a[0] and b[0]
    ]
    return {
        "both_broke": len(both),
        "ours_queries_per_success": statistics.fmean(a for a, _ in both) if both else None,
        "peer_queries_per_success": statistics.fmean(b for _, b in both) if both else None,
    }


def textfooler_substitute(textattack: Any) -> tuple[Any, list[str]]:
    """TextAttack's TextFooler recipe with offline stand-ins for what it downloads."""
    from textattack.attack_recipes import textfooler_jin_2019 as recipe
    from textattack.constraints import Constraint
    from textattack.constraints.semantics.sentence_encoders import SBERT
    from textattack.shared import WordEmbedding

    from robustlab.text.embeddings import _model_path, word_vectors

    vocab = word_vectors()
    vectors = vocab.vectors.astype(np.float32)
    k = 51  # the word itself and 50 candidates, as the recipe asks
    nn = np.empty((len(vectors), k), dtype=np.int64)
    for start in range(0, len(vectors), 2048):
        sims = vectors[start : start + 2048] @ vectors.T
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        nn[start : start + 2048] = np.take_along_axis(top, order, axis=1)
    embedding = WordEmbedding(
        vectors,
        dict(vocab.index),
        dict(enumerate(vocab.words)),
        nn_matrix=nn,
    )
    WordEmbedding.counterfitted_GLOVE_embedding = staticmethod(lambda: embedding)

    class NoPartOfSpeech(Constraint):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(compare_against_original=True)

        def _check_constraint(self, transformed_text: Any, reference_text: Any) -> bool:
            return True

    def minilm_sentence_encoder(**kwargs: Any) -> Any:
        return SBERT(model_name=str(_model_path()), **kwargs)

    recipe.PartOfSpeech = NoPartOfSpeech
    recipe.UniversalSentenceEncoder = minilm_sentence_encoder
    return recipe.TextFoolerJin2019, [
        "word embedding: counter-fitted GloVe -> MiniLM word vectors of robustlab "
        "(same 21.7k-word vocabulary our textfooler uses), 50 precomputed neighbours per word",
        "sentence encoder: Universal Sentence Encoder -> MiniLM via TextAttack's SBERT "
        "constraint, same threshold 0.8408 (angular), window 15, skipped for texts under 15 words",
        "part-of-speech constraint: removed (its NLTK tagger data cannot be downloaded)",
    ]


def run_textattack(
    textattack: Any, recipe: Any, victim: Counted, texts: list[str], ys: list[int], budget: int,
    name: str,
) -> dict:  # fmt: skip
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult
    from textattack.models.wrappers import ModelWrapper

    class Wrapper(ModelWrapper):
        def __init__(self, fn: Counted) -> None:
            self.model = fn

        def __call__(self, text_list: list[str]) -> np.ndarray:
            return self.model(text_list)

    attack = recipe.build(Wrapper(victim))
    attack.goal_function.query_budget = budget
    textattack.shared.utils.set_seed(0)
    per = []
    start = time.perf_counter()
    for text, y in zip(texts, ys, strict=True):
        attack.clear_cache()
        before = victim.calls
        result = attack.attack(text, y)
        per.append(
            {
                "original": text,
                "adversarial": result.perturbed_result.attacked_text.text,
                "success": isinstance(result, SuccessfulAttackResult),
                "skipped": isinstance(result, SkippedAttackResult),
                "queries": victim.calls - before,
                "reported": int(result.perturbed_result.num_queries),
            }
        )
    row = _summary(f"textattack {textattack.__version__}", name, per, time.perf_counter() - start)
    row["per_text"] = [(p["success"], p["skipped"], p["queries"]) for p in per]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000, help="texts per throughput call")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per tool")
    parser.add_argument("--budget", type=int, default=300, help="model queries per text")
    parser.add_argument("--n", type=int, default=None, help="attack only the first N test texts")
    parser.add_argument("--skip", nargs="*", default=[], choices=["throughput", "attacks"])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "text.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(THREADS)

    from robustlab.text.reviews import load_reviews

    versions: dict[str, str | None] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    try:
        import nlpaug

        versions["nlpaug"] = nlpaug.__version__
    except ImportError:
        versions["nlpaug"] = None
        print("nlpaug is not installed: transformations run without the peer.")
    textattack, shims = None, []
    try:
        textattack, shims = load_textattack()
        versions["textattack"] = textattack.__version__
    except ImportError as exc:
        versions["textattack"] = None
        print(f"TextAttack cannot be imported ({exc}): attacks run without the peer.")

    load_before = os.getloadavg()
    started = time.perf_counter()
    report: dict[str, Any] = {"benchmark": "text", "torch_threads": THREADS, "rate": RATE}

    if "throughput" not in args.skip:
        reviews = load_reviews("all").texts
        texts = [reviews[i % len(reviews)] for i in range(args.texts)]
        print(f"(a) throughput on {len(texts)} review texts, rate {RATE}, median of {args.repeats}")
        report["throughput"] = throughput(texts, args.repeats, versions["nlpaug"] is not None)

    if "attacks" not in args.skip:
        from robustlab.text.models import minilm_model

        test = load_reviews("test")
        texts, ys = test.texts[: args.n], [int(y) for y in test.targets][: args.n]
        t0 = time.perf_counter()
        victim = Counted(minilm_model())
        print(f"(b) attacks on {len(texts)} test reviews, budget {args.budget} queries per text "
              f"(model trained in {time.perf_counter() - t0:.1f}s)")  # fmt: skip
        clean = victim(texts).argmax(1)
        report["clean_accuracy"] = float((clean == np.array(ys)).mean())
        runs = []
        budget = args.budget
        plan: list[tuple[str, Callable[[], dict]]] = [
            ("robustlab deepwordbug", lambda: run_ours(victim, texts, ys, "deepwordbug", budget)),
            ("robustlab textfooler", lambda: run_ours(victim, texts, ys, "textfooler", budget)),
            ("robustlab textfooler*", lambda: run_ours(
                victim, texts, ys, "textfooler", budget, "textfooler (recipe's constraints)",
                _recipe_textfooler)),
            ("robustlab genetic_typo", lambda: run_ours(victim, texts, ys, "genetic_typo", budget)),
        ]  # fmt: skip
        if textattack is not None:
            from textattack.attack_recipes import DeepWordBugGao2018

            def textfooler() -> dict:
                recipe, notes = textfooler_substitute(textattack)
                row = run_textattack(
                    textattack, recipe, victim, texts, ys, budget, "textfooler (MiniLM stand-ins)"
                )
                row["substitutes"] = notes
                return row

            plan.insert(1, ("textattack DeepWordBugGao2018", lambda: run_textattack(
                textattack, DeepWordBugGao2018, victim, texts, ys, budget, "deepwordbug")))  # fmt: skip
            plan.insert(4, ("textattack TextFoolerJin2019", textfooler))
        for label, job in plan:
            row = job()
            runs.append(row)
            print(
                f"  {label:<32} success {row['success_rate']:.3f} ({row['successes']}/"
                f"{row['attacked']})  queries/success {row['queries_per_success']:6.1f}  "
                f"words {row['words_perturbed']:.3f}  similarity {row['similarity']:.3f}  "
                f"wall {row['wall_s']:6.1f}s"
            )
        by = {(r["tool"].split()[0], r["attack"]): r for r in runs}
        pairs = [
            ("deepwordbug", ("robustlab", "deepwordbug"), ("textattack", "deepwordbug")),
            (
                "textfooler",
                ("robustlab", "textfooler (recipe's constraints)"),
                ("textattack", "textfooler (MiniLM stand-ins)"),
            ),
        ]
        report["targets"] = []
        for name, ours_key, peer_key in pairs:
            if ours_key in by and peer_key in by:
                o, p = by[ours_key], by[peer_key]
                target = {
                    "attack": name,
                    "ours": o["attack"],
                    "peer": p["attack"],
                    "success_ok": o["success_rate"] >= p["success_rate"],
                    "queries_ok": o["queries_per_success"] <= p["queries_per_success"],
                    **_common(o, p),
                }
                report["targets"].append(target)
                print(f"  target {name}: {target}")
        report["attacks"] = runs
        report["budget"] = args.budget
        report["n_texts"] = len(texts)

    load_after = os.getloadavg()
    elapsed = time.perf_counter() - started
    report["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in load_after],
    }
    report["versions"] = versions
    report["shims"] = shims
    report["elapsed_s"] = round(elapsed, 1)
    _print_tables(report)
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; {elapsed:.0f}s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


def _print_tables(report: dict[str, Any]) -> None:
    nan = float("nan")
    if "throughput" in report:
        print(
            "\n| transformation | RobustLab texts/s | first call (s) | words changed | "
            "nlpaug augmenter | nlpaug texts/s | first call (s) | words changed | speed-up | "
            f"RobustLab at rate {2 * RATE:.1f}: texts/s, words changed |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in report["throughput"]:
            peer = f"{r['peer_texts_per_s']:.0f}" if "peer_texts_per_s" in r else "cannot run"
            print(
                f"| {r['transformation']} | {r['ours_texts_per_s']:.0f} | "
                f"{r['ours_first_call_s']:.2f} | {r['ours_words_changed']:.3f} | {r['peer']} | "
                f"{peer} | {r.get('peer_first_call_s', nan):.2f} | "
                f"{r.get('peer_words_changed', nan):.3f} | {r.get('speedup', nan):.1f} | "
                f"{r['ours_double_rate']['texts_per_s']:.0f}, "
                f"{r['ours_double_rate']['words_changed']:.3f} |"
            )
    if "attacks" in report:
        print(
            "\n| tool | attack | success rate | queries / success | words perturbed | similarity "
            "| wall (s) |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in report["attacks"]:
            print(
                f"| {r['tool']} | {r['attack']} | {r['success_rate']:.3f} ({r['successes']}/"
                f"{r['attacked']}) | {r['queries_per_success']:.1f} | {r['words_perturbed']:.3f} | "
                f"{r['similarity']:.3f} | {r['wall_s']:.1f} |"
            )
        for t in report.get("targets", []):
            print(
                f"{t['attack']}: success >= peer {t['success_ok']}, queries/success <= peer "
                f"{t['queries_ok']}; on the {t['both_broke']} texts both broke "
                f"{t['ours_queries_per_success']:.1f} vs {t['peer_queries_per_success']:.1f} queries"
            )


if __name__ == "__main__":
    main()
