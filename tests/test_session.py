"""The editing session's rules, without a screen: what each edit leaves in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import (
    Document,
    EntityLabel,
    LabelScheme,
    Prediction,
    Relation,
    RelationLabel,
    Span,
)
from annotations.session import EditingSession, UnreviewedSuggestions
from annotations.store import GoldStore

EXTRACTOR = "test-extractor@1"
TEXT = (
    "Maria Keller, the mayor of Lindenfeld, met engineers from Aster Rail on Monday.\n"
    "\n"
    "The talks in Geneva ended without a deal, Keller said.\n"
)
SECOND = "Reporter 山田太郎 met 🚀 Acme Corp in 東京 today.\n"
SCHEME = LabelScheme(
    entities=[
        EntityLabel(name="PERSON", key="1", colour="#1f77b4"),
        EntityLabel(name="ORG", key="2", colour="#ff7f0e"),
        EntityLabel(name="GPE", key="3", colour="#2ca02c"),
        EntityLabel(name="DATE", key="4", colour="#d62728"),
    ],
    relations=[
        RelationLabel(name="works_for", key="w", heads=["PERSON"], children=["ORG"]),
        RelationLabel(name="member_of", key="m", heads=["PERSON", "ORG"], children=["ORG"]),
        RelationLabel(name="located_in", key="l", heads=["ORG"], children=["GPE"]),
    ],
)


def where(needle: str, text: str = TEXT) -> tuple[int, int]:
    start = text.index(needle)
    return start, start + len(needle)


def suggestion(needle: str, label: str) -> Span:
    start, end = where(needle)
    return Span(start=start, end=end, label=label, source=EXTRACTOR, state="suggested")


def make_store(path: Path) -> GoldStore:
    store = GoldStore(path)
    store.add_documents([Document.from_text(TEXT), Document.from_text(SECOND)])
    store.set_labels(SCHEME)
    doc_id = store.document_ids()[0]
    store.put_predictions([Prediction(doc_id=doc_id, extractor=EXTRACTOR, spans=[
        suggestion("Maria Keller", "PERSON"),
        suggestion("Lindenfeld", "ORG"),
        suggestion("Aster", "ORG"),
        suggestion("Monday", "DATE"),
        suggestion("Geneva", "GPE"),
    ])])
    return store


@pytest.fixture
def store(tmp_path: Path):
    with make_store(tmp_path / "gold.json") as store:
        yield store


def session_on(store: GoldStore, **options) -> EditingSession:
    session = EditingSession(store, **options)
    session.open(0)
    return session


def stored(store: GoldStore, session: EditingSession):
    return store.annotation(session.doc_id, session.annotator)


def test_opening_seeds_suggestions_and_writes_nothing(store: GoldStore, tmp_path: Path):
    journal = Path(str(store.path) + ".journal")
    size = journal.stat().st_size
    session = EditingSession(store, scheme=SCHEME.with_entities(["EXTRA"]))
    session.open(session.resume_index())
    assert [s.state for s in session.annotation.spans] == ["suggested"] * 5
    assert stored(store, session) is None
    assert journal.stat().st_size == size
    assert "EXTRA" not in store.labels.entity_names  # written with the first edit only
    session.label(*where("Geneva"), "EXTRA")
    assert "EXTRA" in store.labels.entity_names


def test_blind_session_shows_no_suggestions(store: GoldStore):
    assert session_on(store, blind=True).annotation.spans == []


def test_boundary_fix_keeps_the_relations(store: GoldStore):
    session = session_on(store)
    keller, aster = session.span_at(where("Maria")[0]), session.span_at(where("Aster")[0])
    session.add_relation(keller, aster, "works_for")
    change = session.label(*where("Aster Rail"), "ORG")
    assert change is not None and change.description == "ORG 'Aster' → 'Aster Rail'"
    ann = stored(store, session)
    assert ann.relations == [Relation(head=where("Maria Keller"), child=where("Aster Rail"),
                                      label="works_for")]
    fixed = next(s for s in ann.spans if (s.start, s.end) == where("Aster Rail"))
    assert (fixed.source, fixed.state) == (EXTRACTOR, "changed")
    # Shrinking a boundary keeps them too.
    session.set_boundaries(session.span_at(where("Maria")[0]), *where("Keller"))
    assert stored(store, session).relations[0].head == where("Keller")


def test_relabel_keeps_an_unfitting_relation_and_says_so(store: GoldStore):
    session = session_on(store)
    keller, aster = session.span_at(where("Maria")[0]), session.span_at(where("Aster")[0])
    session.add_relation(keller, aster, "member_of")
    change = session.label(*where("Maria Keller"), "GPE")
    assert change is not None
    assert any("member_of needs PERSON/ORG → ORG, has GPE → ORG" in n for n in change.notices)
    assert len(stored(store, session).relations) == 1
    assert list(session.relation_problems().values()) == [
        "member_of needs PERSON/ORG → ORG, has GPE → ORG"]


def test_merge_keeps_the_relations_of_both(store: GoldStore):
    session = session_on(store)
    session.label(*where("Rail"), "ORG")
    keller = session.span_at(where("Maria")[0])
    session.add_relation(keller, session.span_at(where("Aster")[0]), "works_for")
    session.add_relation(keller, session.span_at(where("Rail")[0]), "member_of")
    change = session.label(*where("Aster Rail"), "ORG")
    assert change is not None and change.description == "merged 2 entities into ORG 'Aster Rail'"
    rels = {(r.head, r.child, r.label) for r in stored(store, session).relations}
    assert rels == {(where("Maria Keller"), where("Aster Rail"), "works_for"),
                    (where("Maria Keller"), where("Aster Rail"), "member_of")}


def test_merging_linked_spans_drops_the_self_link_and_says_so(store: GoldStore):
    session = session_on(store)
    session.add_relation(session.span_at(where("Lindenfeld")[0]),
                         session.span_at(where("Aster")[0]), "member_of")
    start, _ = where("Lindenfeld")
    _, end = where("Aster")
    change = session.label(start, end, "ORG")
    assert change is not None and change.notices
    assert "deleted 1 relation" in change.notices[0]
    assert stored(store, session).relations == []


def test_delete_deletes_the_relations_and_says_how_many(store: GoldStore):
    session = session_on(store)
    keller = session.span_at(where("Maria")[0])
    session.add_relation(keller, session.span_at(where("Aster")[0]), "works_for")
    session.add_relation(keller, session.span_at(where("Lindenfeld")[0]), "member_of")
    change = session.delete(*where("Maria"))
    assert change is not None
    assert change.description == "deleted PERSON 'Maria Keller' and 2 relations"
    assert stored(store, session).relations == []


def test_provenance_of_typed_confirmed_and_changed_spans(store: GoldStore):
    session = session_on(store)
    session.confirm(*where("Monday"))
    session.label(*where("Lindenfeld"), "GPE")
    session.label(*where("engineers"), "PERSON")
    states = {store.text(session.doc_id)[s.start:s.end]: (s.source, s.state)
              for s in stored(store, session).spans}
    assert states["Monday"] == (EXTRACTOR, "confirmed")
    assert states["Lindenfeld"] == (EXTRACTOR, "changed")
    assert states["engineers"] == ("human", "confirmed")
    assert states["Geneva"] == (EXTRACTOR, "suggested")
    # Pressing the label a suggestion already has confirms it.
    session.label(*where("Geneva"), "GPE")
    assert session.span_at(where("Geneva")[0]).state == "confirmed"


def test_accept_with_unreviewed_suggestions_asks_first(store: GoldStore):
    session = session_on(store)
    session.confirm(*where("Monday"))
    with pytest.raises(UnreviewedSuggestions) as raised:
        session.set_status("accept")
    assert len(raised.value.spans) == 4
    assert stored(store, session).status is None
    change = session.set_status("accept", confirm_unreviewed=True)
    assert change is not None and change.notices == ("4 suggestions confirmed in bulk",)
    ann = stored(store, session)
    assert ann.status == "accept"
    assert sorted(s.state for s in ann.spans) == ["bulk_confirmed"] * 4 + ["confirmed"]


def test_bulk_confirm_policy_accepts_at_once(store: GoldStore):
    session = session_on(store, bulk_confirm=True)
    assert session.set_status("accept") is not None
    assert stored(store, session).status == "accept"


def test_confirm_all_of_one_label(store: GoldStore):
    session = session_on(store)
    session.confirm_label("ORG")
    assert {s.label for s in session.unreviewed()} == {"PERSON", "DATE", "GPE"}


def test_undo_and_redo_across_documents(store: GoldStore):
    session = session_on(store)
    session.label(*where("Geneva"), "ORG")
    session.open(1)
    start, end = where("Acme Corp", SECOND)
    session.label(start, end, "ORG")
    first = session.undo()
    assert first is not None and not first.reopened and stored(store, session).spans == []
    second = session.undo()
    assert second is not None and second.reopened and session.index == 0
    assert session.span_at(where("Geneva")[0]).label == "GPE"
    assert stored(store, session).spans == session.annotation.spans
    redone = session.redo()
    assert redone is not None and stored(store, session).spans == session.annotation.spans
    assert session.span_at(where("Geneva")[0]).label == "ORG"


def test_relations_reverse_relabel_and_remove(store: GoldStore):
    session = session_on(store)
    keller, aster = session.span_at(where("Maria")[0]), session.span_at(where("Aster")[0])
    session.add_relation(keller, aster, "works_for")
    rel = session.annotation.relations[0]
    session.relabel_relation(rel, "member_of")
    rel = session.annotation.relations[0]
    assert rel.label == "member_of"
    session.reverse_relation(rel)
    assert session.annotation.relations[0].head == where("Aster")
    session.remove_relation(session.annotation.relations[0])
    assert stored(store, session).relations == []


def test_resume_skips_done_documents(store: GoldStore):
    session = session_on(store, bulk_confirm=True)
    session.set_status("accept")
    assert EditingSession(store).resume_index() == 1
    assert session.next_open() == 1
    assert session.progress() == (1, 2)


# -- random edit sequences against a reopened store --------------------------------

EDITS = st.lists(
    st.tuples(st.sampled_from(["label", "delete", "confirm", "relation", "undo", "redo",
                               "status", "bounds"]),
              st.integers(0, len(TEXT) - 1), st.integers(1, 12),
              st.sampled_from(["PERSON", "ORG", "GPE", "DATE"])),
    max_size=25,
)


def content(ann):
    return ([(s.start, s.end, s.label, s.source, s.state) for s in ann.spans],
            sorted(r.key for r in ann.relations), ann.status)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_random_edits_equal_what_a_reopened_store_holds(tmp_path_factory, edits):
    path = tmp_path_factory.mktemp("s") / "gold.json"
    with make_store(path) as store:
        session = session_on(store)
        for kind, offset, length, label in edits:
            start = session.tokens.spans[session.tokens.at(offset)][0]
            end = min(start + length, len(TEXT))
            if kind == "label":
                session.label(start, end, label)
            elif kind == "delete":
                session.delete(start, end)
            elif kind == "confirm":
                session.confirm(start, end)
            elif kind == "relation" and len(session.annotation.spans) > 1:
                spans = session.annotation.spans
                head, child = spans[offset % len(spans)], spans[(offset + 1) % len(spans)]
                session.add_relation(head, child, "member_of")
            elif kind == "undo":
                session.undo()
            elif kind == "redo":
                session.redo()
            elif kind == "status":
                session.set_status("accept", confirm_unreviewed=True)
            elif kind == "bounds" and session.annotation.spans:
                span = session.annotation.spans[offset % len(session.annotation.spans)]
                session.set_boundaries(span, span.start, min(span.end + length, len(TEXT)))
            # The index always agrees with the annotation.
            assert session.spans.spans == session.annotation.spans
        expected = content(session.annotation) if session.saved else None
        doc_id = session.doc_id
    with GoldStore(path, read_only=True) as reopened:
        ann = reopened.annotation(doc_id)
        assert (content(ann) if ann else None) == expected


def test_span_index_finds_spans_by_offset_in_any_input_order():
    import random

    from annotations.layer import SpanIndex

    spans = [Span(start=n * 10, end=n * 10 + 4, label="PER") for n in range(50)]
    shuffled = list(spans)
    random.Random(3).shuffle(shuffled)
    index = SpanIndex(shuffled)
    assert index.spans == spans
    assert index.at(172) == spans[17] and index.at(175) is None
    assert index.overlapping(13, 31) == [spans[1], spans[2], spans[3]]
    assert index.step(170, 1) == spans[18] and index.step(170, -1) == spans[16]
    index.replace([spans[17]], [Span(start=171, end=178, label="ORG")])
    assert index.at(175).label == "ORG" and index.starts[17] == 171


def test_other_occurrences_are_offered_for_review(store: GoldStore):
    session = session_on(store)
    session.delete(*where("Maria Keller"))
    change = session.label(*where("Keller"), "PERSON")
    keller = session.span_at(where("Keller")[0])
    change = session.label_occurrences(keller)
    assert change is not None and "1 other occurrence of 'Keller'" in change.notices[0]
    second = TEXT.rindex("Keller")
    offered = session.span_at(second)
    assert (offered.label, offered.source, offered.state) == ("PERSON", "repeat", "suggested")
    assert session.next_unreviewed(second - 1) == offered
    # Inside a word it is not an occurrence: "Rail" is not found in "Railway".
    assert session.occurrences(*where("Aster")) == []


def test_notes_are_saved_with_the_annotation_and_exported_in_meta(store: GoldStore, tmp_path):
    import json

    from annotations.formats.transfer import export_layers

    session = session_on(store, bulk_confirm=True)
    session.label(*where("Geneva"), "GPE")
    change = session.set_notes("  Keller is named twice; check the second.  ")
    assert change is not None
    assert session.set_notes("Keller is named twice; check the second.") is None
    session.set_status("accept")
    journal = Path(str(store.path) + ".journal").read_text(encoding="utf-8")
    assert '"notes"' in journal and "annotations.patch" in journal  # a patch, not a whole save
    out = tmp_path / "gold.jsonl"
    export_layers(store, out)
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["meta"]["notes"] == "Keller is named twice; check the second."


# -- an overlapping layer --------------------------------------------------------------

NESTED = "The University of California at Berkeley hired Ana Lima.\n"


@pytest.fixture
def nested_store(tmp_path: Path):
    with GoldStore(tmp_path / "nested.json") as store:
        store.add_documents([Document.from_text(NESTED)])
        store.set_labels(SCHEME.model_copy(update={"overlapping": True}))
        yield store


def at(needle: str, text: str = NESTED) -> tuple[int, int]:
    start = text.index(needle)
    return start, start + len(needle)


def test_an_overlapping_layer_keeps_a_span_added_over_another(nested_store: GoldStore):
    session = session_on(nested_store)
    session.label(*at("University of California"), "ORG")
    session.label(*at("California"), "GPE")  # nested: both stay
    session.label(*at("California at Berkeley"), "ORG")  # partial overlap: all three
    spans = [(NESTED[s.start:s.end], s.label) for s in nested_store.annotation(
        session.doc_id).spans]
    assert spans == [("University of California", "ORG"), ("California", "GPE"),
                     ("California at Berkeley", "ORG")]
    assert session.span_at(at("California")[0]).label == "GPE"  # the innermost
    assert [s.label for s in session.spans.all_at(at("California")[0])] == ["GPE", "ORG", "ORG"]


def test_relations_between_nested_spans_follow_a_relabel_and_a_delete(nested_store: GoldStore):
    session = session_on(nested_store)
    session.label(*at("University of California"), "ORG")
    session.label(*at("California"), "GPE")
    org = session.spans.get((*at("University of California"), "ORG"))
    gpe = session.spans.get((*at("California"), "GPE"))
    session.add_relation(org, gpe, "located_in")
    assert session.annotation.relations[0].head == (*at("University of California"), "ORG")
    # Relabelling the inner span changes its (start, end, label): the relation follows.
    session.label(*at("California"), "ORG", gpe)
    rel = nested_store.annotation(session.doc_id).relations[0]
    assert rel.child == (*at("California"), "ORG")
    # Deleting the inner span leaves the outer one, and takes its relation.
    inner = session.spans.get((*at("California"), "ORG"))
    change = session.delete_span(inner)
    assert change is not None and change.description == "deleted ORG 'California' and 1 relation"
    assert [s.label for s in nested_store.annotation(session.doc_id).spans] == ["ORG"]


def test_a_flat_layer_is_seeded_with_the_outermost_predictions(store: GoldStore):
    doc_id = store.document_ids()[1]
    text = store.text(doc_id)
    acme = text.index("Acme Corp")
    store.put_predictions([Prediction(doc_id=doc_id, extractor=EXTRACTOR, spans=[
        Span(start=acme, end=acme + 9, label="ORG", source=EXTRACTOR, state="suggested"),
        Span(start=acme, end=acme + 4, label="ORG", source=EXTRACTOR, state="suggested")])])
    session = EditingSession(store)
    session.open(1)
    assert [(s.start, s.end) for s in session.annotation.spans] == [(acme, acme + 9)]
    # ... and says that it left one out, for the screen to tell the person reviewing.
    assert session.seeding.describe() == (
        f"1 overlapping suggestion(s) left out (flat layer) ({EXTRACTOR})")
    session.confirm(acme, acme + 9)  # and it saves in the flat store
    session.open(0)
    session.open(1)  # opened as stored now: nothing was seeded, nothing to say
    assert session.seeding.describe() == ""
