"""A genuinely trained tiny causal LM for the tests and the demo: multiple-choice fact lookup.

No pretrained LLM ships offline, so :func:`train_tiny` builds a small GPT-2 (``transformers``,
from a config) with a character-level ``tokenizers`` vocabulary and trains it, in about a minute
on two CPU cores, to answer ``Question: a + b = ? A) .. B) .. C) .. D) .. Answer:`` with the right
letter. It is saved with ``save_pretrained`` to a directory :meth:`HFCausalLM.from_directory
<robustlab.llm.models.HFCausalLM.from_directory>` loads; :func:`tiny_model` trains it once per
configuration and caches it in the user cache directory. Its training data puts the right answer
at option A more often (``answer_weights``), so it learns a measurable position bias, which
PriDe's debiasing and the RStd metric should then find; the tests measure both rather than assume
them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from robustlab import validation
from robustlab.llm.prompts import FORMATS, MCItem, PromptFormat, render

__all__ = [
    "CATEGORIES",
    "TRAIN_INSTRUCTION",
    "TinyConfig",
    "build_tokenizer",
    "cache_root",
    "lookup_items",
    "tiny_model",
    "train_tiny",
    "vocabulary",
]

#: The instruction the tiny model is trained with (the others in BUILTIN_INSTRUCTIONS are unseen).
TRAIN_INSTRUCTION = "Choose the correct answer."

_SPECIAL = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")


@dataclass(frozen=True)
class TinyConfig:
    """What decides the tiny model (the cache key).

    Attributes:
        num_options: Options per question.
        answer_weights: Probability of the right answer at each position in the training data
            (a skew towards A teaches a position bias).
        max_shots: Training prompts carry up to max_shots answered examples before the question
            (in a share ``shot_rate`` of them).
        instruction_rate: Share of training prompts that start with :data:`TRAIN_INSTRUCTION`.
        n_layer, n_embd, n_head: The GPT-2 architecture.
        steps, batch_size, lr: Training.
        seed: Data and initialisation seed.
    """

    num_options: int = 4
    answer_weights: tuple[float, ...] = (0.4, 0.2, 0.2, 0.2)
    max_shots: int = 2
    shot_rate: float = 0.5
    instruction_rate: float = 0.5
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    steps: int = 300
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0
    context_length: int = 256
    threads: int = 1
    architecture: str = "llama"
    asked: tuple[str, ...] = ()

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


#: The words of each category of the fact-lookup task.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "color": ("red", "blue", "green", "yellow", "purple", "orange", "black", "white"),
    "animal": ("dog", "cat", "horse", "cow", "lion", "tiger", "mouse", "sheep"),
    "fruit": ("apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "pear"),
    "tool": ("hammer", "saw", "drill", "wrench", "shovel", "rake", "knife", "axe"),
}


def lookup_items(
    n: int,
    *,
    seed: int = 0,
    num_options: int = 4,
    answer_weights: Sequence[float] | None = None,
    asked: Sequence[str] = (),
) -> list[MCItem]:
    """``n`` questions "Which of these is a fruit?" with one option of the asked category and
    the others from other categories; the right one at a position drawn from ``answer_weights``
    (uniform by default)."""
    validation.check_int("lookup_items", "n", n)
    validation.check_int("lookup_items", "num_options", num_options, 2, len(CATEGORIES))
    weights = list(answer_weights) if answer_weights is not None else [1.0] * num_options
    if len(weights) != num_options or min(weights) < 0 or sum(weights) <= 0:
        raise validation.fail(
            "lookup_items", "answer_weights", f"{num_options} non-negative weights", answer_weights
        )
    rng = random.Random(seed)
    names = list(CATEGORIES)
    items = []
    for _ in range(n):
        if asked:
            category = rng.choice(list(asked))
            others = rng.sample([c for c in names if c != category], num_options - 1)
            asked_now = category
        else:
            asked_now, *others = rng.sample(names, num_options)
        asked_c = asked_now
        right = rng.choice(CATEGORIES[asked_c])
        wrong = [rng.choice(CATEGORIES[c]) for c in others]
        pos = rng.choices(range(num_options), weights=weights)[0]
        options = list(wrong)
        options.insert(pos, right)
        article = "an" if asked_c[0] in "aeiou" else "a"
        items.append(
            MCItem(f"Which of these is {article} {asked_c}?", tuple(options), pos, asked_c)
        )
    return items


#: A labelled option ("A) pear", "(b) dog", "3. axe") is one token; otherwise words, single
#: digits, single whitespace characters and single punctuation marks.
_PIECES = r"\(?[A-Za-z0-9]{1,4}[\)\.] [a-z]+|\([A-Za-z0-9]{1,4}\) [a-z]+|[A-Za-z]+|\d|\s|[^\w\s]"


def vocabulary() -> list[str]:
    """The tiny model's tokens: the task's words, the prompt templates' words, option labels,
    digits, whitespace and punctuation (anything else is ``[UNK]``)."""
    import re

    from robustlab.llm.prompts import BUILTIN_INSTRUCTIONS, FORMATS

    corpus = [*BUILTIN_INSTRUCTIONS, TRAIN_INSTRUCTION, "Which of these is a an"]
    for f in FORMATS.values():
        corpus += [f.question_field, f.answer_field, f.field_separator, f.label_format]
        corpus += [f._case(f.question_field), f._case(f.answer_field)]
    corpus += [w for words in CATEGORIES.values() for w in words] + list(CATEGORIES)
    corpus += [*list("ABCDEFGHIJabcdefghij0123456789"), "i", "ii", "iii", "iv", "v"]
    corpus += list(" \n\t") + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    words = [w for group in CATEGORIES.values() for w in group]
    for f in FORMATS.values():  # every labelled option the built-in formats write
        for label in f.labels(4):
            corpus += [f"{f.label_format.format(label=label)} {w}" for w in words]
    tokens = list(_SPECIAL)
    for text in corpus:
        for piece in re.findall(_PIECES, text):
            if piece not in tokens:
                tokens.append(piece)
    return tokens


def build_tokenizer() -> Any:
    """A word-level fast tokenizer (``tokenizers`` WordLevel; words, digits, whitespace and
    punctuation are single tokens, so decoding restores the text exactly)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(_PIECES), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        clean_up_tokenization_spaces=False,
    )


