"""The screen never drifts from the store: Hypothesis state machines over random keys.

After every key, for the annotate screen (a flat and an overlapping layer), the review
screen and the adjudicate screen:

* the session equals a session reopened from disk (read-only, beside the running app);
* what the screen shows (article spans and their styles, side panel rows, header and
  status counts, ``✓``/``⚑`` marks and the open count) equals what a fresh screen on
  the reopened store shows: :func:`shown` reads it off the widgets, and the
  ``fresh_*`` functions draw it from the reopened session with the same pure painters
  a new screen uses, so the comparison costs no second app;
* the notice of an edit names what changed in the store, counted from the two stored
  annotations (:func:`stored_change`), not from the session's own change;
* a label key on a selection that did not start from an entity removes no span.

The regression tests at the end put each of issue 18's three bugs back and show that
the machine catches it.  Few examples on small documents: the suite stays fast.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from textual.widgets import Input

from annotations.adjudication import Adjudication
from annotations.describe import describe
from annotations.models import (
    Annotation,
    Document,
    EntityLabel,
    LabelScheme,
    Prediction,
    Relation,
    RelationLabel,
    Span,
)
from annotations.session import EditingSession
from annotations.store import GoldStore
from annotations.terminal import visible
from reader.app import AdjudicateApp, ReviewApp, make_app
from reader.screens.adjudicate import adjudication_spans, adjudication_title
from reader.screens.review import review_groups, review_header, review_spans
from reader.screens.span_painter import SpanPainter
from reader.screens.status_line import header_title
from reader.widgets.article_view import ArticleView
from reader.widgets.side_panel import EntityList, RelationList

TEXT = ("Maria Keller of Aster Rail met Tom Berg in Geneva.\n"
        "Aster Rail and Geneva Bank said Keller left Geneva.\n")
OTHER = "Tom Berg runs Geneva Bank in Bern.\n"
SCHEME = LabelScheme(
    entities=[EntityLabel(name=n, key=str(k), colour=c) for k, (n, c) in enumerate(
        [("PERSON", "#1f77b4"), ("ORG", "#ff7f0e"), ("GPE", "#2ca02c")], start=1)],
    relations=[RelationLabel(name="works_for", key="w"), RelationLabel(name="based_in", key="b")],
)
EXTRACTOR = "drift@1"
SIZE = (100, 30)


def at(text: str, needle: str, label: str, nth: int = 0, **extra: Any) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    return Span(start=start, end=start + len(needle), label=label, **extra)


def suggested(text: str, needle: str, label: str, nth: int = 0) -> Span:
    return at(text, needle, label, nth, source=EXTRACTOR, state="suggested")


SUGGESTIONS = {
    TEXT: [suggested(TEXT, "Maria Keller", "PERSON"), suggested(TEXT, "Aster Rail", "GPE"),
           suggested(TEXT, "Tom Berg", "PERSON"), suggested(TEXT, "Geneva", "GPE"),
           suggested(TEXT, "Aster Rail", "GPE", 1), suggested(TEXT, "Geneva", "GPE", 1),
           suggested(TEXT, "Keller", "PERSON", 1), suggested(TEXT, "Geneva", "GPE", 2)],
    OTHER: [suggested(OTHER, "Tom Berg", "PERSON"), suggested(OTHER, "Geneva Bank", "GPE")],
}
NESTED = {TEXT: [suggested(TEXT, "Aster Rail", "ORG", 1).model_copy(
    update={"end": TEXT.index("Geneva Bank") + len("Geneva Bank")})]}


# -- what a screen shows -----------------------------------------------------------------


def looks(spans: Any) -> Counter[tuple[object, ...]]:
    """Painted spans as a multiset of everything that makes their look."""
    return Counter((s.start, s.end, s.tag, s.style, s.tag_style, s.kind, s.edges) for s in spans)


def shown(screen: Any) -> dict[str, object]:
    """What the screen shows, read off its widgets (pure: reads, changes nothing)."""
    app = screen.app
    seen: dict[str, object] = {"article": looks(screen.query_one(ArticleView).spans),
                               "title": app.title, "sub_title": app.sub_title}
    entities = screen.query(EntityList)
    if entities:
        seen["entity rows"] = [(s.start, s.end, s.label, s.state, s.source)
                               for s in entities.first().rows]
        seen["relation rows"] = sorted(r.key for r in screen.query_one(RelationList).relations)
        status = str(screen.query_one("#status").render())
        seen["unreviewed"] = status.split(" · ")[0]
    return seen


def fresh_annotate(session: EditingSession) -> dict[str, object]:
    """What a new annotate screen shows on ``session`` (the same painters it uses)."""
    return {"article": looks(SpanPainter(session).paint_all()),
            "title": header_title(session), "sub_title": visible(session.title),
            "entity rows": [(s.start, s.end, s.label, s.state, s.source)
                            for s in session.annotation.spans],
            "relation rows": sorted(r.key for r in session.annotation.relations),
            "unreviewed": f"{session.unreviewed_count} unreviewed"}


def same_session(live: EditingSession, fresh: EditingSession) -> None:
    assert fresh.annotation.spans == live.annotation.spans
    assert fresh.annotation.relations == live.annotation.relations
    assert fresh.status_of(fresh.doc_id) == live.status_of(live.doc_id)
    assert (fresh.unreviewed_count, fresh.sources()) == (live.unreviewed_count, live.sources())
    assert fresh.progress() == live.progress()


def stored_change(text: str, before: Annotation | None, after: Annotation | None) -> str:
    """What changed between two stored annotations, counted from the sets of their spans
    and relations (independent of the session's changed run)."""
    old = {s.ref: s for s in (before.spans if before else [])}
    new = {s.ref: s for s in (after.spans if after else [])}
    removed = [s for ref, s in old.items() if new.get(ref) != s]
    added = [s for ref, s in new.items() if old.get(ref) != s]
    rels_old = set(before.relations if before else [])
    rels_new = set(after.relations if after else [])
    return describe(text, removed, added, [r for r in rels_old if r not in rels_new],
                    [r for r in rels_new if r not in rels_old])


# -- the machines -------------------------------------------------------------------------


class ScreenMachine(RuleBasedStateMachine):
    """An app over a temporary store, driven one key at a time on its own event loop."""

    KEYS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="drift-"))
        self.path = self.folder / "gold.json"
        self.store = GoldStore(self.path)
        self.build(self.store)
        self.app = self.make(self.store)
        # The app runs in one task for the machine's life (its context variables are that
        # task's); each step hands that task a job and waits for it.
        self.loop = asyncio.new_event_loop()
        self.jobs: asyncio.Queue[Any] = asyncio.Queue()
        ready = self.loop.create_future()
        self.driver = self.loop.create_task(self._drive(ready))
        self.loop.run_until_complete(ready)

    async def _drive(self, ready: asyncio.Future[None]) -> None:
        async with self.app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            ready.set_result(None)
            while True:
                job, done = await self.jobs.get()
                if job is None:
                    break
                try:
                    done.set_result(await job(pilot))
                except Exception as err:  # noqa: BLE001 - handed to the step that asked
                    done.set_exception(err)

    def build(self, store: GoldStore) -> None:
        raise NotImplementedError

    def make(self, store: GoldStore) -> Any:
        raise NotImplementedError

    def keys(self, *keys: str) -> None:
        """Press ``keys`` in the app and let it settle."""
        async def job(pilot: Any) -> None:
            await pilot.press(*keys)
            await pilot.pause()

        done = self.loop.create_future()
        self.jobs.put_nowait((job, done))
        self.loop.run_until_complete(done)

    @property
    def screen(self) -> Any:
        return self.app.screen_stack[0]

    @property
    def session(self) -> EditingSession:
        return self.screen.session

    def press(self, *keys: str) -> None:
        doc_id = self.session.doc_id
        stored = self._stored(doc_id)
        before = stored if stored is not None else self.session.annotation
        # Held, not only their ids: a dropped notice's id may be reused by a new one.
        kept = list(self.app.notices)
        notes = {id(n) for n in kept}
        self.keys(*keys)
        while len(self.app.screen_stack) > 1:  # a question or a picker: leave it
            self.keys("escape")
        after = self._stored(doc_id)
        if after is not None and after != stored:
            # The notice of the edit names what changed in the store (a status or notes
            # edit changes no span or relation).
            said = [n.message for n in self.app.notices if id(n) not in notes]
            expected = stored_change(self.store.text(doc_id), before, after)
            assert not expected or any(expected in message for message in said), (
                expected, said)

    def _stored(self, doc_id: str) -> Annotation | None:
        return self.store.annotation(doc_id, self.session.annotator)

    @rule(key=st.sampled_from(["u", "ctrl+y"]))
    def undo_or_redo(self, key: str) -> None:
        self.found = None
        self.press(key)

    def reopened(self) -> tuple[GoldStore, EditingSession]:
        """A session like the live one on the store reopened from disk, at its document."""
        store = GoldStore(self.path, read_only=True)
        live = self.session
        fresh = EditingSession(store, annotator=live.annotator, scheme=live.scheme,
                               doc_ids=live.doc_ids)
        fresh.open(live.index)
        return store, fresh

    @invariant()
    def the_screen_shows_what_is_stored(self) -> None:
        store, fresh = self.reopened()
        try:
            same_session(self.session, fresh)
            assert shown(self.screen) == self.fresh_view(fresh)
        finally:
            store.close()

    def fresh_view(self, fresh: EditingSession) -> dict[str, object]:
        raise NotImplementedError

    def teardown(self) -> None:
        self.jobs.put_nowait((None, None))
        self.loop.run_until_complete(self.driver)
        self.loop.close()
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class AnnotateMachine(ScreenMachine):
    overlapping = False

    def build(self, store: GoldStore) -> None:
        docs = [Document.from_text(TEXT), Document.from_text(OTHER)]
        store.add_documents(docs)
        store.set_labels(SCHEME.model_copy(update={"overlapping": self.overlapping}))
        extra = NESTED if self.overlapping else {}
        store.put_predictions([Prediction(doc_id=d.id, extractor=EXTRACTOR, spans=sorted(
            SUGGESTIONS[d.text] + extra.get(d.text, []), key=lambda s: (s.start, s.end)))
            for d in docs])

    def make(self, store: GoldStore) -> Any:
        return make_app(store, load_model=False, start=0)

    def fresh_view(self, fresh: EditingSession) -> dict[str, object]:
        return fresh_annotate(fresh)

    @rule(key=st.sampled_from(["right", "left", "down", "tab", "shift+tab", "shift+right",
                               "shift+left", "less_than_sign", "f", "escape", "home", "end"]))
    def move(self, key: str) -> None:
        self.found = None
        self.press(key)

    found: tuple[int, int] | None = None  # the range the last find selected, still selected

    @rule(key=st.sampled_from(["1", "2", "3"]))
    def label(self, key: str) -> None:
        before = set(self.session.annotation.spans)
        self.press(key)
        if self.found is not None and self.session.allows_overlap:
            # A found range did not start from an entity: its label adds a span and
            # edits none (in a flat layer it replaces the spans it overlaps).
            assert before <= set(self.session.annotation.spans), before - set(
                self.session.annotation.spans)
        self.found = None

    @rule(key=st.sampled_from(["d", "c", "C", "o", "equals_sign", "a", "x", "n", "p"]))
    def edit_or_go(self, key: str) -> None:
        self.found = None
        self.press(key)

    @rule(query=st.sampled_from(["Geneva", "Aster Rail and", "Berg", "Keller left"]))
    def find(self, query: str) -> None:
        self.keys("slash")
        self.app.screen.query_one(Input).value = query  # typed at once: fewer Pilot steps
        self.press("enter")
        self.found = self.screen.article.token_range()

    @rule(relation=st.sampled_from(["w", "b"]))
    def relate(self, relation: str) -> None:
        self.found = None
        self.press("r", "a", relation)
        if self.screen.relation is not None:
            self.press("escape")


