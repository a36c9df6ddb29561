"""Hostile input and hostile paths (issue 9): each numbered case of the issue as a test.

Names from data never reach the terminal or the report unescaped, no output replaces
what it must not, a journal that is not the store's is refused, and bad input gets one
clear error (file, line, reason) instead of a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import srsly

from annotations.errors import (
    InputError,
    InputErrors,
    OutputError,
    StoreCorruptError,
    StoreError,
    StoreIdentityError,
    StoreLockedError,
)
from annotations.evaluation import EvalDocument, Evaluation, evaluate_extractor
from annotations.formats.transfer import import_layers
from annotations.models import (
    Annotation,
    Document,
    EntityLabel,
    LabelScheme,
    Prediction,
    Relation,
    RelationLabel,
    Span,
)
from annotations.names import FALLBACK_COLOUR, safe_colour, scheme_problems
from annotations.output import write_atomically
from annotations.report import render_report, write_report
from annotations.store import GoldStore
from annotations.terminal import terminal_text, visible
from reader import cli as reader_cli
from reader.cli import main
from reader.commands import common
from reader.config import load_config

TEXT = "Aster Rail hired Maria Keller in Geneva."
OSC = "\x1b]2;PWNED\x07"
INJECTED_COLOUR = 'red" onmouseover="alert(document.domain)" x="'


def make_store(path: Path, *, label: str = "ORG", extractor: str = "m@1",
               colour: str = "#1f77b4", relation: str = "works_for") -> Document:
    """A store with one accepted annotation and one prediction; the names given are
    written into the file as they are, as a store from before the rules would hold them."""
    doc = Document.from_text(TEXT, {"title": "Hired"})
    with GoldStore(path) as store:
        store.add_documents([doc])
        store.set_labels(LabelScheme(
            entities=[EntityLabel(name="ORG", colour="#1f77b4"), EntityLabel(name="PERSON")],
            relations=[RelationLabel(name="works_for")]))
        store.save_annotation(Annotation(
            doc_id=doc.id, status="accept",
            spans=[Span(start=0, end=10, label="ORG"), Span(start=17, end=29, label="PERSON")],
            relations=[Relation(head=(17, 29), child=(0, 10), label="works_for")]))
        store.put_predictions([Prediction(doc_id=doc.id, extractor="m@1", spans=[
            Span(start=0, end=10, label="ORG", source="m@1", state="suggested")])])
    raw = path.read_text()
    for old, new in (("ORG", label), ("m@1", extractor), ("#1f77b4", colour),
                     ("works_for", relation)):
        raw = raw.replace(json.dumps(old), json.dumps(new))
    path.write_text(raw)
    return doc


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        *args: object) -> tuple[int, str, str]:
    """``reader ARGS`` in this process, through ``main`` as the console script runs it;
    a traceback would escape as an exception and fail the test."""
    monkeypatch.setattr(sys, "argv", ["reader", *map(str, args)])
    for console in (common.console, common.err_console, reader_cli.err_console):
        monkeypatch.setattr(console, "width", 300)  # one message, one line
    with pytest.raises(SystemExit) as info:
        main()
    out = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out.out, out.err


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# -- 1. a colour that injects an attribute ---------------------------------------------


def test_1_a_colour_that_is_not_a_colour_is_refused_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"entities": [{"name": "ORG", "colour": INJECTED_COLOUR}]}))
    with pytest.raises(InputError, match="not a colour") as info:
        load_config(config)
    assert str(config) in str(info.value)


def test_1_a_stored_bad_colour_opens_with_a_notice_and_never_reaches_the_report(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gold.json"
    make_store(path, colour=INJECTED_COLOUR)
    with GoldStore(path) as store:  # still opens, for writing too
        scheme = store.labels
    assert any("not a colour" in p for p in scheme_problems(scheme))
    assert any("extractor name" in p for p in scheme_problems(scheme, extractors=[OSC]))
    assert safe_colour(scheme.entity("ORG").colour) == FALLBACK_COLOUR
    page = render_report(*_evaluation(TEXT, "ORG", "m@1"),
                         colours={"ORG": scheme.entity("ORG").colour})
    assert "onmouseover" not in page
    assert_safe_html(page)


# -- 2. escape sequences in names -------------------------------------------------------


def test_2_names_with_escape_sequences_are_refused_where_they_enter(tmp_path: Path) -> None:
    for make in (lambda: EntityLabel(name=f"ORG{OSC}"),
                 lambda: RelationLabel(name=f"rel{OSC}"),
                 lambda: Prediction(doc_id="d", extractor=f"m{OSC}@1"),
                 lambda: Annotation(doc_id="d", annotator=f"ann{OSC}")):
        with pytest.raises(ValueError, match="control or invisible character U\\+001B"):
            make()


def test_2_stats_shows_stored_escape_sequences_as_visible_symbols(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gold.json"
    make_store(path, label=f"ORG{OSC}", extractor=f"m{OSC}@1")
    code, out, err = cli(capsys, monkeypatch, "stats", "--db", path)
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "ORG␛]2;PWNED␇" in out and "m␛]2;PWNED␇@1" in out
    assert "warning" in err and "U+001B" in err  # the notice that the store holds them


def test_2_json_output_carries_names_as_escapes_not_live_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gold.json"
    make_store(path, label="ORG\x9b2J\u202e", extractor="m\x9b@1")
    code, out, err = cli(capsys, monkeypatch, "stats", "--db", path, "--json")
    assert code == 0, err
    assert "\x9b" not in out and "\u202e" not in out
    figures = json.loads(out)
    assert "ORG\x9b2J\u202e" in figures["entity_labels"]
    assert list(figures["predictions"]) == ["m\x9b@1"]


def test_terminal_text_makes_controls_visible_and_escapes_markup() -> None:
    assert visible("a\x1b[31mb\u202ec\n") == "a␛[31mb\ufffdc␊"
    assert visible("a\nb", keep_newlines=True) == "a\nb"
    assert terminal_text("[/]\x9b") == "\\[/]\ufffd"


# -- 3. markup in names -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["[/]", "[link=https://evil.example]clickme[/link]"])
def test_3_markup_in_label_and_extractor_names_is_shown_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    path = tmp_path / "gold.json"
    make_store(path, label=name.replace(" ", "_"), extractor=name)
    for command in (["evaluate", "--bootstrap", "0", "--by-label"], ["stats"]):
        code, out, err = cli(capsys, monkeypatch, *command, "--db", path)
        assert code == 0, err
        assert "\x1b]8;" not in out  # no live hyperlink
        assert name in "".join(out.split()) or name in out


# -- 4. the store as an output ----------------------------------------------------------


def test_4_export_and_report_refuse_to_overwrite_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gold.json"
    make_store(path)
    before = files_in(tmp_path)
    for args in (["export", "--db", path, "-o", path, "--status", "all"],
                 ["export", "--db", path, "-o", tmp_path / "." / "gold.json"],
                 ["evaluate", "--db", path, "--html", path, "--bootstrap", "0"]):
        code, out, err = cli(capsys, monkeypatch, *args)
        assert code == 1 and "the gold store's own file" in err, (args, out, err)
    assert files_in(tmp_path) == before


def test_4_an_open_store_protects_its_journal_and_lock(tmp_path: Path) -> None:
    path = tmp_path / "gold.json"
    make_store(path)
    with GoldStore(path) as store:
        for own in (store.path, store.journal_path, store.lock_path):
            with pytest.raises(OutputError, match="own file"):
                write_atomically(own, b"x")


# -- 5. symlinks, FIFOs, devices, folders -----------------------------------------------


def test_5_an_output_through_a_symlink_replaces_the_target_and_keeps_the_link(
    tmp_path: Path,
) -> None:
    target = tmp_path / "real.html"
    target.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    write_atomically(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_5_fifos_devices_and_folders_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    targets = {fifo: "FIFO", tmp_path: "a folder"}
    try:
        device = tmp_path / "null"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        targets[device] = "a device"
    except PermissionError:
        pass  # not root: no device of our own to try
    for target, kind in targets.items():
        with pytest.raises(OutputError, match=kind):
            write_atomically(target, b"data")
        assert not target.is_file()
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_5_a_replaced_file_keeps_its_owner_and_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    os.chown(target, 1234, 2345)
    target.chmod(0o640)
    write_atomically(target, b"new")
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 2345, 0o640)


# -- 6. a journal that is not this store's ----------------------------------------------


def _crashed_with_journal(path: Path, doc: Document, label: str) -> bytes:
    """Edit, then leave as a crash would (journal not folded in); the journal's bytes."""
    store = GoldStore(path)
    ann = store.annotation(doc.id)
    assert ann is not None
    spans = [s.model_copy(update={"label": label}) if s.key == (0, 10) else s
             for s in ann.spans]
    store.add_entity_labels([label])
    store.save_annotation(ann.model_copy(update={"spans": spans}))
    journal = store.journal_path.read_bytes()
    store._journal.close()
    store._file_lock.release()
    store._closed = True
    return journal


