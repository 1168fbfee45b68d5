"""A genuinely trained tiny causal LM for the tests and the demo: multiple-choice arithmetic.

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
    "TRAIN_INSTRUCTION",
    "TinyConfig",
    "arithmetic_items",
    "cache_root",
    "tiny_model",
    "train_tiny",
]

#: The instruction the tiny model is trained with (the others in BUILTIN_INSTRUCTIONS are unseen).
TRAIN_INSTRUCTION = "Choose the correct answer."

#: Characters of the vocabulary (printable ASCII and the newline); others become [UNK].
_CHARS = "\n" + "".join(chr(c) for c in range(32, 127))
_SPECIAL = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")


@dataclass(frozen=True)
class TinyConfig:
    """What decides the tiny model (the cache key).

    Attributes:
        max_operand: The first operand is drawn from 0..max_operand.
        max_addend: The second from 0..max_addend (sums stay single digits by default).
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

    max_operand: int = 6
    max_addend: int = 2
    num_options: int = 4
    answer_weights: tuple[float, ...] = (0.4, 0.2, 0.2, 0.2)
    max_shots: int = 1
    shot_rate: float = 0.25
    instruction_rate: float = 0.5
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    steps: int = 300
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0
    context_length: int = 256

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def arithmetic_items(
    n: int,
    *,
    seed: int = 0,
    max_operand: int = 6,
    max_addend: int = 2,
    num_options: int = 4,
    answer_weights: Sequence[float] | None = None,
) -> list[MCItem]:
    """``n`` questions ``a + b = ?`` with ``num_options`` distinct numeric options, the right one
    at a position drawn from ``answer_weights`` (uniform by default)."""
    validation.check_int("arithmetic_items", "n", n)
    validation.check_int("arithmetic_items", "num_options", num_options, 2, 10)
    weights = list(answer_weights) if answer_weights is not None else [1.0] * num_options
    if len(weights) != num_options or min(weights) < 0 or sum(weights) <= 0:
        raise validation.fail(
            "arithmetic_items",
            "answer_weights",
            f"{num_options} non-negative weights",
            answer_weights,
        )
    rng = random.Random(seed)
    top = max(max_operand + max_addend, 9)
    items = []
    for _ in range(n):
        a, b = rng.randint(0, max_operand), rng.randint(0, max_addend)
        right = a + b
        wrong = rng.sample([v for v in range(top + 1) if v != right], num_options - 1)
        pos = rng.choices(range(num_options), weights=weights)[0]
        options = [str(v) for v in wrong]
        options.insert(pos, str(right))
        items.append(MCItem(f"{a} + {b} = ?", tuple(options), pos, subject="arithmetic"))
    return items


def build_tokenizer() -> Any:
    """A character-level fast tokenizer (``tokenizers`` WordLevel over single characters)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate((*_SPECIAL, *_CHARS))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
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
        arithmetic_items(
            k,
            seed=rng.randrange(1 << 30),
            max_operand=config.max_operand,
            max_addend=config.max_addend,
            num_options=config.num_options,
        )
        if k
        else []
    )
    instruction = TRAIN_INSTRUCTION if rng.random() < config.instruction_rate else ""
    prompt = render(item, fmt, instruction=instruction, shots=shots)
    return prompt.text, prompt.gap + prompt.labels[item.answer]


def train_tiny(directory: str | Path, config: TinyConfig | None = None) -> TrainingLog:
    """Train the tiny model on fresh arithmetic questions and save model and tokenizer to
    ``directory`` (``save_pretrained``), with ``robustlab_tiny.json`` describing the run."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = config or TinyConfig()
    tokenizer = build_tokenizer()
    model_config = GPT2Config(
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
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = GPT2LMHeadModel(model_config)
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
        for _step in range(config.steps):
            items = arithmetic_items(
                config.batch_size,
                seed=rng.randrange(1 << 30),
                max_operand=config.max_operand,
                max_addend=config.max_addend,
                num_options=config.num_options,
                answer_weights=config.answer_weights,
            )
            rows = []
            for item in items:
                prompt, answer = _example(item, rng, config, fmt)
                head = tokenizer(prompt, add_special_tokens=False)["input_ids"]
                tail = [*tokenizer(answer, add_special_tokens=False)["input_ids"], eos]
                rows.append((head, tail))
            width = max(len(h) + len(t) for h, t in rows)
            ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
            labels = torch.full((len(rows), width), -100, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, (h, t) in enumerate(rows):
                ids[r, : len(h) + len(t)] = torch.tensor(h + t)
                mask[r, : len(h) + len(t)] = 1
                labels[r, len(h) : len(h) + len(t)] = torch.tensor(t)  # loss on the answer only
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
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
                "torch_threads": torch.get_num_threads(),
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
