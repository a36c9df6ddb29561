"""The review screen: verdict styles, worst-first order, navigation, and edits saved at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotations.evaluation import compare_spans
from annotations.models import Annotation, Document, Prediction, Span
from annotations.store import GoldStore
from reader.app import ReviewApp
from reader.cli import app as cli
from reader.screens.review import review_spans

TEXT = "Maria Keller met Aster Rail in Geneva on Monday."
GOOD = "Aster Rail hired Maria Keller."
EXTRACTOR = "m@1"


@pytest.fixture
def db(gold_path: Path) -> Path:
    """TEXT: one correct, one wrong label, one wrong boundary, one spurious, one missed.
    GOOD: perfect.  GOOD was imported first, so worst-first order must move TEXT ahead."""
    bad, good = Document.from_text(TEXT, {"title": "Bad"}), Document.from_text(GOOD,
                                                                               {"title": "Good"})
    with GoldStore(gold_path) as store:
        store.add_documents([good, bad])
        store.add_entity_labels(["PER", "ORG", "LOC", "DATE"])
        store.save_annotation(Annotation(doc_id=bad.id, status="accept", spans=[
            Span(start=0, end=12, label="PER"), Span(start=17, end=27, label="ORG"),
            Span(start=31, end=37, label="LOC"), Span(start=41, end=47, label="DATE")]))
        good_spans = [Span(start=0, end=10, label="ORG"), Span(start=17, end=29, label="PER")]
        store.save_annotation(Annotation(doc_id=good.id, status="accept", spans=good_spans))
        store.put_predictions([
            Prediction(doc_id=bad.id, extractor=EXTRACTOR, spans=[
                Span(start=0, end=12, label="PER", source=EXTRACTOR, state="suggested"),
                Span(start=17, end=27, label="PER", source=EXTRACTOR, state="suggested"),
                Span(start=31, end=35, label="LOC", source=EXTRACTOR, state="suggested"),
                Span(start=38, end=40, label="LOC", source=EXTRACTOR, state="suggested")]),
            Prediction(doc_id=good.id, extractor=EXTRACTOR, spans=good_spans),
        ])
    return gold_path


def gold_of(path: Path, text: str) -> list[tuple[int, int, str]]:
    with GoldStore(path, read_only=True) as store:
        doc_id = store.find_document(text)
        ann = next(a for a in store.gold() if a.doc_id == doc_id)
        return [(s.start, s.end, s.label) for s in ann.spans]


def test_every_verdict_has_its_own_style():
    groups = compare_spans([(0, 12, "PER"), (17, 27, "ORG"), (31, 37, "LOC"), (41, 47, "DATE")],
                           [(0, 12, "PER"), (17, 27, "PER"), (31, 35, "LOC"), (38, 40, "LOC")])
    spans = review_spans(groups, {"PER": "#123456"})
    kinds = [s.kind for s in spans]
    assert kinds == ["correct", "label", "boundary", "boundary-pred", "spurious", "missed"]
    assert len({s.style for s in spans}) == len(spans)
    assert spans[1].tag == " ORG≠PER" and spans[4].tag == " LOC+" and spans[5].tag == " DATE−"


def test_worst_document_first_with_its_scores_in_the_header(db: Path):
    asyncio.run(_test_worst_document_first_with_its_scores_in_the_header(db))


async def _test_worst_document_first_with_its_scores_in_the_header(db: Path):
    with GoldStore(db) as store:
        app = ReviewApp(store, EXTRACTOR)
        async with app.run_test(size=(120, 30)) as pilot:
            screen = app.review_screen
            assert screen.document.title == "Bad"
            assert app.title.startswith("1/2 strict") and "Bad" in app.sub_title
            assert "COR 1 INC 2 MIS 1 SPU 1" in app.title
            assert "F1 25.0" in app.title  # strict: 1 correct of 4 gold and 4 predicted
            assert screen.group is not None and screen.group.verdict == "label"
            await pilot.press("n")
            assert screen.group.verdict == "boundary"
            await pilot.press("n", "n")
            assert screen.group.verdict == "missed"
            await pilot.press("p")
            assert screen.group.verdict == "spurious"
            await pilot.press("n", "n")  # past the last disagreement: the next document
            assert screen.document.title == "Good" and screen.group is None
            await pilot.press("p")  # back to the last disagreement of the first
            assert screen.document.title == "Bad" and screen.group.verdict == "missed"


def test_a_nested_layer_is_reviewed_span_by_span_with_its_edges(tmp_path: Path):
    asyncio.run(_test_a_nested_layer_is_reviewed_span_by_span_with_its_edges(tmp_path))


async def _test_a_nested_layer_is_reviewed_span_by_span_with_its_edges(tmp_path: Path):
    text = "Students of the University of Dushanbe marched."
    outer, inner = (16, 38), (30, 38)
    doc = Document.from_text(text)
    with GoldStore(tmp_path / "nested.json") as store:
        store.add_documents([doc])
        store.set_labels(store.labels.with_entities(["ORG", "GPE", "LOC"]).model_copy(
            update={"overlapping": True}))
        store.save_annotation(Annotation(doc_id=doc.id, status="accept", spans=[
            Span(start=outer[0], end=outer[1], label="ORG"),
            Span(start=inner[0], end=inner[1], label="GPE")]))
        store.put_predictions([Prediction(doc_id=doc.id, extractor=EXTRACTOR, spans=[
            Span(start=outer[0], end=outer[1], label="ORG", source=EXTRACTOR,
                 state="suggested"),
            Span(start=inner[0], end=inner[1], label="LOC", source=EXTRACTOR,
                 state="suggested")])])
        app = ReviewApp(store, EXTRACTOR)
        async with app.run_test(size=(100, 24)) as pilot:
            await pilot.pause()
            screen = app.review_screen
            # The ORG matched exactly: correct; only the nested span's label differs.
            assert [g.verdict for g in screen.groups] == ["correct", "label"]
            assert screen.group is not None and screen.group.gold == ((*inner, "GPE"),)
            assert screen.view.show_edges  # where each nested span starts and ends
            line = screen.view.render_line(0).text
            assert "⟦University of ⟦Dushanbe⟧GPE≠LOC⟧ORG" in line


def test_take_the_prediction_is_saved_at_once_and_undoable(db: Path):
    asyncio.run(_test_take_the_prediction_is_saved_at_once_and_undoable(db))


async def _test_take_the_prediction_is_saved_at_once_and_undoable(db: Path):
    with GoldStore(db) as store:
        app = ReviewApp(store, EXTRACTOR)
        async with app.run_test(size=(120, 30)) as pilot:
            screen = app.review_screen
            await pilot.press("t")  # wrong label: gold ORG becomes the predicted PER
            assert (17, 27, "PER") in gold_of_store(store, TEXT)
            taken = next(s for s in store.annotation(screen.document.doc_id).spans
                         if s.start == 17)
            assert taken.source == EXTRACTOR and taken.state == "confirmed"
            assert screen.group.verdict == "boundary"  # on to the next disagreement
            assert "COR 2" in app.title
            await pilot.press("t")  # wrong boundary: Geneva becomes "Gene"
            assert (31, 35, "LOC") in gold_of_store(store, TEXT)
            await pilot.press("u")
            assert (31, 37, "LOC") in gold_of_store(store, TEXT)
            await pilot.press("u")
            assert (17, 27, "ORG") in gold_of_store(store, TEXT)
            await pilot.press("ctrl+y")
            assert (17, 27, "PER") in gold_of_store(store, TEXT)
    # Durable: a fresh reader of the file sees the edit.
    assert (17, 27, "PER") in gold_of(db, TEXT)


def gold_of_store(store: GoldStore, text: str) -> list[tuple[int, int, str]]:
    doc_id = store.find_document(text)
    ann = store.annotation(doc_id)
    assert ann is not None and ann.status == "accept"
    return [(s.start, s.end, s.label) for s in ann.spans]


def test_remove_the_missed_gold_span_and_keep_gold(db: Path):
    asyncio.run(_test_remove_the_missed_gold_span_and_keep_gold(db))


async def _test_remove_the_missed_gold_span_and_keep_gold(db: Path):
    with GoldStore(db) as store:
        app = ReviewApp(store, EXTRACTOR)
        async with app.run_test(size=(120, 30)) as pilot:
            screen = app.review_screen
            await pilot.press("k")  # keep the gold ORG: confirmed, and on to the boundary
            assert screen.group.verdict == "boundary"
            assert (17, 27, "ORG") in gold_of_store(store, TEXT)
            await pilot.press("n", "n")
            assert screen.group.verdict == "missed"
            await pilot.press("d")
            assert (41, 47, "DATE") not in gold_of_store(store, TEXT)
            assert "MIS 0" in app.title
            # Nothing is left after it: the cursor rests on the last disagreement.
            assert screen.group.verdict == "spurious"
            await pilot.press("d")  # nothing in gold to remove at a spurious prediction
            assert len(gold_of_store(store, TEXT)) == 3


def test_review_cli_reports_an_unknown_extractor(db: Path):
    result = CliRunner().invoke(cli, ["review", "--db", str(db), "--extractor", "nope"])
    assert result.exit_code == 1
    assert "unknown extractor 'nope'" in result.stderr


def test_review_screen_looks_right(db: Path, snap_compare):
    """Legend, verdict styles, the current disagreement, scores in the header."""
    with GoldStore(db) as store:
        assert snap_compare(ReviewApp(store, EXTRACTOR), terminal_size=(100, 16), press=["n"])
