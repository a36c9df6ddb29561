"""Pilot tests of the annotator: keys in, then what the store holds (exact offsets)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

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
from annotations.store import GoldStore
from reader.app import AnnotatorApp, make_app
from reader.config import AnnotatorConfig
from reader.screens.annotate import AnnotateScreen
from reader.screens.pickers import LabelPicker, RelationPicker, UnreviewedPicker
from reader.screens.session_screen import FOOTER_REFRESH_DELAY
from reader.screens.status_line import StatusLine

EXTRACTOR = "test-extractor@1"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


TEXT_ONE = (
    "Maria Keller, the mayor of Lindenfeld, met engineers from Aster Rail on Monday.\n"
    "\n"
    "The talks in Geneva ended without a deal, Keller said.\n"
)
TEXT_TWO = "Reporter 山田太郎 met 🚀 Acme Corp in 東京 today.\n"
SCHEME = LabelScheme(
    entities=[
        EntityLabel(name="PERSON", key="1", colour="#1f77b4"),
        EntityLabel(name="ORG", key="2", colour="#ff7f0e"),
        EntityLabel(name="GPE", key="3", colour="#2ca02c"),
        EntityLabel(name="DATE", key="4", colour="#d62728"),
        EntityLabel(name="PRODUCT", key=None, colour="#9467bd"),
    ],
    relations=[
        RelationLabel(name="works_for", key="w", heads=["PERSON"], children=["ORG"]),
        RelationLabel(name="located_in", key="l", heads=["ORG"], children=["GPE"]),
    ],
)


def span_of(text: str, needle: str, label: str, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    return Span(start=start, end=start + len(needle), label=label, source=EXTRACTOR,
                state="suggested")


def spans_one() -> list[Span]:
    return [
        span_of(TEXT_ONE, "Maria Keller", "PERSON"),
        span_of(TEXT_ONE, "Lindenfeld", "ORG"),  # wrong on purpose: a GPE
        span_of(TEXT_ONE, "Aster Rail", "ORG"),
        span_of(TEXT_ONE, "Monday", "DATE"),
        span_of(TEXT_ONE, "Geneva", "GPE"),
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GoldStore]:
    """Two documents (the second with CJK and emoji), the first with predictions."""
    gold = GoldStore(tmp_path / "gold.json")
    one = Document.from_text(TEXT_ONE, {"title": "One"})
    two = Document.from_text(TEXT_TWO, {"title": "Two"})
    gold.add_documents([one, two])
    gold.set_labels(SCHEME)
    gold.put_predictions([Prediction(doc_id=one.id, extractor=EXTRACTOR, spans=spans_one())])
    try:
        yield gold
    finally:
        gold.close()


def doc_ids(store: GoldStore) -> list[str]:
    return store.document_ids()


def gold_spans(store: GoldStore, index: int = 0) -> list[tuple[int, int, str, str]]:
    ann = store.annotation(doc_ids(store)[index])
    assert ann is not None
    return [(s.start, s.end, s.label, s.state) for s in ann.spans]


def app_for(store: GoldStore, **options: object) -> AnnotatorApp:
    options.setdefault("load_model", False)
    return make_app(store, **options)  # type: ignore[arg-type]


def screen_of(app: AnnotatorApp) -> AnnotateScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, AnnotateScreen)
    return screen


async def test_opening_seeds_suggestions_without_saving(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        assert [s.state for s in screen.annotation.spans] == ["suggested"] * 5
        assert store.annotation(doc_ids(store)[0]) is None  # nothing typed, nothing saved


async def test_opening_says_what_seeding_left_out_of_the_suggestions(store: GoldStore) -> None:
    doc_id = doc_ids(store)[1]
    text = store.text(doc_id)
    acme = text.index("Acme Corp")
    store.put_predictions([Prediction(doc_id=doc_id, extractor="nested@1", spans=[
        Span(start=acme, end=acme + 9, label="ORG", source="nested@1", state="suggested"),
        Span(start=acme, end=acme + 4, label="ORG", source="nested@1", state="suggested")])])
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("n")  # next document: the nested prediction
        await pilot.pause()
        assert screen_of(app).session.doc_id == doc_id
        assert any("1 overlapping suggestion(s) left out" in n.message for n in app.notices)


async def test_confirm_and_relabel_suggestions(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        # The cursor starts on "Maria" inside the first suggestion: accept it as is; c
        # goes on to the next unreviewed suggestion, "Lindenfeld" (ORG): relabel it GPE.
        await pilot.press("c")
        assert screen_of(app).selection() == (27, 37)
        await pilot.press("3")
    assert gold_spans(store)[:2] == [(0, 12, "PERSON", "confirmed"), (27, 37, "GPE", "changed")]
    assert len(gold_spans(store)) == 5


async def test_token_selection_labels_new_span_and_fixes_a_boundary(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        # From "Maria Keller" step right out of the entity: ",", "the", "mayor".
        await pilot.press("right", "right", "right", "shift+right", "1")
        assert gold_spans(store)[1] == (18, 26, "PERSON", "confirmed")
        assert TEXT_ONE[18:26] == "mayor of"
        # A selection over "Aster Rail on" fixes the boundary of the suggestion it
        # overlaps: still the extractor's span, changed by a person.
        await pilot.press("tab", "tab", "shift+right", "2")
    start = TEXT_ONE.index("Aster Rail")
    end = TEXT_ONE.index(" Monday")
    spans = gold_spans(store)
    assert (start, end, "ORG", "changed") in spans
    assert not any(s[0] == start and s[1] == start + len("Aster Rail") for s in spans)


async def test_shift_arrows_snap_to_tokens(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("right", "right", "right")  # "mayor"
        await pilot.press("shift+right", "shift+right", "shift+left", "4")
    mayor = TEXT_ONE.index("mayor")
    assert (mayor, mayor + len("mayor of"), "DATE", "confirmed") in gold_spans(store)


async def test_delete_entity_and_its_relations(store: GoldStore) -> None:
    doc_id = doc_ids(store)[0]
    maria = span_of(TEXT_ONE, "Maria Keller", "PERSON")
    aster = span_of(TEXT_ONE, "Aster Rail", "ORG")
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("r")  # head: Maria Keller
        screen = screen_of(app)
        letter = next(k for k, s in screen.relation.targets.items() if s.key == aster.key)
        await pilot.press(letter)
        assert isinstance(app.screen, RelationPicker)
        await pilot.press("w")
        await pilot.pause()
        ann = store.annotation(doc_id)
        assert ann is not None
        assert ann.relations == [Relation(head=maria.key, child=aster.key, label="works_for")]
        await pilot.press("d")  # the cursor is still on Maria Keller
    ann = store.annotation(doc_id)
    assert ann is not None
    assert ann.relations == []
    assert maria.key not in [s.key for s in ann.spans]


async def test_relation_by_tab_and_enter_offers_only_fitting_labels(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("tab", "tab")  # Aster Rail (ORG)
        await pilot.press("r", "tab", "enter")  # child: Monday (DATE)
        assert isinstance(app.screen, RelationPicker)
        assert app.screen.labels == []  # neither works_for nor located_in fits ORG → DATE
        await pilot.press("escape")
        # Lindenfeld is a suggested ORG: located_in (ORG → GPE) fits with Geneva.
        await pilot.press("shift+tab", "shift+tab", "r")
        screen = screen_of(app)
        letter = next(k for k, s in screen.relation.targets.items() if s.label == "GPE")
        await pilot.press(letter)
        assert [label.name for label in app.screen.labels] == ["located_in"]
        await pilot.press("l")
    ann = store.annotation(doc_ids(store)[0])
    assert ann is not None
    lindenfeld, geneva = span_of(TEXT_ONE, "Lindenfeld", "ORG"), span_of(TEXT_ONE, "Geneva", "GPE")
    assert ann.relations == [Relation(head=lindenfeld.key, child=geneva.key, label="located_in")]


async def test_relation_panel_reverses_and_deletes(store: GoldStore) -> None:
    doc_id = doc_ids(store)[0]
    lindenfeld, geneva = span_of(TEXT_ONE, "Lindenfeld", "ORG"), span_of(TEXT_ONE, "Geneva", "GPE")
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("tab", "r")
        screen = screen_of(app)
        letter = next(k for k, s in screen.relation.targets.items() if s.label == "GPE")
        await pilot.press(letter, "l", "e", "v")
        ann = store.annotation(doc_id)
        assert ann is not None
        reversed_relation = Relation(head=geneva.key, child=lindenfeld.key, label="located_in")
        assert ann.relations == [reversed_relation]
        await pilot.press("delete")
    ann = store.annotation(doc_id)
    assert ann is not None and ann.relations == []


async def test_undo_and_redo_across_documents(store: GoldStore) -> None:
    first, second = doc_ids(store)
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("tab", "3")  # Lindenfeld → GPE in the first document
        await pilot.press("n", "right", "1")  # label "山田太郎" PERSON in the second
        tokyo = TEXT_TWO.index("山田太郎")
        assert gold_spans(store, 1) == [(tokyo, tokyo + 4, "PERSON", "confirmed")]
        await pilot.press("u")
        assert gold_spans(store, 1) == []
        await pilot.press("u")  # goes back to the first document and reverts there
        assert screen_of(app).doc_id == first
        assert [s[2] for s in gold_spans(store, 0)] == ["PERSON", "ORG", "ORG", "DATE", "GPE"]
        await pilot.press("ctrl+y", "ctrl+y")
        assert screen_of(app).doc_id == second
    assert gold_spans(store, 0)[1] == (27, 37, "GPE", "changed")
    assert gold_spans(store, 1) == [(tokyo, tokyo + 4, "PERSON", "confirmed")]


async def test_emoji_and_cjk_offsets(store: GoldStore) -> None:
    app = app_for(store, start=1)
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        # Tokens: Reporter, 山田太郎, met, 🚀, Acme, Corp, in, 東京, today, "."
        await pilot.press("right", "right", "right", "right", "shift+right", "2")
        await pilot.press("right", "right", "3")  # out of "Acme Corp": "in", "東京"
    acme = TEXT_TWO.index("Acme Corp")
    tokyo = TEXT_TWO.index("東京")
    assert gold_spans(store, 1) == [
        (acme, acme + 9, "ORG", "confirmed"),
        (tokyo, tokyo + 2, "GPE", "confirmed"),
    ]
    assert TEXT_TWO[tokyo:tokyo + 2] == "東京"


async def test_mouse_click_on_wide_text_and_drag(store: GoldStore) -> None:
    app = app_for(store, start=1)
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        screen = screen_of(app)
        view = screen.view
        # "Reporter " is cells 0-8, 山田太郎 9-16, " met " 17-21, 🚀 22-23, " " 24, "Acme" 25-28.
        left = view.styles.padding.left
        await pilot.click(view, offset=(left + 26, 0))
        assert screen.selection() == (TEXT_TWO.index("Acme"), TEXT_TWO.index("Acme") + 4)
        await pilot.mouse_down(view, offset=(left + 10, 0))
        await pilot.hover(view, offset=(left + 27, 0))
        await pilot.mouse_up(view, offset=(left + 27, 0))
        assert screen.selection() == (TEXT_TWO.index("山田太郎"), TEXT_TWO.index(" Corp"))


async def test_accept_reject_and_resume(store: GoldStore) -> None:
    first, second = doc_ids(store)
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("c")  # "Maria Keller" looked at and kept
        await pilot.press("a")
        # Four suggestions nobody looked at: accepting asks first, and Escape accepts nothing.
        assert isinstance(app.screen, UnreviewedPicker)
        await pilot.press("escape")
        assert store.annotation(first).status is None  # type: ignore[union-attr]
        await pilot.press("a", "g")  # go to the first unreviewed suggestion
        assert screen_of(app).selection() == (27, 37)
        await pilot.press("a", "c")  # confirm them all in bulk and accept
        assert screen_of(app).doc_id == second  # moved on to the next open document
        await pilot.press("x")
    assert store.annotation(first).status == "accept"  # type: ignore[union-attr]
    assert [(s.key, s.state) for s in store.annotation(first).spans] == [  # type: ignore
        (s.key, "confirmed" if n == 0 else "bulk_confirmed") for n, s in enumerate(spans_one())]
    assert store.annotation(second).status == "reject"  # type: ignore[union-attr]
    assert [a.doc_id for a in store.gold()] == [first]
    # A new session resumes at the first document not accepted: none is open, so the second.
    assert app_for(store).start_index == 1


async def test_label_picker_adds_a_new_label(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("right", "right", "right", "l")
        assert isinstance(app.screen, LabelPicker)
        await pilot.press(*"OFFICE", "enter")
        # A new name is not added at once: a typo must not become a label.
        assert isinstance(app.screen, LabelPicker)
        assert "press Enter again" in str(app.screen.query_one("#label-hint").render())
        await pilot.press("enter")
    mayor = TEXT_ONE.index("mayor")
    assert (mayor, mayor + 5, "OFFICE", "confirmed") in gold_spans(store)
    assert "OFFICE" in store.labels.entity_names


async def test_label_picker_reaches_labels_without_a_key(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("tab", "tab", "l", *"prod", "enter")
    aster = TEXT_ONE.index("Aster Rail")
    assert (aster, aster + 10, "PRODUCT", "changed") in gold_spans(store)


async def test_find_selects_the_match(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("slash", *"talks", "enter", "1")
    talks = TEXT_ONE.index("talks")
    assert (talks, talks + 5, "PERSON", "confirmed") in gold_spans(store)


async def test_keymap_from_config_remaps_a_binding(store: GoldStore) -> None:
    config = AnnotatorConfig(keymap={"delete-entity": "k"})
    app = app_for(store, start=0, config=config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await pilot.press("d")  # no longer bound
        assert store.annotation(doc_ids(store)[0]) is None
        await pilot.press("k")
    assert [s[0] for s in gold_spans(store)] == [s.start for s in spans_one()[1:]]


async def test_undo_is_dimmed_until_there_is_an_edit(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        screen = screen_of(app)
        assert screen.check_action("undo", ()) is None
        await pilot.press("c")
        assert screen.check_action("undo", ()) is True
        assert screen.check_action("redo", ()) is None


async def until(pilot, condition, seconds: float = FOOTER_REFRESH_DELAY + 5) -> None:  # type: ignore[no-untyped-def]
    """Pause until ``condition()`` holds (the footer refreshes once the keys pause, after
    FOOTER_REFRESH_DELAY); fail if it does not within ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the footer did not follow"
        await pilot.pause(0.02)


