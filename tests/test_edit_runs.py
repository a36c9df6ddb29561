"""The run an edit keeps (the spans at each end of the layer it leaves alone), found once
per edit by the session and handed to the store, the span index, the change and undo;
and the ``=`` offer said as information.  Session and store tests, no screen, except
one Pilot test of where the offer is said."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.layer import changed_run, keeps_run
from annotations.models import (
    Document,
    EntityLabel,
    LabelScheme,
    Prediction,
    Relation,
    RelationLabel,
    Span,
)
from annotations.session import Change, EditingSession, Offer
from annotations.store import GoldStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


TEXT = ("Tajikistan asked Moscow. Tajikistan waits for Dushanbe. Aster Rail and "
        "Tajikistan talk in Geneva on Monday.\n")
WORDS = ["Tajikistan", "Moscow", "Dushanbe", "Aster Rail", "Geneva", "Monday"]


def places(needle: str) -> list[tuple[int, int]]:
    found, at = [], TEXT.find(needle)
    while at >= 0:
        found.append((at, at + len(needle)))
        at = TEXT.find(needle, at + 1)
    return found


def open_session(path: Path, overlapping: bool = False) -> tuple[GoldStore, EditingSession]:
    store = GoldStore(path)
    doc = Document.from_text(TEXT)
    store.add_documents([doc])
    store.set_labels(LabelScheme(
        entities=[EntityLabel(name=n, key=str(i + 1)) for i, n in
                  enumerate(["GPE", "ORG", "DATE", "NORP"])],
        relations=[RelationLabel(name="located_in", key="l")], overlapping=overlapping))
    labels = {"Aster Rail": "ORG", "Monday": "DATE"}
    spans = [Span(start=s, end=e, label=labels.get(word, "NORP" if word == "Tajikistan"
                                                    else "GPE"),
                  source="m@1", state="suggested")
             for word in WORDS for s, e in places(word)]
    store.put_predictions([Prediction(doc_id=doc.id, extractor="m@1", spans=spans)])
    session = EditingSession(store)
    session.open(0)
    return store, session


def span_at(session: EditingSession, needle: str, nth: int = 0) -> Span:
    start, end = places(needle)[nth]
    span = session.spans.get((start, end))
    assert span is not None
    return span


def check(change: Change | None, before: list[Span], session: EditingSession) -> None:
    """The change's run is the one the two span lists share, and the session's index
    holds what the annotation holds."""
    assert change is not None and change.run is not None
    after = session.annotation.spans
    assert keeps_run(before, after, change.run)
    assert change.run == changed_run(before, after)
    assert session.spans.spans == after


def test_every_kind_of_edit_hands_on_the_run_its_spans_share(tmp_path: Path) -> None:
    store, session = open_session(tmp_path / "gold.json")
    with store:
        edits = [
            lambda: session.label(*span_at(session, "Tajikistan").key, "GPE",
                                  span_at(session, "Tajikistan")),
            session.repeat_relabel,  # spans far apart: the run is found by comparing
            lambda: session.label(*places("asked")[0], "DATE"),  # a new span
            lambda: session.label(places("Aster")[0][0], places("Rail")[0][1] + 4, "ORG"),
            lambda: session.delete(*places("Geneva")[0]),
            lambda: session.confirm(*places("Moscow")[0]),
            lambda: session.confirm_label("GPE"),
            lambda: session.add_relation(span_at(session, "Moscow"),
                                         span_at(session, "Dushanbe"), "located_in"),
            lambda: session.set_notes("checked"),
            lambda: session.label(*span_at(session, "Tajikistan", 1).key, "NORP",
                                  span_at(session, "Tajikistan", 1)),
            lambda: session.set_status("accept", confirm_unreviewed=True),
        ]
        for edit in edits:
            before = list(session.annotation.spans)
            check(edit(), before, session)
        for step in (session.undo, session.redo, session.undo, session.undo):
            before = list(session.annotation.spans)
            check(step(), before, session)
        shown = session.annotation
    with GoldStore(tmp_path / "gold.json") as reopened:
        stored = reopened.annotation(shown.doc_id)
        assert stored is not None
        assert stored.spans == shown.spans and stored.relations == shown.relations


def test_nested_spans_keep_their_run_and_undo_reuses_it(tmp_path: Path) -> None:
    store, session = open_session(tmp_path / "gold.json", overlapping=True)
    with store:
        outer = span_at(session, "Aster Rail")
        before = list(session.annotation.spans)
        check(session.label(*places("Aster")[0], "GPE"), before, session)  # nested in it
        before = list(session.annotation.spans)
        check(session.label(outer.start, outer.end, "NORP", outer), before, session)
        edit = session.history.last_done
        assert edit is not None and edit.run == changed_run(edit.before.spans,
                                                            edit.after.spans)
        before = list(session.annotation.spans)
        check(session.undo(), before, session)
        shown = session.annotation
    with GoldStore(tmp_path / "gold.json") as reopened:
        stored = reopened.annotation(shown.doc_id)
        assert stored is not None and stored.spans == shown.spans


def test_the_store_checks_a_run_it_is_given_and_saves_the_right_spans(tmp_path: Path
                                                                      ) -> None:
    store, session = open_session(tmp_path / "gold.json")
    with store:
        first = span_at(session, "Tajikistan")
        session.label(first.start, first.end, "GPE", first)  # saved whole: a base now
        saved = session.annotation
        target = span_at(session, "Geneva")
        spans = [s.model_copy(update={"label": "ORG", "state": "changed"}) if s is target
                 else s for s in saved.spans]
        new = saved.model_copy(update={"spans": spans})
        # A run that claims every span was kept: refused, and the patch found again.
        assert not keeps_run(saved.spans, spans, (len(spans), 0))
        result = store.save_annotation(new, run=(len(spans), 0))
        assert [s.label for s in result.spans] == [s.label for s in spans]
        with pytest.raises(ValueError):
            keeps_run(saved.spans, spans, (1,))  # type: ignore[arg-type]
        assert not keeps_run(saved.spans, spans, (-1, 0))
        assert not keeps_run(saved.spans, spans, (len(spans), 1))
        doc_id = saved.doc_id
    with GoldStore(tmp_path / "gold.json") as reopened:
        stored = reopened.annotation(doc_id)
        assert stored is not None
        assert [(s.key, s.label) for s in stored.spans] == [(s.key, s.label) for s in spans]


def test_the_offer_of_equals_is_information_the_warnings_stay_warnings(tmp_path: Path
                                                                       ) -> None:
    store, session = open_session(tmp_path / "gold.json")
    with store:
        first = span_at(session, "Tajikistan")
        change = session.label(first.start, first.end, "GPE", first)
        assert change is not None
        offers = [n for n in change.notices if isinstance(n, Offer)]
        assert offers == ["= relabels the 2 other unreviewed suggestions NORP "
                          "'Tajikistan' as GPE too"]
        # A relation that no longer fits its labels is a warning, not an offer.
        store.set_labels(store.labels.model_copy(update={"relations": [RelationLabel(
            name="located_in", key="l", heads=["ORG"], children=["GPE"])]}))
        session.scheme = store.labels
        head, child = span_at(session, "Aster Rail"), span_at(session, "Geneva")
        session.add_relation(head, child, "located_in")
        change = session.label(child.start, child.end, "DATE", child)
        assert change is not None and change.notices
        assert not any(isinstance(n, Offer) for n in change.notices)
        assert change.annotation.relations == [Relation(head=head.key, child=child.key,
                                                        label="located_in")]


async def test_the_screen_says_the_offer_in_the_status_line_not_as_a_toast(tmp_path: Path
                                                                           ) -> None:
    from reader.app import make_app
    from reader.screens.status_line import StatusLine

    store, _ = open_session(tmp_path / "gold.json")
    with store:
        app = make_app(store, load_model=False, start=0)
        async with app.run_test(size=(160, 30), notifications=True) as pilot:
            await pilot.pause()
            await pilot.press("1")  # the cursor is on the first "Tajikistan": NORP → GPE
            await pilot.pause()
            said = {n.message: n.severity for n in app.notices}
            offer = ("= relabels the 2 other unreviewed suggestions NORP 'Tajikistan' as "
                     "GPE too")
            assert said[offer] == "information"
            line = app.screen.query_one(StatusLine)
            assert line.notice is not None and offer in line.notice.plain
            assert not app._notifications  # no toast
