"""A language model behind an OpenAI-compatible HTTP endpoint (``/v1/completions`` or
``/v1/chat/completions``): vLLM, llama.cpp's server, ``transformers serve``, TGI, OpenAI itself.

Standard library HTTP only (``urllib``), so no SDK is needed. A request that times out, is
refused, or gets a 429 / 5xx answer is retried with exponential backoff; after the last attempt
the error names the URL. Prompts that finished before a failure are not lost: the error
(:class:`~robustlab.llm.cache.IncompleteGeneration`) carries them, and
:class:`~robustlab.llm.cache.CachedLLM` stores them before re-raising.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from robustlab import validation
from robustlab.errors import ConfigError, ModelError
from robustlab.llm.base import Completion, Decoding, LanguageModel
from robustlab.llm.cache import IncompleteGeneration

__all__ = ["RETRY_STATUSES", "EndpointError", "OpenAIEndpoint"]

#: HTTP statuses worth another attempt: rate limited, or the server failing for now.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})

_OWNER = "OpenAIEndpoint"


class EndpointError(ModelError):
    """The endpoint answered, but not with completions (HTTP error, not JSON, no text).

    Attributes:
        url: The URL the request went to.
        status: The HTTP status, when there was one.
        retry: Whether another attempt may succeed (timeouts, refused connections, 429, 5xx).
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.url = url
        self.status = status
        self.retry = retry
        self.retry_after = retry_after


