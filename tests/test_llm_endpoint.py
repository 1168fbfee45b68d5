"""The OpenAI-compatible endpoint adapter against a real local server around a trained model:
same answers as the model itself, and the bad inputs (slow, down, not JSON, HTTP errors, no text)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from _llm_real import Adder, addition_prompts
from robustlab.errors import ConfigError, ModelError
from robustlab.llm.base import Completion, Decoding, LanguageModel
from robustlab.llm.cache import IncompleteGeneration
from robustlab.llm.openai import EndpointError, OpenAIEndpoint
from robustlab.llm.server import LocalServer, serve

pytest.importorskip("transformers")  # the trained test model (robustlab[llm])

GREEDY = Decoding(max_new_tokens=3, stop=(";",))


@pytest.fixture(scope="module")
def adder() -> Adder:
    return Adder()


@pytest.fixture()
def server(adder: Adder) -> Iterator[LocalServer]:
    with serve(adder) as s:
        yield s


def test_completions_match_the_model(adder: Adder, server: LocalServer) -> None:
    pairs = addition_prompts(20, seed=1)
    prompts = [p for p, _ in pairs]
    direct = adder.generate(prompts, GREEDY)
    ep = OpenAIEndpoint(server.url, "adder", batch_size=6, concurrency=2)
    got = ep.generate(prompts, GREEDY)
    assert [c[0].text for c in got] == [c[0].text for c in direct]
    np.testing.assert_allclose(
        [c[0].logprob for c in got], [c[0].logprob for c in direct], rtol=1e-4, atol=1e-5
    )
    assert server.generated == 20 and ep.requests == 4  # 6 + 6 + 6 + 2 prompts
    accuracy = np.mean([c[0].text == a for c, (_, a) in zip(got, pairs)])
    assert accuracy >= 0.4  # a genuinely trained model, seen through HTTP


def test_chat_api_and_samples(adder: Adder, server: LocalServer) -> None:
    ep = OpenAIEndpoint(server.url, "adder", chat=True)
    (row,) = ep.generate(["2+3="], GREEDY)
    assert row[0].text == adder.generate(["2+3="], GREEDY)[0][0].text
    assert row[0].logprob is not None and row[0].logprob <= 0
    sampled = Decoding(max_new_tokens=3, stop=(";",), temperature=1.5, num_samples=4, seed=3)
    (rows,) = ep.generate(["7+8="], sampled)
    assert len(rows) == 4 and all(isinstance(c, Completion) for c in rows)
    assert ep.capabilities == frozenset()
    with pytest.raises(ModelError, match="no log-probabilities"):
        ep.continuation_logprobs("1+1=", ["2"])


def test_option_logprobs_by_echo(adder: Adder, server: LocalServer) -> None:
    ep = OpenAIEndpoint(server.url, "adder")
    assert "logprobs" in ep.capabilities
    options = ["7", "8", "12"]
    np.testing.assert_allclose(
        ep.continuation_logprobs("3+4=", options),
        adder.continuation_logprobs("3+4=", options),
        rtol=1e-5,
    )


def test_describe_and_fingerprint_hide_the_key(server: LocalServer) -> None:
    ep = OpenAIEndpoint(server.url.removesuffix("/v1"), "adder", api_key="sk-secret")
    assert ep.base_url == server.url
    assert "sk-secret" not in repr(ep.describe()) and ep.describe()["model"] == "adder"
    assert ep.fingerprint() != OpenAIEndpoint(server.url, "adder", chat=True).fingerprint()
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIEndpoint("localhost:8000", "adder")
    with pytest.raises(ConfigError, match="prompts must be a list"):
        ep.generate("1+1=", GREEDY)  # type: ignore[arg-type]


def test_slow_server_times_out_with_retries_and_names_the_url(server: LocalServer) -> None:
    server.delay = 1.0
    ep = OpenAIEndpoint(server.url, "adder", timeout=0.25, max_retries=2, backoff=0.05)
    started = time.perf_counter()
    with pytest.raises(ModelError) as info:
        ep.generate(["1+1="], GREEDY)
    message = str(info.value)
    assert f"{server.url}/completions" in message
    assert "did not answer within 0.25 s" in message and "gave up after 3 attempts" in message
    assert ep.requests == 3 and ep.retries == 2
    assert time.perf_counter() - started < 3.0  # 3 x 0.25 s + backoff 0.05 + 0.1
    time.sleep(1.1)  # let the slow handlers finish before the server stops
    assert server.requests == 3


def test_server_down_then_back_is_retried_with_backoff(adder: Adder, server: LocalServer) -> None:
    server.stop()
    ep = OpenAIEndpoint(server.url, "adder", timeout=5, max_retries=1, backoff=0.01)
    with pytest.raises(ModelError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1/completions"):
        ep.generate(["1+1="], GREEDY)
    waits: list[float] = []
    ep = OpenAIEndpoint(server.url, "adder", timeout=5, max_retries=5, backoff=0.2)

    def sleep(seconds: float) -> None:  # the backoff waits, and the server comes back after two
        waits.append(seconds)
        if len(waits) == 2:
            server.start()
        time.sleep(seconds)

    ep._sleep = sleep
    (row,) = ep.generate(["4+4="], GREEDY)
    assert row[0].text == adder.generate(["4+4="], GREEDY)[0][0].text
    assert waits == [0.2, 0.4] and ep.retries == 2  # exponential backoff


def test_http_errors_carry_the_server_message_and_are_not_retried(server: LocalServer) -> None:
    ep = OpenAIEndpoint(server.url, "no-such-model", max_retries=3, backoff=0)
    with pytest.raises(EndpointError, match="HTTP 404: The model 'no-such-model' does not exist"):
        ep.generate(["1+1="], GREEDY)
    assert ep.requests == 1
    long = OpenAIEndpoint(server.url, "adder", max_retries=3)
    with pytest.raises(
        ModelError, match=r"HTTP 400: adder: a prompt of 81 tokens .* context length"
    ):
        long.generate(["1" * 80], GREEDY)  # over the model's context: the model's own message
    assert long.requests == 1


class _Replies(LanguageModel):
    """A model whose completions are given (for the bad-reply tests; served over real HTTP)."""

    name = "replies"

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def fingerprint(self) -> str:
        return "replies"

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        out = []
        for p in prompts:
            if p not in self.texts:
                raise ModelError(f"replies: cannot answer {p!r}")
            out.append([Completion(self.texts[p], None, "stop")])
        return out


def test_empty_completion_is_kept_and_a_failed_prompt_keeps_the_others() -> None:
    with serve(_Replies({"a": "", "b": "yes", "c": "no"})) as s:
        ep = OpenAIEndpoint(s.url, "replies", batch_size=1, concurrency=1)
        out = ep.generate(["a", "b"], GREEDY)
        assert [r[0].text for r in out] == ["", "yes"] and out[0][0].logprob is None
        with pytest.raises(IncompleteGeneration) as info:
            ep.generate(["b", "c", "boom", "a"], GREEDY)
    assert "cannot answer 'boom'" in str(info.value) and "2 of 4 prompts finished" in str(
        info.value
    )
    assert {i: r[0].text for i, r in info.value.done.items()} == {0: "yes", 1: "no"}


def _raw_server(body: bytes, status: int = 200) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b"<html>Welcome to nginx</html>", 200, "not JSON: '<html>Welcome to nginx</html>'"),
        (b'{"choices": [{"text": null}]}', 200, "not text for prompt 0: null"),
        (b'{"choices": [{"text": 7}]}', 200, "not text for prompt 0: 7"),
        (b'{"object": "list"}', 200, "no 'choices' list"),
        (b'{"error": {"message": "bad key"}}', 401, "HTTP 401: bad key"),
    ],
)
def test_bad_replies_are_clear_errors(body: bytes, status: int, expected: str) -> None:
    httpd = _raw_server(body, status)
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        ep = OpenAIEndpoint(url, "m", max_retries=0)
        with pytest.raises(ModelError) as info:
            ep.generate(["x"], GREEDY)
        assert expected in str(info.value) and f"{url}/v1/completions" in str(info.value)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_server_errors_are_retried_then_reported() -> None:
    httpd = _raw_server(b'{"error": {"message": "overloaded"}}', 503)
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        ep = OpenAIEndpoint(url, "m", max_retries=2, backoff=0)
        with pytest.raises(ModelError, match=r"HTTP 503: overloaded .*gave up after 3 attempts"):
            ep.generate(["x"], GREEDY)
        assert ep.requests == 3
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_server_around_a_transformers_directory_model() -> None:
    """The HFCausalLM adapter (a save_pretrained directory) served and read back over HTTP."""
    from _llm_real import model_dir
    from robustlab.llm.models import HFCausalLM

    local = HFCausalLM.from_directory(model_dir(), name="adder-dir")
    prompts = ["<s>3+4=", "<s>8+1=", "<s>2+9="]
    with serve(local) as s:
        ep = OpenAIEndpoint(s.url, "adder-dir", batch_size=2)
        got = ep.generate(prompts, GREEDY)
        want = local.generate(prompts, GREEDY)
        assert [r[0].text for r in got] == [r[0].text for r in want]
        np.testing.assert_allclose(
            ep.continuation_logprobs("<s>3+4=", ["7", "8"]),
            local.continuation_logprobs("<s>3+4=", ["7", "8"]),
            rtol=1e-5,
        )
        with pytest.raises(ModelError, match=r"HTTP 400: .*context"):
            ep.generate(["1" * 200], GREEDY)


def test_rate_limits_wait_as_the_server_says() -> None:
    class Handler(BaseHTTPRequestHandler):
        hits = 0

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            Handler.hits += 1
            if Handler.hits == 1:
                body = b'{"error": {"message": "slow down"}}'
                self.send_response(429)
                self.send_header("Retry-After", "0.3")
            else:
                body = b'{"choices": [{"index": 0, "text": " ok", "finish_reason": "stop"}]}'
                self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        ep = OpenAIEndpoint(f"http://127.0.0.1:{httpd.server_address[1]}", "m", backoff=0.01)
        waits: list[float] = []
        ep._sleep = waits.append
        assert ep.generate(["x"], GREEDY)[0][0].text == " ok"
        assert waits == [0.3] and ep.retries == 1
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.slow  # a new interpreter importing torch and transformers: ~40 s on a busy machine
def test_serve_llm_command_serves_a_directory_model() -> None:
    """`robustlab serve-llm DIR` in its own process, read through OpenAIEndpoint."""
    import os
    import socket
    import subprocess
    import sys

    from _llm_real import model_dir

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "robustlab", "serve-llm", str(model_dir()), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ep = OpenAIEndpoint(
            f"http://127.0.0.1:{port}", model_dir().name, max_retries=12, backoff=0.5, timeout=10
        )
        (row,) = ep.generate(["<s>4+4="], GREEDY)  # retried while the server starts
        from robustlab.llm.models import HFCausalLM

        local = HFCausalLM.from_directory(model_dir())
        assert row[0].text == local.generate(["<s>4+4="], GREEDY)[0][0].text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
