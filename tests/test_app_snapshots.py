"""Snapshot tests of the annotator at a fixed size: main screen, help, pickers, notices.

Update after an intended change with ``pytest tests/test_app_snapshots.py --snapshot-update``
and look at the SVGs (``tests/__snapshots__/test_app_snapshots/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_app_annotate import EXTRACTOR, SCHEME, TEXT_ONE, TEXT_TWO, span_of, spans_one

from annotations.models import Annotation, Document, Prediction, Relation
from annotations.store import GoldStore
from reader.app import AnnotatorApp, make_app
from reader.screens.session_screen import FOOTER_REFRESH_DELAY

SIZE = (110, 30)
# After an edit the footer undims undo once the keys pause: wait that long before the
# screenshot, so the picture does not depend on how fast the machine is.
FOOTER_WAIT_MS = int(FOOTER_REFRESH_DELAY * 1000) + 150


@pytest.fixture
def app(tmp_path: Path) -> Iterator[AnnotatorApp]:
    """One article with suggestions, a confirmed span and a relation; not a spaCy run."""
    store = GoldStore(tmp_path / "gold.json")
    one = Document.from_text(TEXT_ONE, {"title": "Council talks"})
    store.add_documents([one, Document.from_text(TEXT_TWO, {"title": "Two"})])
    store.set_labels(SCHEME)
    store.put_predictions([Prediction(doc_id=one.id, extractor=EXTRACTOR, spans=spans_one())])
    # The person confirmed the PERSON suggestion and linked it; the rest are suggestions.
    spans = [s.model_copy(update={"state": "confirmed"}) if s.label == "PERSON" else s
             for s in spans_one()]
    maria = span_of(TEXT_ONE, "Maria Keller", "PERSON")
    aster = span_of(TEXT_ONE, "Aster Rail", "ORG")
    store.save_annotation(Annotation(
        doc_id=one.id, spans=spans,
        relations=[Relation(head=maria.key, child=aster.key, label="works_for")],
    ))
    try:
        yield make_app(store, load_model=False, start=0)
    finally:
        store.close()


def test_main_screen(snap_compare, app: AnnotatorApp) -> None:
    assert snap_compare(app, press=["tab", "tab", "shift+right"], terminal_size=SIZE)


def test_help_screen(snap_compare, app: AnnotatorApp) -> None:
    assert snap_compare(app, press=["question_mark"], terminal_size=SIZE)


def test_relation_picker(snap_compare, app: AnnotatorApp) -> None:
    # Head: Lindenfeld (ORG); the hint letters go a, s, d, f over the other entities.
    assert snap_compare(app, press=["tab", "r", "f"], terminal_size=SIZE)


def test_relation_hints(snap_compare, app: AnnotatorApp) -> None:
    assert snap_compare(app, press=["tab", "r"], terminal_size=SIZE)


def test_accept_with_unreviewed_suggestions_asks(snap_compare, app: AnnotatorApp) -> None:
    assert snap_compare(app, press=["a"], terminal_size=SIZE)


def test_a_relation_that_no_longer_fits_is_marked(snap_compare, app: AnnotatorApp) -> None:
    # Maria Keller (PERSON, works_for Aster Rail) relabelled GPE: works_for needs a PERSON.
    assert snap_compare(app, press=["3", f"wait:{FOOTER_WAIT_MS}"], terminal_size=SIZE)


def test_an_error_notice(snap_compare, app: AnnotatorApp) -> None:
    # A key with no label: the notice says what to do instead.
    assert snap_compare(app, press=["9"], terminal_size=SIZE)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("press", [[], ["question_mark"], ["tab", "r", "f"]],
                         ids=["main", "help", "relation-picker"])
def test_screens_at_both_sizes(snap_compare, app: AnnotatorApp, size, press) -> None:
    # The cursor starts on Maria Keller, whose relation's other end is underlined.
    assert snap_compare(app, press=press, terminal_size=size)


NESTED = "The University of California at Berkeley hired Ana Lima in Oakland.\n"


@pytest.fixture
def nested_app(tmp_path: Path) -> Iterator[AnnotatorApp]:
    """An overlapping layer: an ORG holding a GPE, and an ORG overlapping both."""
    from annotations.models import Span

    store = GoldStore(tmp_path / "nested.json")
    doc = Document.from_text(NESTED, {"title": "Nested"})
    store.add_documents([doc])
    store.set_labels(SCHEME.model_copy(update={"overlapping": True}))

    def span(needle: str, label: str) -> Span:
        start = NESTED.index(needle)
        return Span(start=start, end=start + len(needle), label=label)

    store.save_annotation(Annotation(doc_id=doc.id, spans=[
        span("University of California", "ORG"), span("California", "GPE"),
        span("California at Berkeley", "ORG"), span("Ana Lima", "PERSON")],
        relations=[Relation(head=(4, 28, "ORG"), child=(18, 28, "GPE"), label="located_in")]))
    try:
        yield make_app(store, load_model=False, start=0)
    finally:
        store.close()


def test_nested_spans_on_screen(snap_compare, nested_app: AnnotatorApp) -> None:
    # The cursor goes to "California": the innermost span (GPE) is the one that acts.
    assert snap_compare(nested_app, press=["right", "right", "right"], terminal_size=(120, 40))
