"""Language-model adapters: a user's callable and a local Hugging Face causal LM from a directory.

Both implement :class:`~robustlab.llm.base.LanguageModel`, so every LLM probe, the generation
cache and the scan run on either. ``HFCausalLM`` needs the ``llm`` extra (``pip install
robustlab[llm]``: ``transformers`` and ``tokenizers``).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robustlab import validation
from robustlab.errors import ConfigError, ModelError
from robustlab.llm.base import Completion, Decoding, LanguageModel
from robustlab.models.base import check_texts

__all__ = ["FunctionLLM", "HFCausalLM", "check_decoding", "cut_at_stop"]

TRUNCATION = ("error", "left")


def check_decoding(decoding: object, owner: str) -> Decoding:
    """``decoding`` if it is a valid :class:`Decoding`, else a ConfigError naming the field."""
    if not isinstance(decoding, Decoding):
        raise ConfigError(
            f"{owner}.generate() takes a robustlab.llm.Decoding; got a {type(decoding).__name__}."
        )
    validation.check_int(owner, "max_new_tokens", decoding.max_new_tokens)
    validation.check_number(owner, "temperature", decoding.temperature, low=0.0, low_inclusive=True)
    validation.check_number(owner, "top_p", decoding.top_p, low=0.0, high=1.0)
    validation.check_int(owner, "num_samples", decoding.num_samples)
    if decoding.num_samples > 1 and decoding.temperature == 0:
        raise ConfigError(
            f"{owner}: num_samples={decoding.num_samples} with temperature=0 gives the same "
            "greedy completion each time; set temperature > 0 to sample (pass@k, consistency)."
        )
    return decoding


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string (excluded) and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _as_completion(item: object, where: str) -> Completion:
    if isinstance(item, Completion):
        out = item
    elif isinstance(item, str):
        out = Completion(item)
    elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        out = Completion(item[0], None if item[1] is None else float(item[1]))
    else:
        raise ModelError(
            f"{where} returned a {type(item).__name__} ({item!r:.60}); return a str, a "
            "(text, logprob) pair or a robustlab.llm.Completion per prompt."
        )
    if not isinstance(out.text, str):
        raise ModelError(
            f"{where} returned a completion whose text is not a str: {out.text!r:.60}."
        )
    return out


class FunctionLLM(LanguageModel):
    """Any callable ``prompts -> completions`` as a language model.

    ``fn(prompts)`` (or ``fn(prompts, decoding)`` when it takes a second argument) returns one
    item per prompt: a str, a ``(text, logprob)`` pair, a :class:`Completion`, or, for
    ``num_samples > 1``, a list of those. ``logprobs(prompt, continuations)`` (optional) returns
    ``log p(continuation | prompt)`` per continuation, enabling multiple-choice scoring by option
    log-probability.

    Args:
        fn: The completion function.
        logprobs: Optional log-probability function.
        name: Name in the store and the report.
        version: A string that changes when ``fn``'s behaviour does (part of the fingerprint, so
            a resumed scan or the generation cache never mixes two versions); by default the
            source and state of ``fn``.
        context_length: The longest prompt in characters ``fn`` takes, if limited.
    """

    def __init__(
        self,
        fn: Callable[..., Sequence[Any]],
        *,
        logprobs: Callable[[str, Sequence[str]], Any] | None = None,
        name: str = "function-llm",
        version: str | None = None,
        context_length: int | None = None,
    ) -> None:
        if not callable(fn):
            raise ConfigError(
                f"FunctionLLM takes a callable prompts -> completions; got {fn!r:.60}."
            )
        if logprobs is not None and not callable(logprobs):
            raise ConfigError("The 'logprobs' parameter of FunctionLLM must be a callable or None.")
        if context_length is not None:
            validation.check_int("FunctionLLM", "context_length", context_length)
        self.fn = fn
        self.logprobs_fn = logprobs
        self.name = name
        self.version = version
        self.context_length = context_length
        try:
            params = inspect.signature(fn).parameters.values()
            positional = [
                p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            self._takes_decoding = len(positional) >= 2 or any(
                p.kind == p.VAR_POSITIONAL for p in params
            )
        except (TypeError, ValueError):
            self._takes_decoding = False

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset({"logprobs"}) if self.logprobs_fn is not None else frozenset()

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        prompts = check_texts(prompts, f"generate() of {self.name!r}")
        decoding = check_decoding(decoding, "FunctionLLM")
        if self.context_length is not None:
            long = [i for i, p in enumerate(prompts) if len(p) > self.context_length]
            if long:
                raise ModelError(
                    f"{len(long)} prompt(s) of {self.name!r} exceed its context length of "
                    f"{self.context_length} characters (prompt {long[0]} has "
                    f"{len(prompts[long[0]])}); shorten the prompts or use fewer few-shot examples."
                )
        where = f"The completion function of {self.name!r}"
        raw = self.fn(prompts, decoding) if self._takes_decoding else self.fn(prompts)
        try:
            raw = list(raw)
        except TypeError:
            raise ModelError(f"{where} must return a list, one item per prompt.") from None
        if len(raw) != len(prompts):
            raise ModelError(
                f"{where} returned {len(raw)} completions for {len(prompts)} prompts; return one "
                "per prompt (a list of num_samples for sampling)."
            )
        out: list[list[Completion]] = []
        for item in raw:
            samples = item if isinstance(item, list) else [item]
            if len(samples) != decoding.num_samples:
                raise ModelError(
                    f"{where} returned {len(samples)} samples for a prompt; "
                    f"num_samples={decoding.num_samples} was asked for."
                )
            comps = [_as_completion(s, where) for s in samples]
            out.append(
                [
                    Completion(t, c.logprob, "stop" if hit else c.finish_reason)
                    for c in comps
                    for t, hit in [cut_at_stop(c.text, decoding.stop)]
                ]
            )
        return out

    def continuation_logprobs(self, prompt: str, continuations: Sequence[str]) -> np.ndarray:
        if self.logprobs_fn is None:
            return super().continuation_logprobs(prompt, continuations)
        out = np.asarray(self.logprobs_fn(prompt, list(continuations)), dtype=np.float64)
        if out.shape != (len(continuations),) or not np.all(out <= 1e-9) or np.isnan(out).any():
            raise ModelError(
                f"The logprobs function of {self.name!r} must return one log-probability (<= 0) "
                f"per continuation ({len(continuations)}); got {out!r:.80}."
            )
        return out

    def fingerprint(self) -> str:
        if self.version is not None:
            return self.hash_parts("FunctionLLM", self.name, self.version)
        from robustlab.models.function import _state_digests

        parts = []
        for f in (self.fn, self.logprobs_fn):
            if f is None:
                continue
            try:
                parts.append(inspect.getsource(f))
            except (OSError, TypeError):
                parts.append(getattr(f, "__qualname__", repr(type(f))))
            parts += _state_digests(f)
        return self.hash_parts("FunctionLLM", *parts)

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "context_length": self.context_length}


class HFCausalLM(LanguageModel):
    """A local Hugging Face ``transformers`` causal LM and its tokenizer.

    Greedy decoding (``temperature=0``) or sampling (temperature, top-p; seeded by
    ``decoding.seed``); ``continuation_logprobs`` sums the log-probabilities of a continuation's
    tokens after the prompt's. Prompts whose tokens plus ``max_new_tokens`` exceed the model's
    context length raise a ModelError (``truncation="error"``, the default) or keep their last
    tokens (``truncation="left"``, recorded as ``finish_reason="truncated_prompt"``).

    Build it with :meth:`from_directory` (a ``save_pretrained`` directory) or from a model and a
    tokenizer already in memory.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str = "hf-causal-lm",
        device: str = "cpu",
        batch_size: int = 16,
        truncation: str = "error",
        source: str | None = None,
    ) -> None:
        import torch

        from robustlab.models.base import resolve_device

        validation.check_int("HFCausalLM", "batch_size", batch_size)
        validation.check_choice("HFCausalLM", "truncation", truncation, TRUNCATION)
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        if tokenizer.pad_token_id is None:
            if tokenizer.eos_token_id is None:
                raise ModelError(
                    f"The tokenizer of {name!r} has neither a pad nor an eos token; add one "
                    "(tokenizer.add_special_tokens({'pad_token': '<pad>'}))."
                )
            tokenizer.pad_token = tokenizer.eos_token
        self.name = name
        self.batch_size = batch_size
        self.truncation = truncation
        self.source = source
        config = model.config
        self.context_length = next(
            (
                int(v)
                for k in ("max_position_embeddings", "n_positions", "n_ctx")
                if isinstance(v := getattr(config, k, None), int)
            ),
            None,
        )
        self._fingerprint: str | None = None
        self._torch = torch

    @classmethod
    def from_directory(
        cls,
        path: str | Path,
        *,
        name: str | None = None,
        device: str = "cpu",
        batch_size: int = 16,
        truncation: str = "error",
    ) -> HFCausalLM:
        """Load ``AutoModelForCausalLM`` and ``AutoTokenizer`` from a local directory (no
        download: the directory must hold ``config.json``, the weights and the tokenizer)."""
        path = Path(path)
        if not (path / "config.json").is_file():
            raise ModelError(
                f"{path} is not a saved transformers model (no config.json); pass the directory "
                "written by save_pretrained() (model and tokenizer)."
            )
        transformers = _transformers()
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                str(path), local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Could not load a causal LM and tokenizer from {path}: {exc}. Save both with "
                "model.save_pretrained(dir) and tokenizer.save_pretrained(dir)."
            ) from exc
        return cls(
            model,
            tokenizer,
            name=name or path.name,
            device=device,
            batch_size=batch_size,
            truncation=truncation,
            source=str(path),
        )

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset({"logprobs"})

    # -- tokens -----------------------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _fit(self, ids: list[int], room: int, index: int) -> tuple[list[int], bool]:
        """``ids`` fitted to the context with ``room`` tokens to spare."""
        limit = self.context_length
        if limit is None or len(ids) + room <= limit:
            return ids, False
        if self.truncation == "error" or limit - room < 1:
            raise ModelError(
                f"Prompt {index} has {len(ids)} tokens; with {room} more to generate or score it "
                f"exceeds the context length of {self.name!r} ({limit} tokens). Shorten the "
                "prompt (fewer few-shot examples, smaller max_new_tokens) or load the model with "
                "truncation='left' to keep the prompt's last tokens."
            )
        return ids[len(ids) + room - limit :], True

    # -- generation --------------------------------------------------------------------------
    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        prompts = check_texts(prompts, f"generate() of {self.name!r}")
        decoding = check_decoding(decoding, "HFCausalLM")
        out: list[list[Completion]] = []
        torch = self._torch
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(decoding.seed)
            for start in range(0, len(prompts), self.batch_size):
                out += self._generate_batch(
                    prompts[start : start + self.batch_size], decoding, start
                )
        return out

    def _generate_batch(
        self, prompts: list[str], decoding: Decoding, offset: int
    ) -> list[list[Completion]]:
        torch = self._torch
        fitted = [
            self._fit(self._encode(p), decoding.max_new_tokens, offset + i)
            for i, p in enumerate(prompts)
        ]
        width = max(1, max(len(ids) for ids, _ in fitted))
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, (ids, _) in enumerate(fitted):  # left padding: generation continues every row
            if ids:
                input_ids[i, width - len(ids) :] = torch.tensor(ids)
                mask[i, width - len(ids) :] = 1
        empty = [i for i, (ids, _) in enumerate(fitted) if not ids]
        if empty:
            bos = self.tokenizer.bos_token_id
            if bos is None:
                raise ModelError(
                    f"Prompt {offset + empty[0]} of {self.name!r} is empty and the tokenizer has "
                    "no bos token to start from; pass a non-empty prompt."
                )
            for i in empty:
                input_ids[i, -1], mask[i, -1] = bos, 1
        sample = decoding.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": decoding.max_new_tokens,
            "do_sample": sample,
            "num_return_sequences": decoding.num_samples,
            "pad_token_id": pad,
            "output_scores": True,
            "return_dict_in_generate": True,
        }
        if sample:
            kwargs.update(temperature=decoding.temperature, top_p=decoding.top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        with torch.no_grad():
            gen = self.model.generate(
                input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device), **kwargs
            )
        new = gen.sequences[:, width:].cpu()
        # log-probabilities of the chosen tokens under the (unprocessed) model distribution
        steps = torch.stack([s.float().log_softmax(-1).cpu() for s in gen.scores], dim=1)
        chosen = steps.gather(2, new[:, : steps.shape[1], None])[:, :, 0]
        eos = self.tokenizer.eos_token_id
        out: list[list[Completion]] = []
        for i in range(len(prompts)):
            row: list[Completion] = []
            for j in range(decoding.num_samples):
                k = i * decoding.num_samples + j
                tokens = new[k].tolist()
                n = len(tokens)
                reason = "length"
                for t, tok in enumerate(tokens):
                    if eos is not None and tok == eos:
                        n, reason = t, "stop"
                        break
                text = self.tokenizer.decode(tokens[:n], skip_special_tokens=True)
                text, hit = cut_at_stop(text, decoding.stop)
                if hit:
                    reason = "stop"
                if fitted[i][1]:
                    reason = "truncated_prompt"
                logprob = float(chosen[k, :n].sum()) if not hit else None
                row.append(Completion(text, logprob, reason))
            out.append(row)
        return out

    # -- scoring -----------------------------------------------------------------------------
    def continuation_logprobs(self, prompt: str, continuations: Sequence[str]) -> np.ndarray:
        return self.score_batch([prompt], [list(continuations)])[0]

    def score_batch(
        self, prompts: Sequence[str], continuations: Sequence[Sequence[str]]
    ) -> list[np.ndarray]:
        """``continuation_logprobs`` of many prompts in padded batches (one forward per batch)."""
        torch = self._torch
        pairs: list[tuple[list[int], list[int]]] = []
        for i, (p, conts) in enumerate(zip(prompts, continuations)):
            head = self._encode(p)
            for c in conts:
                tail = self._encode(c)
                if not tail:
                    raise ModelError(
                        f"An empty continuation was given to score after prompt {i}; every "
                        "option must have at least one token."
                    )
                ids, _ = self._fit(head, len(tail), i)
                pairs.append((ids, tail))
        scores = np.zeros(len(pairs))
        for start in range(0, len(pairs), self.batch_size):
            chunk = pairs[start : start + self.batch_size]
            width = max(len(h) + len(t) for h, t in chunk)
            ids = torch.full((len(chunk), width), self.tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, (h, t) in enumerate(chunk):  # right padding: positions start at 0
                seq = h + t
                ids[r, : len(seq)] = torch.tensor(seq)
                mask[r, : len(seq)] = 1
            with torch.no_grad():
                logits = self.model(
                    input_ids=ids.to(self.device), attention_mask=mask.to(self.device)
                ).logits
            logp = logits.float().log_softmax(-1).cpu()
            for r, (h, t) in enumerate(chunk):
                pos = torch.arange(len(h) - 1, len(h) + len(t) - 1)
                scores[start + r] = float(logp[r, pos, torch.tensor(t)].sum())
        out, k = [], 0
        for conts in continuations:
            out.append(scores[k : k + len(conts)])
            k += len(conts)
        return out

    # -- identity ----------------------------------------------------------------------------
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            h = hashlib.sha256()
            for key, tensor in sorted(self.model.state_dict().items()):
                h.update(key.encode())
                h.update(tensor.detach().cpu().float().contiguous().numpy().tobytes())
            h.update(self.tokenizer.backend_tokenizer.to_str().encode())
            h.update(f"truncation={self.truncation}".encode())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "context_length": self.context_length,
            "architecture": type(self.model).__name__,
            "parameters": int(sum(p.numel() for p in self.model.parameters())),
            "truncation": self.truncation,
            **({"source": self.source} if self.source else {}),
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_torch", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import torch

        self.__dict__.update(state)
        self._torch = torch


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise ConfigError(
            "Loading a Hugging Face causal LM needs transformers and tokenizers: "
            "pip install 'robustlab[llm]'."
        ) from None
    transformers.logging.set_verbosity_error()
    return transformers