class OverlappingAnnotateMachine(AnnotateMachine):
    overlapping = True


class ReviewMachine(ScreenMachine):
    def build(self, store: GoldStore) -> None:
        docs = [Document.from_text(TEXT), Document.from_text(OTHER)]
        store.add_documents(docs)
        store.set_labels(SCHEME)
        gold = {TEXT: [at(TEXT, "Maria Keller", "PERSON"), at(TEXT, "Aster Rail", "ORG"),
                       at(TEXT, "Geneva", "GPE", 0), at(TEXT, "Geneva Bank", "ORG")],
                OTHER: [at(OTHER, "Tom Berg", "PERSON"), at(OTHER, "Bern", "GPE")]}
        store.save_annotations([Annotation(doc_id=d.id, status="accept", spans=gold[d.text])
                                for d in docs])
        store.put_predictions([Prediction(doc_id=d.id, extractor=EXTRACTOR,
                                          spans=SUGGESTIONS[d.text]) for d in docs])

    def make(self, store: GoldStore) -> Any:
        return ReviewApp(store, EXTRACTOR)

    def fresh_view(self, fresh: EditingSession) -> dict[str, object]:
        screen = self.screen
        documents = screen.documents  # the order is the app's, fixed when it started
        document = next(d for d in documents if d.doc_id == fresh.doc_id)
        title, sub_title = review_header(fresh, document, screen.index, len(documents),
                                         EXTRACTOR)
        spans = review_spans(review_groups(fresh, document), fresh.colours)
        return {"article": looks(spans), "title": title, "sub_title": sub_title}

    @rule(key=st.sampled_from(["n", "p", "t", "k", "d", "right_square_bracket",
                               "left_square_bracket"]))
    def key(self, key: str) -> None:
        self.press(key)


