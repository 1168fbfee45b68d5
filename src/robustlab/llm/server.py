"""A small OpenAI-compatible HTTP server around any :class:`~robustlab.llm.base.LanguageModel`.

For tests, demos and serving a local ``transformers`` model to tools that speak the OpenAI API:
``POST /v1/completions`` (a prompt or a list of prompts, ``n``, ``stop``, ``logprobs``, and
``echo=true`` with ``max_tokens=0`` to score a prompt), ``POST /v1/chat/completions`` (the
messages' contents joined by newlines become the prompt) and ``GET /v1/models``. It listens on
127.0.0.1 on a free port by default::

    with serve(model) as server:
        endpoint = OpenAIEndpoint(server.url, server.model_name)

``delay`` (seconds slept before each answer) and :meth:`LocalServer.stop` /
:meth:`LocalServer.start` make it slow or down for real, to test timeouts and retries.

Log-probabilities: the :class:`~robustlab.llm.base.LanguageModel` contract gives a completion's
total log-probability, so ``logprobs`` lists the completion as one token carrying that total.
``echo=true`` with ``max_tokens=0`` scores a text with the model's ``continuation_logprobs``; the
server needs to know where the scored continuation starts, which the client says in the
extension field ``robustlab_prefix_length`` (characters; :class:`~robustlab.llm.openai.OpenAIEndpoint`
sends it), and the answer has two tokens: the prefix (unscored) and the continuation.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from robustlab.errors import ConfigError, ModelError, RobustLabError
from robustlab.llm.base import Decoding, LanguageModel

__all__ = ["LocalServer", "serve"]


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.kind = kind


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return tuple(value)
    raise _BadRequest(400, "'stop' must be a string or a list of strings")


def _number(body: dict[str, Any], key: str, default: float) -> float:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _BadRequest(400, f"{key!r} must be a number, got {value!r}")
    return float(value)


def _integer(body: dict[str, Any], key: str, default: int, minimum: int) -> int:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _BadRequest(400, f"{key!r} must be an integer >= {minimum}, got {value!r}")
    return value


class LocalServer:
    """A running server: :attr:`url` (``http://127.0.0.1:PORT/v1``), :attr:`model_name`.

    Attributes:
        delay: Seconds slept before each answer (settable while it runs).
        requests: How many requests it has received.
        generated: How many prompts it has passed to the model.
    """

    def __init__(
        self,
        model: LanguageModel,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model_name: str | None = None,
        delay: float = 0.0,
    ) -> None:
        self.model = model
        self.host = host
        self.port = port
        self.model_name = model_name or model.name
        self.delay = float(delay)
        self.requests = 0
        self.generated = 0
        self._lock = threading.Lock()  # one generation at a time: models need not be thread-safe
        self._count = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> LocalServer:
        """Start listening (again, on the same port after :meth:`stop`)."""
        if self._httpd is not None:
            return self
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server._count_request()
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    self._json(
                        200,
                        {
                            "object": "list",
                            "data": [
                                {
                                    "id": server.model_name,
                                    "object": "model",
                                    "owned_by": "robustlab",
                                }
                            ],
                        },
                    )
                else:
                    self._error(_BadRequest(404, f"no route GET {self.path}", "not_found"))

            def do_POST(self) -> None:
                server._count_request()
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    raw = self.rfile.read(length)
                    if server.delay > 0:
                        time.sleep(server.delay)
                    try:
                        body = json.loads(raw or b"null")
                    except ValueError:
                        raise _BadRequest(400, "the request body is not JSON") from None
                    if not isinstance(body, dict):
                        raise _BadRequest(400, "the request body must be a JSON object")
                    path = self.path.rstrip("/")
                    if path in ("/v1/completions", "/completions"):
                        doc = server._completions(body)
                    elif path in ("/v1/chat/completions", "/chat/completions"):
                        doc = server._chat(body)
                    else:
                        raise _BadRequest(404, f"no route POST {self.path}", "not_found")
                except _BadRequest as exc:
                    self._error(exc)
                    return
                except RobustLabError as exc:  # the model refused the prompt (context length...)
                    self._error(_BadRequest(400, str(exc)))
                    return
                except Exception as exc:
                    self._error(_BadRequest(500, f"{type(exc).__name__}: {exc}", "server_error"))
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._json(200, doc)  # unless the client gave up (its timeout)

            def _error(self, exc: _BadRequest) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._json(exc.status, {"error": {"message": str(exc), "type": exc.kind}})

            def _json(self, status: int, doc: Any) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        httpd.daemon_threads = True
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="llm-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until :meth:`start`."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = self._thread = None

    close = stop

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API -------------------------------------------------------------------------------

    def _count_request(self) -> None:
        with self._count:
            self.requests += 1

    def _check_model(self, body: dict[str, Any]) -> None:
        name = body.get("model")
        if name is not None and name != self.model_name:
            raise _BadRequest(
                404, f"The model {name!r} does not exist; this server serves {self.model_name!r}"
            )

    def _decoding(self, body: dict[str, Any]) -> Decoding:
        seed = body.get("seed")
        return Decoding(
            max_new_tokens=_integer(body, "max_tokens", 16, 0),
            temperature=_number(body, "temperature", 1.0),
            top_p=_number(body, "top_p", 1.0),
            stop=_stop(body.get("stop")),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else 0,
            num_samples=_integer(body, "n", 1, 1),
        )

    def _generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Any]]:
        with self._lock:
            out = self.model.generate(list(prompts), decoding)
            self.generated += len(prompts)
        return out

    def _completions(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_model(body)
        prompt = body.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if (
            not isinstance(prompts, list)
            or not prompts
            or not all(isinstance(p, str) for p in prompts)
        ):
            raise _BadRequest(400, "'prompt' must be a string or a non-empty list of strings")
        decoding = self._decoding(body)
        want_logprobs = body.get("logprobs") is not None
        choices: list[dict[str, Any]] = []
        if body.get("echo") and decoding.max_new_tokens == 0:
            for i, p in enumerate(prompts):
                split = body.get("robustlab_prefix_length")
                k = split if isinstance(split, int) and 0 <= split <= len(p) else min(1, len(p))
                with self._lock:
                    (value,) = self.model.continuation_logprobs(p[:k], [p[k:]])
                choices.append(
                    {
                        "index": i,
                        "text": p,
                        "finish_reason": "length",
                        "logprobs": {
                            "tokens": [p[:k], p[k:]],
                            "token_logprobs": [None, float(value)],
                            "text_offset": [0, k],
                            "top_logprobs": None,
                        },
                    }
                )
            return self._answer("text_completion", choices)
        out = self._generate(prompts, decoding)
        for i, (p, row) in enumerate(zip(prompts, out)):
            for j, c in enumerate(row):
                choice: dict[str, Any] = {
                    "index": i * decoding.num_samples + j,
                    "text": (p if body.get("echo") else "") + c.text,
                    "finish_reason": c.finish_reason,
                    "logprobs": None,
                }
                if want_logprobs and c.logprob is not None:
                    choice["logprobs"] = {
                        "tokens": [c.text],
                        "token_logprobs": [c.logprob],
                        "text_offset": [len(p) if body.get("echo") else 0],
                        "top_logprobs": None,
                    }
                choices.append(choice)
        return self._answer("text_completion", choices)

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_model(body)
        messages = body.get("messages")
        if (
            not isinstance(messages, list)
            or not messages
            or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages)
        ):
            raise _BadRequest(400, "'messages' must be a non-empty list of {role, content} objects")
        prompt = "\n".join(m["content"] for m in messages)
        decoding = self._decoding(body)
        (row,) = self._generate([prompt], decoding)
        choices = []
        for j, c in enumerate(row):
            choice: dict[str, Any] = {
                "index": j,
                "message": {"role": "assistant", "content": c.text},
                "finish_reason": c.finish_reason,
                "logprobs": None,
            }
            if body.get("logprobs") and c.logprob is not None:
                choice["logprobs"] = {
                    "content": [{"token": c.text, "logprob": c.logprob, "top_logprobs": []}]
                }
            choices.append(choice)
        return self._answer("chat.completion", choices)

    def _answer(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": f"rl-{uuid.uuid4().hex[:12]}",
            "object": kind,
            "created": int(time.time()),
            "model": self.model_name,
            "choices": choices,
        }


def serve(
    model: LanguageModel,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    model_name: str | None = None,
    delay: float = 0.0,
) -> LocalServer:
    """Start serving ``model`` (port 0: a free port) and return the running server."""
    if not isinstance(model, LanguageModel):
        raise ConfigError(
            f"serve() needs a robustlab.llm.LanguageModel. Got {type(model).__name__} instead."
        )
    if not isinstance(host, str) or not host:
        raise ModelError(f"serve(): host must be an address such as 127.0.0.1. Got {host!r}.")
    return LocalServer(model, host=host, port=port, model_name=model_name, delay=delay).start()
