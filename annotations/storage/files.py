"""The store's files on disk: the lock, the journal and the main TinyDB file.

* ``FileLock``: exclusive ``flock``s on ``gold.json.lock`` (holding a line that names
  the holder) and on the main file itself while a store is open for writing.
* ``Journal``: the append-only ``gold.json.journal``; each line is one transaction,
  ``crc32<TAB>json-list-of-ops<LF>``, fsynced before an edit returns; its first line
  names the store, the checkpoint and the main file it follows.
* Journal and lock have the main file's mode and owner (``like_store``).
* ``read_main``: the TinyDB file parsed and checked, or a clear error that leaves it
  untouched.  The file is only ever replaced with ``write_atomically``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import srsly
from pydantic import BaseModel, ValidationError
from tinydb.storages import Storage

from ..errors import StoreCorruptError, StoreError, StoreIdentityError, StoreLockedError
from ..models import (
    LENIENT,
    SCHEMA_VERSION,
    Annotation,
    Document,
    LabelScheme,
    Prediction,
    Relation,
    Span,
    utc_now,
)
from ..output import _take_over, fsync_dir, write_atomically, write_chunks
from .patch import PATCH_TABLE
from .shape import layer_record_ok, spans_ok
from .tables import OWNER, TABLES, Op, Overlay, Record, Tables, encode_record

# Files the store makes beside its main file are created private, then given the main
# file's mode and owner (the one rule, shared with the checkpoint's temporary file).
PRIVATE_MODE = 0o600


def like_store(fd: int, store_path: Path) -> None:
    """Give the file at ``fd`` (journal, lock) the main file's mode and owner; a new
    store's files keep the private mode until its main file exists."""
    try:
        _take_over(fd, store_path)
    except PermissionError:
        pass  # a file someone else owns (a shared folder): its owner's mode stands


def inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


class FileLock:
    """One writer at a time, whatever name reaches the store.

    Two ``flock``s, both exclusive: one on the store's lock file (``gold.json.lock``,
    which holds a line naming the holder, for the error a second writer gets), and one
    on the main file itself, that is on the file (device and inode) however it is named.
    The second holds when the lock file is removed while a writer runs, and against a
    second writer that comes through a hard link.  A checkpoint replaces the main file:
    its new file is locked before it takes the name (:meth:`hold_new`), and the old one
    stays locked as long as another name (a hard link) still holds it.

    The lock file is removed when the writer closes cleanly.  Removal is safe because
    an opener checks, once it holds the ``flock``, that the path still names the file
    it locked; if the holder removed (and someone recreated) it in between, it tries
    again on the file the path names now.
    """

    ATTEMPTS = 20

    def __init__(self, lock_path: Path, store_path: Path) -> None:
        self.path = lock_path
        self.store_path = store_path
        self.fd: int | None = None
        self.main_fds: list[int] = []  # flocks on the main file, the current one last
        self._new_fd: int | None = None  # the flock on a checkpoint's file, not renamed yet

    def acquire(self) -> None:
        for _attempt in range(self.ATTEMPTS):
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
                finally:
                    os.close(fd)
                raise StoreLockedError(
                    f"{self.store_path} is open for writing by another process "
                    f"({holder or 'holder unknown'}); close it there, or open this one "
                    "read-only"
                ) from None
            if os.fstat(fd).st_ino == inode(self.path):
                break
            os.close(fd)  # the holder removed the file as we opened it: the lock is void
        else:  # pragma: no cover - a lock file replaced 20 times in a row
            raise StoreLockedError(f"{self.path}: the lock file keeps being replaced")
        self.fd = fd
        try:
            self._hold_main()
        except BaseException:
            self.release(remove=True)
            raise
        holder = (
            f"pid {os.getpid()} on {socket.gethostname()}, "
            f"command {' '.join(sys.argv)[:200]!r}, since {utc_now()}"
        )
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode("utf-8"), 0)
        except OSError as err:
            self.release(remove=True)  # we hold it: the file goes with the failed open
            raise StoreError(
                f"{self.path}: cannot write the lock file ({err.strerror}); nothing was "
                "changed"
            ) from None

    def _hold_main(self) -> None:
        """Lock the main file the store's path names now (a new store's, when created)."""
        for _attempt in range(self.ATTEMPTS):
            try:
                fd = os.open(self.store_path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return  # no main file yet (or one we may not read: the load says so)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise StoreLockedError(
                    f"{self.store_path} is open for writing by another process under "
                    "another name (a hard link to it, or a writer whose lock file was "
                    "removed); close it there, or open this one read-only"
                ) from None
            held = os.fstat(fd)
            try:
                now = os.stat(self.store_path)
            except FileNotFoundError:
                now = None
            if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
                self.main_fds.append(fd)
                return
            os.close(fd)  # replaced as we locked it: lock the file the name holds now
        raise StoreLockedError(  # pragma: no cover - replaced 20 times in a row
            f"{self.store_path}: the file keeps being replaced by another process")

    def hold_new(self, fd: int) -> None:
        """Lock the file a checkpoint wrote, before it takes the store's name (called by
        ``write_atomically``); :meth:`renamed` or :meth:`drop_new` follows."""
        self.drop_new()
        held = os.dup(fd)
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._new_fd = held

    def renamed(self) -> None:
        """The locked new file has the name: keep its lock, and the old file's only while
        another name (a hard link) still holds it."""
        if self._new_fd is None:
            return
        kept = []
        for fd in self.main_fds:
            if os.fstat(fd).st_nlink > 0:
                kept.append(fd)
            else:
                os.close(fd)
        self.main_fds = [*kept, self._new_fd]
        self._new_fd = None

    def drop_new(self) -> None:
        if self._new_fd is not None:
            os.close(self._new_fd)
            self._new_fd = None

    def _open(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_MODE)
        except OSError as err:
            raise StoreError(
                f"{self.path}: cannot create the lock file ({err.strerror}); "
                "open the store read-only, or check the folder's permissions"
            ) from None
        like_store(fd, self.store_path)
        return fd

    def release(self, *, remove: bool = False) -> None:
        """Give the locks up; with ``remove``, delete the lock file first (while held, and
        only if the name still holds our file: a lock file removed and made again while we
        ran is another opener's)."""
        self.drop_new()
        for fd in self.main_fds:
            os.close(fd)
        self.main_fds = []
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                if remove and os.fstat(fd).st_ino == inode(self.path):
                    self.path.unlink(missing_ok=True)
                elif not remove:
                    os.ftruncate(fd, 0)
            except OSError:
                pass  # a stale holder line or file is harmless: the flock is what counts
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def _crc_line(payload: bytes) -> bytes:
    return b"%08x\t%s\n" % (zlib.crc32(payload), payload)