class AdjudicateMachine(ScreenMachine):
    def build(self, store: GoldStore) -> None:
        docs = [Document.from_text(TEXT), Document.from_text(OTHER)]
        store.add_documents(docs)
        store.set_labels(SCHEME)
        versions = {
            "alice": {TEXT: [at(TEXT, "Maria Keller", "PERSON"), at(TEXT, "Aster Rail", "ORG"),
                             at(TEXT, "Geneva", "GPE"), at(TEXT, "Geneva Bank", "ORG")],
                      OTHER: [at(OTHER, "Tom Berg", "PERSON"), at(OTHER, "Bern", "GPE")]},
            "bob": {TEXT: [at(TEXT, "Maria Keller", "PERSON"), at(TEXT, "Aster", "ORG"),
                           at(TEXT, "Tom Berg", "PERSON"), at(TEXT, "Geneva", "ORG")],
                    OTHER: [at(OTHER, "Tom Berg", "PERSON"), at(OTHER, "Geneva Bank", "ORG")]},
        }
        relations = [Relation(head=(0, 12), child=(16, 26), label="works_for")]
        store.save_annotations([
            Annotation(doc_id=d.id, annotator=name, status="accept", spans=spans[d.text],
                       relations=relations if (name, d.text) == ("alice", TEXT) else [])
            for name, spans in versions.items() for d in docs])

    def make(self, store: GoldStore) -> Any:
        return AdjudicateApp(store, Adjudication(store))

    @property
    def adjudication(self) -> Adjudication:
        session = self.session
        assert isinstance(session, Adjudication)
        return session

    def reopened(self) -> tuple[GoldStore, EditingSession]:
        store = GoldStore(self.path, read_only=True)
        fresh = Adjudication(store)
        fresh.restore_decisions(self.adjudication.decisions())
        fresh.open(self.session.index)
        return store, fresh

    def fresh_view(self, fresh: EditingSession) -> dict[str, object]:
        assert isinstance(fresh, Adjudication)
        items = fresh.items()
        return {"article": looks(adjudication_spans(fresh, items)),
                "title": adjudication_title(fresh, items), "sub_title": visible(fresh.title)}

    @rule(key=st.sampled_from(["n", "p", "1", "2", "x", "a", "right_square_bracket",
                               "left_square_bracket"]))
    def key(self, key: str) -> None:
        self.press(key)


