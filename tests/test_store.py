"""The gold store's guarantees: durable edits, atomic checkpoints, plain-TinyDB readability,
one writer at a time, damaged files refused and left untouched, labels checked."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from tinydb import TinyDB

from annotations.errors import (
    NotFoundError,
    ReadOnlyStoreError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
)
from annotations.models import Annotation, Document, Prediction, Relation, Span
from annotations.store import DEFAULT_ANNOTATOR, GoldStore

SAMPLE_TEXT = (
    "Maria Keller, the mayor of Lindenfeld, met engineers from Aster Rail on Monday.\n"
    "The talks in Geneva ended without a deal, Keller said.\n"
)

MARIA = (SAMPLE_TEXT.index("Maria Keller"), SAMPLE_TEXT.index("Maria Keller") + 12)
LINDENFELD = (SAMPLE_TEXT.index("Lindenfeld"), SAMPLE_TEXT.index("Lindenfeld") + 10)
ASTER = (SAMPLE_TEXT.index("Aster Rail"), SAMPLE_TEXT.index("Aster Rail") + 10)
GENEVA = (SAMPLE_TEXT.index("Geneva"), SAMPLE_TEXT.index("Geneva") + 6)


@pytest.fixture
def sample_document() -> Document:
    """This module's offsets refer to this text (overrides the conftest fixture)."""
    return Document.from_text(SAMPLE_TEXT, {"title": "Sample"})


def span(key: tuple[int, int], label: str, source: str = "human") -> Span:
    state = "confirmed" if source == "human" else "suggested"
    return Span(start=key[0], end=key[1], label=label, source=source, state=state)


def save(
    store: GoldStore,
    doc_id: str,
    spans: list[Span] | None = None,
    relations: list[Relation] | None = None,
    status: str | None = None,
    annotator: str = DEFAULT_ANNOTATOR,
) -> Annotation:
    """Store exactly this annotation: the store persists what it is given (editing rules
    belong to the session)."""
    return store.save_annotation(
        Annotation(
            doc_id=doc_id, annotator=annotator, spans=spans or [], relations=relations or [],
            status=status,  # type: ignore[arg-type]
        )
    )


def reread(path: Path, doc_id: str) -> Annotation | None:
    """The annotation as a separate, read-only store sees it on disk right now."""
    with GoldStore(path, read_only=True) as other:
        return other.annotation(doc_id)


# -- durability of each edit ---------------------------------------------------


def test_every_edit_is_on_disk_when_the_call_returns(
    store: GoldStore, sample_document: Document
) -> None:
    doc = sample_document.id
    works_for = Relation(head=MARIA, child=ASTER, label="works_for")

    maria, aster = span(MARIA, "PERSON"), span(ASTER, "ORG")
    save(store, doc, [maria])
    assert [s.key for s in reread(store.path, doc).spans] == [MARIA]
    save(store, doc, [maria, aster], [works_for])
    assert reread(store.path, doc).relations == [works_for]
    save(store, doc, [maria, span(ASTER, "GPE")], [works_for])
    assert [s.label for s in reread(store.path, doc).spans] == ["PERSON", "GPE"]
    save(store, doc, [maria, span(ASTER, "GPE")])
    assert reread(store.path, doc).relations == []
    save(store, doc, [maria, span(ASTER, "GPE")], status="accept")
    assert reread(store.path, doc).status == "accept"
    save(store, doc, [span(ASTER, "GPE")], status="accept")
    assert [s.key for s in reread(store.path, doc).spans] == [ASTER]


