"""The tiny trained causal LM: its accuracy and its option-position bias, measured (not assumed).

The model is trained once (about 1.5 minutes on one loaded core) into the user cache directory
(``$ROBUSTLAB_CACHE``) and reused by later runs; these tests are marked slow for the first run.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")

from robustlab.llm import Decoding
from robustlab.llm.adapter import LLMModel
from robustlab.llm.data import lookup_dataset
from robustlab.llm.models import HFCausalLM
from robustlab.llm.tiny import TinyConfig, build_tokenizer, tiny_model
from robustlab.metrics import get_metric
from robustlab.probes.base import make_probe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def tiny():
    """The tiny model's directory (trained on first use, then cached)."""
    return tiny_model()


@pytest.fixture(scope="session")
def lm(tiny):
    return HFCausalLM.from_directory(tiny, name="tiny")


def _run(probe_spec, lm, n=160):
    data = lookup_dataset(n, seed=777)
    batch = data.batch(np.arange(len(data)))
    return make_probe(probe_spec).run(LLMModel(lm), batch, seed=0)


def test_the_saved_model_loads_and_is_what_was_trained(tiny, lm):
    info = (tiny / "robustlab_tiny.json").read_text()
    assert '"training_seconds"' in info and lm.context_length == TinyConfig().context_length
    assert lm.tokenizer.get_vocab() == build_tokenizer().get_vocab()
    assert lm.describe()["parameters"] > 10_000


def test_accuracy_is_well_above_chance_by_letter_and_by_logprob(lm):
    records = _run("clean", lm)
    by_logprob = float(np.nanmean(records.correct_logprob.astype(float)))
    by_letter = float(records.correct_generate.mean())
    assert by_logprob > 0.6 and by_letter > 0.6  # chance: 0.25
    # the generated letter is mostly the most probable label
    assert get_metric("generate_logprob_disagreement").compute(records).value < 0.2


def test_option_position_bias_is_measured(lm):
    records = _run({"probe": "llm_prompts", "family": "option_order", "mode": "cyclic"}, lm)
    rstd = get_metric("rstd").compute(records)
    pride = get_metric("pride_accuracy").compute(records)
    observed = pride.details["observed_accuracy"]
    assert 0.0 < rstd.value < 0.5 and rstd.ci_low <= rstd.value <= rstd.ci_high
    # the prior PriDe estimates is a distribution; debiasing does not make it much worse
    assert np.isclose(sum(pride.details["prior"]), 1.0)
    assert pride.value >= observed - 0.1
    print(
        f"tiny model: RStd {rstd.value:.3f} {rstd.details['recall_by_position']}, answers by "
        f"position {rstd.details['predicted_by_position']}, prior {pride.details['prior']}, "
        f"accuracy {observed:.3f} -> PriDe {pride.value:.3f}"
    )


def test_unseen_formats_hurt_and_generation_is_deterministic(lm):
    records = _run({"probe": "llm_prompts", "family": "format", "variants": "digit_labels"}, lm)
    assert get_metric("pdr").compute(records).value > 0.2  # never trained on 1/2/3/4 labels
    prompts = [q.prompt().text for q in lookup_dataset(4, seed=3).queries(range(4))]
    d = Decoding(max_new_tokens=3, stop=("\n",))
    assert lm.generate(prompts, d) == lm.generate(prompts, d)