def _base_url(url: object) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise validation.fail(
            _OWNER, "base_url", "an http:// or https:// URL", url, "e.g. http://127.0.0.1:8000/v1."
        )
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def _excerpt(raw: bytes | str, limit: int = 200) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _server_message(raw: bytes) -> str:
    """The message of an error body (OpenAI's ``{"error": {"message": ...}}`` or plain text)."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return _excerpt(raw) or "(empty body)"
    if isinstance(doc, dict):
        err = doc.get("error", doc)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"]
        if isinstance(err, str):
            return err
        if isinstance(doc.get("detail"), str):  # FastAPI-style servers
            return str(doc["detail"])
    return _excerpt(raw)


class OpenAIEndpoint(LanguageModel):
    """A model served over the OpenAI completions or chat-completions API.

    Args:
        base_url: The server, e.g. ``http://127.0.0.1:8000`` or ``http://127.0.0.1:8000/v1``.
        model: The served model's name (the request's ``model`` field).
        api_key: Sent as ``Authorization: Bearer``; default ``$OPENAI_API_KEY`` if set. Never
            stored or described.
        chat: Use ``/v1/chat/completions`` (the prompt becomes one user message) instead of
            ``/v1/completions``.
        timeout: Seconds to wait for one answer before the attempt counts as failed.
        max_retries: Further attempts after a failed one (timeouts, refused connections, 429 and
            5xx answers); other HTTP errors (400, 401, 404) fail at once.
        backoff: Seconds before the first retry; doubled for every further one (at most 30 s).
        batch_size: Prompts per request on ``/v1/completions`` (the API takes a list); chat
            requests carry one prompt each.
        concurrency: Requests in flight at once.
        logprobs: Ask for token log-probabilities (summed into :attr:`Completion.logprob`).
        echo: Whether the server scores a prompt with ``echo=true, max_tokens=0`` (vLLM, the
            OpenAI legacy API, :mod:`robustlab.llm.server`); enables
            :meth:`continuation_logprobs` and multiple choice by option log-probability.
        name: Shown in the store and the report (default: the model name).
        context_length: The model's context length in tokens, if known.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        chat: bool = False,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        batch_size: int = 8,
        concurrency: int = 4,
        logprobs: bool = True,
        echo: bool | None = None,
        name: str | None = None,
        context_length: int | None = None,
    ) -> None:
        self.base_url = _base_url(base_url)
        if not isinstance(model, str) or not model:
            raise validation.fail(_OWNER, "model", "the served model's name (a str)", model)
        self.model = model
        self.chat = bool(chat)
        self.timeout = float(validation.check_number(_OWNER, "timeout", timeout) or 0)
        self.max_retries = int(validation.check_int(_OWNER, "max_retries", max_retries, 0) or 0)
        self.backoff = float(
            validation.check_number(_OWNER, "backoff", backoff, low_inclusive=True) or 0
        )
        self.batch_size = int(validation.check_int(_OWNER, "batch_size", batch_size) or 1)
        self.concurrency = int(validation.check_int(_OWNER, "concurrency", concurrency) or 1)
        self.logprobs = bool(logprobs)
        self.echo = (not self.chat) if echo is None else bool(echo)
        if self.echo and self.chat:
            raise ConfigError(
                "OpenAIEndpoint: option log-probabilities (echo=True) need the completions API; "
                "pass chat=False, or echo=False to score multiple choice by the generated letter."
            )
        self._api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.name = name or model
        self.context_length = context_length
        #: Requests sent (every attempt counts) and retries made, for diagnostics.
        self.requests = 0
        self.retries = 0
        self._lock = threading.Lock()
        self._sleep: Callable[[float], None] = time.sleep

    # -- the LanguageModel contract ------------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset({"logprobs"}) if self.echo else frozenset()

    def fingerprint(self) -> str:
        api = "chat" if self.chat else "completions"
        return self.hash_parts("openai-endpoint", self.base_url, self.model, api)

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "adapter": type(self).__name__,
            "base_url": self.base_url,
            "model": self.model,
            "api": "chat" if self.chat else "completions",
        }

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        prompts = _check_prompts(prompts)
        if self.chat:
            groups = [[i] for i in range(len(prompts))]
        else:
            groups = [
                list(range(s, min(s + self.batch_size, len(prompts))))
                for s in range(0, len(prompts), self.batch_size)
            ]
        done: dict[int, list[Completion]] = {}
        errors: list[BaseException] = []

        def one(group: list[int]) -> None:
            texts = [prompts[i] for i in group]
            try:
                out = (
                    self._chat(texts[0], decoding) if self.chat else self._complete(texts, decoding)
                )
            except BaseException as exc:  # kept: the others' results must not be lost
                errors.append(exc)
                return
            with self._lock:
                done.update(zip(group, out))

        if self.concurrency == 1 or len(groups) == 1:
            for g in groups:
                one(g)
                if errors:
                    break
        else:
            with ThreadPoolExecutor(min(self.concurrency, len(groups))) as pool:
                list(pool.map(one, groups))
        if errors:
            first = errors[0]
            if not isinstance(first, Exception) or not done:
                raise first  # nothing to keep (or KeyboardInterrupt and the like)
            message = f"{first} ({len(done)} of {len(prompts)} prompts finished and are kept)"
            raise IncompleteGeneration(message, done=done, total=len(prompts)) from first
        return [done[i] for i in range(len(prompts))]

    def continuation_logprobs(self, prompt: str, continuations: Sequence[str]) -> np.ndarray:
        """``log p(continuation | prompt)``: the prompt plus each continuation is scored with
        ``echo=true, max_tokens=0``, summing the tokens that start inside the continuation."""
        if not self.echo:
            return super().continuation_logprobs(prompt, continuations)
        (prompt,) = _check_prompts([prompt])
        texts = _check_prompts(list(continuations), "continuations")
        body = {
            "model": self.model,
            "prompt": [prompt + c for c in texts],
            "max_tokens": 0,
            "echo": True,
            "logprobs": 1,
            "temperature": 0.0,
            # extension read by robustlab.llm.server (where the continuation starts); other
            # servers ignore it and score every token, of which the prompt's are skipped below
            "robustlab_prefix_length": len(prompt),
        }
        url = f"{self.base_url}/completions"
        doc = self._post(url, body)
        choices = _choices(doc, url, len(texts))
        out = np.empty(len(texts))
        for i, choice in enumerate(choices):
            lp = choice.get("logprobs")
            if not isinstance(lp, dict) or not isinstance(lp.get("token_logprobs"), list):
                raise EndpointError(
                    f"{url} returned no token log-probabilities for an echoed prompt; the server "
                    "does not support echo: pass echo=False to OpenAIEndpoint.",
                    url=url,
                )
            offsets = lp.get("text_offset") or []
            values = lp["token_logprobs"]
            if len(offsets) != len(values):
                raise EndpointError(
                    f"{url} returned {len(values)} token log-probabilities but "
                    f"{len(offsets)} text offsets; pass echo=False to OpenAIEndpoint.",
                    url=url,
                )
            total = 0.0
            for off, v in zip(offsets, values):
                if int(off) >= len(prompt) and v is not None:
                    total += float(v)
            out[i] = total
        return out

    # -- requests ------------------------------------------------------------------------------

    def _body(self, decoding: Decoding) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": decoding.max_new_tokens,
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "n": decoding.num_samples,
            "seed": decoding.seed,
        }
        if decoding.stop:
            body["stop"] = list(decoding.stop)
        return body

    def _complete(self, prompts: list[str], decoding: Decoding) -> list[list[Completion]]:
        url = f"{self.base_url}/completions"
        body = {**self._body(decoding), "prompt": prompts if len(prompts) > 1 else prompts[0]}
        if self.logprobs:
            body["logprobs"] = 1
        doc = self._post(url, body)
        n = decoding.num_samples
        choices = _choices(doc, url, len(prompts) * n)
        out = []
        for p in range(len(prompts)):
            row = []
            for choice in choices[p * n : (p + 1) * n]:
                text = _text(choice.get("text"), url, p)
                lp = choice.get("logprobs")
                logprob = None
                if isinstance(lp, dict) and isinstance(lp.get("token_logprobs"), list):
                    logprob = _sum(lp["token_logprobs"])
                row.append(Completion(text, logprob, _reason(choice)))
            out.append(row)
        return out

    def _chat(self, prompt: str, decoding: Decoding) -> list[list[Completion]]:
        url = f"{self.base_url}/chat/completions"
        body = {**self._body(decoding), "messages": [{"role": "user", "content": prompt}]}
        if self.logprobs:
            body["logprobs"] = True
        doc = self._post(url, body)
        row = []
        for choice in _choices(doc, url, decoding.num_samples):
            message = choice.get("message")
            if not isinstance(message, dict):
                raise EndpointError(
                    f"{url} returned a choice without a message: {_excerpt(json.dumps(choice))}; "
                    "check that the server speaks the OpenAI chat API.",
                    url=url,
                )
            text = _text(message.get("content"), url, 0)
            lp = choice.get("logprobs")
            logprob = None
            if isinstance(lp, dict) and isinstance(lp.get("content"), list):
                logprob = _sum(
                    t.get("logprob") if isinstance(t, dict) else None for t in lp["content"]
                )
            row.append(Completion(text, logprob, _reason(choice)))
        return [row]

    def _post(self, url: str, body: dict[str, Any]) -> Any:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        attempts = self.max_retries + 1
        last: EndpointError | None = None
        for attempt in range(attempts):
            if attempt:
                with self._lock:
                    self.retries += 1
                wait = self.backoff * 2 ** (attempt - 1)
                if last is not None and last.retry_after is not None:  # the server's Retry-After
                    wait = max(wait, last.retry_after)
                self._sleep(min(30.0, wait))
            with self._lock:
                self.requests += 1
            try:
                return self._once(url, data, headers)
            except EndpointError as exc:
                if not exc.retry:
                    raise
                last = exc
        assert last is not None
        raise EndpointError(
            f"{last} (gave up after {attempts} attempt{'s' * (attempts > 1)}); check that the "
            f"server at {self.base_url} is running and answering, or raise timeout= / "
            "max_retries=.",
            url=url,
            status=last.status,
        ) from last

    def _once(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            message = _server_message(exc.read() or b"")
            raise EndpointError(
                f"{url} answered HTTP {status}: {message}",
                url=url,
                status=status,
                retry=status in RETRY_STATUSES,
                retry_after=_seconds(exc.headers.get("Retry-After") if exc.headers else None),
            ) from None
        except TimeoutError:
            raise EndpointError(
                f"{url} did not answer within {self.timeout:g} s", url=url, retry=True
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise EndpointError(
                    f"{url} did not answer within {self.timeout:g} s", url=url, retry=True
                ) from None
            raise EndpointError(f"cannot reach {url}: {reason}", url=url, retry=True) from None
        except (ConnectionError, OSError) as exc:  # reset mid-answer, remote closed
            raise EndpointError(
                f"lost the connection to {url}: {exc}", url=url, retry=True
            ) from None
        try:
            return json.loads(raw)
        except ValueError:
            raise EndpointError(
                f"{url} replied with something that is not JSON: {_excerpt(raw)!r}; check that "
                "base_url points at an OpenAI-compatible API (it usually ends in /v1).",
                url=url,
            ) from None


def _check_prompts(prompts: object, what: str = "prompts") -> list[str]:
    if isinstance(prompts, str) or not isinstance(prompts, Sequence):
        raise ConfigError(
            f"OpenAIEndpoint: {what} must be a list of str. Got {type(prompts).__name__} instead."
        )
    bad = [i for i, p in enumerate(prompts) if not isinstance(p, str)]
    if bad:
        raise ConfigError(
            f"OpenAIEndpoint: {what} must be str; item {bad[0]} is "
            f"{type(prompts[bad[0]]).__name__}."
        )
    return list(prompts)


def _choices(doc: Any, url: str, expected: int) -> list[dict[str, Any]]:
    choices = doc.get("choices") if isinstance(doc, dict) else None
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise EndpointError(
            f"{url} returned no 'choices' list: {_excerpt(json.dumps(doc))}; check that the "
            "server speaks the OpenAI API.",
            url=url,
        )
    if len(choices) != expected:
        raise EndpointError(
            f"{url} returned {len(choices)} choices where {expected} were asked for; the server "
            "may not support n > 1 or prompt lists: pass batch_size=1 or num_samples=1.",
            url=url,
        )
    if all(isinstance(c.get("index"), int) for c in choices):
        choices = sorted(choices, key=lambda c: c["index"])
    return choices


def _text(value: Any, url: str, position: int) -> str:
    """A completion's text: a str (possibly empty, which is kept and scored as any answer)."""
    if isinstance(value, str):
        return value
    raise EndpointError(
        f"{url} returned a completion that is not text for prompt {position}: "
        f"{_excerpt(json.dumps(value))} ({type(value).__name__}); the server gave no answer "
        "text (a refusal or a tool call?).",
        url=url,
    )


def _reason(choice: dict[str, Any]) -> str:
    reason = choice.get("finish_reason")
    return reason if isinstance(reason, str) else "stop"


def _sum(values: Any) -> float | None:
    total, seen = 0.0, False
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            total += float(v)
            seen = True
    return total if seen else None


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the HTTP-date form is ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
