"""A repeated model error is one key: ``o`` offers occurrences the model labelled
otherwise, and the palette's store-wide repeat of a relabel (session rules, no screen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.models import Annotation, Document, Prediction, Relation, Span
from annotations.session import EditingSession
from annotations.store import GoldStore

EXTRACTOR = "spacy@1"
FIRST = "Tajikistan borders Afghanistan. In Tajikistan the CSTO met. Tajikistan agreed."
SECOND = "Tajikistan and Tajikistan again."
THIRD = "Tajikistan, accepted already."


def suggestions(text: str, needle: str, label: str) -> list[Span]:
    out, at = [], text.find(needle)
    while at >= 0:
        out.append(Span(start=at, end=at + len(needle), label=label, source=EXTRACTOR,
                        state="suggested"))
        at = text.find(needle, at + 1)
    return out


def make_store(path: Path) -> GoldStore:
    store = GoldStore(path)
    docs = [Document.from_text(t) for t in (FIRST, SECOND, THIRD)]
    store.add_documents(docs)
    store.set_labels(store.labels.with_entities(["GPE", "NORP", "ORG"])
                     .with_relations(["located_in"]))
    csto = FIRST.index("CSTO")
    second_tajikistan = FIRST.index("Tajikistan", 1)
    store.put_predictions([
        Prediction(doc_id=docs[0].id, extractor=EXTRACTOR, spans=[
            *suggestions(FIRST, "Tajikistan", "NORP"),
            Span(start=csto, end=csto + 4, label="ORG", source=EXTRACTOR, state="suggested")],
            relations=[Relation(head=(csto, csto + 4), child=(second_tajikistan,
                                second_tajikistan + 10), label="located_in")]),
        Prediction(doc_id=docs[1].id, extractor=EXTRACTOR,
                   spans=suggestions(SECOND, "Tajikistan", "NORP")),
        Prediction(doc_id=docs[2].id, extractor=EXTRACTOR,
                   spans=suggestions(THIRD, "Tajikistan", "NORP")),
    ])
    store.save_annotation(Annotation(doc_id=docs[2].id, status="accept",
                                     spans=suggestions(THIRD, "Tajikistan", "NORP")))
    return store


def labels(session: EditingSession) -> list[tuple[str, str, str]]:
    return [(s.text_in(session.text), s.label, s.source) for s in session.annotation.spans]


def test_o_offers_occurrences_the_model_labelled_otherwise_relations_following(tmp_path):
    with make_store(tmp_path / "gold.json") as store:
        session = EditingSession(store)
        session.open(0)
        session.label(0, 10, "GPE")  # the first 'Tajikistan' NORP → GPE
        first = session.span_at(0)
        change = session.label_occurrences(first)
        assert change is not None
        assert "2 other occurrences of 'Tajikistan' to review" in change.notices[0]
        assert "2 of them suggested as NORP before: offered as GPE instead" in change.notices[1]
        assert labels(session) == [("Tajikistan", "GPE", EXTRACTOR),
                                   ("Tajikistan", "GPE", "repeat"), ("CSTO", "ORG", EXTRACTOR),
                                   ("Tajikistan", "GPE", "repeat")]
        assert [s.state for s in session.annotation.spans][1:] == ["suggested"] * 3
        # The relation on the second 'Tajikistan' followed it; all of it is stored.
        again = store.annotation(session.doc_id, session.annotator)
        assert again is not None and again.spans == session.annotation.spans
        (relation,) = again.relations
        assert relation.child[:2] == (FIRST.index("Tajikistan", 1),
                                      FIRST.index("Tajikistan", 1) + 10)
        session.undo()  # one step takes the offer back
        assert [s.label for s in session.annotation.spans] == ["GPE", "NORP", "ORG", "NORP"]


def test_a_relabel_repeats_across_every_open_document_after_counting(tmp_path):
    path = tmp_path / "gold.json"
    with make_store(path) as store:
        session = EditingSession(store)
        session.open(0)
        session.label(0, 10, "GPE")
        plan = session.relabel_everywhere_plan()
        ids = store.document_ids()
        # The open document's other two and the second document's two; the accepted
        # third document is not open, so it is not counted.
        assert plan == [(ids[0], 2), (ids[1], 2)]
        assert session.doc_id == ids[0] and not store.annotation(ids[1], session.annotator)
        changes = session.repeat_relabel_everywhere()
        assert [c.doc_id for c in changes] == [ids[0], ids[1]]
        assert session.doc_id == ids[0]  # the document that was open is open again
    with GoldStore(path) as store:
        for doc_id, text in ((ids[0], FIRST), (ids[1], SECOND)):
            stored = store.annotation(doc_id, "default")
            assert stored is not None
            assert {(s.label, s.state) for s in stored.spans
                    if s.text_in(text) == "Tajikistan"} <= {("GPE", "changed"),
                                                              ("GPE", "confirmed")}
        third = store.annotation(ids[2], "default")
        assert third is not None and {s.label for s in third.spans} == {"NORP"}
        session = EditingSession(store)
        session.open(0)
        assert session.relabel_everywhere_plan() == []  # nothing to repeat in a new session


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_palette_asks_with_the_count_then_repeats_in_every_open_document(tmp_path):
    from reader.app import make_app
    from reader.screens.annotate import AnnotateScreen
    from reader.screens.question import Question

    with make_store(tmp_path / "gold.json") as store:
        ids = store.document_ids()
        app = make_app(store, start=0, load_model=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            screen = app.screen_stack[0]
            assert isinstance(screen, AnnotateScreen)
            screen.run_edit(screen.session.label, 0, 10, "GPE")
            await pilot.press("ctrl+p", *"Repeat the relabel")
            await pilot.pause(0.3)  # the palette searches in a worker
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, Question)
            assert app.screen.title_text == ("Relabel 4 unreviewed NORP suggestion(s) "
                                             "'Tajikistan' as GPE in 2 open document(s)?")
            await pilot.press("y")
            await pilot.pause()
            assert screen.session.doc_id == ids[0]
        second = store.annotation(ids[1], "default")
        assert second is not None and {s.label for s in second.spans} == {"GPE"}


def test_the_count_a_relabel_announces_is_what_repeating_it_changes(tmp_path):
    # The count comes from the session's running tally of suggestions by (text, label),
    # not from searching the text: it must agree with the spans ``=`` relabels, after
    # relabels, undo, redo and a repeat.
    with make_store(tmp_path / "gold.json") as store:
        session = EditingSession(store)
        session.open(0)
        found = [s for s in session.annotation.spans if s.label == "NORP"]

        def agrees() -> None:
            assert session._repeatable_count() == len(session._repeatable())

        change = session.label(found[0].start, found[0].end, "GPE")
        assert change is not None
        assert any("relabels the 2 other unreviewed suggestions" in n for n in change.notices)
        agrees()
        change = session.label(found[1].start, found[1].end, "ORG")
        assert change is not None
        assert any("relabels the 1 other unreviewed suggestion" in n for n in change.notices)
        agrees()
        session.undo()
        agrees()
        session.redo()
        agrees()
        session.repeat_relabel()
        agrees()
        assert session._repeatable_count() == 0
        session.open(1)
        change = session.label(0, len("Tajikistan"), "GPE")
        assert change is not None
        assert any("relabels the 1 other unreviewed suggestion" in n for n in change.notices)
        agrees()