async def test_footer_shows_undo_once_the_keys_pause(store: GoldStore) -> None:
    from reader.screens.key_footer import KeyFooter

    def undo_key_disabled() -> bool:
        keys = [entry for entry in app.screen.query_one(KeyFooter).entries if entry[0] == "u"]
        assert len(keys) == 1
        return not keys[0][3]

    app = app_for(store, start=0)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert undo_key_disabled()
        await pilot.press("c")  # an edit: undo can act, and the footer follows shortly
        await until(pilot, lambda: not undo_key_disabled())
        await pilot.press("u")
        await until(pilot, undo_key_disabled)
        await pilot.press("u")  # refused while dimmed: the store keeps the undone state
    assert store.annotation(doc_ids(store)[0]) is not None
    assert all(s.state == "suggested" for s in store.annotation(doc_ids(store)[0]).spans)


class RuleExtractor:
    """A tiny extractor for the worker test: every capitalised word is an ORG."""

    id = "rules@1"
    labels = ["ORG"]

    def predict(self, items, batch_size: int = 16):  # type: ignore[no-untyped-def]
        import re

        for doc_id, text in items:
            spans = [Span(start=m.start(), end=m.end(), label="ORG", source=self.id,
                          state="suggested") for m in re.finditer(r"\b[A-Z]\w+", text)]
            yield Prediction(doc_id=doc_id, extractor=self.id, spans=spans)