# What a torn append can leave of a line: a prefix of ``crc32<TAB>json`` (the JSON is
# ASCII: non-ASCII characters are escaped).
_TORN_PREFIX = re.compile(rb"[0-9a-f]{0,7}|[0-9a-f]{8}(\t[\x20-\x7e]*)?")


def encode_ops(ops: list[Op], encoded: Sequence[tuple[str, str, bytes]] = ()
               ) -> tuple[list[bytes], list[bytes | None]]:
    """One transaction as the pieces of its journal line's JSON (``[[table, key,
    record], ...]``, see :meth:`Journal.append`), and each op's record as JSON text: a
    record is encoded once, as the main file holds it (``tables.encode_record``), and
    the tables keep that text, so a large import is never held as one string (nor
    twice: each record's text is a piece of its own).  ``encoded``: more ops, after
    ``ops``, whose records are given as that text already."""
    chunks: list[bytes] = []
    items = [(table, key, None if record is None else encode_record(table, record))
             for table, key, record in ops]
    texts = [text for _, _, text in items]
    for index, (table, key, text) in enumerate([*items, *encoded]):
        chunks.append(b"%s[%s,%s," % (b"," if index else b"[",
                                     srsly.json_dumps(table).encode("utf-8"),
                                     srsly.json_dumps(key).encode("utf-8")))
        chunks.append(b"null" if text is None else text)
        chunks.append(b"]")
    chunks.append(b"]" if chunks else b"[]")
    return chunks, texts


def encode_header(identity: Identity) -> bytes:
    """The journal's first line: the store it belongs to, the checkpoint it follows and
    the main file (its inode) that checkpoint wrote, so that neither a copy of the store
    with its journal nor another name of it reaches a journal that is not its own."""
    header: dict[str, Any] = {"journal": 1, "store": identity.store_id,
                              "generation": identity.generation}
    if identity.main_inode is not None:
        header["main"] = identity.main_inode
    return _crc_line(srsly.json_dumps(header).encode("utf-8"))


