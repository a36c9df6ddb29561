"""Export reads the store's records as they are (no model per span), where they plainly
have the models' shape, and the models otherwise: both ways write the same bytes, and a
damaged record is still reported, naming the store, with nothing written."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from annotations.errors import FormatError, StoreCorruptError
from annotations.formats.base import ExportItem
from annotations.formats.transfer import export_layers, needs_predictions
from annotations.models import LENIENT, Annotation, Document, Prediction, Relation, Span
from annotations.storage import shape
from annotations.store import GoldStore

TEXT = "Ines Varga of Lumen Works met Olaf Brandt of Lumen Works in Tartu on Friday."
FORMATS = [("prodigy", "out.jsonl"), ("conll", "out.conll"), ("doccano", "out.jsonl"),
           ("brat", "out"), ("label-studio", "out.json"), ("inception", "out"),
           ("spacy", "out.spacy")]


def _span(piece: str, label: str, nth: int = 0, **extra: Any) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(piece, start + 1)
    return Span(start=start, end=start + len(piece), label=label, **extra)


def _store(path: Path, *, overlapping: bool = False) -> tuple[GoldStore, Document]:
    store = GoldStore(path)
    doc = Document.from_text(TEXT, {"title": "Two [bold]visitors[/]", "source": "note\x1b[31m"})
    store.add_documents([doc, Document.from_text("A second, empty report.")])
    labels = store.labels.with_entities(["PERSON", "ORG", "GPE", "DATE"]).with_relations(
        ["works_for"])
    store.set_labels(labels.model_copy(update={"overlapping": overlapping}))
    return store, doc


def _fill(store: GoldStore, doc: Document) -> None:
    ines, works = _span("Ines Varga", "PERSON"), _span("Lumen Works", "ORG")
    olaf, works2 = _span("Olaf Brandt", "PERSON"), _span("Lumen Works", "ORG", nth=1)
    # Relations named by (start, end) and by (start, end, label), spans given out of order.
    store.save_annotation(Annotation(
        doc_id=doc.id, status="accept", notes="checked twice; \"quotes\"\nand a newline",
        spans=[works2, _span("Friday", "DATE"), ines, works, olaf, _span("Tartu", "GPE")],
        relations=[Relation(head=ines.key, child=works.key, label="works_for"),
                   Relation(head=olaf.ref, child=works2.ref, label="works_for")]))
    store.save_annotation(Annotation(
        doc_id=doc.id, annotator="second", status="reject",
        spans=[_span("Tartu", "GPE", source="fast@1", state="changed")]))
    store.put_predictions([Prediction(
        doc_id=doc.id, extractor="fast@1", meta={"run": 3},
        spans=[_span("Tartu", "GPE", source="fast@1", state="suggested"), ines],
        relations=[Relation(head=ines.key, child=_span("Tartu", "GPE").key,
                            label="works_for")])])


def _outputs(store: GoldStore, folder: Path, workers: int = 1, **options: Any
             ) -> dict[str, bytes]:
    written = {}
    for fmt, name in FORMATS:
        out = folder / fmt / name
        out.parent.mkdir(parents=True, exist_ok=True)
        export_layers(store, out, format_name=fmt, workers=workers, flat_only=True,
                      **options)
        for path in sorted(out.parent.rglob("*")):
            if path.is_file():
                written[str(path.relative_to(folder))] = path.read_bytes()
    return written


@pytest.mark.parametrize("options", [{}, {"status": "all"}, {"status": "reject"},
                                     {"extractor": "fast@1"}, {"annotator": "second",
                                                               "status": "all"}],
                         ids=["gold", "all", "reject", "extractor", "annotator"])
def test_records_and_models_export_the_same_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]) -> None:
    store, doc = _store(tmp_path / "gold.json")
    _fill(store, doc)
    plain = _outputs(store, tmp_path / "records", **options)
    monkeypatch.setattr(GoldStore, "plain", staticmethod(lambda table, record: False))
    assert _outputs(store, tmp_path / "models", **options) == plain
    assert len(plain) >= len(FORMATS)
    store.close()


@pytest.mark.parametrize("options", [{}, {"status": "all"}, {"extractor": "fast@1"}],
                         ids=["gold", "all", "extractor"])
def test_a_store_read_without_the_predictions_no_export_needs_writes_the_same_bytes(
        tmp_path: Path, options: dict[str, Any]) -> None:
    """What ``reader export`` opens (see needs_predictions), read from the main file and
    the journal of a store still open for writing, writes every format as a full open."""
    store, doc = _store(tmp_path / "gold.json")
    _fill(store, doc)
    full = _outputs(store, tmp_path / "full", **options)
    lean = {}
    for fmt, name in FORMATS:
        with GoldStore(store.path, read_only=True, predictions=needs_predictions(
                fmt, options.get("extractor"))) as reader:
            out = tmp_path / "lean" / fmt / name
            out.parent.mkdir(parents=True)
            export_layers(reader, out, format_name=fmt, flat_only=True, **options)
            lean.update({str(path.relative_to(tmp_path / "lean")): path.read_bytes()
                         for path in sorted(out.parent.rglob("*")) if path.is_file()})
    assert lean == full
    assert needs_predictions("conll", None) and not needs_predictions("prodigy", None)
    store.close()


def _single_threaded() -> None:
    if threading.active_count() > 1:
        pytest.skip("forked workers are only used from a single-threaded process")


def _filled_with_reports(tmp_path: Path, texts: list[str],
                         spans: Callable[[int], list[Span] | None]) -> GoldStore:
    """The store of :func:`_fill`, and a document of each of ``texts`` with an accepted
    annotation of ``spans(i)`` (none where that is None)."""
    store, doc = _store(tmp_path / "gold.json")
    _fill(store, doc)
    more = [Document.from_text(text) for text in texts]
    store.add_documents(more)
    store.save_annotations([Annotation(doc_id=d.id, status="accept", spans=layer)
                            for i, d in enumerate(more) if (layer := spans(i)) is not None])
    return store


@pytest.mark.parametrize(("options", "lines"), [
    ({}, 1 + 53), ({"status": "all"}, 2 + 53), ({"extractor": "fast@1"}, 1),
    ({"annotator": "second", "status": "all"}, 1)],
    ids=["gold", "all", "extractor", "annotator"])
def test_workers_write_the_same_bytes_as_one_process(
        tmp_path: Path, options: dict[str, Any], lines: int) -> None:
    """Forked workers read their share of the documents from the store they inherit
    (Prodigy) or are sent the items (the other formats): either way, the same files.
    A third of the documents have no record (batches with nothing to write)."""
    _single_threaded()
    store = _filled_with_reports(
        tmp_path, [f"Report {i}: Ines Varga of Lumen Works in Tartu." for i in range(80)],
        lambda i: [Span(start=9 + len(str(i)), end=19 + len(str(i)), label="PERSON")]
        if i % 3 else None)
    one = _outputs(store, tmp_path / "one", **options)
    assert _outputs(store, tmp_path / "two", workers=2, **options) == one
    assert one["prodigy/out.jsonl"].count(b"\n") == lines
    store.close()


def test_a_batch_longer_than_its_shared_memory_comes_back_whole_through_the_pipe(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from annotations.formats import base

    _single_threaded()
    store = _filled_with_reports(
        tmp_path, [f"Report {i}: {'Ines Varga left. ' * 8 * (i % 5)}" for i in range(40)],
        lambda i: [])
    one = tmp_path / "one.jsonl"
    export_layers(store, one, status="all", workers=1)
    # Lines of up to 7 KB, short and long in turn: a batch fills its share and sends
    # the rest, in order, even where a later line would fit.
    monkeypatch.setattr(base, "HANDOVER_SIZE", 5000)
    two = tmp_path / "two.jsonl"
    export_layers(store, two, status="all", workers=2)
    assert two.read_bytes() == one.read_bytes() and len(one.read_bytes()) > 20_000
    store.close()


def test_every_format_writes_the_same_bytes_when_exported_again_later(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An export is a function of the store: INCEpTION's ZIPs too, which would otherwise
    stamp each member with the time it was written."""
    store, doc = _store(tmp_path / "gold.json")
    _fill(store, doc)
    first = _outputs(store, tmp_path / "now", status="all")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 86_400 + 3_601)
    assert _outputs(store, tmp_path / "tomorrow", status="all") == first
    assert any(name.endswith(".zip") for name in first)
    store.close()


