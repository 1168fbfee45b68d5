"""The report's LLM section: per prompt family the accuracy of every variant (worst first), the
prompts whose answer a variant broke with both answers side by side, and the option-position bias
chart (recall and share of answers per position, from the ``rstd`` details)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from markupsafe import Markup

__all__ = ["LLM_MEDIA_TYPE", "llm_section", "position_chart"]

LLM_MEDIA_TYPE = "application/vnd.robustlab.llm-prompt+json"
LABELS = "ABCDEFGHIJ"


def position_chart(recall: list[float], predicted: list[float], title: str) -> str:
    """Bars per option position: recall of answers whose right option is there, and the share
    of all answers that pick it (an unbiased model: equal bars)."""
    k = len(recall)
    width, height, pad = 60 * k + 80, 190, 30
    bar = 18
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{pad}" y="14" font-size="12">{escape(title)}</text>',
    ]
    base = height - pad
    scale = base - 30
    for d in range(k):
        x = pad + 20 + d * 60
        for j, (value, colour, name) in enumerate(
            ((recall[d], "#4477aa", "recall"), (predicted[d], "#ee6677", "answers"))
        ):
            v = 0.0 if value is None or value != value else float(value)
            h = max(0.0, min(1.0, v)) * scale
            parts.append(
                f'<rect x="{x + j * bar}" y="{base - h:.1f}" width="{bar - 2}" height="{h:.1f}" '
                f'fill="{colour}"><title>{name} {LABELS[d]}: {v:.2f}</title></rect>'
            )
        parts.append(
            f'<text x="{x + bar - 4}" y="{base + 14}" font-size="11">{LABELS[d] if d < 10 else d}</text>'
        )
    parts.append(
        f'<line x1="{pad}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#444"/>'
        f'<text x="{width - 150}" y="28" font-size="10" fill="#4477aa">recall per position</text>'
        f'<text x="{width - 150}" y="40" font-size="10" fill="#ee6677">share of answers</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _examples(run: dict[str, Any], per_probe: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for art in run.get("artifacts", []):
        if art.get("media_type") != LLM_MEDIA_TYPE:
            continue
        try:
            ex = json.loads(art["data"])
            opts = ex["options"]
            row = {
                "variant": ex["variant"],
                "clean_prompt": ex["clean_prompt"],
                "prompt": ex["prompt"],
                "clean_answer": ex["clean_answer"],
                "answer": ex["answer"],
                "right": opts[ex["right"]],
                "clean_choice": opts[ex["clean_choice"]] if ex["clean_choice"] >= 0 else "none",
                "choice": opts[ex["choice"]] if ex["choice"] >= 0 else "none",
            }
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            row = {"problem": f"stored prompt example {art.get('name')!r} is malformed: {exc}"}
        rows = out.setdefault(art["probe_key"], [])
        if len(rows) < per_probe:
            rows.append(row)
    return out


def llm_section(runs: list[dict[str, Any]], per_probe: int = 4) -> list[dict[str, Any]]:
    """One entry per run with LLM probes: per probe its variants' accuracies (worst first), the
    headline metrics, its broken prompts side by side and, where measured, the position chart."""
    out = []
    for run in runs:
        probes = {p["key"]: p for p in run.get("probes", [])}
        metrics: dict[str, dict[str, dict[str, Any]]] = {}
        for m in run.get("metrics", []):
            metrics.setdefault(m["probe_key"], {})[m["metric"]] = m
        examples = _examples(run, per_probe)
        families = []
        for key, ms in metrics.items():
            if "rstd" not in ms and "pdr" not in ms:
                continue
            per_variant = (ms.get("variant_range", {}).get("details") or {}).get("per_variant", {})
            rstd = ms.get("rstd", {})
            details = rstd.get("details") or {}
            chart = None
            if details.get("recall_by_position"):
                chart = Markup(
                    position_chart(
                        details["recall_by_position"],
                        details.get("predicted_by_position", []),
                        f"Option-position bias: {probes.get(key, {}).get('label', key)}",
                    )
                )
            families.append(
                {
                    "key": key,
                    "label": ms[next(iter(ms))].get("label", key),
                    "variants": sorted(per_variant.items(), key=lambda kv: kv[1]),
                    "metrics": [
                        ms[name]
                        for name in (
                            "clean_mc_accuracy",
                            "mc_accuracy",
                            "pdr",
                            "worst_variant_accuracy",
                            "variant_range",
                            "variant_std",
                            "answer_consistency",
                            "generate_logprob_disagreement",
                            "rstd",
                            "pride_accuracy",
                        )
                        if name in ms
                    ],
                    "examples": examples.get(key, []),
                    "chart": chart,
                }
            )
        if families:
            out.append({"run": run, "name": run["model"]["name"], "families": families})
    if out:
        out[0]["rank_stability"] = format_rank_stability(out)
    return out


def format_rank_stability(entries: list[dict[str, Any]]) -> float | None:
    """Mean Kendall tau over pairs of formats of the runs' accuracy orders (3+ runs with the
    format family; the bootstrap interval is :func:`robustlab.llm.metrics.rank_stability`'s)."""
    from itertools import combinations

    from scipy.stats import kendalltau

    tables = []
    for e in entries:
        for f in e["families"]:
            if f["key"].startswith("llm_prompts(family=format"):
                tables.append(dict(f["variants"]))
                break
    if len(tables) < 3:
        return None
    variants = sorted(set.intersection(*(set(t) for t in tables)))
    taus = [
        kendalltau([t[a] for t in tables], [t[b] for t in tables]).statistic
        for a, b in combinations(variants, 2)
    ]
    taus = [float(t) for t in taus if t == t]
    return sum(taus) / len(taus) if taus else None