def test_6_a_journal_from_another_store_is_refused_and_nothing_replayed(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    mine, theirs = tmp_path / "a" / "gold.json", tmp_path / "b" / "gold.json"
    doc = make_store(mine)
    make_store(theirs)
    foreign = _crashed_with_journal(theirs, doc, "GPE")
    mine.with_name("gold.json.journal").write_bytes(foreign)
    before = files_in(mine.parent)
    for read_only in (True, False):
        with pytest.raises(StoreIdentityError, match="belongs to another gold store") as info:
            GoldStore(mine, read_only=read_only)
        assert "Move the journal aside" in str(info.value)
    assert files_in(mine.parent) == before


def test_6_a_stale_journal_beside_a_restored_backup_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gold.json"
    doc = make_store(path)
    backup = path.read_bytes()
    with GoldStore(path) as store:  # two more checkpoints after the backup
        store.add_entity_labels(["GPE"])
        store.checkpoint()
    _crashed_with_journal(path, doc, "LOC")
    path.write_bytes(backup)  # the backup comes back; the journal is from later
    with pytest.raises(StoreIdentityError, match="checkpoint"):
        GoldStore(path)


def test_6_a_store_without_an_id_opens_and_gets_one_at_its_next_checkpoint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gold.json"
    doc = make_store(path)
    data = json.loads(path.read_text())
    del data["meta"]["1"]["store_id"], data["meta"]["1"]["generation"]
    path.write_text(json.dumps(data))
    with GoldStore(path) as store:
        store.add_entity_labels(["GPE"])
    meta = json.loads(path.read_text())["meta"]["1"]
    assert isinstance(meta["store_id"], str) and meta["generation"] == 1
    with GoldStore(path, read_only=True) as store:
        assert store.annotation(doc.id) is not None


# -- 7. the lock on the resolved path ---------------------------------------------------


def test_7_a_second_writer_through_a_symlink_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gold.json"
    make_store(path)
    link = tmp_path / "link.json"
    link.symlink_to(path)
    with GoldStore(path):
        with pytest.raises(StoreLockedError):
            GoldStore(link)
    with GoldStore(link) as store:
        assert store.path == path


def test_7_an_opener_that_locked_a_lock_file_just_removed_takes_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The holder closes cleanly (removing the lock file) between the next opener's
    open() and flock() of the old file: the opener must not trust a lock on a file that
    is gone, or a third opener would create a new lock file and write alongside it."""
    import fcntl

    from annotations.storage import files

    lock_path, store_path = tmp_path / "gold.json.lock", tmp_path / "gold.json"
    holder = files.FileLock(lock_path, store_path)
    holder.acquire()
    real_flock = fcntl.flock
    raced: list[bool] = []

    def flock(fd: int, operation: int) -> None:
        if not raced and fd != holder.fd and operation & fcntl.LOCK_EX:
            raced.append(True)
            holder.release(remove=True)
        real_flock(fd, operation)

    monkeypatch.setattr(files.fcntl, "flock", flock)
    opener = files.FileLock(lock_path, store_path)
    opener.acquire()
    assert raced and opener.fd is not None
    assert os.fstat(opener.fd).st_ino == lock_path.stat().st_ino
    with pytest.raises(StoreLockedError):
        files.FileLock(lock_path, store_path).acquire()
    opener.release(remove=True)


# -- 8. modes -------------------------------------------------------------------------------


def test_8_a_checkpoint_keeps_the_store_private_and_a_read_only_store_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gold.json"
    make_store(path)
    path.chmod(0o600)
    with GoldStore(path) as store:
        store.add_entity_labels(["GPE"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o444)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="read-only"):
        GoldStore(path)
    code, _, err = cli(capsys, monkeypatch, "import", tmp_path / "none.txt", "--db", path)
    assert code == 1
    with GoldStore(path, read_only=True) as store:
        assert "GPE" in store.labels.entity_names
    assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == 0o444


# -- 9. a full disk -------------------------------------------------------------------------


def _disk_full_on(monkeypatch: pytest.MonkeyPatch, suffix: str, larger_than: int = 0) -> None:
    """Writes of more than ``larger_than`` bytes to files named ``*suffix`` fail."""
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if len(data) > larger_than and os.readlink(f"/proc/self/fd/{fd}").endswith(suffix):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_9_disk_full_says_whether_the_import_was_committed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gold.json"
    make_store(path)
    (tmp_path / "a.txt").write_text("One article.\n")
    (tmp_path / "b.txt").write_text("Another article.\n")
    _disk_full_on(monkeypatch, ".journal", larger_than=100)  # the header line gets in
    code, out, err = cli(capsys, monkeypatch, "import", tmp_path / "a.txt", "--db", path)
    assert code == 1 and "No space left on device" in err and "nothing of it was kept" in err
    assert "committed" not in err
    monkeypatch.undo()
    _disk_full_on(monkeypatch, ".tmp")  # the journal takes it, the checkpoint cannot
    code, out, err = cli(capsys, monkeypatch, "import", tmp_path / "b.txt", "--db", path)
    assert code == 1 and "1 added" in out
    assert "is committed" in err and "No space left on device" in err
    monkeypatch.undo()
    with GoldStore(path, read_only=True) as store:
        assert len(store) == 2  # b.txt, replayed from the journal


def test_9_opening_for_writing_on_a_full_disk_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_text("One article.\n")
    path = tmp_path / "gold.json"
    _disk_full_on(monkeypatch, ".tmp")
    code, out, err = cli(capsys, monkeypatch, "import", tmp_path / "a.txt", "--db", path)
    assert code == 1 and "No space left on device" in err and "nothing was saved" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


# -- 10. the journal: torn, corrupt, unknown ----------------------------------------------


def test_10_a_complete_last_line_with_a_bad_checksum_is_corruption_not_a_torn_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gold.json"
    doc = make_store(path)
    journal = _crashed_with_journal(path, doc, "GPE")
    damaged = journal[:-5] + bytes([journal[-5] ^ 1]) + journal[-4:]
    path.with_name("gold.json.journal").write_bytes(damaged)
    with pytest.raises(StoreCorruptError, match="damaged journal entry"):
        GoldStore(path)
    assert path.with_name("gold.json.journal").read_bytes() == damaged


@pytest.mark.parametrize("op", [
    ["annotations.merge", "1", {}],
    ["annotations", "1", {"doc_id": "x", "annotator": "default", "spans": "oops"}],
    ["predictions", "x", None],
])
def test_10_unknown_ops_and_malformed_records_are_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    op: list,
) -> None:
    import zlib

    path = tmp_path / "gold.json"
    doc = make_store(path)
    journal = _crashed_with_journal(path, doc, "GPE")
    payload = json.dumps([op]).encode()
    line = b"%08x\t%s\n" % (zlib.crc32(payload), payload)
    path.with_name("gold.json.journal").write_bytes(journal + line)
    for command in ("stats", "export"):
        args = ["-o", tmp_path / "out.jsonl"] if command == "export" else []
        code, out, err = cli(capsys, monkeypatch, command, "--db", path, *args)
        assert code == 1 and "gold.json.journal, line" in err, err
        assert len(err.strip().splitlines()) <= 3  # one message, wrapped at most


@pytest.mark.parametrize(("old", "new"), [
    ('"spans":[{', '"spans":"oops","x":[{'),
    ('"end":10,', ''),
])
def test_10_malformed_records_in_the_main_file_are_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    old: str, new: str,
) -> None:
    path = tmp_path / "gold.json"
    make_store(path)
    raw = path.read_text()
    assert old in raw
    path.write_text(raw.replace(old, new, 1))
    before = files_in(tmp_path)
    codes = []
    for command in (["stats"], ["export", "-o", tmp_path / "out.jsonl"]):
        code, out, err = cli(capsys, monkeypatch, *command, "--db", path)
        codes.append(code)
        if code:  # else the damage is in a part this command does not read
            assert code == 1 and "is malformed" in err and str(path) in err, err
    assert codes[-1] == 1  # export reads every record
    assert files_in(tmp_path) == before


# -- 11. importer crashes ------------------------------------------------------------------


def _import_errors(store: GoldStore, path: Path, **options: object) -> list[str]:
    with pytest.raises(InputErrors) as info:
        import_layers(store, path, add_labels=True, **options)  # type: ignore[arg-type]
    return [str(e) for e in info.value.errors]


@pytest.fixture
def empty_store(tmp_path: Path):
    with GoldStore(tmp_path / "gold.json") as store:
        yield store


def test_11_importer_inputs_that_crashed_get_errors(tmp_path: Path, empty_store) -> None:
    crlf = tmp_path / "crlf.jsonl"
    srsly.write_jsonl(crlf, [{"text": "Aster Rail\r\nhired Maria", "spans": [
        {"start": 0, "end": 10, "label": "ORG"}], "relations": [
        {"head_span": {"start": 0, "end": 10}, "child_span": {"start": 40, "end": 45},
         "label": "rel"}]}])
    assert any("not a span of the text" in e for e in _import_errors(empty_store, crlf))
    surrogate = tmp_path / "surrogate.jsonl"
    surrogate.write_text('{"text": "Aster \\ud800 Rail", "spans": []}\n'
                         '{"text": "Aster Rail", "spans": [{"start": 0, "end": 5, '
                         '"label": "O\\udc00RG"}]}\n')
    errors = _import_errors(empty_store, surrogate)
    assert any("line 1" in e and "surrogate" in e for e in errors)
    assert any("line 2" in e and "U+DC00" in e for e in errors)
    doccano = tmp_path / "doccano.jsonl"
    srsly.write_jsonl(doccano, [{"text": "Aster Rail", "entities": [
        {"id": [1], "start_offset": 0, "end_offset": 5, "label": "ORG"}], "relations": []}])
    assert any("entity id" in e for e in _import_errors(empty_store, doccano,
                                                        format_name="doccano"))


def test_11_a_spacy_file_with_bad_user_data_is_an_error(tmp_path: Path, empty_store) -> None:
    import spacy
    from spacy.tokens import DocBin

    from annotations.formats.docbin import USER_DATA_KEY

    doc = spacy.blank("en")("Aster Rail hired Maria.")
    doc.user_data[USER_DATA_KEY] = {"spans": 5}
    path = tmp_path / "bad.spacy"
    DocBin(store_user_data=True, docs=[doc]).to_disk(path)
    assert any("spans must be a list" in e for e in _import_errors(empty_store, path))


# -- 12. relation labels that break brat -------------------------------------------------------


def test_12_a_relation_label_with_a_newline_or_space_is_refused(tmp_path: Path,
                                                               empty_store) -> None:
    for bad in ("works\nfor", "works for"):
        with pytest.raises(ValueError):
            RelationLabel(name=bad)
        with pytest.raises(ValueError):
            empty_store.add_relation_labels([bad])
    path = tmp_path / "gold.jsonl"
    srsly.write_jsonl(path, [{"text": TEXT, "spans": [
        {"start": 0, "end": 10, "label": "ORG"}, {"start": 17, "end": 29, "label": "PER"}],
        "relations": [{"head_span": {"start": 17, "end": 29},
                       "child_span": {"start": 0, "end": 10}, "label": "works\nfor"}]}])
    assert any("relation label" in e for e in _import_errors(empty_store, path))


# -- 13. every problem in one run; NULs, empty files, FIFOs ----------------------------------


def test_13_brat_syntax_and_offset_errors_are_reported_together(tmp_path: Path,
                                                               empty_store) -> None:
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "a.txt").write_text("Aster Rail hired Maria.")
    (folder / "a.ann").write_text("T1\tORG 0 10\tAster Rail\nT2 broken line\n")
    (folder / "b.txt").write_text("Short.")
    (folder / "b.ann").write_text("T1\tORG 0 50\tShort.\n")
    errors = _import_errors(empty_store, folder)
    assert any("a.ann, line 2" in e and "malformed" in e for e in errors)
    assert any("b.ann" in e and "outside the text" in e for e in errors)


def test_13_a_txt_with_a_nul_anywhere_and_an_empty_conll_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    late_nul = tmp_path / "late.txt"
    late_nul.write_bytes(b"word " * 3000 + b"\x00 more")
    path = tmp_path / "gold.json"
    code, _, err = cli(capsys, monkeypatch, "import", late_nul, "--db", path)
    assert code == 1 and "NUL" in err
    empty = tmp_path / "empty.conll"
    empty.write_text("")
    code, _, err = cli(capsys, monkeypatch, "import", empty, "--db", path, "--as-gold",
                       "--add-labels")
    assert code == 1 and "empty.conll" in err and "empty CoNLL" in err
    assert not path.exists()


def test_13_a_db_that_is_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "gold.json"
    os.mkfifo(fifo)
    (tmp_path / "a.txt").write_text("One article.\n")
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    # In a child process: the old code waited for a writer forever.
    result = subprocess.run([sys.executable, "-m", "reader", "stats", "--db", str(fifo)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1 and "FIFO" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(StoreError, match="FIFO"):
        GoldStore(fifo)  # for writing: refused before anything is opened
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "gold.json"]


# -- 14. nothing left behind ----------------------------------------------------------------


def test_14_failed_commands_leave_no_file_and_a_clean_close_leaves_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.jsonl"
    srsly.write_jsonl(bad, [{"text": "Short.", "spans": [
        {"start": 0, "end": 50, "label": "ORG"}]}])
    path = tmp_path / "gold.json"
    code, _, _ = cli(capsys, monkeypatch, "import", bad, "--db", path, "--as-gold",
                     "--add-labels")
    assert code == 1
    code, _, err = cli(capsys, monkeypatch, "annotate", "--db", tmp_path / "typo.json",
                       "--no-model")
    assert code == 1 and "no documents" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]
    (tmp_path / "a.txt").write_text("One article.\n")
    code, _, _ = cli(capsys, monkeypatch, "import", tmp_path / "a.txt", "--db", path)
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "bad.jsonl", "gold.json"]
    code, out, _ = cli(capsys, monkeypatch, "export", "--help")
    assert "created if missing" not in out


# -- the report, whatever the data ------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(name, value or "") for name, value in attrs]


def assert_safe_html(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags
    assert not [name for name, _ in parser.attrs if name.startswith("on")]
    for name, value in parser.attrs:
        if name in ("href", "src", "action", "formaction", "xlink:href", "srcset"):
            assert not re.match(r"\s*([a-z]+:|//)", value, re.I), (name, value)
        if name == "style":
            assert "url(" not in value.lower() and "expression" not in value.lower()
            for colour in re.findall(r"background:\s*([^;]+);", value):
                assert re.fullmatch(r"#[0-9a-f]{6}", colour), value
        if name == "xmlns":
            assert value == "http://www.w3.org/2000/svg"


def _evaluation(text: str, label: str, extractor: str, title: str = "t"
                ) -> tuple[Evaluation, dict[str, list[EvalDocument]]]:
    end = min(len(text), 5)
    docs = [EvalDocument(doc_id="d", text=text, gold=[(0, end, label)],
                         pred=[(0, end, label), (end, len(text), label)] if end < len(text)
                         else [], title=title)]
    result = evaluate_extractor(extractor, docs, bootstrap=0, seed=0)
    return (Evaluation(store="gold.json", annotator=None, documents=1, bootstrap=0, seed=0,
                       results={extractor: result}), {extractor: docs})


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

HOSTILE = st.one_of(
    st.text(min_size=1, max_size=30),
    st.sampled_from([INJECTED_COLOUR, "<script>alert(1)</script>", '"><img src=x onerror=1>',
                     "javascript:alert(1)", "url(https://evil.example)", OSC, "[/]",
                     "' onclick='x", "</mark><a href=https://evil.example>"]),
)


@settings(max_examples=30, deadline=None)
@given(text=HOSTILE, label=HOSTILE, extractor=HOSTILE, title=HOSTILE, colour=HOSTILE)
def test_the_report_has_no_script_handler_or_url_whatever_the_data(
    text: str, label: str, extractor: str, title: str, colour: str
) -> None:
    page = render_report(*_evaluation(text + " tail", label, extractor, title),
                         colours={label: colour})
    assert_safe_html(page)


def test_write_report_refuses_the_store(tmp_path: Path) -> None:
    path = tmp_path / "gold.json"
    make_store(path)
    with pytest.raises(OutputError):
        write_report(path, *_evaluation(TEXT, "ORG", "m@1"), protected=[path])


# -- every importer, any input ------------------------------------------------------------------


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 60) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
KEYS = ["text", "data", "spans", "relations", "entities", "label", "meta", "answer", "tokens",
        "_annotator_id", "start", "end", "start_offset", "end_offset", "id", "from_id",
        "to_id", "type", "head_span", "child_span", "head", "child", "token_start"]
RECORD = st.dictionaries(st.sampled_from(KEYS), JSON | st.lists(
    st.dictionaries(st.sampled_from(KEYS), JSON, max_size=5), max_size=3), max_size=6)


OFFSET = st.integers(-2, 30)
NAME = st.one_of(st.sampled_from(["ORG", "PERSON", "rel"]), HOSTILE)
SPAN = st.fixed_dictionaries({"start": OFFSET, "end": OFFSET, "label": NAME},
                             optional={"text": st.text(max_size=6), "token_start": OFFSET,
                                       "token_end": OFFSET, "source": NAME, "state": NAME})
PRODIGY = st.fixed_dictionaries(
    {"text": st.text(alphabet="ab \r\n\u2028\ud800", min_size=1, max_size=30),
     "spans": st.lists(SPAN, max_size=3)},
    optional={"relations": st.lists(st.fixed_dictionaries(
        {"head_span": SPAN, "child_span": SPAN, "label": NAME},
        optional={"head": OFFSET, "child": OFFSET}), max_size=2),
        "answer": JSON, "_annotator_id": NAME, "meta": JSON,
        "tokens": st.lists(st.dictionaries(st.sampled_from(["text", "start", "end", "id",
                                                           "ws"]), JSON), max_size=3)})
DOCCANO = st.fixed_dictionaries(
    {"text": st.text(alphabet="ab \r\n", min_size=1, max_size=30)},
    optional={"entities": st.lists(st.fixed_dictionaries(
        {"start_offset": OFFSET, "end_offset": OFFSET, "label": NAME},
        optional={"id": JSON}), max_size=3),
        "relations": st.lists(st.fixed_dictionaries({"from_id": JSON, "to_id": JSON,
                                                     "type": NAME}), max_size=2),
        "label": st.lists(st.tuples(OFFSET, OFFSET, NAME).map(list), max_size=3)})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt_records=st.one_of(st.tuples(st.just("prodigy"), st.lists(PRODIGY, min_size=1,
                                                                       max_size=3)),
                             st.tuples(st.just("doccano"), st.lists(DOCCANO, min_size=1,
                                                                       max_size=3))),
       predictions=st.booleans())
def test_records_shaped_like_each_format_give_success_or_errors_naming_the_line(
    base_store: Path, tmp_path_factory: pytest.TempPathFactory,
    fmt_records: tuple[str, list], predictions: bool,
) -> None:
    fmt, records = fmt_records
    folder = tmp_path_factory.mktemp("shaped")
    target = folder / "in.jsonl"
    target.write_text("".join(json.dumps(r) + "\n" for r in records))
    options = {"as_predictions": True, "extractor": "fuzz@1"} if predictions else {}
    _try_import(base_store, folder, target, format_name=fmt, **options)


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base") / "gold.json"
    make_store(path)
    return path


def _try_import(base: Path, folder: Path, target: Path, **options: object) -> None:
    """Import ``target`` into a copy of ``base``: success, or errors that name files under
    ``folder``, and then the store's files exactly as before."""
    store_dir = folder / "store"
    store_dir.mkdir()
    path = store_dir / "gold.json"
    path.write_bytes(base.read_bytes())
    before = files_in(store_dir)
    try:
        with GoldStore(path) as store:
            import_layers(store, target, add_labels=True, **options)  # type: ignore[arg-type]
    except InputErrors as err:
        for error in err.errors:
            assert error.path and Path(error.path).is_relative_to(folder), error
            assert error.reason
        assert files_in(store_dir) == before


FORMAT_FILES = {"prodigy": "in.jsonl", "doccano": "in.jsonl", "conll": "in.conll",
                "spacy": "in.spacy"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(sorted(FORMAT_FILES)), data=st.binary(max_size=300),
       predictions=st.booleans())
def test_any_bytes_to_any_importer_give_success_or_errors_naming_the_file(
    base_store: Path, tmp_path_factory: pytest.TempPathFactory, fmt: str, data: bytes,
    predictions: bool,
) -> None:
    folder = tmp_path_factory.mktemp("bytes")
    target = folder / FORMAT_FILES[fmt]
    target.write_bytes(data)
    options = {"as_predictions": True, "extractor": "fuzz@1"} if predictions else {}
    _try_import(base_store, folder, target, format_name=fmt, **options)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(["prodigy", "doccano"]),
       records=st.lists(RECORD | JSON, min_size=1, max_size=3))