async def test_model_loads_in_a_worker_and_seeds_the_open_document(store: GoldStore) -> None:
    second = doc_ids(store)[1]
    app = make_app(store, start=1, extractor_loader=lambda model: RuleExtractor())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # let the screen mount before the first key
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = screen_of(app)
        assert [s.text_in(TEXT_TWO) for s in screen.annotation.spans] == ["Reporter", "Acme",
                                                                         "Corp"]
        assert "rules@1 ready" in str(screen.query_one("#status").render())
        # The cursor, on "Reporter" since the start, is on the suggestion that arrived.
        assert "ORG 'Reporter' 0-8  suggested" in str(screen.query_one("#status").render())
        await pilot.press("d")
        assert [s.text_in(TEXT_TWO) for s in screen.annotation.spans] == ["Acme", "Corp"]
    assert store.has_prediction(second, "rules@1")
    assert store.has_prediction(doc_ids(store)[0], "rules@1")


async def test_command_palette_runs_an_action(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.press(*"Accept")
        await pilot.pause(0.3)  # the palette searches in a worker
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("c")  # confirm the unreviewed suggestions
        await pilot.pause()
    ann = store.annotation(doc_ids(store)[0])
    assert ann is not None and ann.status == "accept"


async def test_help_lists_every_binding_id(store: GoldStore) -> None:
    from reader.bindings import ANNOTATE_BINDINGS
    from reader.screens.help import HelpScreen

    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        ids = {binding_id for row in app.screen.rows for binding_id in row[3].split()}
        assert {b.id for b in ANNOTATE_BINDINGS if not b.id.startswith("label-")} <= ids
        await pilot.press("escape")
        assert isinstance(app.screen, AnnotateScreen)


async def test_line_page_and_edge_moves(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        view = screen.view
        await pilot.press("end")
        assert screen.selection() == (len(TEXT_ONE) - 2, len(TEXT_ONE) - 1)  # the final "."
        await pilot.press("home", "right", "right", "right", "down")
        start, end = screen.selection()
        assert view.line_of(start) == 1
        assert abs(view.column_of(start) - view.column_of(TEXT_ONE.index("the mayor"))) <= 6
        # At this width the line below "the mayor" shows "Aster Rail": the key relabels it.
        aster = TEXT_ONE.index("Aster Rail")
        assert aster <= start < end <= aster + len("Aster Rail")
        await pilot.press("1")
        assert (aster, aster + len("Aster Rail"), "PERSON", "changed") in gold_spans(store)
        await pilot.press("up", "pagedown")
        assert screen.selection()[0] >= TEXT_ONE.index("The talks")
        await pilot.press("pageup")
        assert view.line_of(screen.selection()[0]) == 0


async def test_title_with_control_characters_is_shown_escaped(tmp_path: Path) -> None:
    gold = GoldStore(tmp_path / "esc.json")
    gold.add_documents([Document.from_text("Bad \x1b[31mtitle\x1b[0m line\nBody.\n")])
    try:
        app = app_for(gold)
        async with app.run_test(size=(100, 24)) as pilot:
            await pilot.pause()
            assert "\x1b" not in app.sub_title and "␛[31mtitle" in app.sub_title
    finally:
        gold.close()


async def test_blind_annotation_shows_no_suggestions(store: GoldStore) -> None:
    app = app_for(store, start=0, blind=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert screen_of(app).annotation.spans == [] and app.load_model is False
        await pilot.press("1")  # "Maria" typed by the person
    assert gold_spans(store) == [(0, 5, "PERSON", "confirmed")]


async def test_boundary_keys_move_either_edge_and_never_invert(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        await pilot.press("tab")  # "Lindenfeld", one token
        assert screen.selection() == (27, 37)
        await pilot.press("shift+left")  # a one-token selection never grows left
        assert screen.selection() == (27, 37)
        await pilot.press("alt+left")  # grow the start: "of Lindenfeld"
        assert screen.selection() == (24, 37)
        # The account of the selection (the refusal of shift+left is still said beside it).
        assert "selection 'of Lindenfeld' 24-37" in str(screen.query_one(StatusLine).account)
        await pilot.press("greater_than_sign", "shift+right")  # start back in, end out
        assert screen.selection() == (27, 38)
        await pilot.press("shift+left", "3")
    assert (27, 37, "GPE", "changed") in gold_spans(store)


async def test_find_counts_matches_and_says_when_it_wraps(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"keller", "enter")
        await pilot.pause()
        notes = [n.message for n in app.notices]
        assert "'keller': 1/2" in notes
        await pilot.press("f3", "f3")
        notes = [n.message for n in app.notices]
        assert "'keller': 2/2" in notes and "'keller': 1/2 (wrapped to the start)" in notes


async def test_keys_that_cannot_act_say_why(store: GoldStore) -> None:
    app = app_for(store, start=1)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("n", "d", "u")
        await pilot.pause()
        notes = [n.message for n in app.notices]
        assert "This is the last document" in notes
        assert "No entity here to delete" in notes
        assert "Nothing to undo (edits of earlier sessions stay as saved)" in notes


async def test_undo_and_status_changes_are_announced(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("3", "u", "x")
        await pilot.pause()
        notes = [n.message for n in app.notices]
        assert "undo: 'Maria Keller' GPE → PERSON" in notes and "document 1 rejected" in notes


async def test_occurrences_are_offered_and_confirmed_one_key_each(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("d", "right", "1")  # "Keller" alone, a person
        await pilot.press("o")  # its other occurrence is offered, and selected
        second = TEXT_ONE.rindex("Keller")
        assert screen_of(app).selection() == (second, second + 6)
        await pilot.press("c")
    assert (second, second + 6, "PERSON", "confirmed") in gold_spans(store)


async def test_relation_relabel_from_the_panel_and_two_letter_hints(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        await pilot.press("r", "s")  # Maria Keller -> Aster Rail (hints a, s, d, f)
        await pilot.press("w")
        await pilot.press("e", "l")
        assert isinstance(app.screen, RelationPicker)
        await pilot.press("escape", "escape")
        from reader.screens.relation_mode import hint_codes
        codes = hint_codes(30)
        assert codes[:2] == ["aa", "as"] and len(set(codes)) == 30
        await pilot.press("r", "z")
        notes = [n.message for n in app.notices]
        assert "No entity on screen has the hint z" in notes
        assert screen.relation is not None
    assert store.annotation(doc_ids(store)[0]).relations[0].label == "works_for"


async def test_side_panel_starts_hidden_on_narrow_screens_and_b_toggles_it(
        store: GoldStore) -> None:
    from reader.widgets.side_panel import SidePanel

    app = app_for(store, start=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(SidePanel)
        assert not panel.display
        await pilot.press("b")
        assert panel.display


async def test_relations_are_marked_in_the_article(store: GoldStore) -> None:
    app = app_for(store, start=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = screen_of(app)
        view = screen.view
        maria, aster = (0, 12), (58, 68)
        await pilot.press("r", "s", "w")  # Maria Keller works_for Aster Rail
        tags = {(s.start, s.end): s.tag for s in view.spans}
        assert tags[maria].endswith("•") and tags[aster].endswith("•")
        assert not tags[(27, 37)].endswith("•")
        # The cursor is on Maria Keller: the other end of her relation is underlined.
        assert view.related == (aster,)
        await pilot.press("tab")  # Lindenfeld has no relation
        assert view.related == ()
        await pilot.press("e", "d")  # delete the relation from the panel
        tags = {(s.start, s.end): s.tag for s in view.spans}
        assert not tags[maria].endswith("•") and not tags[aster].endswith("•")


async def test_the_first_page_down_scrolls_a_page(tmp_path: Path) -> None:
    text = "".join(f"Line {n} of a long article about nothing much.\n" for n in range(200))
    with GoldStore(tmp_path / "long.json") as gold:
        gold.add_documents([Document.from_text(text)])
        app = app_for(gold)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            view = screen_of(app).view
            assert view.scroll_offset.y == 0
            await pilot.press("pagedown")
            page = view.scrollable_content_region.height - 1
            assert view.scroll_offset.y == page  # the text moved a page at once
            assert view.line_of(screen_of(app).selection()[0]) == page  # cursor kept its row


async def test_f_cycles_through_nested_spans_and_labels_fix_the_chosen_one(
        tmp_path: Path) -> None:
    text = "The University of California at Berkeley hired Ana Lima.\n"
    with GoldStore(tmp_path / "nested.json") as gold:
        doc = Document.from_text(text)
        gold.add_documents([doc])
        gold.set_labels(SCHEME.model_copy(update={"overlapping": True}))
        org, gpe = (4, 28), (18, 28)
        gold.save_annotation(Annotation(doc_id=doc.id, spans=[
            Span(start=4, end=28, label="ORG"), Span(start=18, end=28, label="GPE")]))
        app = app_for(gold)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            screen = screen_of(app)
            await pilot.press("right", "right", "right")  # "California"
            assert screen.spans_under_cursor()[0].key == gpe  # the innermost
            await pilot.press("f")
            assert screen.spans_under_cursor()[0].key == org
            await pilot.press("f", "d")  # back to the GPE, delete only it
        assert [(s.start, s.end, s.label) for s in gold.annotation(doc.id).spans] == [
            (*org, "ORG")]
