"""Nested spans you can tell apart, as pure painting rules: edge marks that nest, tags
next to their own marks, hints in cells of their own, the entity list's indentation."""

from __future__ import annotations

from rich.style import Style

from annotations.models import Span
from reader.screens.relation_mode import RelationMode
from reader.screens.span_painter import display_span
from reader.widgets.article_view import DisplaySpan, closing_order, opening_order, tag_text
from reader.widgets.side_panel import entity_row


def test_the_closing_mark_takes_the_place_of_the_tags_leading_space() -> None:
    span = DisplaySpan(0, 5, " ORG•")
    assert tag_text(span, edges=False) == " ORG•"
    assert tag_text(span, edges=True) == "⟧ORG•"
    assert len(tag_text(span, True)) == len(tag_text(span, False))  # the wrapping stays
    assert tag_text(span, edges=False, hint="ak") == " ORG•[ak]"
    assert tag_text(span, edges=True, hint="a") == "⟧ORG•[a]"


def test_marks_open_outer_first_and_close_inner_first() -> None:
    # "the CSTO summit": CSTO (ORG) inside "CSTO summit" (EVENT, and MISC on the same
    # offsets); "University of Dushanbe" (ORG) ending with "Dushanbe" (GPE).
    csto, event, misc = DisplaySpan(4, 8, " ORG"), DisplaySpan(4, 15, " EVENT"), \
        DisplaySpan(4, 15, " MISC")
    assert opening_order([csto, misc, event]) == [event, misc, csto]
    university, dushanbe = DisplaySpan(16, 38, " ORG"), DisplaySpan(30, 38, " GPE")
    assert closing_order([university, dushanbe]) == [dushanbe, university]
    # Spans on the same offsets close in the reverse of the order they opened.
    assert closing_order([event, misc]) == opening_order([event, misc])[::-1]


def test_the_painter_names_each_span_so_spans_starting_together_get_their_own_hint() -> None:
    csto, summit = Span(start=4, end=8, label="ORG"), Span(start=4, end=15, label="EVENT")
    head = Span(start=20, end=28, label="GPE")
    shown = [display_span(s, {}) for s in (csto, summit)]
    assert [s.name for s in shown] == [csto.ref, summit.ref]
    hints = RelationMode.start(head, [csto, summit, head]).hints
    assert sorted(hints.values()) == ["a", "s"] and set(hints) == {csto.ref, summit.ref}


def test_a_span_crossing_the_end_of_another_gets_edge_marks_of_its_own() -> None:
    from annotations.models import Annotation, EntityLabel, LabelScheme
    from reader.screens.span_painter import display_spans

    # "The University of California at Berkeley": ORG 4-28 holds GPE 18-28; ORG 18-40
    # crosses the end of the first ORG, so its marks cannot nest with theirs.
    spans = [Span(start=4, end=28, label="ORG"), Span(start=18, end=28, label="GPE"),
             Span(start=18, end=40, label="ORG")]
    scheme = LabelScheme(overlapping=True, entities=[EntityLabel(name="ORG"),
                                                     EntityLabel(name="GPE")])
    shown = display_spans(Annotation(doc_id="d", spans=spans), scheme)
    assert [(s.start, s.end, s.edges) for s in shown] == [
        (4, 28, "⟦⟧"), (18, 28, "⟦⟧"), (18, 40, "⟨⟩")]
    assert tag_text(shown[2], edges=True) == "⟩ORG"


def test_an_entity_row_is_indented_two_cells_per_span_holding_it() -> None:
    text = "The Tajik National University"
    span = Span(start=4, end=9, label="NORP")
    rows = ["".join(seg.text for seg in entity_row(span, text, depth, "", Style()))
            for depth in (0, 1, 9)]
    assert rows == [" NORP      Tajik", "   NORP      Tajik", "         NORP      Tajik"]
