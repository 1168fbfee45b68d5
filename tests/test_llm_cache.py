"""The generation cache in the store (SQLite and PostgreSQL): a second run asks the model nothing,
a failure part-way keeps what finished, and the endpoint's generations are cached too."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from _llm_real import Adder, addition_prompts
from _postgres import BACKENDS, store_url
from robustlab.errors import ConfigError
from robustlab.llm.base import Completion, Decoding, LanguageModel
from robustlab.llm.cache import CachedLLM, IncompleteGeneration
from robustlab.llm.openai import OpenAIEndpoint
from robustlab.llm.server import serve
from robustlab.store import SCHEMA_VERSION, Store
from robustlab.store import schema as t

pytest.importorskip("transformers")  # the trained test model (robustlab[llm])

GREEDY = Decoding(max_new_tokens=3, stop=(";",))


@pytest.fixture(scope="module")
def adder() -> Adder:
    return Adder()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from store_url(request.param, tmp_path)


def test_second_run_makes_no_model_call(adder: Adder, url: str) -> None:
    prompts = [p for p, _ in addition_prompts(30, seed=2)]
    store = Store(url)
    assert SCHEMA_VERSION == 5
    first = CachedLLM(adder, store, chunk_size=8)
    calls = adder.calls
    out1 = first.generate(prompts, GREEDY)
    unique = len(set(prompts))
    assert adder.calls - calls == -(-unique // 8)  # chunks of 8 distinct prompts
    assert first.stats.misses == 30 and first.stats.hits == 0 and first.stats.stored == unique
    store.engine.dispose()

    again = CachedLLM(adder, Store(url))  # a new process resuming: a fresh wrapper and store
    calls, seen = adder.calls, adder.prompts_seen
    out2 = again.generate(prompts, GREEDY)
    assert adder.calls == calls and adder.prompts_seen == seen  # 0 model calls
    assert again.stats.hits == 30 and again.stats.misses == 0 and again.stats.hit_rate == 1.0
    assert out2 == out1  # text, log-probability and finish reason round-trip
    assert out1 == adder.generate(prompts, GREEDY)

    # another decoding is another key; a half-new batch pays only for the new prompts
    other = again.generate(prompts[:3], Decoding(max_new_tokens=2, stop=(";",)))
    assert len(other) == 3 and again.stats.misses == 3
    calls = adder.calls
    mixed = again.generate([*prompts[:5], "9+9=", "0+0="], GREEDY)
    assert adder.calls == calls + 1 and again.stats.misses == 3 + sum(
        p not in prompts for p in ("9+9=", "0+0=")
    )
    assert mixed[:5] == out1[:5]
    assert again.cached_count() >= unique


def test_option_logprobs_are_cached(adder: Adder, tmp_path: Path) -> None:
    cached = CachedLLM(adder, Store(f"sqlite:///{tmp_path}/c.db"))
    first = cached.continuation_logprobs("3+4=", ["7", "8"])
    again = cached.continuation_logprobs("3+4=", ["7", "8"])
    np.testing.assert_allclose(first, adder.continuation_logprobs("3+4=", ["7", "8"]))
    np.testing.assert_array_equal(first, again)
    assert cached.stats.model_calls == 1 and cached.stats.hits == 1
    assert cached.capabilities == adder.capabilities and cached.fingerprint() == adder.fingerprint()


class _Flaky(LanguageModel):
    """Answers prompts but fails on one, after finishing the ones before it."""

    name = "flaky"

    def __init__(self, inner: LanguageModel, bad: str) -> None:
        self.inner, self.bad = inner, bad
        self.prompts: list[str] = []

    def fingerprint(self) -> str:
        return "flaky-" + self.inner.fingerprint()

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[list[Completion]]:
        done: dict[int, list[Completion]] = {}
        for i, p in enumerate(prompts):
            if p == self.bad:
                raise IncompleteGeneration("flaky: failed", done=done, total=len(prompts))
            self.prompts.append(p)
            done[i] = self.inner.generate([p], decoding)[0]
        return [done[i] for i in range(len(prompts))]


def test_a_failure_part_way_loses_no_generation(adder: Adder, tmp_path: Path) -> None:
    flaky = _Flaky(adder, bad="5+5=")
    cached = CachedLLM(flaky, Store(f"sqlite:///{tmp_path}/c.db"))
    prompts = ["1+2=", "2+2=", "5+5=", "3+3="]
    with pytest.raises(IncompleteGeneration):
        cached.generate(prompts, GREEDY)
    assert cached.stats.stored == 2
    flaky.bad, flaky.prompts = "", []
    cached.generate(prompts, GREEDY)
    assert flaky.prompts == ["5+5=", "3+3="]  # the two that finished were not asked again


def test_endpoint_through_the_cache_survives_a_server_loss(adder: Adder, tmp_path: Path) -> None:
    """A scan against a server that dies half way resumes paying only for the rest."""
    prompts = [p for p, _ in addition_prompts(12, seed=4)]
    distinct = list(dict.fromkeys(prompts))
    store = Store(f"sqlite:///{tmp_path}/c.db")
    with serve(adder, model_name="adder") as server:
        ep = OpenAIEndpoint(server.url, "adder", batch_size=2, concurrency=1, max_retries=0)
        cached = CachedLLM(ep, store, chunk_size=len(distinct))
        real_complete = ep._complete
        sent: list[int] = []

        def dies_after_two(texts: list[str], decoding: Decoding) -> list[list[Completion]]:
            if len(sent) == 2:
                server.stop()
            sent.append(len(texts))
            return real_complete(texts, decoding)

        ep._complete = dies_after_two  # type: ignore[method-assign]
        with pytest.raises(IncompleteGeneration, match=r"cannot reach .*4 of"):
            cached.generate(prompts, GREEDY)
        assert cached.stats.stored == 4
        server.start()
        before = server.generated
        ep._complete = real_complete  # type: ignore[method-assign]
        out = CachedLLM(ep, store).generate(prompts, GREEDY)
        assert server.generated - before == len(distinct) - 4
    assert [r[0].text for r in out] == [r[0].text for r in adder.generate(prompts, GREEDY)]


def test_rows_and_refusals(adder: Adder, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/c.db")
    CachedLLM(adder, store).generate(["1+1="], GREEDY)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.generations)).one()
    assert row.prompt == "1+1=" and row.decoding == GREEDY.key()
    assert (
        row.model_fingerprint == adder.fingerprint()
        and row.completions[0]["text"] == adder.generate(["1+1="], GREEDY)[0][0].text
    )
    with pytest.raises(ConfigError, match="LanguageModel"):
        CachedLLM(object(), store)  # type: ignore[arg-type]


def test_two_writers_of_the_same_prompts_store_each_once(adder: Adder, url: str) -> None:
    """Two scans sharing a store (threads here, processes alike) race on the same prompts."""
    import threading

    prompts = [p for p, _ in addition_prompts(40, seed=7)]
    store = Store(url)
    wrappers = [CachedLLM(adder, store, chunk_size=5) for _ in range(2)]
    errors: list[BaseException] = []

    def go(w: CachedLLM) -> None:
        try:
            w.generate(prompts, GREEDY)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(w,)) for w in wrappers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(t.generations)).scalar()
    assert rows == len(set(prompts))


def test_score_batch_is_cached_for_a_batching_model(tmp_path: Path) -> None:
    from _llm_real import model_dir
    from robustlab.llm.models import HFCausalLM

    local = HFCausalLM.from_directory(model_dir())
    store = Store(f"sqlite:///{tmp_path}/c.db")
    prompts = ["<s>3+4=", "<s>1+1=", "<s>9+9="]
    options = [["7", "8"], ["2", "3"], ["18", "17", "1"]]
    first = CachedLLM(local, store)
    got = first.score_batch(prompts, options)
    want = local.score_batch(prompts, options)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w)
    assert first.stats.model_calls == 1  # one batched call for the three prompts
    again = CachedLLM(local, store)
    mixed = again.score_batch([*prompts, "<s>2+2="], [*options, ["4", "5"]])
    assert again.stats.hits == 3 and again.stats.model_calls == 1 and again.stats.misses == 1
    np.testing.assert_allclose(mixed[2], want[2])
    np.testing.assert_allclose(again.continuation_logprobs("<s>1+1=", ["2", "3"]), want[1])