FAST = settings(max_examples=1, stateful_step_count=10, deadline=None,
                suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.mark.parametrize("machine", [AnnotateMachine, OverlappingAnnotateMachine,
                                     ReviewMachine, AdjudicateMachine],
                         ids=["annotate-flat", "annotate-overlapping", "review", "adjudicate"])
def test_the_screen_never_drifts_from_the_store(machine: type[ScreenMachine]) -> None:
    run_state_machine_as_test(machine, settings=FAST)


# -- the machines catch issue 18's bugs ------------------------------------------------------


def replay(machine: ScreenMachine, steps: list[tuple[str, dict[str, str]]]) -> None:
    """Run ``steps`` (rule name, arguments) on ``machine``, checking after each."""
    try:
        machine.the_screen_shows_what_is_stored()
        for name, arguments in steps:
            getattr(machine, name)(**arguments)
            machine.the_screen_shows_what_is_stored()
    finally:
        machine.teardown()


NESTED_STEPS = [("move", {"key": "home"}), ("move", {"key": "tab"}),
                ("move", {"key": "tab"}), ("move", {"key": "escape"}),
                ("label", {"key": "2"}), ("find", {"query": "Aster Rail and"}),
                ("label", {"key": "1"})]


def test_it_catches_a_stale_selection_moving_a_nested_span(monkeypatch) -> None:
    # The old bug: a find kept the entity an earlier selection came from.
    from reader.widgets.annotated_article import AnnotatedArticle

    keep = AnnotatedArticle.select_range

    def stale(self, start, end, origin=None, scroll=True):  # type: ignore[no-untyped-def]
        keep(self, start, end, origin or self.origin, scroll)

    replay(OverlappingAnnotateMachine(), NESTED_STEPS)
    monkeypatch.setattr(AnnotatedArticle, "select_range", stale)
    with pytest.raises(AssertionError):
        replay(OverlappingAnnotateMachine(), NESTED_STEPS)


def test_it_catches_an_undo_that_leaves_adjudication_marks(monkeypatch) -> None:
    # The old bug: undoing a choice left it decided (its ✓ and the open count stayed).
    from annotations.session import EditingSession as Base

    steps = [("key", {"key": "n"}), ("key", {"key": "1"}), ("undo_or_redo", {"key": "u"})]
    replay(AdjudicateMachine(), steps)
    monkeypatch.setattr(Adjudication, "undo", lambda self: Base.undo(self))
    with pytest.raises(AssertionError):
        replay(AdjudicateMachine(), steps)


def test_it_catches_a_confirm_count_that_is_not_what_was_confirmed(monkeypatch) -> None:
    # The old bug: C said how many spans the changed run held, not how many it confirmed.
    import annotations.session as session_module

    def run_length(text, removed, added, *relations):  # type: ignore[no-untyped-def]
        return f"confirmed {len(added)} {added[0].label}" if added else ""

    steps = [("move", {"key": "tab"}), ("edit_or_go", {"key": "C"})]
    replay(AnnotateMachine(), steps)
    monkeypatch.setattr(session_module, "describe", run_length)
    with pytest.raises(AssertionError):
        replay(AnnotateMachine(), steps)