def test_an_edit_is_fsynced_after_it_is_written_and_before_the_call_returns(
    store: GoldStore, sample_document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced_sizes: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        real_fsync(fd)
        if fd == store._journal.fd:
            synced_sizes.append(os.fstat(fd).st_size)

    monkeypatch.setattr(os, "fsync", spy)
    save(store, sample_document.id, [span(GENEVA, "GPE")])
    # The last fsync of the journal covered the whole journal, edit included.
    assert synced_sizes and synced_sizes[-1] == store.journal_path.stat().st_size > 0


def test_an_edit_appends_to_the_journal_and_leaves_the_main_file_alone(
    store: GoldStore, sample_document: Document
) -> None:
    before = store.path.stat()
    journal_before = store.journal_path.stat().st_size
    save(store, sample_document.id, [span(MARIA, "PERSON")])
    after = store.path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    assert store.journal_path.stat().st_size > journal_before


def test_a_failed_journal_write_keeps_the_journal_readable(
    store: GoldStore, sample_document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = sample_document.id
    save(store, doc, [span(MARIA, "PERSON")])
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        if fd == store._journal.fd:
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(StoreError, match="No space left"):
        save(store, doc, [span(MARIA, "PERSON"), span(ASTER, "ORG")])
    monkeypatch.undo()
    assert [s.key for s in store.annotation(doc).spans] == [MARIA]
    save(store, doc, [span(MARIA, "PERSON"), span(GENEVA, "GPE")])
    assert [s.key for s in reread(store.path, doc).spans] == [MARIA, GENEVA]


# -- checkpoints: atomic replacement, plain TinyDB ---------------------------------


def fill(store: GoldStore, doc: Document) -> Prediction:
    save(
        store, doc.id, [span(MARIA, "PERSON"), span(ASTER, "ORG")],
        [Relation(head=MARIA, child=ASTER, label="works_for")], status="accept",
    )
    prediction = Prediction(
        doc_id=doc.id, extractor="spacy:test@1", spans=[span(GENEVA, "LOC", "spacy:test@1")]
    )
    store.put_predictions([prediction])
    return prediction


def check_plain_tinydb(path: Path, doc: Document) -> None:
    with TinyDB(path) as db:
        documents = db.table("documents").all()
        assert [(d["id"], d["text"]) for d in documents] == [(doc.id, doc.text)]
        (ann,) = db.table("annotations").all()
        assert ann["status"] == "accept"
        assert [(s["start"], s["end"], s["label"]) for s in ann["spans"]] == [
            (*MARIA, "PERSON"),
            (*ASTER, "ORG"),
        ]
        assert [r["label"] for r in ann["relations"]] == ["works_for"]
        (pred,) = db.table("predictions").all()
        assert pred["extractor"] == "spacy:test@1" and pred["spans"][0]["label"] == "LOC"
        (labels,) = db.table("labels").all()
        assert "LOC" in [e["name"] for e in labels["entities"]]
        assert db.table("meta").all()[0]["schema_version"] >= 1


def test_after_close_plain_tinydb_reads_everything(
    store: GoldStore, sample_document: Document
) -> None:
    fill(store, sample_document)
    store.close()
    check_plain_tinydb(store.path, sample_document)
    # A clean close leaves the one file: nothing to replay, nobody holding the lock.
    assert not store.journal_path.exists() and not store.lock_path.exists()


def test_after_a_checkpoint_plain_tinydb_reads_everything_while_open(
    store: GoldStore, sample_document: Document
) -> None:
    fill(store, sample_document)
    store.checkpoint()
    check_plain_tinydb(store.path, sample_document)


def test_checkpoint_replaces_the_main_file_by_rename_never_in_place(
    store: GoldStore, sample_document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = str(store.path)
    opened_for_writing: list[str] = []
    replaced: list[tuple[str, str]] = []
    real_open, real_replace = os.open, os.replace

    def spy_open(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC):
            opened_for_writing.append(os.fspath(path))
        return real_open(path, flags, *args)

    def spy_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        replaced.append((os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "replace", spy_replace)
    inode = store.path.stat().st_ino
    fill(store, sample_document)
    store.checkpoint()
    assert main not in opened_for_writing
    assert [dst for _, dst in replaced] == [main]
    assert replaced[0][0] != main and not Path(replaced[0][0]).exists()
    assert store.path.stat().st_ino != inode


def test_small_checkpoint_bytes_checkpoints_during_edits(
    gold_path: Path, sample_document: Document
) -> None:
    with GoldStore(gold_path, checkpoint_bytes=2_000) as gold:
        gold.add_documents([sample_document])
        gold.add_entity_labels(["PERSON", "ORG", "GPE"])
        for _ in range(10):
            save(gold, sample_document.id, [span(MARIA, "PERSON")])
            save(gold, sample_document.id, [span(ASTER, "ORG")])
        assert gold.journal_path.stat().st_size <= 2_000
        # The main file was created empty at open: what it holds now came by checkpoints.
        # (Its inode proves nothing: a second rename may reuse the first one's number.)
        with TinyDB(gold_path, access_mode="r") as db:
            assert len(db.table("documents")) == 1 and len(db.table("annotations")) == 1


def test_replaying_a_journal_already_folded_in_changes_nothing(
    store: GoldStore, sample_document: Document
) -> None:
    """A crash after the checkpoint's rename but before the journal is emptied."""
    fill(store, sample_document)
    save(store, sample_document.id, [span(MARIA, "PERSON")], status="accept")
    journal = store.journal_path.read_bytes()
    expected = store.annotation(sample_document.id)
    store.close()
    store.journal_path.write_bytes(journal)
    with GoldStore(store.path, read_only=True) as again:
        assert again.annotation(sample_document.id) == expected
        assert len(again) == 1 and len(list(again.annotations())) == 1
        assert list(again.predictions(sample_document.id)) == ["spacy:test@1"]


def test_a_reader_racing_a_checkpoint_sees_every_edit(
    store: GoldStore, sample_document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer checkpoints (new main file, emptied journal) and edits again between
    the reader's reading the main file and its reading the journal."""
    doc = sample_document.id
    save(store, doc, [span(MARIA, "PERSON")], annotator="before")
    real_replay = GoldStore._replay_journal
    raced: list[bool] = []

    def replay_after_a_checkpoint(reader: GoldStore) -> None:
        if not raced:
            raced.append(True)
            save(store, doc, [span(ASTER, "ORG")], annotator="during")
            store.checkpoint()
            save(store, doc, [span(GENEVA, "GPE")], annotator="after")
        real_replay(reader)

    monkeypatch.setattr(GoldStore, "_replay_journal", replay_after_a_checkpoint)
    with GoldStore(store.path, read_only=True) as reader:
        assert raced and reader.annotators() == ["after", "before", "during"]


def test_a_writer_removes_temporary_files_of_interrupted_checkpoints(store: GoldStore) -> None:
    stale = store.path.with_name(f".{store.path.name}.99999.tmp")
    stale.write_bytes(b'{"half": ')
    other = store.path.with_name(".other.json.99999.tmp")
    other.write_bytes(b"not ours")
    store.close()
    with GoldStore(store.path, read_only=True):
        assert stale.exists()  # a reader never deletes anything
    with GoldStore(store.path):
        assert not stale.exists() and other.exists()


# -- one writer at a time ----------------------------------------------------------


def test_second_writer_in_the_same_process_is_refused(store: GoldStore) -> None:
    with pytest.raises(StoreLockedError, match=f"pid {os.getpid()}"):
        GoldStore(store.path)


HOLDER = textwrap.dedent(
    """
    import sys
    from annotations.store import GoldStore
    store = GoldStore(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    store.close()
    """
)


def test_second_writer_process_gets_an_error_naming_the_holder(
    store: GoldStore, sample_document: Document
) -> None:
    save(store, sample_document.id, [span(MARIA, "PERSON")])
    path = store.path
    store.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError, match=f"pid {holder.pid}") as info:
            GoldStore(path)
        assert "read-only" in str(info.value)
        with GoldStore(path, read_only=True) as reader:  # works alongside the writer
            assert [s.key for s in reader.annotation(sample_document.id).spans] == [MARIA]
            with pytest.raises(ReadOnlyStoreError):
                save(reader, sample_document.id, [span(ASTER, "ORG")])
    finally:
        holder.communicate("\n", timeout=10)
    assert holder.returncode == 0
    GoldStore(path).close()  # the holder is gone: writing is possible again


def test_a_writer_killed_while_holding_the_lock_does_not_block_the_next_one(
    store: GoldStore,
) -> None:
    path = store.path
    store.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    holder.kill()
    holder.wait(timeout=10)
    GoldStore(path).close()


# -- damaged files are refused and left untouched ---------------------------------


def closed_store_bytes(store: GoldStore, doc: Document) -> tuple[Path, bytes]:
    fill(store, doc)
    store.close()
    return store.path, store.path.read_bytes()


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "truncated or damaged"),
        (lambda data: data[:-1], "truncated or damaged"),
        (lambda data: b"", "empty"),
        (lambda data: b"\x00" * 64, "not valid JSON"),
        (lambda data: data.replace(b'"schema_version"', b'"schema_versio"'), "not a gold store"),
        (lambda data: b'{"_default": {}}', "not a gold store"),
        (lambda data: b"[1, 2, 3]", "not a TinyDB file"),
        (lambda data: data.replace(b'"id"', b'"ix"'), "record '1' is malformed"),
        (lambda data: data.replace(b'"schema_version":1', b'"schema_version":"1"'), "not a gold"),
    ],
    ids=[
        "half",
        "last-byte",
        "empty",
        "nul-bytes",
        "no-schema",
        "plain-tinydb",
        "not-tables",
        "record-without-id",
        "schema-not-a-number",
    ],  # fmt: skip
)
def test_a_damaged_main_file_gets_a_clear_error_and_is_left_untouched(
    store: GoldStore, sample_document: Document, damage, message: str, read_only: bool
) -> None:
    path, good = closed_store_bytes(store, sample_document)
    damaged = damage(good)
    path.write_bytes(damaged)
    with pytest.raises(StoreCorruptError, match=message) as info:
        GoldStore(path, read_only=read_only)
    assert str(path) in str(info.value)
    assert path.read_bytes() == damaged
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_store_from_a_newer_version_is_refused_untouched(
    store: GoldStore, sample_document: Document
) -> None:
    path, good = closed_store_bytes(store, sample_document)
    data = json.loads(good)
    data["meta"]["1"]["schema_version"] = 99
    newer = json.dumps(data).encode()
    path.write_bytes(newer)
    with pytest.raises(StoreError, match="newer version"):
        GoldStore(path)
    assert path.read_bytes() == newer


def journal_with_edits(store: GoldStore, doc: Document) -> list[bytes]:
    save(store, doc.id, [span(MARIA, "PERSON")])
    save(store, doc.id, [span(MARIA, "PERSON"), span(ASTER, "ORG")])
    save(store, doc.id, [span(MARIA, "PERSON"), span(ASTER, "ORG"), span(GENEVA, "GPE")])
    lines = store.journal_path.read_bytes().splitlines(keepends=True)
    # Leave the files as a crash would: journal not folded in, lock released.
    store._journal.close()
    store._file_lock.release()
    store._closed = True
    return lines


@pytest.mark.parametrize("read_only", [False, True])
def test_a_damaged_journal_line_before_the_end_is_refused_untouched(
    store: GoldStore, sample_document: Document, read_only: bool
) -> None:
    lines = journal_with_edits(store, sample_document)
    assert len(lines) >= 4
    middle = len(lines) - 2
    flipped = bytearray(lines[middle])
    flipped[20] ^= 0x01
    lines[middle] = bytes(flipped)
    damaged = b"".join(lines)
    store.journal_path.write_bytes(damaged)
    main = store.path.read_bytes()
    with pytest.raises(StoreCorruptError, match=f"line {middle + 1}: damaged journal entry"):
        GoldStore(store.path, read_only=read_only)
    assert store.journal_path.read_bytes() == damaged
    assert store.path.read_bytes() == main


def test_a_torn_last_journal_line_is_dropped_and_earlier_edits_kept(
    store: GoldStore, sample_document: Document
) -> None:
    lines = journal_with_edits(store, sample_document)
    torn = b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]
    store.journal_path.write_bytes(torn)
    with GoldStore(store.path, read_only=True) as reader:
        assert [s.key for s in reader.annotation(sample_document.id).spans] == [MARIA, ASTER]
    assert store.journal_path.read_bytes() == torn  # a reader never writes
    with GoldStore(store.path) as writer:
        assert store.journal_path.read_bytes() == b"".join(lines[:-1])
        save(
            writer, sample_document.id,
            [span(MARIA, "PERSON"), span(ASTER, "ORG"), span(GENEVA, "GPE")],
        )
    with GoldStore(store.path, read_only=True) as reader:
        assert [s.key for s in reader.annotation(sample_document.id).spans] == [
            MARIA,
            ASTER,
            GENEVA,
        ]


