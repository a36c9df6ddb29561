"""The HTML report: self-contained, escaped, displaCy renderings with verdicts marked."""

from __future__ import annotations

import re
from pathlib import Path

from annotations.evaluation import EvalDocument, Evaluation, evaluate_extractor
from annotations.report import bar_chart, document_html, render_report, write_report

TEXT = "Maria Keller met Aster Rail in Geneva on Monday."


def _evaluation(docs: list[EvalDocument], name: str = "m@1") -> Evaluation:
    result = evaluate_extractor(name, docs, bootstrap=100, seed=0)
    return Evaluation(store="gold.json", annotator=None, documents=len(docs), bootstrap=100,
                      seed=0, results={name: result})


def _docs() -> list[EvalDocument]:
    gold = [(0, 12, "PER"), (17, 27, "ORG"), (31, 37, "LOC"), (41, 47, "DATE")]
    pred = [(0, 12, "PER"), (17, 27, "PER"), (31, 35, "LOC"), (38, 40, "LOC")]
    return [EvalDocument(doc_id="d1", text=TEXT, gold=gold, pred=pred, title="First")]


def test_report_needs_no_network():
    page = render_report(_evaluation(_docs()), {"m@1": _docs()})
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    # The only URL is SVG's XML namespace, which browsers never fetch.
    assert set(re.findall(r"https?://[^\"'<> ]+", page)) <= {"http://www.w3.org/2000/svg"}


def test_each_span_is_marked_with_its_verdict_in_gold_and_prediction():
    html = document_html(_docs()[0], {"PER": "#aabbcc"})
    gold_half, pred_half = html.split("<h4>prediction</h4>")
    verdicts = lambda part: re.findall(r'class="entity verdict-(\w+)"', part)  # noqa: E731
    assert verdicts(gold_half) == ["correct", "label", "boundary", "missed"]
    assert verdicts(pred_half) == ["correct", "label", "boundary", "spurious"]
    assert "✗ wrong label" in pred_half and "✗ missed" in gold_half
    assert "background: #aabbcc" in gold_half  # the store's label colour reaches displaCy


def test_nested_spans_are_listed_below_the_outermost_ones_not_repeated_in_the_text():
    text = "The University of California campus"
    gold = [(4, 28, "ORG"), (18, 28, "GPE")]
    pred = [(4, 28, "ORG"), (18, 28, "LOC")]
    html = document_html(EvalDocument(doc_id="d", text=text, gold=gold, pred=pred), {})
    gold_half, pred_half = html.split("<h4>prediction</h4>")
    plain = re.sub(r"<[^>]+>", "", gold_half.split('<p class="nested">')[0])
    assert plain.count("California") == 1
    assert len(re.findall(r'class="entity verdict-', gold_half)) == 1  # ORG, outermost
    assert "nested or overlapping: " in gold_half and "<b>GPE</b> 18-28" in gold_half
    assert "<b>LOC</b> 18-28" in pred_half


def test_text_labels_titles_and_names_are_escaped():
    text = "<script>alert(1)</script> & Co"
    docs = [EvalDocument(doc_id="d", text=text, gold=[(0, 8, "<b>")], pred=[(0, 8, "<b>")],
                         title="<i>title</i>")]
    page = render_report(_evaluation(docs, name="<evil>"), {"<evil>": docs})
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<i>title</i>" not in page and "&lt;i&gt;title&lt;/i&gt;" in page
    assert "<evil>" not in page and "&lt;evil&gt;" in page
    assert 'verdict-correct' in page
    assert re.search(r"<b>(?!</b>)", page) is None  # the label "<b>" never becomes a tag


def test_per_label_bar_charts_are_inline_svg_with_values():
    svg = bar_chart("F1", ["ORG", "PER"], {"a": [0.5, 1.0], "b": [0.25, 0.0]})
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 4 + 2  # four bars and two legend swatches
    assert 'width="210.0"' in svg  # 0.5 of the 420-pixel axis
    page = render_report(_evaluation(_docs()), {"m@1": _docs()}, schemes=["strict"])
    assert "F1 (%) per label, strict" in page


def test_documents_are_listed_worst_first_and_can_be_capped(tmp_path: Path):
    perfect = EvalDocument(doc_id="p", text=TEXT, gold=[(0, 12, "PER")], pred=[(0, 12, "PER")],
                           title="Perfect")
    docs = [perfect, *_docs()]
    page = render_report(_evaluation(docs), {"m@1": docs})
    assert page.index("First") < page.index("Perfect")
    capped = render_report(_evaluation(docs), {"m@1": docs}, max_documents=1)
    assert "Perfect" not in capped and "lowest strict F1 of 2" in capped
    path = write_report(tmp_path / "r.html", _evaluation(docs), {"m@1": docs})
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
