"""Adjudication without a screen: auto-merge, taking a version, rejecting, provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.adjudication import Adjudication, AdjudicationError
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

TEXT = "Maria Keller met engineers from Aster Rail in Geneva on Monday.\n"
SCHEME = LabelScheme(
    entities=[EntityLabel(name=n, key=str(k)) for k, n in enumerate(
        ["PERSON", "ORG", "GPE", "DATE"], start=1)],
    relations=[RelationLabel(name="works_for", key="w"), RelationLabel(name="based_in", key="b")],
)


def at(needle: str, label: str) -> Span:
    start = TEXT.index(needle)
    return Span(start=start, end=start + len(needle), label=label)


def key(needle: str) -> tuple[int, int]:
    start = TEXT.index(needle)
    return (start, start + len(needle))


@pytest.fixture
def store(tmp_path: Path):
    doc = Document.from_text(TEXT)
    with GoldStore(tmp_path / "team.json") as store:
        store.add_documents([doc, Document.from_text("Only alice read this one.\n")])
        store.set_labels(SCHEME)
        alice = Annotation(doc_id=doc.id, annotator="alice", status="accept", spans=[
            at("Maria Keller", "PERSON"), at("Aster Rail", "ORG"), at("Geneva", "GPE")],
            relations=[Relation(head=key("Maria Keller"), child=key("Aster Rail"),
                                label="works_for")])
        bob = Annotation(doc_id=doc.id, annotator="bob", status="accept", spans=[
            at("Maria Keller", "PERSON"), at("Aster", "ORG"), at("Geneva", "GPE"),
            at("Monday", "DATE")])
        store.save_annotations([alice, bob])
        yield store


def test_agreed_spans_are_merged_at_once_and_nothing_is_written(store: GoldStore):
    adjudication = Adjudication(store)
    assert len(adjudication) == 1  # the document only alice annotated is not offered
    ann = adjudication.open(0)
    assert [(TEXT[s.start:s.end], s.source) for s in ann.spans] == [
        ("Maria Keller", "alice+bob"), ("Geneva", "alice+bob")]
    assert store.annotation(adjudication.doc_id, "gold") is None
    kinds = [(item.kind, TEXT[item.start:item.end]) for item in adjudication.items()]
    assert kinds == [("relation", "Maria Keller met engineers from Aster Rail"),
                     ("span", "Aster Rail"), ("span", "Monday")]


def test_taking_versions_and_rejecting_make_the_stored_gold(store: GoldStore):
    adjudication = Adjudication(store)
    adjudication.open(0)
    relation, aster, monday = adjudication.items()
    with pytest.raises(AdjudicationError, match="settle the spans first"):
        adjudication.take(relation, "alice")
    adjudication.take(aster, "alice")
    assert adjudication.settled_by(aster) == ["alice"]
    adjudication.take(relation, "alice")
    adjudication.reject(monday)
    assert adjudication.settled_by(monday) == ["alice"]  # alice marked nothing there
    adjudication.set_status("accept")
    gold = store.annotation(adjudication.doc_id, "gold")
    assert gold is not None and gold.status == "accept"
    assert [(TEXT[s.start:s.end], s.label, s.source) for s in gold.spans] == [
        ("Maria Keller", "PERSON", "alice+bob"), ("Aster Rail", "ORG", "alice"),
        ("Geneva", "GPE", "alice+bob")]
    assert gold.relations == [Relation(head=key("Maria Keller"), child=key("Aster Rail"),
                                       label="works_for")]
    # Undo works here too: the acceptance, then the relation taken.
    adjudication.undo()
    adjudication.undo()
    gold = store.annotation(adjudication.doc_id, "gold")
    assert gold is not None and gold.status is None and gold.relations == []


def test_a_lower_threshold_merges_the_majority(store: GoldStore):
    store.save_annotation(Annotation(doc_id=store.document_ids()[0], annotator="carol",
                                     status="accept", spans=[at("Aster", "ORG")]))
    majority = Adjudication(store, ["alice", "bob", "carol"], threshold=0.6)
    ann = majority.open(0)
    assert ("Aster", "bob+carol") in [(TEXT[s.start:s.end], s.source) for s in ann.spans]


def test_the_target_cannot_be_compared_and_one_annotator_is_not_enough(store: GoldStore):
    with pytest.raises(AdjudicationError, match="cannot also be one of the annotators"):
        Adjudication(store, ["alice", "gold"])
    with pytest.raises(AdjudicationError, match="nothing to adjudicate"):
        Adjudication(store, ["alice"])


def test_an_item_is_open_until_the_adjudicator_decides_it(store: GoldStore):
    adjudication = Adjudication(store)
    adjudication.open(0)
    monday = adjudication.items()[-1]  # bob marked it, alice did not: nobody decided yet
    assert adjudication.settled_by(monday) == ["alice"] and not adjudication.is_settled(monday)
    adjudication.reject(monday)
    assert adjudication.is_settled(monday)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_keys_reach_the_adjudication_and_the_store(store: GoldStore):
    from reader.app import AdjudicateApp

    app = AdjudicateApp(store, Adjudication(store))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert "1 alice" in str(screen.query_one("#legend").render())
        # The first open item is the relation: its spans are not settled yet.
        await pilot.press("1")
        assert any("settle the spans" in n.message for n in app.notices)
        await pilot.press("n", "1", "x", "a")  # alice's Aster Rail, no Monday
        await pilot.pause()
        assert "still open" in [n.message for n in app.notices][-1]
        await pilot.press("p", "p", "1", "a")  # now the relation, then accept
        await pilot.pause()
    gold = store.annotation(store.document_ids()[0], "gold")
    assert gold is not None and gold.status == "accept"
    assert [(TEXT[s.start:s.end], s.source) for s in gold.spans] == [
        ("Maria Keller", "alice+bob"), ("Aster Rail", "alice"), ("Geneva", "alice+bob")]
    assert [r.label for r in gold.relations] == ["works_for"]


def test_an_overlapping_store_is_refused_clearly(store: GoldStore):
    store.set_labels(store.labels.model_copy(update={"overlapping": True}))
    with pytest.raises(AdjudicationError, match="flat layers only"):
        Adjudication(store)
