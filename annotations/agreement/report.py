"""The agreement report in HTML: a ``<section>`` that stands alone or joins another page.

Styled like the evaluation report (:mod:`annotations.report`, whose stylesheet and
bar charts it reuses).  Everything taken from the data (annotator, extractor and
label names, span texts, the store path) is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from ..report import STYLE, _e, bar_chart
from .relations import RELATION_AGREEMENT_MODES
from .spans import SPAN_MODES
from .study import AgreementResult
from .tokens import TOKENISATION


def _pct(value: float | int | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _pairs(result: AgreementResult) -> str:
    head = ('<tr><th class="name">a</th><th class="name">b</th><th>documents</th>'
            + "".join(f"<th>{mode} F1 %</th>" for mode in SPAN_MODES)
            + "<th>Cohen κ</th>"
            + "".join(f"<th>relations {mode} F1 %</th>" for mode in RELATION_AGREEMENT_MODES)
            + "</tr>")
    rows = []
    for pair in result.pairs:
        cells = []
        for mode in SPAN_MODES:
            ci = pair.intervals.get(mode)
            interval = f' <span class="muted">({_pct(ci[0])}–{_pct(ci[1])})</span>' if ci else ""
            cells.append(f'<td class="num">{_pct(pair.spans(mode)["f1"])}{interval}</td>')
        cells.append(f'<td class="num">{_num(pair.kappa.value)}</td>')
        cells += [f'<td class="num">{_pct(pair.relations(m)["f1"])}</td>'
                  for m in RELATION_AGREEMENT_MODES]
        rows.append(f'<tr><td class="name">{_e(pair.a)}</td><td class="name">{_e(pair.b)}</td>'
                    f'<td class="num">{len(pair.doc_ids)}</td>{"".join(cells)}</tr>')
    return f"<table>{head}{''.join(rows)}</table>"


def _label_charts(result: AgreementResult) -> str:
    labels = sorted({label for pair in result.pairs for label in pair.span_labels["exact"]})
    if not labels:
        return ""
    series = {}
    for pair in result.pairs:
        by_label = pair.by_label("exact")
        series[f"{pair.a} · {pair.b}"] = [float(by_label.get(label, {}).get("f1") or 0.0)
                                          for label in labels]
    return bar_chart("Exact span F1 per label, each pair", labels, series)


def _overall(result: AgreementResult) -> str:
    rows = []
    if result.fleiss is not None:
        f = result.fleiss
        rows.append(f'<tr><td class="name">Fleiss κ (tokens)</td><td class="name">all</td>'
                    f'<td class="num">{_num(f.value)}</td><td class="num">{_num(f.observed)}'
                    f'</td><td class="num">{_num(f.expected)}</td></tr>')
    if result.alpha is not None:
        items = [("all", result.alpha), *result.alpha_by_label.items()]
        for i, (label, alpha) in enumerate(items):
            name = "Krippendorff α_U (characters)" if i == 0 else ""
            rows.append(f'<tr><td class="name">{name}</td><td class="name">{_e(label)}</td>'
                        f'<td class="num">{_num(alpha.alpha)}</td>'
                        f'<td class="num">{_num(alpha.observed, 5)}</td>'
                        f'<td class="num">{_num(alpha.expected, 5)}</td></tr>')
    if not rows and any(d["kind"] == "overlapping_layer" for d in result.diagnostics):
        return ('<p class="muted">Fleiss\' κ and α_U need flat layers, and some '
                'annotators\' spans overlap or nest (see the diagnostics).</p>')
    if not rows:
        return '<p class="muted">No document was annotated by all of them.</p>'
    return ('<table><tr><th class="name">measure</th><th class="name">label</th><th>value</th>'
            f'<th>observed</th><th>expected</th></tr>{"".join(rows)}</table>')


def _diagnostics(result: AgreementResult) -> str:
    if not result.diagnostics:
        return ""
    items = "".join(f"<li>{_e(d['message'])}</li>" for d in result.diagnostics)
    return f"<h3>Diagnostics</h3><ul>{items}</ul>"


def _disagreements(result: AgreementResult, top: int) -> str:
    if not result.disagreement_counts:
        return ""
    rows = "".join(
        f'<tr><td class="num">{n}</td><td class="name">{_e(text)}</td>'
        f'<td class="name">{_e(label)}</td><td class="name">{_e(other)}</td></tr>'
        for text, label, other, n in result.disagreements(top))
    return ("<h3>Most frequent disagreements</h3><table><tr><th>count</th>"
            '<th class="name">text</th><th class="name">label</th>'
            f'<th class="name">the other marked</th></tr>{rows}</table>')


def agreement_section(result: AgreementResult, top: int = 15) -> str:
    """The agreement figures as one ``<section>`` (no ``<html>`` around it)."""
    who = ", ".join(_e(a) + (" (extractor)" if a in result.extractors else "")
                    for a in result.annotators)
    which = "accepted annotations" if result.statuses == "accept" else "annotations of any status"
    interval = (f"{result.confidence:.0%} bootstrap intervals over documents "
                f"({result.bootstrap} resamples, seed {result.seed})" if result.bootstrap
                else "no bootstrap")
    return "".join([
        '<section class="agreement">',
        "<h2>Agreement between annotators</h2>",
        f"<p>{who}: {which} on {result.documents} document(s), "
        f"{result.shared_by_all} annotated by all.</p>",
        "<h3>Pairs</h3>",
        f"<p>Span F1 (Hripcsak &amp; Rothschild 2005): exact (same offsets and label), "
        f"overlap (overlapping, same label, one to one), unlabelled (same offsets); "
        f"{_e(interval)}. Cohen's κ on the pair's own tokens. Relation F1: strict, boundaries, and "
        "restricted to relations between spans both marked.</p>",
        _pairs(result),
        _label_charts(result),
        "<h3>All annotators</h3>",
        _overall(result),
        f'<p class="muted">Tokens: {_e(TOKENISATION)}. α_U: Krippendorff (1995, 2004) over '
        "the characters of the documents all annotated, laid end to end.</p>",
        _diagnostics(result),
        _disagreements(result, top),
        "</section>",
    ])


def render_agreement_report(result: AgreementResult, top: int = 15) -> str:
    """A whole standalone page around :func:`agreement_section`."""
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    store = f"Store <code>{_e(result.store)}</code>. " if result.store else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Agreement: {_e(result.store or '')}</title><style>{STYLE}</style></head>"
            f"<body><h1>Agreement</h1><p>{store}Generated {generated}.</p>"
            f"{agreement_section(result, top)}</body></html>\n")


def write_agreement_report(path: str | Path, result: AgreementResult, top: int = 15, *,
                           protected: Iterable[Path] = ()) -> Path:
    """Write :func:`render_agreement_report` to ``path`` through the one output writer
    (it refuses the ``protected`` stores' own files) and return the file written."""
    from ..output import write_atomically

    return write_atomically(path, render_agreement_report(result, top).encode("utf-8"),
                            protected=protected)