def test_an_item_of_records_is_the_item_of_its_models(tmp_path: Path) -> None:
    store, doc = _store(tmp_path / "gold.json", overlapping=True)
    _fill(store, doc)
    record = next(store.annotation_records(annotator="default"))
    assert store.plain("annotations", record) and store.plain(
        "documents", store.document_record(doc.id))
    ann = store.annotation_of(record)
    shown = doc.model_copy(update={"meta": {**doc.meta, "notes": ann.notes}})
    from_models = ExportItem(shown, ann.spans, ann.relations, "accept", "default")
    from_records = ExportItem.of_records(store.document_record(doc.id), record,
                                         meta=shown.meta, status="accept",
                                         annotator="default")
    assert from_records.payload() == from_models.payload()
    # A writer that asks for the models gets them, built from the records.
    assert from_records.document == shown
    assert from_records.spans == ann.spans and from_records.relations == ann.relations
    store.close()


def _edit_first(path: Path, table: str, change: Any) -> None:
    data = json.loads(path.read_text())
    key = sorted(data[table], key=int)[0]
    change(data[table][key])
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("table", "change"), [
    ("annotations", lambda r: r["spans"][0].update(colour="red")),
    ("annotations", lambda r: r["spans"][0].update(end=r["spans"][0]["start"])),
    ("annotations", lambda r: r.update(relations=[{"head": [0, 1], "child": [2, 3],
                                                   "label": "works_for"}])),
    ("documents", lambda r: r.update(text=r["text"] + " Changed.")),
    ("documents", lambda r: r.update(meta=["not", "an", "object"])),
], ids=["unknown-span-field", "empty-span", "dangling-relation", "id-not-the-hash",
        "meta-not-an-object"])