def decode_line(line: bytes) -> Any:
    """The JSON value of one complete journal line, or None if it fails its checksum or
    is not JSON.  (A line without its newline is torn: see :meth:`Journal.replay`.)"""
    if len(line) < 10 or line[8:9] != b"\t":
        return None
    payload = line[9:-1] if line.endswith(b"\n") else line[9:]
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    if zlib.crc32(payload) != crc:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


@dataclass(frozen=True)
class Identity:
    """Which store a main file is, and how many checkpoints it has had."""

    store_id: str | None  # None: a store written before stores had ids
    generation: int
    main_inode: int | None = None  # the inode of the main file, where known

    @classmethod
    def of(cls, meta: Record, main_inode: int | None = None) -> Identity:
        store_id = meta.get("store_id")
        generation = meta.get("generation", 0)
        return cls(store_id if isinstance(store_id, str) else None,
                   generation if isinstance(generation, int) else 0, main_inode)


class Journal:
    """The append-only journal beside the main file.

    Its first line names the store (the id in the main file's meta) and the checkpoint
    generation it follows; every other line is one transaction.  At open, a journal of
    the same generation is replayed; one a generation behind was already folded in (a
    checkpoint stopped between the rename and emptying the journal) and is dropped;
    anything else (another store's, or a stale one beside a restored main file) is
    refused and left untouched.
    """

    def __init__(self, path: Path, store_path: Path) -> None:
        self.path = path
        self.store_path = store_path
        self.fd: int | None = None
        self.size = 0  # bytes of whole transactions, the header excluded
        self.header_bytes = 0
        self.folded = False  # the journal only holds what the main file already has

    def _refuse(self, problem: str) -> StoreIdentityError:
        return StoreIdentityError(
            f"{self.path}: {problem}; nothing was replayed and both files were left "
            f"untouched. Move the journal aside (mv {self.path.name} "
            f"{self.path.name}.aside) to open {self.store_path.name} as of its last "
            "checkpoint, or put it beside the store it belongs to"
        )

    def replay(self, apply: Callable[[str, str, Record | None], None], identity: Identity,
               *, writable: bool) -> None:
        """Check the journal belongs here, then apply every transaction in it.  A torn
        last line (no newline: a write that never returned) is dropped, and cut off if
        ``writable``; a complete line that fails its checksum is corruption, and so is a
        last line that no torn write can leave (see :meth:`_whole_tail`)."""
        with open(self.path, "rb") as fh:
            lines = fh.readlines()
        self.size = self.header_bytes = 0
        self.folded = False
        torn = b""
        whole: bytes | None = None
        if lines and not lines[-1].endswith(b"\n"):
            torn = lines.pop()
            whole = self._whole_tail(torn, len(lines) + 1)
            if whole is not None:
                lines.append(whole)
        start = 0
        if lines:
            first = decode_line(lines[0])
            if isinstance(first, dict):
                self._check_header(first, identity)
                self.header_bytes = len(lines[0])
                start = 1
                if first["generation"] == identity.generation - 1:
                    self.folded = True
                    return
            elif first is not None and identity.store_id is not None:
                raise self._refuse(
                    f"has no store id but {self.store_path.name} has one "
                    f"({identity.store_id}): it is not this store's journal")
        good_bytes = self.header_bytes
        for number in range(start, len(lines)):
            line = lines[number]
            ops = decode_line(line)
            if not isinstance(ops, list):
                raise StoreCorruptError(
                    f"{self.path}, line {number + 1}: damaged journal entry (it fails its "
                    "checksum or is not a transaction); nothing was changed. Move the "
                    f"journal aside to open {self.store_path} as of its last checkpoint"
                )
            for table, key, record in check_ops(ops, self.path, number + 1):
                apply(table, key, record)
            good_bytes += len(line)
        self.size = good_bytes - self.header_bytes
        if writable and torn:
            # Cut the torn line off, or give a whole one its newline back.
            with open(self.path, "r+b") as fh:
                fh.truncate(good_bytes - len(whole or b""))
                if whole is not None:
                    fh.seek(0, os.SEEK_END)
                    fh.write(whole)
                    fh.flush()
                os.fsync(fh.fileno())

    def _whole_tail(self, tail: bytes, number: int) -> bytes | None:
        """What a journal's last line without a newline (``tail``, line ``number``) holds:
        the whole transaction line, its newline restored, when only the newline is
        missing (or is one of the zeros a power cut can leave past the written data: a
        whole transaction, applied even if its write never returned); None when it is
        torn, a prefix of a line, perhaps padded with zeros.  Anything else is damage
        that no torn append leaves: a line whose newline is another byte, or bytes a
        journal line never holds."""
        body = tail.rstrip(b"\0")
        if decode_line(body) is not None:
            return body + b"\n"
        replaced = len(tail) > 1 and decode_line(tail[:-1]) is not None
        if replaced or not _TORN_PREFIX.fullmatch(body):
            what = ("a whole transaction whose newline is damaged" if replaced
                    else "bytes that no journal line holds")
            raise StoreCorruptError(
                f"{self.path}, line {number}: damaged journal entry ({what}; not a torn "
                "write); nothing was changed. Move the journal aside to open "
                f"{self.store_path} as of its last checkpoint"
            )
        return None

    def _check_header(self, header: dict[str, Any], identity: Identity) -> None:
        store_id, generation = header.get("store"), header.get("generation")
        if not isinstance(store_id, str) or not isinstance(generation, int):
            raise StoreCorruptError(f"{self.path}, line 1: malformed journal header")
        if identity.store_id is None:
            raise self._refuse(
                f"belongs to store {store_id} but {self.store_path.name} has no store id "
                "(an older copy of the main file?)")
        if store_id != identity.store_id:
            raise self._refuse(
                f"belongs to another gold store (id {store_id}; "
                f"{self.store_path.name} is {identity.store_id})")
        if generation not in (identity.generation, identity.generation - 1):
            raise self._refuse(
                f"follows checkpoint {generation} but {self.store_path.name} is at "
                f"checkpoint {identity.generation} (a restored backup of the main file, "
                "or a stale journal)")
        main = header.get("main")
        if (generation == identity.generation and isinstance(main, int)
                and identity.main_inode is not None and main != identity.main_inode):
            # Journals written before this check name no file, and still replay.
            raise self._refuse(
                f"belongs to another file of this store (inode {main}; "
                f"{self.store_path.name} is inode {identity.main_inode}): a copy of the "
                "store made with its journal, or the journal of another name of it")

    def open_for_append(self, identity: Identity) -> None:
        """Open for appending; a new, emptied or already folded journal gets a header."""
        new_journal = not self.path.exists()
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                          PRIVATE_MODE)
        # A journal a crash left behind with another mode (or a new one) gets the store's.
        like_store(self.fd, self.store_path)
        if new_journal or self.folded or (self.size == 0 and self.header_bytes == 0):
            self.reset(identity)
        if new_journal:
            # Edits fsync the journal's data; the folder entry needs its own fsync
            # to survive a power cut.
            fsync_dir(self.path.parent)

    def append(self, payload: list[bytes]) -> None:
        """Write one transaction line (``payload``, its JSON in pieces, checksummed as
        one) and fsync it; on failure nothing of it stays."""
        assert self.fd is not None
        crc = 0
        for chunk in payload:
            crc = zlib.crc32(chunk, crc)
        length = 10 + sum(len(chunk) for chunk in payload)
        try:
            write_chunks(self.fd, (b"%08x\t" % crc, *payload, b"\n"))
            os.fsync(self.fd)
        except OSError as err:
            # A partial line left behind would make every later line unreadable
            # (a damaged line before the end); cut it off so the journal stays whole.
            os.ftruncate(self.fd, self.header_bytes + self.size)
            raise StoreError(
                f"{self.path}: could not save the edit ({err.strerror}); "
                "nothing of it was kept, earlier edits are safe"
            ) from err
        self.size += length

    def reset(self, identity: Identity) -> None:
        """Empty the journal (everything in it is in the main file now) and write the
        header of the main file's generation (none for a store without an id yet)."""
        assert self.fd is not None
        os.ftruncate(self.fd, 0)
        header = b""
        if identity.store_id is not None:
            header = encode_header(identity)
            write_chunks(self.fd, [header])
        os.fsync(self.fd)
        self.size, self.header_bytes, self.folded = 0, len(header), False

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# The model each whole record of a table must validate as (the meta table is only
# ever written by a checkpoint, never by a journal op).
_MODELS: dict[str, type[BaseModel]] = {
    "labels": LabelScheme, "documents": Document, "annotations": Annotation,
    "predictions": Prediction,
}
_OP_TABLES = {*_MODELS, PATCH_TABLE}


