"""End to end: a LanguageModel through robustlab.scan -> store -> report, and the CLI specs."""

from __future__ import annotations

import re

import numpy as np
import pytest

from robustlab import scan
from robustlab.llm.data import lookup_dataset
from robustlab.llm.models import FunctionLLM
from robustlab.llm.tiny import CATEGORIES
from robustlab.report import write_report
from robustlab.store import open_store

PRIOR = np.array([0.55, 0.15, 0.15, 0.15])
SUITE = {
    "name": "llm-mini",
    "probes": [
        "clean",
        {"probe": "llm_prompts", "family": "option_order", "mode": "cyclic"},
        {"probe": "llm_prompts", "family": "format", "variants": "digit_labels,inline_options"},
    ],
}


def _options(prompt: str) -> list[tuple[str, str]]:
    block = prompt.split("\n\n")[-1]
    return re.findall(r"\(?([A-Za-z0-9]{1,4})[\)\.] (\w+)", block)


def reader(prompts: list[str]) -> list[str]:
    """Answers the fruit's label when the options are one per line, else the first label."""
    out = []
    for p in prompts:
        opts = _options(p)
        fruit = [lab for lab, w in opts if w in CATEGORIES["fruit"]]
        one_per_line = p.split("\n\n")[-1].count("\n") > len(opts)
        out.append(" " + (fruit[0] if fruit and one_per_line else opts[0][0]))
    return out


def biased_logprobs(prompt: str, continuations: list[str]) -> np.ndarray:
    """log(prior(position) * content): content 0.4 for the fruit, 0.2 for the others."""
    words = [w for _, w in _options(prompt)]
    content = np.array([0.4 if w in CATEGORIES["fruit"] else 0.2 for w in words])
    return np.log(PRIOR[: len(words)] * content)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("llm")
    llm = FunctionLLM(reader, logprobs=biased_logprobs, name="biased-reader", version="1")
    db = open_store(root / "runs.db")
    data = lookup_dataset(40, seed=5)
    result = scan(llm, data, SUITE, store=db, progress=False)
    return db, result, root, llm, data


def test_scan_stores_both_answers_and_the_paired_metrics(scanned):
    db, result, *_ = scanned
    assert result.status == "complete" and not result.failures
    by = {(m["probe_key"], m["metric"]): m for m in result.metrics}
    cyclic = next(k for k, _ in by if k.startswith("llm_prompts(family=option_order"))
    # the logprob answers follow the prior wherever the fruit is not at A
    clean = by[("clean", "mc_accuracy")]["value"]
    pride = by[(cyclic, "pride_accuracy")]
    assert pride["value"] == 1.0 > clean
    assert np.allclose(pride["details"]["prior"], PRIOR, atol=1e-6)
    assert by[(cyclic, "rstd")]["value"] > 0.3
    # the generated letters read the fruit: they disagree with the biased log-probabilities
    assert by[("clean", "generate_logprob_disagreement")]["value"] > 0.3
    records = db.load_records(result.run_id, cyclic)
    assert set(records.variant) == {"clean", "cyclic=1", "cyclic=2", "cyclic=3"}
    assert records.correct_generate.all()  # the reader is right under every shift
    fmt = next(k for k, _ in by if k.startswith("llm_prompts(family=format"))
    recs = db.load_records(result.run_id, fmt)
    gen = {v: recs.correct_generate[recs.variant == v].mean() for v in set(recs.variant)}
    assert gen["format=inline_options"] < gen["format=digit_labels"] == 1.0  # needs lines
    worst = by[(fmt, "worst_variant_accuracy")]
    assert worst["value"] == min(worst["details"]["per_variant"].values())


def test_resumed_scan_redoes_nothing_and_the_report_has_the_llm_section(scanned):
    db, result, root, _llm, data = scanned
    calls = []

    def counting(prompts):
        calls.append(len(prompts))
        return reader(prompts)

    again = scan(
        FunctionLLM(counting, logprobs=biased_logprobs, name="biased-reader", version="1"),
        data,
        SUITE,
        store=db,
        progress=False,
    )
    # every unit came from the store: only preflight's one pass over the sample ran
    assert again.run_id == result.run_id and sum(calls) == len(data)
    html, _ = write_report(db, [result.run_id], root / "report")
    text = html.read_text()
    assert 'id="llm"' in text and "Option-position bias" in text
    assert "format=inline_options" in text and "clean prompt" in text


def test_cli_specs_load_llm_models_and_data(tmp_path):
    from robustlab.llm.loading import llm_dataset, llm_model

    assert llm_model("models.py:make") is None and llm_dataset("digits") is None
    assert llm_dataset("mc:lookup").task == "multiple_choice"
    pytest.importorskip("transformers")
    from robustlab.errors import ModelError

    with pytest.raises(ModelError, match="config"):
        llm_model(f"hf:{tmp_path}")
