"""An import keeps each checked layer as the record the store will write
(``GoldStore.prepare_layer``) and stores them in one transaction
(``GoldStore.save_prepared``): what the stored records hold, and that the write stays
all or nothing and checked."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import srsly
from tinydb import TinyDB

from annotations.errors import InputErrors, RecordRefusedError, StoreError
from annotations.formats.transfer import import_layers
from annotations.models import Annotation, Document, Prediction, Span
from annotations.store import GoldStore, PreparedLayer


def _spans(*bounds: tuple[int, int, str]) -> list[dict[str, object]]:
    return [{"start": s, "end": e, "label": label} for s, e, label in bounds]


def test_relations_read_before_the_store_adopts_an_overlapping_scheme_name_spans_by_label(
        gold_path: Path, tmp_path: Path) -> None:
    # The first record is flat; the second has nested spans, so the fresh store adopts
    # an overlapping scheme, where relations name their spans by (start, end, label).
    flat = "Anna Berg met Cole Dorn."
    nested = "Aster Rail of Geneva hired Anna."
    path = tmp_path / "gold.jsonl"
    srsly.write_jsonl(path, [
        {"text": flat, "spans": _spans((0, 9, "PER"), (14, 23, "PER")),
         "relations": [{"head_span": {"start": 0, "end": 9, "label": "PER"},
                        "child_span": {"start": 14, "end": 23, "label": "PER"},
                        "label": "met", "head": 1, "child": 3}], "answer": "accept"},
        {"text": nested, "spans": _spans((0, 20, "ORG"), (14, 20, "LOC")),
         "answer": "accept"},
    ])
    with GoldStore(gold_path) as store:
        summary = import_layers(store, path, format_name="prodigy")
        assert summary.added == 2 and store.labels.overlapping
    with TinyDB(gold_path) as db:
        records = {r["doc_id"]: r for r in db.table("annotations").all()}
    first = records[Document.from_text(flat).id]
    assert first["relations"][0]["head"] == [0, 9, "PER"]
    assert first["relations"][0]["child"] == [14, 23, "PER"]


def test_save_prepared_stores_layers_documents_and_labels_in_one_transaction(
        gold_path: Path) -> None:
    doc = Document.from_text("Anna Berg met Cole Dorn.")
    span = Span(start=0, end=9, label="PER", source="x", state="suggested")
    with GoldStore(gold_path) as store:
        store.add_documents([Document.from_text("Already here.")])
        layers = [
            store.prepare_layer(Annotation(doc_id=doc.id, spans=[span], status="accept"),
                                doc.text),
            store.prepare_layer(Prediction(doc_id=doc.id, extractor="m@1", spans=[span]),
                                doc.text),
        ]
        with pytest.raises(ValueError, match="unknown entity label"):
            store.save_prepared(layers, documents=[doc], entity_names={"PER"})
        assert not store.has_document(doc.id)  # nothing of it was saved
        store.save_prepared(layers, documents=[doc], entity_names={"PER"}, add_labels=True)
        assert store.annotation_status(doc.id) == "accept"
    with GoldStore(gold_path, read_only=True) as store:
        saved = store.annotation(doc.id)
        assert saved is not None and [s.key for s in saved.spans] == [(0, 9)]
        assert store.prediction(doc.id, "m@1") is not None
        assert store.labels.entity_names == ["PER"]


def test_prepare_layer_refuses_what_a_save_refuses(gold_path: Path) -> None:
    doc = Document.from_text("Anna Berg met Cole Dorn.")
    spans = [Span(start=0, end=9, label="PER", source="x", state="confirmed"),
             Span(start=5, end=13, label="PER", source="x", state="confirmed")]
    with GoldStore(gold_path) as store:
        with pytest.raises(ValueError, match="overlap"):
            store.prepare_layer(Annotation(doc_id=doc.id, spans=spans), doc.text)
        # A model built without validation (model_construct) is refused by the record check.
        bad = Annotation.model_construct(doc_id=doc.id, annotator="default", spans=[],
                                         relations=[], status="maybe", notes="",
                                         created="c", updated="u", chosen=None)
        with pytest.raises(RecordRefusedError, match="refused to save"):
            store.prepare_layer(bad, doc.text, overlapping=True)


def _layers(store: GoldStore, docs: list[Document]) -> list[PreparedLayer]:
    span = Span(start=0, end=4, label="PER", source="m@1", state="suggested")
    return [store.prepare_layer(Prediction(doc_id=d.id, extractor="m@1", spans=[span]), d.text)
            for d in docs]


def test_a_bulk_transaction_replaces_the_main_file_instead_of_growing_the_journal(
        gold_path: Path) -> None:
    docs = [Document.from_text(f"Anna Berg, number {n}.") for n in range(20)]
    with GoldStore(gold_path, bulk_bytes=1_000) as store:
        store.add_documents(docs[:1])
        store.add_entity_labels(["PER"])
        store.save_prepared(_layers(store, docs), documents=docs, entity_names={"PER"})
        # In the main file (plain TinyDB reads it while the store is open), with the
        # edits before it; the journal holds only its header.
        assert store.journal_path.read_bytes().count(b"\n") == 1
        header = store.journal_path.stat().st_size
        with TinyDB(gold_path, access_mode="r") as db:
            assert len(db.table("documents")) == 20 and len(db.table("predictions")) == 20
        assert store.prediction(docs[7].id, "m@1") is not None
        # An edit after it goes to the journal as always.
        store.add_documents([Document.from_text("One more.")])
        assert store.journal_path.stat().st_size > header
    with GoldStore(gold_path, read_only=True) as store:
        assert len(store) == 21 and store.has_prediction(docs[19].id, "m@1")


def test_a_bulk_transaction_that_cannot_be_written_saves_nothing(
        gold_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [Document.from_text(f"Anna Berg, number {n}.") for n in range(20)]
    with GoldStore(gold_path, bulk_bytes=1_000) as store:
        store.add_documents(docs[:1])
        store.add_entity_labels(["PER"])
        layers = _layers(store, docs)
        real_write = os.write

        def disk_full(fd: int, data: bytes) -> int:
            if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", disk_full)
        with pytest.raises(StoreError, match="nothing of it was saved"):
            store.save_prepared(layers, documents=docs, entity_names={"PER"})
        monkeypatch.undo()
        assert len(store) == 1 and not store.has_prediction(docs[0].id, "m@1")
        assert list(gold_path.parent.glob(".*.tmp")) == []
        store.save_prepared(layers, documents=docs, entity_names={"PER"})  # space again
    with GoldStore(gold_path, read_only=True) as store:
        assert len(store) == 20 and store.has_prediction(docs[19].id, "m@1")


def test_save_prepared_refuses_a_layer_the_store_did_not_prepare(gold_path: Path) -> None:
    doc = Document.from_text("Anna Berg met Cole Dorn.")
    forged = PreparedLayer("predictions", doc.id, "m@1", None, b'{"doc_id": 1}')
    with GoldStore(gold_path) as store:
        store.add_documents([doc])
        with pytest.raises(ValueError, match="not made by GoldStore.prepare_layer"):
            store.save_prepared([forged])
        assert not store.has_prediction(doc.id, "m@1")


def test_a_layer_the_store_refuses_is_an_error_naming_its_line_and_nothing_is_saved(
        gold_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gold.jsonl"
    srsly.write_jsonl(path, [
        {"text": "Anna Berg met Cole Dorn.", "spans": _spans((0, 9, "PER")), "answer": "accept"},
        {"text": "Aster Rail hired Anna.", "spans": _spans((0, 10, "ORG")), "answer": "accept"},
    ])
    with GoldStore(gold_path) as store:
        real = store.prepare_record

        def refuse_the_second(table, record, text, **options):  # type: ignore[no-untyped-def]
            if text.startswith("Aster"):
                raise RecordRefusedError("refused to save an annotations record (test)")
            return real(table, record, text, **options)

        monkeypatch.setattr(store, "prepare_record", refuse_the_second)
        with pytest.raises(InputErrors) as raised:
            import_layers(store, path, format_name="prodigy")
        assert [(e.line, "refused to save" in str(e)) for e in raised.value.errors] == [
            (2, True)]
        assert len(store) == 0
