"""The report's document-attack and RAG section: per ``ranking_attack`` probe the stored attacked
documents with their edits highlighted and their ranks before and after; per ``rag`` probe the
failures attributed to the retriever or the reader, with the stored questions."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from markupsafe import Markup, escape

__all__ = ["RAG_MEDIA_TYPE", "RANKING_ATTACK_MEDIA_TYPE", "ranking_attack_section"]

RANKING_ATTACK_MEDIA_TYPE = "application/vnd.robustlab.ranking-attack+json"
RAG_MEDIA_TYPE = "application/vnd.robustlab.rag+json"

_STYLE = """<style>
.rattack .doc { border: 1px solid var(--line, #ddd); border-radius: 6px; padding: 6px 10px;
  margin: 6px 0; }
.rattack .doc.success { border-left: 4px solid var(--bad, #c0392b); }
.rattack .doc.held { border-left: 4px solid var(--good, #27ae60); }
.rattack .txt { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; }
.rattack .meta { font-size: 12px; color: var(--muted, #666); }
.rattack table { border-collapse: collapse; margin: 6px 0; }
.rattack td, .rattack th { padding: 2px 8px; border-bottom: 1px solid var(--line, #ddd); }
</style>"""


def _load(art: dict[str, Any]) -> dict[str, Any] | None:
    try:
        data = json.loads(art["data"])
    except (TypeError, ValueError, KeyError):
        return None
    return data if isinstance(data, dict) else None


def _highlighted(text: str, edits: Any) -> Markup:
    from robustlab.report.html import highlight

    spans = []
    for e in edits or []:
        if (
            isinstance(e, dict)
            and isinstance(e.get("start"), int)
            and isinstance(e.get("end"), int)
        ):
            spans.append([e["start"], e["end"]])
    marked, problem = highlight(text, spans)
    if problem:
        return (
            marked
            + Markup('<div class="meta">Shown without highlighting: ')
            + escape(problem)
            + Markup("</div>")
        )
    return marked


def _metric(run: dict[str, Any], probe: str, name: str) -> str:
    for m in run.get("metrics", []):
        if m.get("probe_key") == probe and m.get("metric") == name and m.get("value") is not None:
            low = m.get("ci_low", m.get("low"))
            high = m.get("ci_high", m.get("high"))
            ci = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
            return f"{m['value']:.2f}{ci}"
    return "–"


def _label(run: dict[str, Any], probe: str) -> str:
    for p in run.get("probes", []):
        if p.get("key") == probe and p.get("label"):
            return str(p["label"])
    return probe


def _attack_block(run: dict[str, Any], probe: str, items: list[dict[str, Any]]) -> Markup:
    rows = [
        ("success (either direction)", "document_attack_success"),
        ("relevant pushed out of the top k", "pushed_out_of_top_k"),
        ("irrelevant pushed into the top k", "pushed_into_top_k"),
        ("ranks gained by the attacker", "document_rank_change"),
        ("queries per success", "document_queries_per_success"),
        ("similarity to the original", "document_attack_similarity"),
    ]
    out = Markup("<h4>") + escape(_label(run, probe)) + Markup("</h4><table>")
    for label, name in rows:
        out += Markup("<tr><td>%s</td><td>%s</td></tr>") % (label, _metric(run, probe, name))
    out += Markup("</table>")
    items = sorted(
        items,
        key=lambda d: (
            not d.get("success"),
            -abs(int(d.get("rank_after", 0)) - int(d.get("rank_before", 0))),
        ),
    )
    for d in items:
        verdict = "success" if d.get("success") else "held"
        out += Markup('<div class="doc %s"><div class="meta">') % verdict
        out += escape(
            f"{d.get('direction')} · query {d.get('query_id')} “{d.get('query')}” · document "
            f"{d.get('doc_id')} · rank {d.get('rank_before')} → {d.get('rank_after')} · "
            f"{d.get('queries')} queries"
            + (
                f" · similarity {d['similarity']:.3f}"
                if isinstance(d.get("similarity"), float)
                else ""
            )
            + (f" · {d.get('attack')}" if d.get("attack") else "")
        )
        out += Markup(
            '</div><details><summary>attacked document (edits highlighted)</summary><div class="txt">'
        )
        out += _highlighted(str(d.get("adversarial", "")), d.get("edits"))
        out += Markup("</div></details></div>")
    return out


def _rag_block(run: dict[str, Any], probe: str, items: list[dict[str, Any]]) -> Markup:
    rows = [
        ("answer score, clean", "rag_clean_answer_score"),
        ("answer score, perturbed", "rag_answer_score"),
        ("failures (right clean, wrong perturbed)", "rag_failure_rate"),
        ("… lost by the retriever (gold passage left the top k)", "rag_retriever_failures"),
        ("… lost by the reader (gold passage kept, answer wrong)", "rag_reader_failures"),
    ]
    out = Markup("<h4>") + escape(_label(run, probe)) + Markup("</h4><table>")
    for label, name in rows:
        out += Markup("<tr><td>%s</td><td>%s</td></tr>") % (label, _metric(run, probe, name))
    out += Markup("</table>")
    for o in sorted(items, key=lambda o: not o.get("failure")):
        verdict = "success" if o.get("failure") else "held"
        who = o.get("attribution") if o.get("failure") else None
        out += Markup('<div class="doc %s"><div class="meta">') % verdict
        out += escape(
            f"{o.get('id')} · gold {', '.join(map(str, o.get('gold') or []))} · gold rank "
            f"{o.get('gold_rank_clean')} → {o.get('gold_rank_perturbed')}"
            + (f" · failure: {who}" if who else "")
        )
        out += Markup("</div>")
        for tag, value in (
            ("question", o.get("question")),
            (
                "perturbed question",
                o.get("perturbed_question")
                if o.get("perturbed_question") != o.get("question")
                else None,
            ),
            ("gold answers", " | ".join(map(str, o.get("answers") or []))),
            ("clean answer", f"{o.get('clean_answer')} ({o.get('clean_score', 0):.2f})"),
            (
                "perturbed answer",
                f"{o.get('perturbed_answer')} ({o.get('perturbed_score', 0):.2f})",
            ),
        ):
            if value:
                out += Markup('<div class="txt"><span class="meta">%s:</span> %s</div>') % (
                    tag,
                    value,
                )
        out += Markup("</div>")
    return out


def ranking_attack_section(run: dict[str, Any]) -> Markup:
    """The section's HTML for one stored run (empty when it has no ranking attack or RAG probe)."""
    attacks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rag: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for art in run.get("artifacts", []):
        kind = art.get("media_type")
        if kind not in (RANKING_ATTACK_MEDIA_TYPE, RAG_MEDIA_TYPE):
            continue
        data = _load(art)
        if data is None:
            continue
        (attacks if kind == RANKING_ATTACK_MEDIA_TYPE else rag)[
            str(art.get("probe_key", ""))
        ].append(data)
    if not attacks and not rag:
        return Markup("")
    out = Markup(_STYLE) + Markup('<div class="rattack" id="run-%s-ranking-attacks">') % run.get(
        "id", ""
    )
    if attacks:
        out += Markup(
            '<h3>Document attacks</h3><p class="ci">Black-box attacks '
            "through the ranker's scores within a query budget per document. Red edge: the "
            "document crossed the top-k border (a relevant one demoted out, an irrelevant one "
            "promoted in); highlighted: the words the attack changed or inserted.</p>"
        )
        for probe, items in attacks.items():
            out += _attack_block(run, probe, items)
    if rag:
        out += Markup(
            '<h3>RAG failures</h3><p class="ci">Each failure (answered right '
            "clean, wrong under the perturbation) is the retriever's when every gold passage "
            "left the top k, the reader's when one stayed.</p>"
        )
        for probe, items in rag.items():
            out += _rag_block(run, probe, items)
    return out + Markup("</div>")
