"""The gold store under faults and hostile use (issue 24): what no edit may save, who may
write, which files the store leaves behind and with what mode, and what a damaged
journal may not silently drop."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotations.errors import (
    StoreCorruptError,
    StoreError,
    StoreIdentityError,
    StoreLockedError,
)
from annotations.models import Annotation, Document, Prediction, Span
from annotations.session import SAVE_ERRORS
from annotations.store import GoldStore
from reader.cli import app

SAMPLE_TEXT = (
    "Maria Keller, the mayor of Lindenfeld, met engineers from Aster Rail on Monday.\n"
    "The talks in Geneva ended without a deal, Keller said.\n"
)
runner = CliRunner()
MARIA = (SAMPLE_TEXT.index("Maria Keller"), SAMPLE_TEXT.index("Maria Keller") + 12)


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir()) if p.is_file()}


# -- item 1: no edit may ever save what a later read refuses --------------------------


def test_notes_too_long_for_a_read_are_refused_on_the_way_in_and_nothing_is_saved(
    store: GoldStore, sample_document: Document
) -> None:
    doc = sample_document.id
    saved = store.save_annotation(Annotation(
        doc_id=doc, spans=[Span(start=MARIA[0], end=MARIA[1], label="PERSON")],
        notes="first"))
    before = _files(store.path)
    # The session builds edits with model_copy(update=...), which validates nothing.
    too_long = saved.model_copy(update={"notes": "x" * 21_000})
    for attempt in (store.save_annotation, lambda a: store.save_annotations([a])):
        with pytest.raises(SAVE_ERRORS) as caught:
            attempt(too_long)
        assert isinstance(caught.value, StoreError)
        message = str(caught.value)
        assert "notes" in message and "20000" in message and "nothing was saved" in message
        assert doc in message
        assert _files(store.path) == before
    assert store.annotation(doc).notes == "first"
    store.close()
    with GoldStore(store.path, read_only=True) as again:
        assert again.annotation(doc).notes == "first"


def test_records_a_read_would_refuse_are_refused_for_every_table(
    store: GoldStore, sample_document: Document
) -> None:
    before = _files(store.path)
    pred = Prediction(doc_id=sample_document.id, extractor="spacy@3")
    bad_doc = Document.from_text("another text").model_copy(update={"text": "a third"})
    with pytest.raises(StoreError, match="document record.*not the hash of its text"):
        store.add_documents([bad_doc])
    with pytest.raises(StoreError, match="predictions record.*extractor"):
        store.put_predictions([pred.model_copy(update={"extractor": ""})])
    bad_span = Span.model_construct(start=5, end=2, label="PERSON", source="human",
                                    state="confirmed")
    with pytest.raises(StoreError, match="annotations record"):
        store.save_annotations([Annotation.model_construct(
            doc_id=sample_document.id, spans=[bad_span], relations=[], annotator="default",
            status=None, notes="", created="x", updated="x")])
    assert _files(store.path) == before


# -- items 2 and 3: the lock holds the store itself, whatever name reaches it ----------


def test_removing_the_lock_file_while_a_writer_runs_admits_no_second_writer(
    store: GoldStore, sample_document: Document
) -> None:
    store.lock_path.unlink()
    with pytest.raises(StoreLockedError, match="open for writing by another process"):
        GoldStore(store.path)
    # The holder keeps the store across a checkpoint (a new main file) as well.
    store.save_annotation(Annotation(doc_id=sample_document.id, notes="one"))
    store.checkpoint()
    store.lock_path.unlink(missing_ok=True)
    with pytest.raises(StoreLockedError):
        GoldStore(store.path)
    other = Document.from_text("A second article.")
    store.add_documents([other])
    store.close()
    with GoldStore(store.path) as again:
        assert again.has_document(other.id) and again.annotation(sample_document.id)
    assert not store.lock_path.exists()


def test_a_hard_link_to_the_store_gives_no_second_writer(
    store: GoldStore, sample_document: Document
) -> None:
    link = store.path.with_name("linked.json")
    store.checkpoint()
    os.link(store.path, link)
    with pytest.raises(StoreLockedError, match="another name"):
        GoldStore(link)
    store.save_annotation(Annotation(doc_id=sample_document.id, notes="one"))
    store.checkpoint()  # the name now holds a new file; the link still the old one
    with pytest.raises(StoreLockedError):
        GoldStore(link)
    store.close()
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["gold.json", "linked.json"]


def test_a_copied_store_with_its_journal_is_refused_not_replayed(
    store: GoldStore, sample_document: Document
) -> None:
    store.save_annotation(Annotation(doc_id=sample_document.id, notes="in the journal"))
    copy = store.path.with_name("copy.json")
    shutil.copyfile(store.path, copy)
    shutil.copyfile(store.journal_path, copy.with_name("copy.json.journal"))
    before = _files(copy)
    for read_only in (True, False):
        with pytest.raises(StoreIdentityError, match="another file"):
            GoldStore(copy, read_only=read_only)
        assert _files(copy) == before
    store.close()
    with GoldStore(store.path, read_only=True) as original:
        assert original.annotation(sample_document.id).notes == "in the journal"


# -- item 7: every file the store writes has the store's own mode and owner -----------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_journal_lock_and_checkpoint_files_take_the_stores_mode(
    store: GoldStore, sample_document: Document, mode: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.path
    store.close()
    os.chmod(path, mode)
    old_umask = os.umask(0o022)
    renamed: list[int] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        renamed.append(_mode(Path(src)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    try:
        with GoldStore(path) as again:
            assert _mode(again.lock_path) == mode
            again.save_annotation(Annotation(doc_id=sample_document.id, notes="secret"))
            assert _mode(again.journal_path) == mode
            again.checkpoint()
            assert _mode(path) == mode and _mode(again.journal_path) == mode
        assert renamed and set(renamed) == {mode}
        # A journal a crash left with another mode gets the store's at the next open.
        with GoldStore(path) as again:
            again.save_annotation(Annotation(doc_id=sample_document.id, notes="later"))
            os.chmod(again.journal_path, 0o644)
            again._journal.close()
            again._file_lock.release()
            again._closed = True
        with GoldStore(path) as again:
            assert again.annotation(sample_document.id).notes == "later"
            assert _mode(again.journal_path) == mode == _mode(again.lock_path)
    finally:
        os.umask(old_umask)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another owner")
def test_journal_and_lock_take_the_stores_owner(
    store: GoldStore, sample_document: Document
) -> None:
    path = store.path
    store.close()
    os.chown(path, 4321, 4322)
    with GoldStore(path) as again:
        again.save_annotation(Annotation(doc_id=sample_document.id, notes="x"))
        for own in (again.lock_path, again.journal_path):
            assert (own.stat().st_uid, own.stat().st_gid) == (4321, 4322)
        again.checkpoint()
    assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4322)


# -- item 12: a failed or killed first import leaves no store; a failed open no lock ---

KILLED_IMPORT = textwrap.dedent(
    """
    import os, signal, sys
    real_replace = os.replace

    def replace_then_die(src, dst):
        real_replace(src, dst)
        os.kill(os.getpid(), signal.SIGKILL)  # killed just after the first file is in place

    os.replace = replace_then_die
    from reader.cli import main
    sys.argv = ["reader", "import", *sys.argv[1:]]
    main()
    """
)


def _labels_and_documents(path: Path) -> tuple[list[str], int]:
    with GoldStore(path, read_only=True) as store:
        return store.labels.entity_names, len(store)


def test_a_first_import_killed_at_its_first_write_leaves_no_store_without_labels(
    tmp_path: Path,
) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Maria Keller met Aster Rail in Geneva.\n", encoding="utf-8")
    db = tmp_path / "gold.json"
    killed = subprocess.run([sys.executable, "-c", KILLED_IMPORT, str(article), "--db", str(db)],
                            capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if db.exists():  # all of the first transaction, or nothing
        labels, documents = _labels_and_documents(db)
        assert labels and documents == 1
    rerun = runner.invoke(app, ["import", str(article), "--db", str(db)])
    assert rerun.exit_code == 0, rerun.output
    labels, documents = _labels_and_documents(db)
    assert labels and documents == 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 1 MB tmpfs of its own (skipped where mounting is not allowed)."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or 'refused'}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path, leave: int = 0) -> None:
    """Fill the disk of ``folder`` up, then free ``leave`` bytes of it."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, bytes(4096)):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))