def check_record(table: str, record: Any) -> None:
    """Whether ``record`` may be put in ``table`` (a span patch: whether it may patch an
    annotation): the one check of a record's shape, made for every record on its way
    into the store (:meth:`GoldStore._commit`) and for every journal op replayed, so that
    no edit saves what a later read refuses.  Raises ``ValueError`` (pydantic's
    ``ValidationError`` included) or ``TypeError`` naming the problem."""
    if not isinstance(record, dict):
        raise ValueError("the record is not an object")
    if table != PATCH_TABLE:
        # The plain common case answered quickly; anything else by the model (storage.shape).
        if not layer_record_ok(table, record):
            _MODELS[table].model_validate(record, context=LENIENT)
        return
    if not (isinstance(record.get("remove"), list) and isinstance(record.get("spans"), list)
            and isinstance(record.get("updated"), str)):
        raise ValueError("malformed span patch")
    for pair in record["remove"]:
        # [start, end, label]; [start, end] in journals written before overlapping layers.
        if (not isinstance(pair, list) or len(pair) not in (2, 3)
                or not all(type(n) is int for n in pair[:2])
                or (len(pair) == 3 and not isinstance(pair[2], str))):
            raise ValueError("malformed span patch")
    relations = record.get("relations", [])
    if not spans_ok(record["spans"], relations):
        for span in record["spans"]:
            Span.model_validate(span)
        for rel in relations:
            Relation.model_validate(rel)
    # The record's own fields that a patch sets, checked as the Annotation model does.
    fields = {"doc_id": "-", "status": record.get("status"), "notes": record.get("notes", ""),
              "updated": record["updated"]}
    if not layer_record_ok("annotations", fields):
        Annotation.model_validate(fields, context=LENIENT)