# -- validation and labels ------------------------------------------------------------


def test_unknown_labels_are_refused_unless_asked_to_add_them(
    store: GoldStore, sample_document: Document
) -> None:
    doc = sample_document.id
    journal = store.journal_path.read_bytes()
    with pytest.raises(ValueError, match="unknown entity label"):
        save(store, doc, [span(MARIA, "CHARACTER")])
    bad_relation = Annotation(
        doc_id=doc,
        spans=[span(MARIA, "PERSON"), span(ASTER, "ORG")],
        relations=[Relation(head=MARIA, child=ASTER, label="leads")],
    )
    with pytest.raises(ValueError, match="unknown relation label"):
        store.save_annotation(bad_relation)
    assert store.journal_path.read_bytes() == journal
    assert store.annotation(doc) is None

    store.save_annotation(bad_relation, add_labels=True)
    assert "leads" in store.labels.relation_names
    store.save_annotation(Annotation(doc_id=doc, spans=[span(MARIA, "CHARACTER")]), add_labels=True)
    assert "CHARACTER" in reread_labels(store.path)


def reread_labels(path: Path) -> list[str]:
    with GoldStore(path, read_only=True) as other:
        return other.labels.entity_names


def test_predictions_add_their_labels_unless_told_not_to(
    store: GoldStore, sample_document: Document
) -> None:
    pred = Prediction(
        doc_id=sample_document.id, extractor="x@1", spans=[span(GENEVA, "CITY", "x@1")]
    )
    with pytest.raises(ValueError, match="unknown entity label"):
        store.put_predictions([pred], add_labels=False)
    assert store.prediction(sample_document.id, "x@1") is None
    store.put_predictions([pred])
    assert "CITY" in store.labels.entity_names
    assert store.prediction(sample_document.id, "x@1") == pred


