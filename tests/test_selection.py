"""The selection: where it comes from decides what a label key may edit.

The nested brat document of issue 18: a label key on a range found with ``/`` adds a
span in an overlapping layer; it never moves the entity an earlier selection came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.models import (
    Annotation,
    Document,
    EntityLabel,
    LabelScheme,
    Relation,
    RelationLabel,
    Span,
)
from annotations.store import GoldStore
from reader.app import make_app

pytestmark = pytest.mark.anyio

NESTED_TEXT = ("Students of the University of Dushanbe marched through Dushanbe on Monday.\n"
               "The Tajik National University said the CSTO summit in Dushanbe was postponed.")
# The brat document's .ann: T1 ... T9 and R1 (located_in Arg1:T1 Arg2:T3).
NESTED_SPANS = [(16, 38, "ORG"), (30, 38, "GPE"), (55, 63, "GPE"), (67, 73, "DATE"),
                (79, 104, "ORG"), (79, 84, "NORP"), (114, 118, "ORG"), (114, 125, "EVENT"),
                (129, 137, "GPE")]
NESTED_SCHEME = LabelScheme(overlapping=True, entities=[
    EntityLabel(name=name, key=str(key), colour="#1f77b4")
    for key, name in enumerate(["DATE", "EVENT", "GPE", "NORP", "ORG"], start=1)
], relations=[RelationLabel(name="located_in")])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def nested_store(path: Path) -> tuple[GoldStore, str]:
    """The brat document imported as gold with ``--answer open``."""
    store = GoldStore(path)
    doc = Document.from_text(NESTED_TEXT)
    store.add_documents([doc])
    store.set_labels(NESTED_SCHEME)
    spans = [Span(start=s, end=e, label=label) for s, e, label in NESTED_SPANS]
    store.save_annotation(Annotation(doc_id=doc.id, spans=spans, relations=[
        Relation(head=(16, 38, "ORG"), child=(55, 63, "GPE"), label="located_in")]))
    return store, doc.id


async def find(pilot, query: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("slash")
    await pilot.pause()
    for char in query:
        await pilot.press("space" if char == " " else char)
    await pilot.press("enter")
    await pilot.pause()


async def test_a_label_key_on_a_found_range_adds_a_span_after_a_relabel(tmp_path: Path
                                                                        ) -> None:
    store, doc_id = nested_store(tmp_path / "gold.json")
    with store:
        app = make_app(store, load_model=False, start=0)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("home", "tab", "tab", "escape", "4")
            stored = {(s.start, s.end, s.label)
                      for s in store.annotation(doc_id).spans}
            assert (30, 38, "NORP") in stored
            await find(pilot, "CSTO summit in Dushanbe")
            await pilot.press("2")
            await pilot.pause()
        spans = {(s.start, s.end, s.label) for s in store.annotation(doc_id).spans}
    assert (114, 137, "EVENT") in spans  # added
    assert (30, 38, "NORP") in spans  # the relabelled inner span stays where it was
    assert len(spans) == len(NESTED_SPANS) + 1


async def test_equals_gives_the_other_suggestions_the_same_relabel(tmp_path: Path) -> None:
    from annotations.models import Prediction

    text = "Tajikistan asked. Tajikistan waits. Moscow and Tajikistan talk.\n"
    with GoldStore(tmp_path / "gold.json") as store:
        doc = Document.from_text(text)
        store.add_documents([doc])
        store.set_labels(LabelScheme(entities=[EntityLabel(name="NORP", key="1"),
                                               EntityLabel(name="GPE", key="2")]))
        starts = [i for i in range(len(text)) if text.startswith("Tajikistan", i)]
        store.put_predictions([Prediction(doc_id=doc.id, extractor="m@1", spans=[
            Span(start=s, end=s + 10, label="NORP", source="m@1", state="suggested")
            for s in starts])])
        app = make_app(store, load_model=False, start=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("2")  # the cursor is on the first "Tajikistan"
            notes = [n.message for n in app.notices]
            assert "= relabels the 2 other unreviewed suggestions NORP 'Tajikistan' as GPE " \
                   "too" in notes
            await pilot.press("equals_sign")
            notes = [n.message for n in app.notices]
            assert "'Tajikistan' NORP → GPE (2 times)" in notes
        spans = store.annotation(doc.id).spans
    assert [(s.label, s.state) for s in spans] == [("GPE", "changed")] * 3


async def test_tab_stops_name_each_nested_entity_the_panel_indents_them_d_deletes_one(tmp_path: Path
                                                                            ) -> None:
    from reader.widgets.annotated_article import AnnotatedArticle
    from reader.widgets.side_panel import EntityList

    store, doc_id = nested_store(tmp_path / "gold.json")
    with store:
        app = make_app(store, load_model=False, start=0)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            article = app.screen.query_one(AnnotatedArticle)
            entities = app.screen.query_one(EntityList)

            async def stops(key: str) -> list[str]:
                said = []
                for _ in NESTED_SPANS:
                    await pilot.press(key)
                    await pilot.pause()
                    status = str(app.screen.query_one("#status").render())
                    said.append(status.split(" · ")[1].split("  ")[0])
                    assert entities.shown_at(entities.highlighted).start == \
                        article.selection.start
                return said

            await pilot.press("home")
            forward = await stops("tab")
            assert forward[:2] == ["ORG 'University of Dushanbe' 16-38", "GPE 'Dushanbe' 30-38"]
            assert "ORG 'Tajik National University' 79-104" in forward
            await pilot.press("end")
            assert await stops("shift+tab") == forward[::-1]
            rows = [(entities.shown_at(i).label, entities.depth(entities.shown_at(i)))
                    for i in range(len(entities.rows))]
            assert rows[4:8] == [("ORG", 0), ("NORP", 1), ("EVENT", 0), ("ORG", 1)]
            assert article.show_edges  # an overlapping layer shows its edge marks
            await pilot.press("m")
            assert not article.show_edges
            # d on the entity a Tab stop named deletes that one, not the span nested in it.
            await pilot.press("home", "tab", "d")
            await pilot.pause()
        spans = {(s.start, s.end, s.label) for s in store.annotation(doc_id).spans}
    assert spans == set(NESTED_SPANS) - {(16, 38, "ORG")}