def describe(err: Exception) -> str:
    """A one-line reason for a refused record: each field and what is wrong with it."""
    if isinstance(err, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'record'}: {e['msg']}"
            for e in err.errors()[:3])[:300]
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__


def check_ops(raw: list[Any], path: Path, number: int) -> list[Op]:
    """The ops of one journal transaction, each checked for shape; a bad one is a
    :class:`StoreCorruptError` naming the journal line (nothing is applied)."""
    ops: list[Op] = []
    for index, op in enumerate(raw):
        where = f"{path}, line {number}, op {index + 1}"
        try:
            table, key, record = op
        except (TypeError, ValueError):
            raise StoreCorruptError(f"{where}: not a [table, key, record] op") from None
        if table not in _OP_TABLES:
            raise StoreCorruptError(
                f"{where}: unknown op {str(table)[:40]!r} (written by a newer version?); "
                "nothing was changed")
        if not isinstance(key, str) or not key.isdigit():
            raise StoreCorruptError(f"{where}: record key {str(key)[:40]!r} is not a number")
        if record is not None:
            try:
                check_record(table, record)
            except (ValueError, TypeError, AttributeError) as err:
                raise StoreCorruptError(
                    f"{where}: malformed {table} record ({describe(err)}); nothing was "
                    "changed. Move the journal aside to open the store as of its last "
                    "checkpoint"
                ) from None
        ops.append((table, key, record))
    return ops


class _NotOneRecordPerLine(Exception):
    """The main file is not laid out one record per line (written by plain TinyDB, an
    older version or by hand): it is read whole instead."""


_OWNER_PREFIX = {
    table: re.compile(rb'\{"doc_id":("(?:[^"\\]|\\.)*"),"%s":("(?:[^"\\]|\\.)*")'
                      rb'(?:,"status":(null|"[a-z]+")(?=[,}]))?' % owner.encode("ascii"))
    for table, owner in OWNER.items()
}


def _json_string(quoted: bytes) -> str:
    if b"\\" not in quoted:
        return quoted[1:-1].decode("utf-8")
    value = srsly.json_loads(quoted)
    assert isinstance(value, str)
    return value


READ_BUFFER = 1 << 20

BODY_CRC = "body_crc"
"""The field of the meta record that holds the CRC-32 (8 hex digits) of everything the
main file holds after its meta table, as the checkpoint that wrote it computed it.  A
file whose body still has that checksum when it is read holds exactly the records that
checkpoint wrote, every one of them checked on its way in (or by an earlier checkpoint),
so the next checkpoint writes them again without parsing each one to check it: at
10,000 documents, 1.1 of the 1.5 s a checkpoint took.  A record changed by hand, or
damaged on disk, changes the checksum, and every record is checked again as before."""
_CRC_PLACEHOLDER = "0" * 8