def test_a_failed_open_on_a_full_disk_leaves_no_lock_file(small_disk: Path) -> None:
    db = small_disk / "gold.json"
    with GoldStore(db) as store:
        store.add_documents([Document.from_text("Maria Keller met Aster Rail.")])
    _fill(small_disk)
    with pytest.raises(StoreError, match="lock file"):
        GoldStore(db)
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "gold.json"]


def test_a_first_import_that_fails_on_a_full_disk_leaves_nothing(small_disk: Path) -> None:
    _fill(small_disk, leave=16_384)
    db = small_disk / "gold.json"
    big = Document.from_text("Maria Keller met Aster Rail in Geneva. " * 20_000)
    with GoldStore(db) as store:
        with pytest.raises(StoreError, match="nothing was saved"):
            store.add_documents([big])
        assert len(store) == 0 and not store.has_document(big.id)
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    (small_disk / "filler").unlink()
    with GoldStore(db) as store:
        store.add_documents([big])
    with GoldStore(db, read_only=True) as store:
        assert store.has_document(big.id)


# -- item 15: a damaged final newline is corruption, not a torn write ------------------


def _crash_with_three_edits(store: GoldStore, doc: Document) -> list[bytes]:
    """Three acknowledged edits in the journal (notes one, two, three), left as a crash
    would leave them; the journal's lines."""
    for notes in ("one", "two", "three"):
        store.save_annotation(Annotation(doc_id=doc.id, notes=notes))
    store._journal.close()
    store._file_lock.release()
    store._closed = True
    return store.journal_path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("ending", [b"X", bytes([ord("\n") ^ 0x01]), b"\xff"])