@dataclass
class TrainingLog:
    """What :func:`train_tiny` measured."""

    seconds: float
    final_loss: float
    losses: list[float] = field(default_factory=list)


def _example(
    item: MCItem, rng: random.Random, config: TinyConfig, fmt: PromptFormat
) -> tuple[str, str]:
    k = (
        rng.randint(1, config.max_shots)
        if config.max_shots and rng.random() < config.shot_rate
        else 0
    )
    shots = (
        lookup_items(
            k, seed=rng.randrange(1 << 30), num_options=config.num_options, asked=config.asked
        )
        if k
        else []
    )
    instruction = TRAIN_INSTRUCTION if rng.random() < config.instruction_rate else ""
    prompt = render(item, fmt, instruction=instruction, shots=shots)
    return prompt.text, prompt.gap + prompt.labels[item.answer]


def train_tiny(
    directory: str | Path, config: TinyConfig | None = None, *, verbose: bool = False
) -> TrainingLog:
    """Train the tiny model on fresh fact-lookup questions and save model and tokenizer to
    ``directory`` (``save_pretrained``), with ``robustlab_tiny.json`` describing the run."""
    import torch
    from transformers import LlamaConfig

    config = config or TinyConfig()
    tokenizer = build_tokenizer()
    if config.architecture == "gpt2":
        from transformers import GPT2Config

        model_config: Any = GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=config.context_length,
            n_embd=config.n_embd,
            n_layer=config.n_layer,
            n_head=config.n_head,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
        )
    else:
        model_config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=config.n_embd,
            intermediate_size=2 * config.n_embd,
            num_hidden_layers=config.n_layer,
            num_attention_heads=config.n_head,
            num_key_value_heads=config.n_head,
            max_position_embeddings=config.context_length,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            tie_word_embeddings=True,
        )
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)  # one thread is fastest on a small, shared machine
    try:
        return _train(directory, config, tokenizer, model_config, verbose)
    finally:
        torch.set_num_threads(threads)


def _train(
    directory: str | Path, config: TinyConfig, tokenizer: Any, model_config: Any, verbose: bool
) -> TrainingLog:
    import torch
    from transformers import AutoModelForCausalLM

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = AutoModelForCausalLM.from_config(model_config)
        rng = random.Random(config.seed)
        fmt = FORMATS["default"]
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=config.lr, total_steps=config.steps, pct_start=0.1
        )
        model.train()
        start = time.perf_counter()
        losses: list[float] = []
        eos = tokenizer.eos_token_id
        vocab, unk = tokenizer.get_vocab(), tokenizer.unk_token_id

        import re

        pieces = re.compile(_PIECES)

        def encode(text: str) -> list[int]:  # the tokenizer's own mapping, without its overhead
            return [vocab.get(p, unk) for p in pieces.findall(text)]

        answer_id, colon, space = encode("Answer: ")
        assert encode("Answer: B") == tokenizer("Answer: B", add_special_tokens=False)["input_ids"]
        for step in range(config.steps):
            items = lookup_items(
                config.batch_size,
                seed=rng.randrange(1 << 30),
                num_options=config.num_options,
                asked=config.asked,
                answer_weights=config.answer_weights,
            )
            rows = []
            for item in items:
                prompt, answer = _example(item, rng, config, fmt)
                rows.append((encode(prompt), [*encode(answer), eos]))
            width = max(len(h) + len(t) for h, t in rows)
            ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
            labels = torch.full((len(rows), width), -100, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, (h, t) in enumerate(rows):
                ids[r, : len(h) + len(t)] = torch.tensor(h + t)
                mask[r, : len(h) + len(t)] = 1
                labels[r, len(h) : len(h) + len(t)] = torch.tensor(t)  # the answer
                for i in range(len(h) - 3):  # and the few-shot examples' answers
                    if h[i] == answer_id and h[i + 1] == colon and h[i + 2] == space:
                        labels[r, i + 3] = h[i + 3]
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if verbose and step % 50 == 0:
                print(f"step {step} loss {losses[-1]:.3f} {time.perf_counter() - start:.0f}s")
        seconds = time.perf_counter() - start
    model.eval()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    log = TrainingLog(seconds, sum(losses[-20:]) / min(20, len(losses)), losses)
    (directory / "robustlab_tiny.json").write_text(
        json.dumps(
            {
                "config": asdict(config),
                "training_seconds": round(seconds, 2),
                "final_loss": log.final_loss,
                "torch_threads": config.threads,
            },
            indent=2,
        )
    )
    return log


def cache_root() -> Path:
    """Where trained tiny models are cached: ``$ROBUSTLAB_CACHE`` or ``~/.cache/robustlab``."""
    root = os.environ.get("ROBUSTLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "robustlab"
    )
    return Path(root)


def tiny_model(
    config: TinyConfig | None = None, *, cache_dir: str | Path | None = None, retrain: bool = False
) -> Path:
    """The directory of the tiny model for ``config``, training it first unless cached."""
    config = config or TinyConfig()
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    target = root / f"tiny-mc-{config.key()}"
    if (target / "robustlab_tiny.json").is_file() and not retrain:
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=root))
    try:
        train_tiny(tmp, config)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