def test_spans_and_relations_are_checked_against_the_document(
    store: GoldStore, sample_document: Document
) -> None:
    doc = sample_document.id
    with pytest.raises(ValueError, match="outside the text"):
        save(store, doc, [Span(start=len(SAMPLE_TEXT) - 2, end=len(SAMPLE_TEXT) + 3, label="GPE")])
    maria = span(MARIA, "PERSON")
    save(store, doc, [maria])
    with pytest.raises(ValueError, match="not one of the spans"):
        save(store, doc, [maria], [Relation(head=MARIA, child=ASTER, label="works_for")])
    with pytest.raises(ValueError, match="overlap"):
        store.save_annotation(
            Annotation(doc_id=doc, spans=[span(MARIA, "PERSON")]).model_copy(
                update={"spans": [span(MARIA, "PERSON"), span((MARIA[0] + 2, MARIA[1]), "ORG")]}
            )
        )
    with pytest.raises(NotFoundError):
        save(store, "no-such-doc", [maria])
    assert [s.key for s in reread(store.path, doc).spans] == [MARIA]


def test_a_batch_with_one_bad_annotation_stores_none_of_it(
    store: GoldStore, sample_document: Document
) -> None:
    other = Document.from_text("Another article about Geneva.")
    store.add_documents([other])
    good = Annotation(doc_id=sample_document.id, spans=[span(MARIA, "PERSON")])
    bad = Annotation(doc_id=other.id, spans=[Span(start=0, end=500, label="ORG")])
    with pytest.raises(ValueError):
        store.save_annotations([good, bad])
    assert store.annotation(sample_document.id) is None
    assert reread(store.path, sample_document.id) is None