def _crc_text(crc: int) -> str:
    """A CRC-32 as the meta record's ``body_crc`` holds it."""
    return f"{crc:08x}"


class _Counted:
    """Lines of a file, with the CRC-32 of those read once ``on`` is set."""

    def __init__(self, lines: Any) -> None:
        self.lines = iter(lines)
        self.on = False
        self.crc = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> bytes:
        line: bytes = next(self.lines)
        if self.on:
            self.crc = zlib.crc32(line, self.crc)
        return line


class _Sealed:
    """The chunks of a main file (see ``Tables.lines``), with the CRC-32 of those after
    the meta table, and where in the file the meta record's placeholder for it is."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.crc = 0
        self.at: int | None = None  # the placeholder's offset in the file

    def __iter__(self) -> Iterator[bytes]:
        written = 0
        marker = b'"%s":"%s"' % (BODY_CRC.encode("ascii"), _CRC_PLACEHOLDER.encode("ascii"))
        for chunk in self.chunks:  # the meta table, up to its closing line
            found = chunk.find(marker)
            if found >= 0 and self.at is None:
                self.at = written + found + len(marker) - len(_CRC_PLACEHOLDER) - 1
            written += len(chunk)
            yield chunk
            if chunk == b"},\n":
                break
        crc = 0
        for chunk in self.chunks:
            crc = zlib.crc32(chunk, crc)
            yield chunk
        self.crc = crc

    def seal(self, fd: int) -> str:
        """Write the checksum into the placeholder, once the file is written whole and
        fsynced, and fsync it (a power cut before that leaves the placeholder, or half
        of the checksum: a checksum that vouches for nothing, never a wrong record)."""
        value = _crc_text(self.crc)
        if self.at is not None:
            os.pwrite(fd, value.encode("ascii"), self.at)
            os.fsync(fd)
        return value


def read_main(path: Path, tables: Tables, *, writer: bool = True) -> int:
    """Read the main TinyDB file into ``tables`` (emptied first), checked to be a gold
    store; returns its inode.  A ``writer`` (a store that may checkpoint) also checks the
    body against its checksum (:data:`BODY_CRC`); a reader never writes the records
    again, so it does not.

    A file the store wrote (one record per line, see :meth:`Tables.lines`) is read line
    by line, and the records of annotations and predictions are kept as their JSON text,
    indexed by the document id and owner that open each of them; any other TinyDB file
    is parsed whole.  Either way a damaged file is reported and left untouched (a
    damaged record kept as text is reported when it is first read, and a checkpoint
    refuses to write it)."""
    try:
        # A large buffer: a record's line (a long article, a large layer) spans many of
        # the default 8 KB ones, and each line read copies across them.
        with open(path, "rb", buffering=READ_BUFFER) as fh:
            main_inode = os.fstat(fh.fileno()).st_ino
            try:
                body_crc = _read_lines(fh, path, tables, count=writer)
            except _NotOneRecordPerLine:
                tables.clear()
                fh.seek(0)
                _read_whole(fh.read(), path, tables)
                body_crc = None
    except OSError as err:
        raise StoreError(f"{path}: cannot read: {err.strerror}") from None
    meta = tables.rows["meta"].get("1")
    if not isinstance(meta, dict) or not isinstance(meta.get("schema_version"), int):
        raise StoreCorruptError(
            f"{path}: a TinyDB file but not a gold store (no schema version); left untouched"
        )
    if meta["schema_version"] > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: written by a newer version (schema {meta['schema_version']}, "
            f"this one reads up to {SCHEMA_VERSION}); upgrade the reader"
        )
    if body_crc is not None and meta.get(BODY_CRC) == _crc_text(body_crc):
        tables.trust_read_records()
    return main_inode


def _read_lines(fh: Any, path: Path, tables: Tables, *, count: bool = True) -> int | None:
    """Read a main file of one record per line; returns the CRC-32 of what follows its
    meta table (see :data:`BODY_CRC`) if ``count``, else None."""
    lines = _Counted(fh)
    if next(lines, b"") != b"{\n":
        raise _NotOneRecordPerLine
    names = iter(TABLES)
    for name in names:
        lines.on = count and name != TABLES[0]
        if next(lines, b"") != b'"%s":{\n' % name.encode("ascii"):
            raise _NotOneRecordPerLine
        if name in tables.unread:
            # Not needed: the last table (see Tables), so the rest of the file is not
            # read at all, only its end checked: the table's last record (or its
            # opening, when empty), then the closing of the table and of the file.  No
            # record holds a newline, so a file cut anywhere else does not end so.
            assert name == TABLES[-1] and not count
            fh.seek(-5, os.SEEK_END)
            if fh.read() not in (b"}\n}\n}", b"{\n}\n}"):
                raise _NotOneRecordPerLine
            return None
        pattern = _OWNER_PREFIX.get(name)
        for line in lines:
            if line[:1] == b"}":
                if line != (b"}\n" if name == TABLES[-1] else b"},\n"):
                    raise _NotOneRecordPerLine
                break
            colon = line.find(b'":')
            end = len(line) - 1 if line[-1:] == b"\n" else len(line)
            if line[end - 1:end] == b",":
                end -= 1
            if line[:1] != b'"' or colon < 0 or line[end - 1:end] != b"}":
                raise _NotOneRecordPerLine
            value = line[colon + 2:end]  # one copy of the record's text
            key = line[1:colon].decode("ascii", "replace")
            found = pattern.match(value) if pattern is not None else None
            if found is not None:
                status: str | None | bool = False  # not in the prefix: unknown
                if found[3] is not None:
                    status = None if found[3] == b"null" else found[3][1:-1].decode("ascii")
                tables.load_raw(name, key, value, _json_string(found[1]),
                                _json_string(found[2]), status)
                continue
            try:
                record = srsly.json_loads(value)
            except ValueError:
                raise _NotOneRecordPerLine from None
            if not isinstance(record, dict):
                raise _NotOneRecordPerLine
            tables.load_record(name, key, record)
        else:
            raise _NotOneRecordPerLine  # cut short
    if next(lines, b"") != b"}" or next(lines, b"") != b"":
        raise _NotOneRecordPerLine
    return lines.crc if count else None


def _read_whole(raw: bytes, path: Path, tables: Tables) -> None:
    if not raw.strip():
        raise StoreCorruptError(
            f"{path}: the file is empty, not a gold store (left untouched); "
            "remove it or choose another --db path"
        )
    try:
        data = srsly.json_loads(raw)
    except ValueError as err:
        raise StoreCorruptError(
            f"{path}: not valid JSON ({err}); the file is truncated or damaged "
            "and was left untouched"
        ) from None
    del raw
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise StoreCorruptError(f"{path}: not a TinyDB file (left untouched)")
    for name in TABLES:
        table = data.pop(name, {})
        if name in tables.unread:
            continue
        for key in list(table):
            record = table.pop(key)  # each parsed record goes once it is taken
            if not isinstance(record, dict):
                raise tables.malformed(name, key)
            tables.load_record(name, key, record)


def write_main(path: Path, tables: Tables, lock: FileLock, overlay: Overlay | None = None
               ) -> int:
    """Replace the main file with ``tables`` (written record by record; ``overlay``'s
    records in place of theirs), the new file locked by ``lock`` before it has the
    name; returns its inode."""
    meta = tables.rows["meta"]
    meta["1"] = {**meta["1"], BODY_CRC: _CRC_PLACEHOLDER}
    sealed = _Sealed(tables.lines(overlay))

    def before_rename(fd: int) -> None:
        meta["1"] = {**meta["1"], BODY_CRC: sealed.seal(fd)}
        lock.hold_new(fd)

    try:
        write_atomically(path, sealed, store_file=True, before_rename=before_rename)
    except BaseException:
        lock.drop_new()
        raise
    lock.renamed()
    if lock.fd is not None:
        like_store(lock.fd, path)  # a new store's lock file, made before the main file
    return os.fstat(lock.main_fds[-1]).st_ino


class AtomicJSONStorage(Storage):
    """A TinyDB storage that never rewrites the file in place.

    ``TinyDB(path, storage=AtomicJSONStorage)`` reads and writes the same files
    as the stock ``JSONStorage``, but a write goes to a temporary file that is
    fsynced and renamed over the old one, so a crash leaves the old or the new
    file, never half of one.
    """

    def __init__(self, path: str | os.PathLike[str], **_: Any) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        data = srsly.read_json(self.path)
        return data if isinstance(data, dict) else None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        write_atomically(self.path, srsly.json_dumps(data).encode("utf-8"))

    def close(self) -> None:
        pass
