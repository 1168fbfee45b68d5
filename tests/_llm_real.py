"""A real, trained language model for the endpoint, cache and code tests: a 2-layer GPT-2 built
from a config with a byte-level BPE vocabulary (``tokenizers``), trained for a few seconds on
one-digit addition (``"3+4="`` -> ``"7;"``). Trained once per process and kept on disk."""

from __future__ import annotations

import contextlib
import functools
import os
import random
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from robustlab.errors import ModelError
from robustlab.llm.base import Completion, Decoding, LanguageModel

VERSION = "2"
STEPS = 300


def _corpus() -> list[str]:
    return [f"{a}+{b}={a + b};" for a in range(10) for b in range(10)]


def _train(folder: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    lines = _corpus()
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=259,  # the byte alphabet and the specials: no merges, one token per character
        special_tokens=["<pad>", "<unk>", "<s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(lines * 3 + ["Q: what is 2+2? Answer with a number."], trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>"
    )
    config = GPT2Config(
        vocab_size=fast.vocab_size,
        n_positions=64,
        n_embd=64,
        n_layer=2,
        n_head=2,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.pad_token_id,
        pad_token_id=fast.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    enc = fast(["<s>" + s for s in lines], padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    labels = ids.masked_fill(mask == 0, -100)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _step in range(STEPS):
        pick = torch.randint(0, len(lines), (64,), generator=gen)
        loss = model(input_ids=ids[pick], attention_mask=mask[pick], labels=labels[pick]).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if _step % 50 == 0 and os.environ.get("ADDER_DEBUG"):
            print(_step, float(loss))
    model.eval()
    model.save_pretrained(folder)
    fast.save_pretrained(folder)


@functools.lru_cache(maxsize=1)
def model_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / f"robustlab-llm2-adder-v{VERSION}-{os.getuid()}"
    if not (folder / "config.json").exists():
        tmp = Path(tempfile.mkdtemp(prefix="adder-", dir=folder.parent))
        torch.set_num_threads(1)
        _train(tmp)
        with contextlib.suppress(OSError):  # unless another process finished first
            tmp.rename(folder)
    return folder


class Adder(LanguageModel):
    """The trained adder behind the LanguageModel contract; counts its calls and prompts."""

    def __init__(self, folder: Path | None = None) -> None:
        from transformers import AutoTokenizer, GPT2LMHeadModel

        folder = folder or model_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.tokenizer.padding_side = "left"
        self.net = GPT2LMHeadModel.from_pretrained(folder).eval()
        self.name = "adder"
        self.context_length = int(self.net.config.n_positions)
        self.calls = 0
        self.prompts_seen = 0
        self._digest = LanguageModel.hash_parts(
            "adder", str(sum(float(p.detach().double().sum()) for p in self.net.parameters()))
        )
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset({"logprobs"})

    def fingerprint(self) -> str:
        return self._digest

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        out = []
        for t in texts:
            ids = [self.tokenizer.bos_token_id, *self.tokenizer(t)["input_ids"]]
            out.append(ids)
        return out

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        with self._lock:
            self.calls += 1
            self.prompts_seen += len(prompts)
        ids = self._ids(prompts)
        longest = max(len(i) for i in ids)
        if longest + decoding.max_new_tokens > self.context_length:
            raise ModelError(
                f"adder: a prompt of {longest} tokens plus {decoding.max_new_tokens} new tokens "
                f"exceeds the context length {self.context_length}; shorten the prompt."
            )
        pad = self.tokenizer.pad_token_id
        batch = torch.full((len(ids), longest), pad)
        mask = torch.zeros_like(batch)
        for r, row in enumerate(ids):
            batch[r, longest - len(row) :] = torch.tensor(row)
            mask[r, longest - len(row) :] = 1
        sample = decoding.temperature > 0
        torch.manual_seed(decoding.seed)
        with torch.no_grad():
            out = self.net.generate(
                input_ids=batch,
                attention_mask=mask,
                max_new_tokens=max(decoding.max_new_tokens, 1),
                do_sample=sample,
                temperature=decoding.temperature if sample else None,
                top_p=decoding.top_p if sample else None,
                num_return_sequences=decoding.num_samples,
                output_scores=True,
                return_dict_in_generate=True,
                pad_token_id=pad,
                eos_token_id=pad,
            )
        scores = self.net.compute_transition_scores(
            out.sequences, out.scores, normalize_logits=True
        )
        new = out.sequences[:, longest:]
        results: list[list[Completion]] = []
        for r in range(len(prompts)):
            row = []
            for s in range(decoding.num_samples):
                k = r * decoding.num_samples + s
                toks = new[k].tolist()
                keep = len(toks)
                if pad in toks:
                    keep = toks.index(pad)
                text = self.tokenizer.decode(toks[:keep])
                reason = "stop" if keep < len(toks) else "length"
                for stop in decoding.stop:
                    at = text.find(stop)
                    if at >= 0:
                        text, reason = text[:at], "stop"
                lp = float(scores[k, :keep].sum()) if keep else 0.0
                row.append(Completion(text, lp, reason))
            results.append(row)
        return results

    def continuation_logprobs(self, prompt: str, continuations: Sequence[str]) -> np.ndarray:
        head = self._ids([prompt])[0]
        out = np.empty(len(continuations))
        for i, c in enumerate(continuations):
            full = self._ids([prompt + c])[0]
            ids = torch.tensor([full])
            with torch.no_grad():
                logp = torch.log_softmax(self.net(ids).logits[0, :-1], dim=-1)
            target = ids[0, 1:]
            per = logp[torch.arange(len(target)), target]
            out[i] = float(per[len(head) - 1 :].sum())
        return out


def addition_prompts(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = [(rng.randrange(10), rng.randrange(10)) for _ in range(n)]
    return [(f"{a}+{b}=", str(a + b)) for a, b in pairs]