def test_any_json_to_the_jsonl_importers_gives_success_or_errors_naming_the_line(
    base_store: Path, tmp_path_factory: pytest.TempPathFactory, fmt: str, records: list,
) -> None:
    folder = tmp_path_factory.mktemp("json")
    target = folder / "in.jsonl"
    target.write_text("".join(json.dumps(r) + "\n" for r in records))
    _try_import(base_store, folder, target, format_name=fmt)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(txt=st.binary(max_size=80), ann=st.binary(max_size=200) | st.text(max_size=200).map(
    lambda s: s.encode("utf-8", "surrogatepass")))
def test_any_brat_pair_gives_success_or_errors_naming_the_file(
    base_store: Path, tmp_path_factory: pytest.TempPathFactory, txt: bytes, ann: bytes,
) -> None:
    folder = tmp_path_factory.mktemp("brat")
    data = folder / "brat"
    data.mkdir()
    (data / "a.txt").write_bytes(txt)
    (data / "a.ann").write_bytes(ann)
    _try_import(base_store, folder, data, format_name="brat")


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=200) | st.lists(JSON, min_size=1, max_size=3).map(
    lambda rows: "".join(json.dumps(r) + "\n" for r in rows).encode()),
       suffix=st.sampled_from([".txt", ".jsonl"]))
def test_any_article_file_gives_articles_or_errors_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str,
) -> None:
    from annotations.articles import read_articles

    folder = tmp_path_factory.mktemp("articles")
    target = folder / f"in{suffix}"
    target.write_bytes(data)
    result = read_articles([target])
    for error in result.errors:
        assert error.path == str(target) and error.reason
    for doc in result.documents:
        srsly.json_dumps(doc.model_dump()).encode("utf-8")  # storable as it is