def test_only_accepted_annotations_are_gold(store: GoldStore, sample_document: Document) -> None:
    other = Document.from_text("A second article.")
    store.add_documents([other])
    save(store, sample_document.id, status="accept")
    save(store, other.id, status="reject")
    assert [a.doc_id for a in store.gold()] == [sample_document.id]
    save(store, sample_document.id, status=None)
    assert list(store.gold()) == []
    assert store.stats()["annotations"] == {"accept": 0, "reject": 1, "ignore": 0, "open": 1}


def test_stats_count_the_gold_by_label_not_every_annotation(
    store: GoldStore, sample_document: Document
) -> None:
    other, third = Document.from_text("A second article."), Document.from_text("A third one.")
    store.add_documents([other, third])
    doc = sample_document.id
    # Two annotators accepted the first document and adjudication chose one reading.
    for annotator, labels in (("ann", ("ORG", "ORG")), ("gold", ("PERSON", "GPE"))):
        spans = [span(MARIA, labels[0]), span(GENEVA, labels[1])]
        save(store, doc, spans, status="accept", annotator=annotator)
    save(store, other.id, [Span(start=0, end=1, label="ORG")], status="reject")
    save(store, third.id, [Span(start=0, end=1, label="ORG")])  # open
    figures = store.stats()
    assert figures["gold_documents"] == 1
    assert figures["gold_entities_by_label"] == {"GPE": 1, "PERSON": 1}
    assert figures["annotations"] == {"accept": 2, "reject": 1, "ignore": 0, "open": 1}


