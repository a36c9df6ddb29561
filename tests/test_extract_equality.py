"""``reader extract`` finds the same entities as the full spaCy pipeline, on texts where
switching off the parser would change them (its sentence boundaries limit the NER)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotations.extractors import load_extractor, resolve_model, stored_id, unneeded_for_entities
from annotations.models import Document
from annotations.store import GoldStore
from reader.cli import app

# The example (WNUT-16), and texts of our own where the parser's sentence
# boundaries change the entities.
PARSER_MATTERS = [
    "Home-Going Well - I will be there 4:30 pm- 6:00 pm",
    "Big am ok Fenway Team Cafe Fenway Smith be @ I there 6:00 Home-Going",
    "am- - pm- New Main Well Fenway",
    "Smith pm- ya Monday ya ok Great be 4:30 John at Day",
    "Monday 7pm ya Chicago The Team Orleans pm- Monday there I Well",
    "Day 4:30 Lincoln Big 6:00 New be I Great 9:30 am- 1 Fenway Day",
    "Lincoln at ... PM St PM - there there Well Live",
]


def entities(doc) -> list[tuple[int, int, str]]:  # type: ignore[no-untyped-def]
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


@pytest.fixture(scope="module")
def full():  # type: ignore[no-untyped-def]
    spacy = pytest.importorskip("spacy")
    return spacy.load(resolve_model())


@pytest.fixture(scope="module")
def extractor():  # type: ignore[no-untyped-def]
    """The pipeline as ``reader extract`` loads it (components NER does not use off)."""
    return load_extractor()


def test_the_texts_are_ones_where_the_parser_changes_the_entities(full) -> None:  # type: ignore[no-untyped-def]
    with full.select_pipes(enable=["ner"]):
        without_parser = [entities(doc) for doc in full.pipe(PARSER_MATTERS)]
    assert all(a != b for a, b in zip(
        without_parser, (entities(doc) for doc in full.pipe(PARSER_MATTERS)), strict=True))


def test_the_extractor_keeps_the_sentence_boundaries_and_drops_the_rest(extractor) -> None:  # type: ignore[no-untyped-def]
    # The id a command with nothing to predict reads from meta.json is the loaded one.
    assert stored_id() == extractor.id
    assert "parser" in extractor.nlp.pipe_names and "ner" in extractor.nlp.pipe_names
    assert {"tagger", "lemmatizer", "attribute_ruler"}.isdisjoint(extractor.nlp.pipe_names)
    assert unneeded_for_entities(extractor.nlp) == []


def test_reader_extract_equals_the_full_pipeline(full, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "gold.json"
    with GoldStore(db) as store:
        store.add_documents([Document.from_text(t) for t in PARSER_MATTERS])
    result = CliRunner().invoke(app, ["extract", "--db", str(db), "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    with GoldStore(db, read_only=True) as store:
        (name,) = store.extractors()
        for doc_id in store.document_ids():
            stored = store.prediction(doc_id, name)
            assert stored is not None
            expected = entities(full(store.text(doc_id)))
            assert [(s.start, s.end, s.label) for s in stored.spans] == expected


def test_n_process_gives_the_same_entities(full, extractor) -> None:  # type: ignore[no-untyped-def]
    items = [(str(i), t) for i, t in enumerate(PARSER_MATTERS)]
    predictions = list(extractor.predict(items, batch_size=2, n_process=2))
    assert [[(s.start, s.end, s.label) for s in p.spans] for p in predictions] == [
        entities(full(t)) for t in PARSER_MATTERS]
