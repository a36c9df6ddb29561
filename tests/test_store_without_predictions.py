"""A read-only store opened without its predictions (for an export of annotations): the
same documents and annotations as a full open, from the main file and the journal, the
predictions never read, and any use of them refused as the bug it would be."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotations.errors import StoreCorruptError
from annotations.models import Annotation, Document, Prediction, Span
from annotations.store import GoldStore

TEXT = "Ines Varga of Lumen Works met Olaf Brandt in Tartu on Friday."


def _span(piece: str, label: str) -> Span:
    start = TEXT.index(piece)
    return Span(start=start, end=start + len(piece), label=label)


def _filled(path: Path) -> GoldStore:
    """A writable store with two documents, annotations and two extractors'
    predictions, the last of each still in its journal (not checkpointed)."""
    store = GoldStore(path)
    docs = [Document.from_text(TEXT), Document.from_text("A second [bold]report[/].")]
    store.add_documents(docs)
    store.set_labels(store.labels.with_entities(["PERSON", "ORG", "GPE"]))
    store.save_annotation(Annotation(doc_id=docs[0].id, status="accept",
                                     spans=[_span("Ines Varga", "PERSON")]))
    store.put_predictions([Prediction(doc_id=docs[0].id, extractor="fast@1",
                                      spans=[_span("Tartu", "GPE")])])
    store.checkpoint()
    # In the journal only: a read replays it.
    store.save_annotation(Annotation(doc_id=docs[1].id, annotator="second"))
    store.put_predictions([Prediction(doc_id=docs[1].id, extractor="slow@2", spans=[])])
    return store


def _seen(store: GoldStore) -> tuple[object, ...]:
    return (store.document_ids(), [store.text(d) for d in store.document_ids()],
            list(store.annotation_records()), store.annotators(), store.labels)


def test_it_holds_what_a_full_open_holds_but_the_predictions(tmp_path: Path) -> None:
    path = tmp_path / "gold.json"
    writer = _filled(path)
    assert writer.journal_path.exists()
    with GoldStore(path, read_only=True) as full, \
            GoldStore(path, read_only=True, predictions=False) as lean:
        assert _seen(lean) == _seen(full)
        assert full.extractors() == ["fast@1", "slow@2"]
        for read in (lean.extractors, lambda: lean.prediction_record(full.document_ids()[0],
                                                                     "fast@1"),
                     lambda: lean.predictions(full.document_ids()[0]), lean.stats):
            with pytest.raises(RuntimeError, match="predictions table was not read"):
                read()
    writer.close()


def test_the_predictions_are_not_read_at_all(tmp_path: Path) -> None:
    """Damage in the predictions table that a full open refuses: this open never reads
    that far (it checks only that the file ends as a store's does)."""
    path = tmp_path / "gold.json"
    _filled(path).close()
    lines = path.read_bytes().split(b"\n")
    at = lines.index(b'"predictions":{') + 1
    lines[at] = b'"1":{not json'
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(StoreCorruptError, match="not valid JSON"):
        GoldStore(path, read_only=True)
    with GoldStore(path, read_only=True, predictions=False) as lean:
        assert len(lean) == 2 and lean.annotators() == ["default", "second"]


@pytest.mark.parametrize("cut", [1, 2, 3, 4, 40])
@pytest.mark.parametrize("empty", [False, True], ids=["predictions", "no predictions"])
def test_a_cut_file_is_still_refused(tmp_path: Path, cut: int, empty: bool) -> None:
    """Cut by 2 bytes, the file still ends in a closing brace on its own line: only
    the tail of the last table tells it from a whole file."""
    path = tmp_path / "gold.json"
    if empty:
        with GoldStore(path) as store:
            store.add_documents([Document.from_text(TEXT)])
    else:
        _filled(path).close()
    data = path.read_bytes()
    with GoldStore(path, read_only=True, predictions=False):
        pass
    path.write_bytes(data[:-cut])
    with pytest.raises(StoreCorruptError, match="truncated or damaged"):
        GoldStore(path, read_only=True, predictions=False)
    assert path.read_bytes() == data[:-cut]


def test_a_file_plain_tinydb_wrote_reads_the_same(tmp_path: Path) -> None:
    """A main file not laid out one record per line is parsed whole; the predictions
    are dropped from it all the same."""
    path = tmp_path / "gold.json"
    _filled(path).close()
    path.write_text(json.dumps(json.loads(path.read_bytes())))  # one line, as TinyDB writes
    with GoldStore(path, read_only=True) as full, \
            GoldStore(path, read_only=True, predictions=False) as lean:
        assert _seen(lean) == _seen(full) and full.extractors()
        with pytest.raises(RuntimeError):
            lean.extractors()


def test_only_a_read_only_store_may_leave_them_out(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="read-only"):
        GoldStore(tmp_path / "gold.json", predictions=False)
    assert not list(tmp_path.iterdir())