@pytest.mark.parametrize("read_only", [True, False])
def test_a_damaged_final_newline_is_reported_and_the_journal_left_untouched(
    store: GoldStore, sample_document: Document, ending: bytes, read_only: bool
) -> None:
    lines = _crash_with_three_edits(store, sample_document)
    damaged = b"".join(lines)[:-1] + ending
    store.journal_path.write_bytes(damaged)
    with pytest.raises(StoreCorruptError, match=f"line {len(lines)}: damaged journal entry"):
        GoldStore(store.path, read_only=read_only)
    assert store.journal_path.read_bytes() == damaged


def test_bytes_no_journal_line_holds_at_the_end_are_corruption_not_a_torn_write(
    store: GoldStore, sample_document: Document
) -> None:
    lines = _crash_with_three_edits(store, sample_document)
    damaged = b"".join(lines) + b"\x01\x02garbage"
    store.journal_path.write_bytes(damaged)
    with pytest.raises(StoreCorruptError, match=f"line {len(lines) + 1}: damaged journal"):
        GoldStore(store.path)
    assert store.journal_path.read_bytes() == damaged


def test_a_whole_last_transaction_without_its_newline_is_kept_not_dropped(
    store: GoldStore, sample_document: Document
) -> None:
    lines = _crash_with_three_edits(store, sample_document)
    store.journal_path.write_bytes(b"".join(lines)[:-1])
    with GoldStore(store.path, read_only=True) as reader:
        assert reader.annotation(sample_document.id).notes == "three"
    with GoldStore(store.path) as writer:
        assert store.journal_path.read_bytes() == b"".join(lines)  # the newline restored
        writer.save_annotation(Annotation(doc_id=sample_document.id, notes="four"))
    with GoldStore(store.path, read_only=True) as reader:
        assert reader.annotation(sample_document.id).notes == "four"


def test_a_torn_last_line_padded_with_zeros_is_dropped_as_torn(
    store: GoldStore, sample_document: Document
) -> None:
    lines = _crash_with_three_edits(store, sample_document)
    # A power cut can leave the file longer than what reached the disk, as zeros.
    torn = b"".join(lines[:-1]) + lines[-1][:30] + bytes(50)
    store.journal_path.write_bytes(torn)
    with GoldStore(store.path, read_only=True) as reader:
        assert reader.annotation(sample_document.id).notes == "two"
    assert store.journal_path.read_bytes() == torn
    with GoldStore(store.path) as writer:
        assert store.journal_path.read_bytes() == b"".join(lines[:-1])
        assert writer.annotation(sample_document.id).notes == "two"
