"""FunctionLLM and HFCausalLM: completions, log-probabilities, context length, errors."""

from __future__ import annotations

import numpy as np
import pytest

from robustlab.errors import ConfigError, ModelError
from robustlab.llm import Completion, Decoding
from robustlab.llm.models import FunctionLLM, HFCausalLM, cut_at_stop

pytest.importorskip("transformers")


def test_function_llm_accepts_str_pairs_and_completions():
    llm = FunctionLLM(lambda ps: [p[::-1] for p in ps], name="rev")
    out = llm.generate(["ab", "cd"], Decoding())
    assert [c[0].text for c in out] == ["ba", "dc"]
    pairs = FunctionLLM(lambda ps: [(p, -1.5) for p in ps])
    assert pairs.generate(["x"], Decoding())[0][0] == Completion("x", -1.5)
    with_decoding = FunctionLLM(lambda ps, d: [str(d.max_new_tokens)] * len(ps))
    assert with_decoding.generate(["x"], Decoding(max_new_tokens=7))[0][0].text == "7"


def test_function_llm_stop_strings_and_bad_outputs():
    llm = FunctionLLM(lambda ps: ["yes\nno"] * len(ps))
    assert llm.generate(["q"], Decoding(stop=("\n",)))[0][0].text == "yes"
    with pytest.raises(ModelError, match="2 completions for 1 prompts"):
        FunctionLLM(lambda ps: ["a", "b"]).generate(["q"], Decoding())
    with pytest.raises(ModelError, match="return a str"):
        FunctionLLM(lambda ps: [3]).generate(["q"], Decoding())
    with pytest.raises(ModelError, match="context length"):
        FunctionLLM(lambda ps: ps, context_length=3).generate(["long prompt"], Decoding())
    with pytest.raises(ConfigError, match="temperature"):
        llm.generate(["q"], Decoding(num_samples=2))
    with pytest.raises(ModelError, match="no log-probabilities"):
        llm.continuation_logprobs("q", ["A"])
    assert cut_at_stop("abc", ("x",)) == ("abc", False)


def test_function_llm_fingerprint_follows_version_and_state():
    assert (
        FunctionLLM(str.upper, version="1").fingerprint()
        != FunctionLLM(str.upper, version="2").fingerprint()
    )
    scale = [1]

    def fn(ps):
        return [p * scale[0] for p in ps]

    before = FunctionLLM(fn).fingerprint()
    scale[0] = 2
    assert FunctionLLM(fn).fingerprint() != before


@pytest.fixture(scope="module")
def random_lm():
    """An untrained 2-layer GPT-2 on the tiny model's character vocabulary (fast to build)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from robustlab.llm.tiny import build_tokenizer

    tok = build_tokenizer()
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2,
        eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id,
    )  # fmt: skip
    return GPT2LMHeadModel(config), tok


def test_hf_roundtrip_generate_and_logprobs_agree(random_lm, tmp_path):
    model, tok = random_lm
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    lm = HFCausalLM.from_directory(tmp_path, batch_size=2)
    assert lm.context_length == 64 and "logprobs" in lm.capabilities
    prompts = ["Question: 1 + 1 = ?", "Hi", "Answer:"]
    out = lm.generate(prompts, Decoding(max_new_tokens=4))
    again = lm.generate(prompts, Decoding(max_new_tokens=4))
    assert [c[0].text for c in out] == [c[0].text for c in again]  # greedy is deterministic
    # batched (left-padded) generation equals one prompt at a time
    assert [lm.generate([p], Decoding(max_new_tokens=4))[0][0].text for p in prompts] == [
        c[0].text for c in out
    ]
    for p, (c,) in zip(prompts, out):
        if c.finish_reason == "length" and c.text:
            # the generation's log-probability is the scored continuation's
            assert lm.continuation_logprobs(p, [c.text])[0] == pytest.approx(c.logprob, abs=1e-4)
    scores = lm.continuation_logprobs("Answer:", [" A", " B", " C"])
    assert scores.shape == (3,) and (scores < 0).all()
    # batched scoring equals scoring one prompt at a time
    many = lm.score_batch(["Answer:", "Q"], [[" A", " B"], ["x"]])
    assert np.allclose(many[0], scores[:2], atol=1e-5)
    assert lm.fingerprint() == HFCausalLM.from_directory(tmp_path).fingerprint()


def test_hf_sampling_is_seeded(random_lm):
    lm = HFCausalLM(*random_lm)
    d = Decoding(max_new_tokens=6, temperature=1.0, num_samples=3, seed=4)
    a, b = lm.generate(["Q"], d), lm.generate(["Q"], d)
    assert [c.text for c in a[0]] == [c.text for c in b[0]] and len(a[0]) == 3


def test_hf_context_length_error_and_left_truncation(random_lm):
    lm = HFCausalLM(*random_lm)
    long = "x" * 70
    with pytest.raises(ModelError, match="exceeds the context length"):
        lm.generate([long], Decoding(max_new_tokens=4))
    with pytest.raises(ModelError, match="truncation='left'"):
        lm.continuation_logprobs(long, [" A"])
    cut = HFCausalLM(*random_lm, truncation="left")
    (c,) = cut.generate([long], Decoding(max_new_tokens=4))[0]
    assert c.finish_reason == "truncated_prompt"
    assert cut.continuation_logprobs(long, [" A"]).shape == (1,)


def test_hf_directory_errors(tmp_path):
    with pytest.raises(ModelError, match=r"config\.json"):
        HFCausalLM.from_directory(tmp_path)
