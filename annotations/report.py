"""The HTML evaluation report: one self-contained file, no network needed.

Scores tables, per-label F1 bar charts (inline SVG), error analysis, and per
document the gold and the prediction rendered with spaCy's displaCy
(``style="ent", manual=True``), each span marked with its verdict (correct,
wrong label, wrong boundary, spurious, missed).  Everything taken from the data
(texts, labels, titles, extractor names) is HTML-escaped, and its control and bidi
characters are shown as visible placeholders of the same length
(``annotations.terminal.visible``), so a right-to-left override in a name cannot
reorder the page and article offsets still line up.  Every figure reads as in the
terminal: the same sentences, p-values and intervals (``annotations.significance``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .evaluation import (
    RELATION_MODES,
    EvalDocument,
    Evaluation,
    ExtractorResult,
    SpanGroup,
    compare_spans,
    interval_text,
    report_order,
)
from .layer import outermost
from .names import css_colour
from .output import write_atomically
from .significance import format_p
from .terminal import visible

VERDICT_TEXT = {
    "correct": "correct",
    "label": "wrong label",
    "boundary": "wrong boundary",
    "spurious": "spurious",
    "missed": "missed",
}

# displaCy's entity template with a verdict class and marker added (``params`` per entity).
ENTITY_TEMPLATE = """<mark class="entity verdict-{verdict}" title="{tip}" \
style="background: {bg}; padding: 0.3em 0.5em; margin: 0 0.2em; line-height: 1; \
border-radius: 0.35em;">{text}<span class="ent-label">{label}{kb_link}</span>\
<span class="ent-verdict">{marker}</span></mark>"""

STYLE = """
.warning { background: #fff4d6; border-left: 4px solid #e6a700; padding: 0.4em 0.8em; }
.significant { font-weight: bold; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; } td.name, th.name { text-align: left; }
td.best { font-weight: bold; background: #e7f6e7; }
.muted { color: #777; } .num { font-variant-numeric: tabular-nums; }
.ent-label { font-size: 0.7em; font-weight: bold; margin-left: 0.4rem; vertical-align: middle; }
.ent-verdict { font-size: 0.7em; font-weight: bold; margin-left: 0.3rem; }
mark.verdict-correct { outline: none; }
mark.verdict-label { outline: 3px dashed #e67e00; }
mark.verdict-boundary { outline: 3px dotted #7b2fbf; }
mark.verdict-spurious { outline: 3px solid #d40000; }
mark.verdict-missed { outline: 3px solid #d40000; opacity: 0.85; }
.legend span { display: inline-block; margin: 0.2em 0.8em 0.2em 0; padding: 0.1em 0.5em;
               background: #eee; border-radius: 0.3em; }
details { margin: 0.6em 0; border: 1px solid #e3e3e3; border-radius: 0.4em; padding: 0.4em 0.8em; }
summary { cursor: pointer; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.side h4 { margin: 0.3em 0; }
.entities { line-height: 2.6; white-space: normal; }
svg text { font-family: inherit; font-size: 12px; }
"""


def _e(value: object) -> str:
    """Data as HTML text or attribute: control and bidi characters made visible, then
    escaped."""
    return html.escape(visible(str(value)), quote=True)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _comparison(evaluation: Evaluation, schemes: Sequence[str]) -> str:
    names = list(evaluation.results)
    micro = {n: {s: evaluation.results[n].entities.micro(s) for s in schemes} for n in names}
    keys = ("precision", "recall", "f1")
    head = "".join(f"<th colspan=3>{_e(s)}</th>" for s in schemes)
    sub = "".join("<th>P</th><th>R</th><th>F1</th>" for _ in schemes)
    rows = []
    for n in names:
        cells = []
        for s in schemes:
            for k in keys:
                value = micro[n][s][k]
                column = [micro[m][s][k] for m in names]
                best = len(set(column)) > 1 and value == max(column)
                cells.append(f'<td class="num{" best" if best else ""}">{_pct(value)}</td>')
        rows.append(f'<tr><td class="name">{_e(n)}</td>{"".join(cells)}</tr>')
    return (f'<table><tr><th class="name" rowspan=2>extractor</th>{head}</tr><tr>{sub}</tr>'
            f'{"".join(rows)}</table>')


def _intervals(evaluation: Evaluation, schemes: Sequence[str]) -> str:
    if evaluation.bootstrap <= 0:
        return '<p class="muted">No bootstrap intervals (--bootstrap 0).</p>'
    rows = []
    for name, result in evaluation.results.items():
        cells = []
        for s in schemes:
            ci = result.interval(s)
            shown = f"[{_pct(ci[0])}, {_pct(ci[1])}]" if ci else _e(interval_text(None))
            cells.append(f'<td class="num">{_pct(result.entities.micro(s)["f1"])} {shown}</td>')
        rows.append(f'<tr><td class="name">{_e(name)}</td>{"".join(cells)}</tr>')
    head = "".join(f"<th>{_e(s)}</th>" for s in schemes)
    return (f"<p>Micro F1 (%) with {evaluation.confidence:.0%} percentile interval from "
            f"{evaluation.bootstrap} bootstrap resamples of the documents (seed "
            f"{evaluation.seed}).</p><table><tr><th class=name>extractor</th>{head}</tr>"
            f'{"".join(rows)}</table>')


def _gold_provenance(evaluation: Evaluation) -> str:
    """Per extractor, the gold spans that are its own unchanged suggestions, and warnings."""
    rows, warnings = [], []
    for name, result in evaluation.results.items():
        seeded = result.seeded
        if seeded is None or not seeded.known:
            rows.append(f'<tr><td class="name">{_e(name)}</td><td colspan=5>unknown</td></tr>')
            continue
        rows.append(f'<tr><td class="name">{_e(name)}</td><td class="num">{seeded.gold_spans}'
                    f'</td><td class="num">{seeded.unreviewed}</td><td class="num">'
                    f'{seeded.confirmed}</td><td class="num">{seeded.changed}</td>'
                    f'<td class="num{" best" if seeded.inflated else ""}">'
                    f"{_pct(seeded.share)}</td></tr>")
        warning = seeded.warning(name)
        if warning:
            warnings.append(f'<p class="warning">Warning: {_e(warning)}</p>')
    return ("<h3>Gold the extractors suggested</h3>" + "".join(warnings)
            + "<table><tr><th class=name>extractor</th><th>gold spans</th><th>unreviewed</th>"
            "<th>confirmed as is</th><th>changed</th><th>unchanged %</th></tr>"
            f'{"".join(rows)}</table>')


def _comparisons(evaluation: Evaluation) -> str:
    """Each pair of extractors: the plain sentences and the per-label ΔF1 table, worded
    as in the terminal (ΔF1 = F1(B) − F1(A) for the same A and B)."""
    if not evaluation.comparisons:
        return ""
    parts = ["<h3>Is one extractor better? Paired comparisons</h3>"]
    for c in evaluation.comparisons:
        warning = c.warning()
        if warning:
            parts.append(f'<p class="warning">Warning: {_e(warning)}</p>')
        parts.append(f"<p>{_e(c.method())}; per label, p is Holm-adjusted over the labels of "
                     "each scheme.</p><ul>")
        for stat in [*c.entities.values(), *c.relations.values()]:
            css = ' class="significant"' if stat.significant(c.alpha) else ""
            parts.append(f"<li{css}>{_e(c.sentence(stat))}</li>")
        parts.append("</ul>")
        rows = []
        labels = sorted({label for by in c.by_label.values() for label in by})
        for label in labels:
            for scheme, by in c.by_label.items():
                stat = by[label]
                ci = (stat.interval(c.confidence).split(" CI ", 1)[1] if stat.ci
                      else stat.interval(c.confidence))
                if stat.testable(c.alpha):
                    p_cells = (f'<td class="num">{_e(format_p(stat.p_value))}</td>'
                               f'<td class="num">{_e(format_p(stat.p))}</td>')
                else:
                    p_cells = '<td class="num">not testable</td><td class="num">—</td>'
                css = " best" if stat.significant(c.alpha) else ""
                rows.append(
                    f'<tr><td class="name">{_e(label)}</td><td class="name">{_e(scheme)}</td>'
                    f'<td class="num">{_pct(stat.f1_a)}</td><td class="num">{_pct(stat.f1_b)}'
                    f'</td><td class="num{css}">{100 * stat.delta:+.1f}</td>'
                    f'<td class="num">{_e(ci)}</td>{p_cells}</tr>')
        if rows:
            parts.append(
                f"<details><summary>Per label: ΔF1 = F1({_e(c.b)}) − F1({_e(c.a)})</summary>"
                f"<table><tr><th class=name>label</th><th class=name>scheme</th>"
                f"<th>F1 {_e(c.a)}</th><th>F1 {_e(c.b)}</th><th>Δ points</th><th>interval</th>"
                f'<th>p</th><th>p Holm</th></tr>{"".join(rows)}</table></details>')
    return "".join(parts)


def _grounding(evaluation: Evaluation) -> str:
    """Per extractor with spans given as strings: how many were found in the text."""
    rows = []
    for name, result in evaluation.results.items():
        g = result.grounding
        if not g:
            continue
        examples = ", ".join(f"{e.get('text', '')!r} {e.get('label', '')}"
                             for e in g.get("examples", [])[:5])
        rows.append(f'<tr><td class="name">{_e(name)}</td><td class="num">{g["spans"]}</td>'
                    f'<td class="num">{g["exact"]}</td><td class="num">{g["case"]}</td>'
                    f'<td class="num">{g["fuzzy"]}</td><td class="num">{g["ungrounded"]}</td>'
                    f'<td class="num">{_pct(g["rate"])}</td>'
                    f'<td class="num">{result.ungrounded_spans}</td>'
                    f'<td class="name">{_e(examples)}</td></tr>')
    if not rows:
        return ""
    return ("<h3>Grounding of spans given as strings</h3><p>Strings an extractor returned "
            "without offsets, placed on the text (exact, ignoring case and accents, fuzzy); "
            f"{_e(evaluation.ungrounded_sentence)}.</p><table><tr>"
            "<th class=name>extractor</th><th>strings</th><th>exact</th><th>case</th>"
            "<th>fuzzy</th><th>ungrounded</th><th>grounded %</th><th>counted spurious</th>"
            f'<th class=name>ungrounded examples</th></tr>{"".join(rows)}</table>')


def _edge_whitespace(evaluation: Evaluation) -> str:
    """The errors that are edge whitespace only, per extractor (as the terminal and
    ``--json`` give them)."""
    rows = "".join(f'<tr><td class="name">{_e(name)}</td><td class="num">{count}</td></tr>'
                   for name, count in evaluation.edge_whitespace_lines())
    table = ("" if evaluation.strip_predictions else
             "<table><tr><th class=name>extractor</th><th>errors that are edge whitespace "
             f"only</th></tr>{rows}</table>")
    return (f'<p class="rule">Edge whitespace: {_e(evaluation.edge_whitespace_sentence)}.</p>'
            + table)


def _relations(evaluation: Evaluation) -> str:
    if not any(r.relations.any for r in evaluation.results.values()):
        return '<p class="muted">No relations in the gold set or the predictions.</p>'
    head = "".join(f"<th colspan=3>{m}</th>" for m in RELATION_MODES)
    sub = "".join("<th>P</th><th>R</th><th>F1</th>" for _ in RELATION_MODES)
    rows = []
    for name, result in evaluation.results.items():
        cells = "".join(f'<td class="num">{_pct(result.relations.micro(m)[k])}</td>'
                        for m in RELATION_MODES for k in ("precision", "recall", "f1"))
        rows.append(f'<tr><td class="name">{_e(name)}</td>{cells}</tr>')
    return (f'<table><tr><th class=name rowspan=2>extractor</th>{head}</tr><tr>{sub}</tr>'
            f'{"".join(rows)}</table>')


EXTRACTOR_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
                     "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


def bar_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    """Horizontal grouped bars as inline SVG: one group per label, one bar per series."""
    bar, gap, left, width = 14, 10, 150, 420
    n_series = max(len(series), 1)
    group = n_series * bar + gap
    height = 30 + group * len(labels) + 20 * ((n_series + 2) // 3)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 70}" '
             f'height="{height}" role="img" aria-label="{_e(title)}">',
             f'<text x="0" y="14" font-weight="bold">{_e(title)}</text>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * width
        parts.append(f'<line x1="{x}" y1="22" x2="{x}" y2="{22 + group * len(labels)}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{x - 8}" y="{32 + group * len(labels)}" fill="#777">'
                     f'{int(tick * 100)}</text>')
    for i, label in enumerate(labels):
        y0 = 24 + i * group
        parts.append(f'<text x="{left - 6}" y="{y0 + n_series * bar / 2 + 4}" '
                     f'text-anchor="end">{_e(label)}</text>')
        for j, (name, values) in enumerate(series.items()):
            value = values[i]
            colour = EXTRACTOR_COLOURS[j % len(EXTRACTOR_COLOURS)]
            y = y0 + j * bar
            parts.append(f'<rect x="{left}" y="{y}" width="{value * width:.1f}" '
                         f'height="{bar - 2}" fill="{colour}"><title>{_e(name)} {_e(label)}: '
                         f'{_pct(value)}</title></rect>')
            parts.append(f'<text x="{left + value * width + 4:.1f}" y="{y + bar - 4}">'
                         f'{_pct(value)}</text>')
    y = 44 + group * len(labels)
    for j, name in enumerate(series):
        x = (j % 3) * 200
        row_y = y + (j // 3) * 18
        colour = EXTRACTOR_COLOURS[j % len(EXTRACTOR_COLOURS)]
        parts.append(f'<rect x="{x}" y="{row_y - 10}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{row_y}">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _label_charts(evaluation: Evaluation, schemes: Sequence[str]) -> str:
    labels = sorted({label for r in evaluation.results.values()
                     for label in r.entities.label_counts})
    if not labels:
        return '<p class="muted">No entities in the gold set or the predictions.</p>'
    charts = []
    for scheme in schemes:
        series = {}
        for name, result in evaluation.results.items():
            by_label = result.entities.by_label(scheme)
            series[name] = [by_label[label]["f1"] if label in by_label else 0.0
                            for label in labels]
        charts.append(bar_chart(f"F1 (%) per label, {scheme}", labels, series))
    return "".join(f"<div>{chart}</div>" for chart in charts)


_COUNT_KEYS = ("possible", "correct", "incorrect", "partial", "missed", "spurious")


def _score_row(name_html: str, scores: Mapping[str, float]) -> str:
    """A table row: the name, the six counts, then P, R and F1."""
    counts = "".join(f'<td class="num">{scores[k]}</td>' for k in _COUNT_KEYS)
    return (f'<tr><td class="name">{name_html}</td>{counts}'
            f'<td class="num">{_pct(scores["precision"])}</td>'
            f'<td class="num">{_pct(scores["recall"])}</td>'
            f'<td class="num">{_pct(scores["f1"])}</td></tr>')


def _label_tables(result: ExtractorResult, schemes: Sequence[str]) -> str:
    out = []
    for scheme in schemes:
        rows = [_score_row(_e(label), e)
                for label, e in result.entities.by_label(scheme).items()]
        macro = result.entities.macro(scheme)
        rows.append(f'<tr><td class="name"><i>macro</i></td><td colspan=6></td>'
                    f'<td class="num">{_pct(macro.precision)}</td>'
                    f'<td class="num">{_pct(macro.recall)}</td>'
                    f'<td class="num">{_pct(macro.f1)}</td></tr>')
        rows.append(_score_row("<i>micro</i>", result.entities.micro(scheme)))
        out.append(
            f"<h4>{_e(scheme)}</h4><table><tr><th class=name>label</th><th>gold</th>"
            "<th>COR</th><th>INC</th><th>PAR</th><th>MIS</th><th>SPU</th><th>P</th><th>R</th>"
            f'<th>F1</th></tr>{"".join(rows)}</table>')
    return "".join(out)


def _confusion(result: ExtractorResult) -> str:
    gold_labels = sorted({g for g, _ in result.confusion if g is not None})
    pred_labels = sorted({p for _, p in result.confusion if p is not None})
    head = "".join(f"<th>{_e(p)}</th>" for p in pred_labels) + "<th>—</th>"
    rows = []
    for gold in [*gold_labels, None]:
        cells = "".join(
            f'<td class="num">{result.confusion.get((gold, pred), 0) or ""}</td>'
            for pred in [*pred_labels, None])
        rows.append(f'<tr><td class="name">{_e(gold) if gold else "—"}</td>{cells}</tr>')
    return (f"<table><tr><th class=name>gold \\ predicted</th>{head}</tr>"
            f'{"".join(rows)}</table>')


def _frequent(result: ExtractorResult, top: int) -> str:
    out = []
    for title, counter in (("Most frequent missed (strict MIS)", result.missed),
                           ("Most frequent spurious (strict SPU)", result.spurious)):
        rows = "".join(f'<tr><td class="num">{n}</td><td class="name">{_e(label)}</td>'
                       f'<td class="name">{_e(text)}</td></tr>'
                       for (text, label), n in counter.most_common(top))
        out.append(f"<div><h4>{title}</h4><table><tr><th>count</th><th class=name>label</th>"
                   f"<th class=name>text</th></tr>{rows}</table></div>")
    return f'<div class="side">{"".join(out)}</div>'


def _render_layer(text: str, spans: Sequence[tuple[int, int, str, str]],
                  colours: Mapping[str, str]) -> str:
    """The text with its spans marked.  displaCy's entity view holds flat layers only:
    of an overlapping layer it marks the outermost spans and lists the others below."""
    from spacy import displacy

    spans, nested = outermost(spans)
    ents = [{"start": s, "end": e, "label": _e(label),
             "params": {"verdict": verdict, "tip": _e(VERDICT_TEXT[verdict]),
                        "marker": "" if verdict == "correct" else "✗ " + VERDICT_TEXT[verdict]}}
            for s, e, label, verdict in spans]
    # Colours reach the style attribute only as #rrggbb (a stored bad one is grey).
    options = {"colors": {_e(k): css_colour(v) for k, v in colours.items()},
               "template": ENTITY_TEMPLATE}
    # visible() keeps every offset (one code point for one), so the spans still fit.
    marked = str(displacy.render({"text": visible(text, keep_newlines=True), "ents": ents,
                                  "title": None}, style="ent",
                                 manual=True, jupyter=False, options=options))
    if nested:
        items = "; ".join(
            f'<span class="verdict-{verdict}" title="{_e(VERDICT_TEXT[verdict])}">'
            f"{_e(text[s:e])} <b>{_e(label)}</b> {s}-{e}"
            + ("" if verdict == "correct" else f" ✗ {_e(VERDICT_TEXT[verdict])}") + "</span>"
            for s, e, label, verdict in sorted(nested))
        marked += f'<p class="nested">nested or overlapping: {items}</p>'
    return marked


def document_html(doc: EvalDocument, colours: Mapping[str, str]) -> str:
    """Gold and prediction side by side, each span marked with its verdict."""
    groups: list[SpanGroup] = compare_spans(doc.gold, doc.pred)
    gold = [(*span, g.verdict) for g in groups for span in g.gold]
    pred = [(*span, g.verdict) for g in groups for span in g.pred]
    return ('<div class="side"><div><h4>gold</h4>'
            f"{_render_layer(doc.text, sorted(gold), colours)}</div>"
            f"<div><h4>prediction</h4>{_render_layer(doc.text, sorted(pred), colours)}"
            "</div></div>")


Documents = Sequence[EvalDocument] | Mapping[int, EvalDocument]
"""An extractor's scored documents: all of them, or those kept by index (see
``Evaluation.scored_documents``)."""


def _documents(result: ExtractorResult, docs: Documents,
               colours: Mapping[str, str], max_documents: int | None) -> str:
    f1 = result.entities.document_f1("strict")
    order = report_order(f1)
    total = len(order)
    if isinstance(docs, Mapping):  # the documents kept, which lead the order
        order = [i for i in order if i in docs]
    shown = order if max_documents is None else order[:max_documents]
    parts = []
    if len(shown) < total:
        parts.append(f'<p class="muted">The {len(shown)} documents with the lowest strict F1 '
                     f"of {total}.</p>")
    for i in shown:
        doc = docs[i]
        counts = result.entities.counts_of_document(i, "strict")
        score = "no entities" if np.isnan(f1[i]) else f"strict F1 {_pct(float(f1[i]))}"
        summary = (f"{_e(doc.title or doc.doc_id)} <span class=muted>({_e(doc.doc_id)}; "
                   f"{score}; COR {counts[0]} INC {counts[1]} MIS {counts[3]} "
                   f"SPU {counts[4]})</span>")
        parts.append(f"<details><summary>{summary}</summary>{document_html(doc, colours)}"
                     "</details>")
    return "".join(parts)


LEGEND = ('<p class="legend">'
          '<span>correct: plain</span>'
          '<span style="outline:3px dashed #e67e00">wrong label</span>'
          '<span style="outline:3px dotted #7b2fbf">wrong boundary</span>'
          '<span style="outline:3px solid #d40000">spurious (prediction) / missed (gold)</span>'
          "</p>")


def render_report(
    evaluation: Evaluation, docs: Mapping[str, Documents] | None = None, *,
    schemes: Sequence[str] | None = None, colours: Mapping[str, str] | None = None,
    max_documents: int | None = 100, top: int = 15,
) -> str:
    """The whole report as one HTML string (no external resources).  ``docs``, ``schemes``
    and ``colours`` default to the evaluation's own (``run_evaluation`` fills them)."""
    docs = evaluation.scored_documents if docs is None else docs
    schemes = evaluation.schemes if schemes is None else schemes
    colours = dict(evaluation.colours if colours is None else colours)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    who = f", annotator {_e(evaluation.annotator)}" if evaluation.annotator else ""
    body = [
        f"<h1>Evaluation of {len(evaluation.results)} extractor(s)</h1>",
        f'<p>Gold store <code>{_e(evaluation.store)}</code>: {evaluation.documents} accepted '
        f"document(s){who}. Generated {generated}.</p>",
        f'<p class="rule">Ungrounded strings ({_e(evaluation.ungrounded)}): '
        f"{_e(evaluation.ungrounded_sentence)}.</p>",
        "<h2>Entities</h2>",
        "<p>Micro-averaged precision, recall and F1 (%) under nervaluate's schemes; "
        "the best value per column is highlighted.</p>",
        _comparison(evaluation, schemes),
        _intervals(evaluation, schemes),
        "<h3>Per label</h3>",
        _label_charts(evaluation, schemes),
        _gold_provenance(evaluation),
        _comparisons(evaluation),
        _grounding(evaluation),
        _edge_whitespace(evaluation),
        "<h2>Relations</h2>",
        "<p>strict: both argument spans with their labels and the relation label match; "
        "boundaries: argument spans and relation label match.</p>",
        _relations(evaluation),
    ]
    for name, result in evaluation.results.items():
        body += [
            f"<h2>{_e(name)}</h2>",
            _label_tables(result, schemes),
            "<h3>Label confusion over overlapping spans</h3>",
            _confusion(result),
            _frequent(result, top),
            "<h3>Documents, lowest strict F1 first</h3>",
            LEGEND,
            _documents(result, docs[name], colours, max_documents),
        ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Evaluation: {_e(evaluation.store)}</title><style>{STYLE}</style></head>"
            f'<body>{"".join(body)}</body></html>\n')


def write_report(path: str | Path, evaluation: Evaluation,
                 docs: Mapping[str, Documents] | None = None, *,
                 protected: Sequence[Path] = (), **options: object) -> Path:
    """Write :func:`render_report` to ``path`` through the safe writer (never over the
    files of the stores in ``protected``) and return the path."""
    path = Path(path)
    page = render_report(evaluation, docs, **options)  # type: ignore[arg-type]
    write_atomically(path, page.encode("utf-8"), protected=protected)
    return path