def test_a_damaged_record_is_reported_and_nothing_is_written(
        tmp_path: Path, table: str, change: Any) -> None:
    store, doc = _store(tmp_path / "gold.json")
    _fill(store, doc)
    store.close()
    _edit_first(tmp_path / "gold.json", table, change)
    damaged = GoldStore(tmp_path / "gold.json", read_only=True)
    out = tmp_path / "out.jsonl"
    with pytest.raises(StoreCorruptError, match=rf"gold\.json: table '{table}', .* malformed"):
        export_layers(damaged, out, workers=1)
    assert not out.exists()
    if threading.active_count() == 1:
        # Read in a worker process: the same error reaches the caller.
        with pytest.raises(StoreCorruptError,
                           match=rf"gold\.json: table '{table}', .* malformed"):
            export_layers(damaged, out, workers=2)
        assert not out.exists()


def test_a_label_no_format_can_hold_is_refused_from_a_worker_as_from_this_process(
        tmp_path: Path) -> None:
    _single_threaded()
    store, doc = _store(tmp_path / "gold.json")
    _fill(store, doc)
    store.close()
    _edit_first(tmp_path / "gold.json", "annotations",
                lambda r: r["spans"][0].update(label="ORG\nT9\tGPE 0 5"))
    damaged = GoldStore(tmp_path / "gold.json", read_only=True)
    out = tmp_path / "out.jsonl"
    messages = []
    for workers in (1, 2):
        with pytest.raises(FormatError) as info:
            export_layers(damaged, out, workers=workers)
        messages.append(str(info.value))
        assert not out.exists()
    assert messages[0] == messages[1] and doc.id in messages[0]


DOCUMENT = Document.from_text("Olaf Brandt left.", {"title": "t"}).model_dump()


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["id", "text", "meta", "other"]), st.one_of(
    st.none(), st.integers(), st.just(""), st.just("Olaf Brandt left.\r"),
    st.just("Olaf Brandt left"), st.just({}), st.just({"a": 1}), st.just([]),
    st.just(DOCUMENT["id"]), st.just("ab" * 8)), st.booleans())
def test_the_quick_document_check_accepts_only_what_the_model_accepts(
        name: str, value: Any, remove: bool) -> None:
    record = dict(DOCUMENT)
    if remove:
        record.pop(name, None)
    else:
        record[name] = value
    if shape.document_record_ok(record):
        try:
            Document.model_validate(record, context=LENIENT)
        except ValidationError as err:  # pragma: no cover - the failure being tested for
            raise AssertionError(f"quick check passed {record}: {err}") from err


def test_the_quick_document_check_takes_the_stored_record() -> None:
    assert shape.document_record_ok(DOCUMENT)
    assert shape.document_record_ok({k: v for k, v in DOCUMENT.items() if k != "meta"})


def test_reading_one_status_parses_only_the_records_of_that_status(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from annotations.storage.tables import RecordTable

    store = GoldStore(tmp_path / "gold.json")
    docs = [Document.from_text(f"Report {i}: Ines Varga met Olaf Brandt.") for i in range(6)]
    store.add_documents(docs)
    store.save_annotations([Annotation(doc_id=d.id, status="accept" if i % 3 == 0 else None,
                                       spans=[Span(start=11, end=21, label="PERSON")])
                            for i, d in enumerate(docs)], add_labels=True)
    store.close()
    reopened = GoldStore(tmp_path / "gold.json", read_only=True)
    parsed: list[str] = []
    parse = RecordTable._parse
    monkeypatch.setattr(RecordTable, "_parse",
                        lambda self, key, raw: parsed.append(key) or parse(self, key, raw))
    gold = list(reopened.gold_records())
    assert [r["doc_id"] for r in gold] == [docs[0].id, docs[3].id]
    assert len(parsed) == 2
    assert len(list(reopened.annotation_records())) == 6