def test_the_same_text_twice_is_one_document_and_ids_keep_import_order(
    store: GoldStore, sample_document: Document
) -> None:
    docs = [Document.from_text(f"Article number {n}.") for n in range(5)]
    result = store.add_documents([*docs, sample_document, docs[0]])
    assert result.added == [d.id for d in docs]
    assert result.present == [sample_document.id, docs[0].id]
    assert store.document_ids() == [sample_document.id, *(d.id for d in docs)]
    assert store.find_document("Article number 3.") == docs[3].id


def test_an_import_that_fails_midway_stores_nothing(
    store: GoldStore, sample_document: Document
) -> None:
    def documents():
        yield Document.from_text("First good article.")
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        store.add_documents(documents())
    assert store.document_ids() == [sample_document.id]
    with GoldStore(store.path, read_only=True) as reader:
        assert len(reader) == 1


def test_read_only_open_of_a_missing_store_is_an_error_and_creates_nothing(
    tmp_path: Path,
) -> None:
    with pytest.raises(StoreError, match="no such gold store"):
        GoldStore(tmp_path / "missing.json", read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_a_new_journal_and_main_file_have_their_folder_entries_fsynced(
    gold_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import annotations.storage.files as store_module

    real = store_module.fsync_dir
    synced: list[tuple[Path, bool, bool]] = []

    def spy(folder: Path) -> None:
        synced.append((folder, gold_path.exists(), (folder / f"{gold_path.name}.journal").exists()))
        real(folder)

    monkeypatch.setattr(store_module, "fsync_dir", spy)
    with GoldStore(gold_path) as gold:
        gold.add_documents([Document.from_text("The first article.")])
    assert (gold_path.parent, True, True) in synced


def test_a_checkpoint_that_fails_loses_nothing_and_leaves_no_temporary_file(
    gold_path: Path, sample_document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def disk_full(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    gold = GoldStore(gold_path, checkpoint_bytes=1)  # every edit asks for a checkpoint
    gold.add_documents([sample_document])
    gold.add_entity_labels(["PERSON", "ORG"])
    monkeypatch.setattr(os, "write", disk_full)
    # The edit is in the journal, so the call succeeds although the checkpoint failed.
    save(gold, sample_document.id, [span(MARIA, "PERSON")])
    assert [s.key for s in reread(gold_path, sample_document.id).spans] == [MARIA]
    with pytest.raises(StoreError, match="every edit is safe"):
        gold.close()
    monkeypatch.undo()
    assert [p.name for p in gold_path.parent.glob(".*.tmp")] == []
    with GoldStore(gold_path) as again:  # the lock was released; the journal replays
        assert [s.key for s in again.annotation(sample_document.id).spans] == [MARIA]
    with TinyDB(gold_path, access_mode="r") as db:
        assert len(db.table("annotations")) == 1


# -- memory close to the data: records held as their JSON text until touched -----------


def _many_annotated(path: Path, count: int) -> list[str]:
    docs = [Document.from_text(f"Maria Keller met Aster Rail, number {n}.\n") for n in range(count)]
    with GoldStore(path) as gold:
        gold.add_entity_labels(["PERSON", "ORG"])
        gold.add_documents(docs)
        gold.save_annotations([Annotation(doc_id=d.id, spans=[Span(start=0, end=12,
                               label="PERSON")], status="accept") for d in docs])
    return [d.id for d in docs]


def test_an_open_holds_annotations_as_text_and_a_bulk_read_keeps_none_parsed(
    gold_path: Path,
) -> None:
    doc_ids = _many_annotated(gold_path, 100)
    with TinyDB(gold_path, access_mode="r") as plain:  # still a plain TinyDB file
        assert len(plain.table("annotations")) == 100
    with GoldStore(gold_path, read_only=True) as reader:
        table = reader._tables.rows["annotations"]
        assert all(isinstance(data, bytes) for data in table.raw.values()) and not table.hot
        assert [r["doc_id"] for r in reader.gold_records()] == doc_ids
        assert not table.hot  # parsed for the bulk reader, and dropped again
        assert reader.annotation(doc_ids[5]).spans[0].label == "PERSON"
        assert len(table.hot) == 1


def test_edits_of_more_records_than_stay_parsed_are_all_kept(gold_path: Path) -> None:
    doc_ids = _many_annotated(gold_path, 150)
    with GoldStore(gold_path) as writer:
        for number, doc_id in enumerate(doc_ids):
            ann = writer.annotation(doc_id)
            writer.save_annotation(ann.model_copy(update={"notes": f"note {number}"}))
        assert len(writer._tables.rows["annotations"].hot) <= 64
        assert writer.annotation(doc_ids[0]).notes == "note 0"
    with GoldStore(gold_path, read_only=True) as reader:
        assert [a.notes for a in reader.annotations()] == [f"note {n}" for n in range(150)]


@pytest.mark.parametrize("read_only", [True, False])
def test_a_damaged_record_kept_as_text_is_reported_when_read_and_never_written_again(
    gold_path: Path, read_only: bool,
) -> None:
    doc_ids = _many_annotated(gold_path, 3)
    data = gold_path.read_bytes()
    damaged = data.replace(b'"status":"accept"', b'"status":"accept', 1)  # one broken record
    assert damaged != data
    gold_path.write_bytes(damaged)
    store = GoldStore(gold_path, read_only=read_only)
    assert store.annotation(doc_ids[1]) is not None  # the others still read
    with pytest.raises(StoreCorruptError, match=r"record '1' is malformed"):
        store.annotation(doc_ids[0])
    if not read_only:
        store.save_annotation(Annotation(doc_id=doc_ids[2], notes="kept in the journal"))
        with pytest.raises(StoreCorruptError, match=r"record '1' is malformed"):
            store.close()  # the checkpoint refuses to write the damaged record again
    else:
        store.close()
    assert gold_path.read_bytes() == damaged


def _unchecked(store: GoldStore) -> int:
    return sum(len(table.unchecked) for table in store._tables.rows.values())


def test_a_file_a_checkpoint_wrote_is_written_again_without_checking_each_record(
    gold_path: Path,
) -> None:
    doc_ids = _many_annotated(gold_path, 5)
    meta = json.loads(gold_path.read_text())["meta"]["1"]
    body = gold_path.read_bytes().split(b"\n},\n", 1)[1]  # all after the meta table
    assert meta["body_crc"] == f"{zlib.crc32(body):08x}"
    with GoldStore(gold_path) as store:
        assert _unchecked(store) == 0  # the body is what the checkpoint wrote
        store.save_annotation(Annotation(doc_id=doc_ids[4], notes="changed"))
    with GoldStore(gold_path) as store:
        assert _unchecked(store) == 0
        assert [a.notes for a in store.annotations()] == ["", "", "", "", "changed"]
    with GoldStore(gold_path, read_only=True) as store:
        # A reader never writes records again: it spends nothing on the checksum.
        assert _unchecked(store) == 5
    # A file written without the checksum (an older version, or plain TinyDB): every
    # record is checked again, as before.
    with TinyDB(gold_path) as plain:
        plain.table("meta").update({"body_crc": None}, doc_ids=[1])
    with GoldStore(gold_path) as store:
        assert _unchecked(store) == 0  # TinyDB's layout: read whole, every record parsed
        store.save_annotation(Annotation(doc_id=doc_ids[0], notes="again"))
    with GoldStore(gold_path) as store:
        assert _unchecked(store) == 0  # the checkpoint wrote a checksum again


def test_a_record_changed_after_the_checkpoint_is_checked_again_and_refused(
    gold_path: Path,
) -> None:
    # The damage is in a record this session never reads, the same length, and the
    # file's times are put back: only the checksum tells, and the checkpoint must
    # then refuse to write the record again.
    doc_ids = _many_annotated(gold_path, 3)
    data = gold_path.read_bytes()
    damaged = data.replace(b'"relations":[],"notes"', b'"relations":[},"notes"', 1)
    assert len(damaged) == len(data) and damaged != data
    times = os.stat(gold_path)
    gold_path.write_bytes(damaged)
    os.utime(gold_path, ns=(times.st_atime_ns, times.st_mtime_ns))
    store = GoldStore(gold_path)
    assert _unchecked(store) == 3
    store.save_annotation(Annotation(doc_id=doc_ids[2], notes="kept in the journal"))
    with pytest.raises(StoreCorruptError, match=r"record '1' is malformed"):
        store.close()
    assert gold_path.read_bytes() == damaged


def test_a_checksum_that_is_not_the_bodys_vouches_for_nothing(gold_path: Path) -> None:
    _many_annotated(gold_path, 3)
    data = gold_path.read_bytes()
    crc = json.loads(data)["meta"]["1"]["body_crc"]
    other = f"{(int(crc, 16) + 1) % 2**32:08x}"
    gold_path.write_bytes(data.replace(b'"body_crc":"%s"' % crc.encode(),
                                       b'"body_crc":"%s"' % other.encode()))
    with GoldStore(gold_path) as store:
        assert _unchecked(store) == 3
        store.checkpoint()  # every record checked, and written with the right checksum
    with GoldStore(gold_path) as store:
        assert _unchecked(store) == 0


def test_annotation_status_is_known_without_building_the_annotation(gold_path: Path) -> None:
    doc_ids = _many_annotated(gold_path, 3)
    with GoldStore(gold_path) as writer:
        ann = writer.annotation(doc_ids[1])
        writer.save_annotation(ann.model_copy(update={"status": "reject"}))  # a patch
        writer.save_annotation(ann.model_copy(update={"status": None}))
        writer.save_annotation(ann.model_copy(update={"status": "ignore"}))
        writer.delete_annotation(doc_ids[2])
        expected = ["accept", "ignore", None]
        assert [writer.annotation_status(d) for d in doc_ids] == expected
        assert writer.annotation_status(doc_ids[0], "someone else") is None
    with GoldStore(gold_path, read_only=True) as reader:
        table = reader._tables.rows["annotations"]
        assert [reader.annotation_status(d) for d in doc_ids] == expected
        assert not table.hot  # read from what opens each record, not parsed
    with TinyDB(gold_path) as plain:  # a file plain TinyDB rewrote: statuses parsed
        plain.table("annotations").update({"status": None}, doc_ids=[1])
    with GoldStore(gold_path, read_only=True) as reader:
        assert [reader.annotation_status(d) for d in doc_ids] == ["open", "ignore", None]
