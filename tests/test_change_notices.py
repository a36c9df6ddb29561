"""Every edit says what it changed, naming the entity (the session's Change descriptions),
and the rules that moved out of the screens: take_prediction, C's count, adjudication's
accept guard and undo of a choice.  No screen: milliseconds each."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.adjudication import Adjudication, AdjudicationError
from annotations.models import (
    Annotation,
    Document,
    EntityLabel,
    LabelScheme,
    Prediction,
    RelationLabel,
    Span,
)
from annotations.session import EditingSession, SessionError
from annotations.store import GoldStore

TEXT = ("Moscow says it will help Tajikistan. The CSTO summit in Dushanbe was postponed; "
        "Tajikistan and Kyrgyzstan sent envoys.\n")
SCHEME = LabelScheme(overlapping=True, entities=[
    EntityLabel(name=n, key=str(k)) for k, n in enumerate(
        ["GPE", "NORP", "ORG", "EVENT"], start=1)],
    relations=[RelationLabel(name="located_in", key="l")])
EXTRACTOR = "spacy@1"


def at(needle: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(needle, start + 1)
    return start, start + len(needle)


def suggestion(needle: str, label: str, nth: int = 0) -> Span:
    return Span(start=at(needle, nth)[0], end=at(needle, nth)[1], label=label,
                source=EXTRACTOR, state="suggested")


@pytest.fixture
def session(tmp_path: Path):
    with GoldStore(tmp_path / "gold.json") as store:
        doc = Document.from_text(TEXT)
        store.add_documents([doc])
        store.set_labels(SCHEME)
        store.put_predictions([Prediction(doc_id=doc.id, extractor=EXTRACTOR, spans=[
            suggestion("Moscow", "GPE"), suggestion("Tajikistan", "NORP"),
            suggestion("CSTO", "ORG"), suggestion("Dushanbe", "GPE"),
            suggestion("Tajikistan", "NORP", 1), suggestion("Kyrgyzstan", "GPE")])])
        session = EditingSession(store)
        session.open(0)
        yield session


def span(session: EditingSession, needle: str, nth: int = 0) -> Span:
    found = session.spans.all_with_offsets(*at(needle, nth))
    assert len(found) == 1
    return found[0]


def test_each_edit_names_the_entity_it_changed(session: EditingSession) -> None:
    tajikistan = span(session, "Tajikistan")
    assert session.label(*at("Tajikistan"), "GPE", tajikistan).description == \
        "'Tajikistan' NORP → GPE"
    assert session.label(*at("CSTO summit in Dushanbe"), "EVENT").description == \
        "added EVENT 'CSTO summit in Dushanbe'"
    relation = session.add_relation(span(session, "CSTO"), span(session, "Dushanbe"),
                                    "located_in")
    assert relation.description == "added relation located_in 'CSTO' → 'Dushanbe'"
    assert session.delete_span(span(session, "CSTO")).description == \
        "deleted ORG 'CSTO' and 1 relation"
    assert session.undo().description == "undo: added ORG 'CSTO' with 1 relation"
    session.undo()  # the relation
    session.undo()  # the EVENT
    assert session.undo().description == "undo: 'Tajikistan' GPE → NORP"


def test_relation_edits_name_both_ends(session: EditingSession) -> None:
    csto, dushanbe = span(session, "CSTO"), span(session, "Dushanbe")
    session.add_relation(csto, dushanbe, "located_in")
    relation = session.annotation.relations[0]
    assert session.reverse_relation(relation).description == \
        "reversed relation: located_in 'Dushanbe' → 'CSTO'"
    session.add_relation_labels(["based_in"])
    flipped = session.annotation.relations[0]
    assert session.relabel_relation(flipped, "based_in").description == \
        "relation 'Dushanbe' → 'CSTO': located_in → based_in"
    assert session.remove_relation(session.annotation.relations[0]).description == \
        "deleted relation based_in 'Dushanbe' → 'CSTO'"


def test_confirming_a_label_counts_only_what_it_confirmed(session: EditingSession) -> None:
    # Three GPE suggestions with two others between them: the count is the GPE ones.
    change = session.confirm_label("GPE")
    assert change is not None and change.description == "confirmed 3 GPE"
    assert session.unreviewed_count == 3 and session.confirm_label("GPE") is None


def test_a_range_that_came_from_no_entity_never_edits_one(session: EditingSession) -> None:
    before = set(session.annotation.spans)
    # Exactly the offsets of the NORP suggestion, from a find: a new span beside it.
    change = session.label(*at("Tajikistan"), "GPE")
    assert change is not None and change.description == "added GPE 'Tajikistan'"
    assert before <= set(session.annotation.spans)
    # The same range and label as a suggestion confirms it rather than adding a twin.
    assert session.label(*at("Moscow"), "GPE").description == "confirmed GPE 'Moscow'"
    # An entity that is gone cannot be the origin of an edit.
    gone = span(session, "Kyrgyzstan")
    session.delete_span(gone)
    with pytest.raises(SessionError, match="no longer in the document"):
        session.label(*at("Kyrgyzstan"), "NORP", gone)


def test_take_prediction_is_the_extractors_span_confirmed(session: EditingSession) -> None:
    norp = span(session, "Tajikistan")
    change = session.take_prediction([norp], [(*at("Tajikistan"), "GPE")], "other@2")
    assert change is not None and change.description.startswith("took other@2's prediction")
    taken = span(session, "Tajikistan")
    assert (taken.label, taken.source, taken.state) == ("GPE", "other@2", "confirmed")


def test_counts_follow_every_change(session: EditingSession) -> None:
    assert (session.unreviewed_count, session.sources()) == (6, [EXTRACTOR])
    session.delete_span(span(session, "Moscow"))
    session.confirm_spans([span(session, "CSTO")])
    assert session.unreviewed_count == 4
    session.undo()
    session.undo()
    assert session.unreviewed_count == 6
    assert session.progress() == (0, 1)
    session.set_status("accept", confirm_unreviewed=True)
    assert session.progress() == (1, 1) and session.unreviewed_count == 0


# -- adjudication -----------------------------------------------------------------------


@pytest.fixture
def adjudication(tmp_path: Path):
    text = "Maria Keller met engineers from Aster Rail in Geneva.\n"
    with GoldStore(tmp_path / "team.json") as store:
        doc = Document.from_text(text)
        store.add_documents([doc])
        store.set_labels(LabelScheme(entities=[EntityLabel(name="ORG"),
                                               EntityLabel(name="GPE")]))
        aster, geneva = text.index("Aster"), text.index("Geneva")
        store.save_annotations([
            Annotation(doc_id=doc.id, annotator="alice", status="accept", spans=[
                Span(start=aster, end=aster + 10, label="ORG"),
                Span(start=geneva, end=geneva + 6, label="GPE")]),
            Annotation(doc_id=doc.id, annotator="bob", status="accept", spans=[
                Span(start=aster, end=aster + 5, label="ORG")])])
        session = Adjudication(store)
        session.open(0)
        yield session


def test_adjudication_accepts_only_when_every_disagreement_is_settled(adjudication) -> None:
    first, second = adjudication.items()
    with pytest.raises(AdjudicationError, match="2 disagreements are still open"):
        adjudication.set_status("accept")
    adjudication.take(first, "alice")
    adjudication.reject(second)
    assert adjudication.open_count() == 0
    assert adjudication.set_status("accept") is not None


def test_undoing_a_choice_unsettles_it_and_says_which_it_was(adjudication) -> None:
    first, _ = adjudication.items()
    adjudication.take(first, "alice")
    assert adjudication.is_settled(first) and adjudication.open_count() == 1
    change = adjudication.undo()
    assert change is not None
    assert change.description == "undo: deleted ORG 'Aster Rail' (took back alice's version)"
    assert not adjudication.is_settled(first) and adjudication.open_count() == 2
    assert adjudication.decisions() == set()
    redo = adjudication.redo()
    assert redo is not None and adjudication.is_settled(first)
    assert redo.description == "redo: added ORG 'Aster Rail' (took alice's version again)"


# -- = : the same relabel for the other unreviewed suggestions (issue 20) ----------------


def test_a_relabel_offers_and_repeats_itself_on_the_same_suggestions(session) -> None:
    first, second = span(session, "Tajikistan"), span(session, "Tajikistan", 1)
    session.add_relation(span(session, "CSTO"), second, "located_in")
    change = session.label(first.start, first.end, "GPE", first)
    assert change.notices == (
        "= relabels the 1 other unreviewed suggestion NORP 'Tajikistan' as GPE too",)
    repeat = session.repeat_relabel()
    assert repeat is not None and repeat.description == "'Tajikistan' NORP → GPE"
    again = span(session, "Tajikistan", 1)
    assert (again.label, again.state, again.source) == ("GPE", "changed", EXTRACTOR)
    assert session.annotation.relations[0].child == again.ref  # the relation followed
    assert session.repeat_relabel() is None  # nothing left to change
    session.undo()  # one step takes the repeat back, not the first relabel
    assert span(session, "Tajikistan", 1).label == "NORP"
    assert span(session, "Tajikistan").label == "GPE"
    assert session.repeat_relabel() is None  # after an undo there is no relabel to repeat


def test_the_repeat_counts_only_unreviewed_suggestions_with_that_text_and_label(
        session) -> None:
    confirmed = span(session, "Tajikistan", 1)
    session.confirm_spans([confirmed])  # looked at and kept: not the model's repeat
    first = span(session, "Tajikistan")
    change = session.label(first.start, first.end, "GPE", first)
    assert change.notices == ()
    assert session.repeat_relabel() is None
    moscow = span(session, "Moscow")
    session.label(moscow.start, moscow.end, "NORP", moscow)  # no other Moscow
    assert session.repeat_relabel() is None


def test_find_is_case_insensitive_counts_matches_and_wraps(session) -> None:
    found = session.find("tajikistan", at("Tajikistan")[0] + 1)
    assert (found.start, found.index, found.count, found.wrapped) == (
        at("Tajikistan", 1)[0], 1, 2, False)
    found = session.find("TAJIKISTAN", at("Tajikistan", 1)[0] + 1)
    assert (found.start, found.index, found.wrapped) == (at("Tajikistan")[0], 0, True)
    assert session.find("Tashkent", 0) is None and session.find("", 0) is None
