"""The gold store: a TinyDB file plus an append-only journal beside it.

The TinyDB file (``gold.json``) is the store of record: open it with plain
``TinyDB("gold.json")`` and every document, annotation, prediction and the label
scheme is there, in tables of those names.  Stock TinyDB rewrites the whole
file on every write, in place, so a write costs time in proportion to the
dataset and a crash mid-write destroys it.  ``GoldStore`` therefore:

* keeps the data in memory, in TinyDB's own layout;
* makes each edit durable by appending one checksummed line to
  ``gold.json.journal`` and fsyncing it before the call returns, a cost that
  depends on the size of the edited document, not on the number of documents;
* replays the journal when it opens, ignoring a torn last line (a write that
  never returned), and refusing a damaged line elsewhere;
* folds the journal into the TinyDB file at checkpoints (on close, and when the
  journal grows large) by writing a temporary file, fsyncing it and renaming it
  over the old one, so the TinyDB file is only ever replaced atomically;
* holds an exclusive ``flock`` on ``gold.json.lock`` while open for writing, so
  a second writer gets an error naming the holder instead of losing updates.

Each journal line is one transaction (a list of record puts and deletes, each
idempotent), so a batch such as an import is all or nothing.
"""

from __future__ import annotations

import fcntl
import gc
import glob
import json
import os
import socket
import sys
import threading
import zlib
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import srsly
from tinydb.storages import Storage

from .errors import (
    NotFoundError,
    ReadOnlyStoreError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
)
from .models import (
    SCHEMA_VERSION,
    Annotation,
    Document,
    LabelScheme,
    Prediction,
    Relation,
    Span,
    Status,
    check_layer,
    utc_now,
)

TABLES = ("meta", "labels", "documents", "annotations", "predictions")
DEFAULT_ANNOTATOR = "default"
JOURNAL_SUFFIX = ".journal"
LOCK_SUFFIX = ".lock"
READ_ATTEMPTS = 5  # read-only opens retried when a checkpoint races them

Record = dict[str, Any]
# A journal op on this "table" patches one annotation record (see GoldStore._patch_op).
PATCH_TABLE = "annotations.patch"
ANNOTATION_MODELS_KEPT = 8
Op = tuple[str, str, Record | None]  # (table, TinyDB doc id, record or None to delete)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temporary file, fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        # A full disk must not leave a half-written copy of the whole store behind.
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block.

    Opening a store of 10,000 documents, or importing that many, makes millions of
    dicts and lists, none of them in cycles; each collection the allocations trigger
    walks all of them again (about a third of the open time, and 45% of an import, at
    that size).  With no cycles, nothing piles up while the collector rests.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


def common_run(a: list[Any], b: list[Any], limit: int, *, from_end: bool) -> int:
    """How many items ``a`` and ``b`` share at their start (or end), up to ``limit``."""
    run, step = 0, 1
    while step:
        size = min(step, limit - run)
        if size <= 0:
            break
        if from_end:
            same = a[len(a) - run - size : len(a) - run] == b[len(b) - run - size : len(b) - run]
        else:
            same = a[run : run + size] == b[run : run + size]
        if same:
            run += size
            step *= 2
        else:
            step //= 2
    return run


# The fields of an Annotation record that a patch op sets or keeps.
_PATCHED_FIELDS = {"doc_id", "annotator", "spans", "relations", "status", "created", "updated"}


def _model_key(span: Span) -> tuple[int, int]:
    return span.key


def _span_key(span: Record) -> tuple[int, int]:
    return (span["start"], span["end"])


def _encode_line(ops: list[Op]) -> bytes:
    payload = srsly.json_dumps([[t, k, v] for t, k, v in ops]).encode("utf-8")
    return b"%08x\t%s\n" % (zlib.crc32(payload), payload)


def _decode_line(line: bytes) -> list[Op] | None:
    """The ops of one journal line, or None if the line is damaged."""
    if not line.endswith(b"\n") or len(line) < 10 or line[8:9] != b"\t":
        return None
    payload = line[9:-1]
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    if zlib.crc32(payload) != crc:
        return None
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    return [(t, k, v) for t, k, v in raw]


@dataclass
class AddResult:
    """What an import did: ids of documents added and already present."""

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


class GoldStore:
    """Documents, gold annotations, predictions and the label scheme, durably.

    Use as a context manager, or call :meth:`close`; every edit method has
    already made its change durable when it returns.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        checkpoint_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + JOURNAL_SUFFIX)
        self.lock_path = self.path.with_name(self.path.name + LOCK_SUFFIX)
        self.read_only = read_only
        self.checkpoint_bytes = checkpoint_bytes
        self._lock = threading.RLock()
        self._lock_fd: int | None = None
        self._journal_fd: int | None = None
        self._journal_size = 0
        self._closed = False
        self._main_inode: int | None = None
        self._reset()

        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._acquire_lock()
        try:
            self._load()
        except BaseException:
            self._release_lock()
            raise

    # -- opening and closing -------------------------------------------------

    def _reset(self) -> None:
        """Empty tables and indexes, ready to load."""
        self._tables: dict[str, dict[str, Record]] = {name: {} for name in TABLES}
        self._next_id: dict[str, int] = {name: 1 for name in TABLES}
        self._doc_keys: dict[str, str] = {}
        self._ann_keys: dict[tuple[str, str], str] = {}
        self._pred_keys: dict[tuple[str, str], str] = {}
        self._preds_by_doc: dict[str, dict[str, str]] = {}
        self._anns_by_doc: dict[str, dict[str, str]] = {}
        # The models of the last few annotations saved one at a time, by record key, each
        # equal to its record and with its spans sorted and apart: the base that the next
        # save of the same annotation is diffed against (see _patch_op).
        self._ann_models: dict[str, Annotation] = {}
        # Annotation records whose spans are known to be sorted by (start, end), each key
        # once: a patch finds its spans in them by bisection.
        self._sorted_records: set[str] = set()

    def _acquire_lock(self) -> None:
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise StoreError(
                f"{self.lock_path}: cannot create the lock file ({err.strerror}); "
                "open the store read-only, or check the folder's permissions"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            finally:
                os.close(fd)
            raise StoreLockedError(
                f"{self.path} is open for writing by another process "
                f"({holder or 'holder unknown'}); close it there, or open this one read-only"
            ) from None
        holder = (
            f"pid {os.getpid()} on {socket.gethostname()}, "
            f"command {' '.join(sys.argv)[:200]!r}, since {utc_now()}"
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode("utf-8"), 0)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _load(self) -> None:
        with gc_paused():
            for _attempt in range(READ_ATTEMPTS):
                if self.path.exists():
                    self._read_main()
                elif self.read_only:
                    raise StoreError(f"{self.path}: no such gold store")
                if self.journal_path.exists():
                    self._replay_journal()
                settled = self._main_inode == _inode(self.path)
                if not self.read_only or settled or _attempt == READ_ATTEMPTS - 1:
                    break
                # A writer checkpointed between our reading the main file and the
                # journal (new main file, emptied journal): the two may not match.
                self._reset()
        if not self.read_only:
            # Temporary files of checkpoints a crash interrupted; we hold the lock,
            # so no other writer is writing one now.
            for stale in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp"):
                stale.unlink(missing_ok=True)
            if not self.path.exists():
                self._tables["meta"]["1"] = {"schema_version": SCHEMA_VERSION, "created": utc_now()}
                self._tables["labels"]["1"] = LabelScheme().model_dump()
                self._next_id["meta"] = self._next_id["labels"] = 2
                self._write_main()
            new_journal = not self.journal_path.exists()
            self._journal_fd = os.open(
                self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
            )
            if new_journal:
                # Edits fsync the journal's data; the folder entry needs its own fsync
                # to survive a power cut.
                _fsync_dir(self.path.parent)

    def _read_main(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                self._main_inode = os.fstat(fh.fileno()).st_ino
                raw = fh.read()
        except OSError as err:
            raise StoreError(f"{self.path}: cannot read: {err.strerror}") from None
        if not raw.strip():
            raise StoreCorruptError(
                f"{self.path}: the file is empty, not a gold store (left untouched); "
                "remove it or choose another --db path"
            )
        try:
            data = srsly.json_loads(raw)
        except ValueError as err:
            raise StoreCorruptError(
                f"{self.path}: not valid JSON ({err}); the file is truncated or damaged "
                "and was left untouched"
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise StoreCorruptError(f"{self.path}: not a TinyDB file (left untouched)")
        meta = data.get("meta", {}).get("1")
        if not isinstance(meta, dict) or not isinstance(meta.get("schema_version"), int):
            raise StoreCorruptError(
                f"{self.path}: a TinyDB file but not a gold store (no schema version); "
                "left untouched"
            )
        if meta["schema_version"] > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer version (schema {meta['schema_version']}, "
                f"this one reads up to {SCHEMA_VERSION}); upgrade the reader"
            )
        for name in TABLES:
            table = data.get(name, {})
            self._tables[name] = table
            for key, record in table.items():
                try:
                    self._index(name, key, record)
                except (KeyError, TypeError, ValueError):
                    raise StoreCorruptError(
                        f"{self.path}: table {name!r}, record {key!r} is malformed (missing "
                        "fields or a non-numeric key); left untouched"
                    ) from None

    def _replay_journal(self) -> None:
        with open(self.journal_path, "rb") as fh:
            lines = fh.readlines()
        good_bytes = 0
        for number, line in enumerate(lines, start=1):
            ops = _decode_line(line)
            if ops is None:
                if number == len(lines):
                    # A torn last line is a write that never returned: drop it.
                    break
                raise StoreCorruptError(
                    f"{self.journal_path}, line {number}: damaged journal entry (bad checksum "
                    "or JSON) before the end; nothing was changed. Move the journal aside to "
                    f"open {self.path} as of its last checkpoint"
                )
            for table, key, record in ops:
                self._apply(table, key, record)
            good_bytes += len(line)
        self._journal_size = good_bytes
        if not self.read_only and good_bytes < sum(len(line) for line in lines):
            with open(self.journal_path, "r+b") as fh:
                fh.truncate(good_bytes)
                os.fsync(fh.fileno())

    def close(self) -> None:
        """Checkpoint (fold the journal into the TinyDB file) and release the lock."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if not self.read_only and self._journal_size:
                    self._checkpoint_locked()
            finally:
                if self._journal_fd is not None:
                    os.close(self._journal_fd)
                    self._journal_fd = None
                self._release_lock()

    def __enter__(self) -> GoldStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def checkpoint(self) -> None:
        """Fold the journal into the TinyDB file (replaced atomically) and empty the journal."""
        with self._lock:
            self._writable()
            self._checkpoint_locked()

    def _checkpoint_locked(self) -> None:
        try:
            self._write_main()
        except OSError as err:
            raise StoreError(
                f"{self.path}: could not fold the journal into the file ({err.strerror}); "
                f"every edit is safe in {self.journal_path.name} and is replayed at the "
                "next open"
            ) from err
        # Crash here: the journal is replayed over a file that already holds it,
        # which is harmless because every op is an idempotent put or delete.
        assert self._journal_fd is not None
        os.ftruncate(self._journal_fd, 0)
        os.fsync(self._journal_fd)
        self._journal_size = 0

    def _write_main(self) -> None:
        write_atomically(self.path, srsly.json_dumps(self._tables).encode("utf-8"))

    # -- the write path ------------------------------------------------------

    def _writable(self) -> None:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        if self.read_only:
            raise ReadOnlyStoreError(f"{self.path} is open read-only")

    def _commit(self, ops: list[Op]) -> None:
        """Make ``ops`` durable as one transaction, then apply them in memory."""
        if not ops:
            return
        self._writable()
        line = _encode_line(ops)
        assert self._journal_fd is not None
        view = memoryview(line)
        try:
            while view:
                view = view[os.write(self._journal_fd, view) :]
            os.fsync(self._journal_fd)
        except OSError as err:
            # A partial line left behind would make every later line unreadable
            # (a damaged line before the end); cut it off so the journal stays whole.
            os.ftruncate(self._journal_fd, self._journal_size)
            raise StoreError(
                f"{self.journal_path}: could not save the edit ({err.strerror}); "
                "nothing of it was kept, earlier edits are safe"
            ) from err
        self._journal_size += len(line)
        for table, key, record in ops:
            self._apply(table, key, record)
        if self._journal_size > self.checkpoint_bytes:
            try:
                self._checkpoint_locked()
            except StoreError:
                # The edit is already durable in the journal, so the call succeeded;
                # the checkpoint is tried again after the next edit and on close.
                pass

    def _apply(self, table: str, key: str, record: Record | None) -> None:
        if table == PATCH_TABLE:
            if record is not None:
                self._apply_patch(key, record)
            return
        if table == "annotations":
            self._ann_models.pop(key, None)
            self._sorted_records.discard(key)
        rows = self._tables[table]
        old = rows.get(key)
        if old is not None:
            self._unindex(table, key, old)
        if record is None:
            rows.pop(key, None)
        else:
            rows[key] = record
            self._index(table, key, record)

    def _index(self, table: str, key: str, record: Record) -> None:
        number = int(key)
        if number >= self._next_id[table]:
            self._next_id[table] = number + 1
        if table == "documents":
            self._doc_keys[record["id"]] = key
        elif table == "annotations":
            self._ann_keys[(record["doc_id"], record["annotator"])] = key
            self._anns_by_doc.setdefault(record["doc_id"], {})[record["annotator"]] = key
        elif table == "predictions":
            self._pred_keys[(record["doc_id"], record["extractor"])] = key
            self._preds_by_doc.setdefault(record["doc_id"], {})[record["extractor"]] = key

    def _unindex(self, table: str, key: str, record: Record) -> None:
        if table == "documents":
            self._doc_keys.pop(record["id"], None)
        elif table == "annotations":
            self._ann_keys.pop((record["doc_id"], record["annotator"]), None)
            self._anns_by_doc.get(record["doc_id"], {}).pop(record["annotator"], None)
        elif table == "predictions":
            self._pred_keys.pop((record["doc_id"], record["extractor"]), None)
            self._preds_by_doc.get(record["doc_id"], {}).pop(record["extractor"], None)

    def _new_key(self, table: str, reserved: dict[str, int]) -> str:
        number = max(self._next_id[table], reserved.get(table, 0))
        reserved[table] = number + 1
        return str(number)

    # -- documents -----------------------------------------------------------

    def add_documents(self, documents: Iterable[Document]) -> AddResult:
        """Add documents not yet present (by text hash), all in one transaction."""
        with self._lock:
            result = AddResult()
            ops: list[Op] = []
            reserved: dict[str, int] = {}
            seen: set[str] = set()
            for doc in documents:
                if doc.id in self._doc_keys or doc.id in seen:
                    result.present.append(doc.id)
                    continue
                seen.add(doc.id)
                ops.append(("documents", self._new_key("documents", reserved), doc.model_dump()))
                result.added.append(doc.id)
            self._commit(ops)
            return result

    def has_document(self, doc_id: str) -> bool:
        return doc_id in self._doc_keys

    def document(self, doc_id: str) -> Document:
        with self._lock:
            key = self._doc_keys.get(doc_id)
            if key is None:
                raise NotFoundError(f"{self.path}: no document {doc_id!r}")
            return Document.model_validate(self._tables["documents"][key])

    def document_ids(self) -> list[str]:
        """Document ids in the order they were imported."""
        with self._lock:
            return [self._tables["documents"][k]["id"] for k in self._sorted_keys("documents")]

    def documents(self) -> Iterator[Document]:
        for doc_id in self.document_ids():
            yield self.document(doc_id)

    def text(self, doc_id: str) -> str:
        key = self._doc_keys.get(doc_id)
        if key is None:
            raise NotFoundError(f"{self.path}: no document {doc_id!r}")
        return str(self._tables["documents"][key]["text"])

    def find_document(self, text: str) -> str | None:
        """The id of the stored document with exactly this (normalised) text."""
        doc = Document.from_text(text)
        return doc.id if doc.id in self._doc_keys else None

    def _sorted_keys(self, table: str) -> list[str]:
        return sorted(self._tables[table], key=int)

    def __len__(self) -> int:
        return len(self._doc_keys)

    # -- label scheme --------------------------------------------------------

    @property
    def labels(self) -> LabelScheme:
        with self._lock:
            record = self._tables["labels"].get("1") or {}
            return LabelScheme.model_validate(record)

    def set_labels(self, scheme: LabelScheme) -> None:
        with self._lock:
            self._commit([("labels", "1", scheme.model_dump())])

    def add_entity_labels(self, names: Iterable[str]) -> LabelScheme:
        with self._lock:
            current = self.labels
            updated = current.with_entities(names)
            if updated != current:
                self.set_labels(updated)
            return updated

    def add_relation_labels(self, names: Iterable[str]) -> LabelScheme:
        with self._lock:
            current = self.labels
            updated = current.with_relations(names)
            if updated != current:
                self.set_labels(updated)
            return updated

    def _label_ops(
        self, layers: Iterable[Annotation | Prediction], add_labels: bool,
        scheme: LabelScheme | None = None,
    ) -> list[Op]:
        """Check labels against the scheme (``scheme``, stored by these ops, when given);
        with ``add_labels``, ops that extend it."""
        current = self.labels
        if scheme is None:
            scheme = current
        entity_names = {s.label for layer in layers for s in layer.spans}
        relation_names = {r.label for layer in layers for r in layer.relations}
        if add_labels:
            updated = scheme.with_entities(sorted(entity_names)).with_relations(
                sorted(relation_names)
            )
            return [] if updated == current else [("labels", "1", updated.model_dump())]
        ops: list[Op] = [] if scheme == current else [("labels", "1", scheme.model_dump())]
        missing = sorted(entity_names - set(scheme.entity_names))
        if missing:
            raise ValueError(
                f"unknown entity label(s) {', '.join(missing)} (add them to the label "
                "scheme first, or ask for them to be added)"
            )
        missing = sorted(relation_names - set(scheme.relation_names))
        if missing:
            raise ValueError(f"unknown relation label(s) {', '.join(missing)}")
        return ops

    # -- annotations ---------------------------------------------------------

    def annotation(self, doc_id: str, annotator: str = DEFAULT_ANNOTATOR) -> Annotation | None:
        with self._lock:
            key = self._ann_keys.get((doc_id, annotator))
            if key is None:
                return None
            return Annotation.model_validate(self._tables["annotations"][key])

    def annotation_records(
        self, *, annotator: str | None = None, status: Status | None = None
    ) -> Iterator[Record]:
        """Annotation records as plain dicts, in document order, optionally of one
        annotator or status, without building models: for bulk readers such as
        evaluation, where 10,000 pydantic models cost seconds.  Each record was
        validated when it was written; do not mutate them."""
        with self._lock:
            records = [
                self._tables["annotations"][key]
                for doc_id in self.document_ids()
                for key in self._anns_by_doc.get(doc_id, {}).values()
            ]
        for record in records:
            if annotator is not None and record["annotator"] != annotator:
                continue
            if status is not None and record.get("status") != status:
                continue
            yield record

    def annotations(
        self, *, annotator: str | None = None, status: Status | None = None
    ) -> Iterator[Annotation]:
        """Annotations in document order, optionally of one annotator or status."""
        for record in self.annotation_records(annotator=annotator, status=status):
            yield Annotation.model_validate(record)

    def gold_records(self, annotator: str | None = None) -> Iterator[Record]:
        """Accepted annotation records as plain dicts (see :meth:`annotation_records`)."""
        return self.annotation_records(annotator=annotator, status="accept")

    def gold(self, annotator: str | None = None) -> Iterator[Annotation]:
        """Accepted annotations: the gold set."""
        return self.annotations(annotator=annotator, status="accept")

    def annotators(self) -> list[str]:
        return sorted({annotator for _, annotator in self._ann_keys})

    def save_annotation(self, annotation: Annotation, *, add_labels: bool = False) -> Annotation:
        """Validate ``annotation`` against its document and the scheme, and store it durably.

        A save of an annotation this store saved last time is journalled as a patch of the
        spans that changed (found by comparing the two span lists from both ends), so an
        edit of one entity in a long article costs about the same as in a short one.
        """
        with self._lock:
            key = self._ann_keys.get((annotation.doc_id, annotation.annotator))
            if key is not None and not add_labels:
                base = self._ann_models.get(key)
                if base is not None:
                    patched = self._patch_op(key, base, annotation)
                    if patched is not None:
                        op, saved = patched
                        self._commit([op])
                        self._remember(key, saved)
                        return saved
            saved = self.save_annotations([annotation], add_labels=add_labels)[0]
            key = self._ann_keys[(saved.doc_id, saved.annotator)]
            spans = saved.spans
            if all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False)):
                self._sorted_records.add(key)
                self._remember(key, saved)
            return saved

    def _remember(self, key: str, saved: Annotation) -> None:
        # Copies of the lists (not of the frozen Spans and Relations in them), so a caller
        # that edits the returned model's lists in place cannot change the base as well.
        self._ann_models.pop(key, None)
        self._ann_models[key] = saved.model_copy(
            update={"spans": list(saved.spans), "relations": list(saved.relations)}
        )
        while len(self._ann_models) > ANNOTATION_MODELS_KEPT:
            del self._ann_models[next(iter(self._ann_models))]

    def _patch_op(
        self, key: str, base: Annotation, new: Annotation
    ) -> tuple[Op, Annotation] | None:
        """A patch op turning the record of ``base`` into that of ``new``, and the saved
        model; None when a whole-record save is needed instead.

        Checks what a whole save checks, but only where the spans changed: the changed
        spans against the text, the scheme and their two neighbours (``base`` is sorted
        and free of overlaps), and every relation against the new spans by bisection.
        """
        if set(Annotation.model_fields) != _PATCHED_FIELDS:
            return None  # a field this patch does not carry: save the whole record
        if (new.doc_id, new.annotator) != (base.doc_id, base.annotator):
            return None
        old, spans = base.spans, new.spans
        # The common prefix and suffix, by galloping slice comparisons: list equality
        # is a C loop that short-cuts on identity, and edits reuse the unchanged Spans.
        limit = min(len(old), len(spans))
        prefix = common_run(old, spans, limit, from_end=False)
        suffix = common_run(old, spans, limit - prefix, from_end=True)
        removed = old[prefix : len(old) - suffix]
        added = spans[prefix : len(spans) - suffix]
        text = self.text(new.doc_id)
        window = ([spans[prefix - 1]] if prefix else []) + list(added)
        if suffix:
            window.append(spans[len(spans) - suffix])
        for a, b in zip(window, window[1:], strict=False):
            if b.start < a.end:
                return None  # unsorted or overlapping: the whole save says why
        if added and added[-1].end > len(text):
            return None
        names = set(self.labels.entity_names)
        if any(s.label not in names for s in added):
            return None
        relations_changed = new.relations != base.relations
        if relations_changed or removed:
            if relations_changed:
                relation_names = set(self.labels.relation_names)
                if any(r.label not in relation_names for r in new.relations):
                    return None
            seen: set[tuple[tuple[int, int], tuple[int, int], str]] = set()
            for rel in new.relations:
                for ref in (rel.head, rel.child):
                    index = bisect_left(spans, tuple(ref), key=_model_key)
                    if index == len(spans) or spans[index].key != tuple(ref):
                        return None
                if rel.head == rel.child or rel.key in seen:
                    return None
                seen.add(rel.key)
        saved = new.model_copy(update={"updated": utc_now(), "created": base.created})
        patch: Record = {
            "remove": [list(s.key) for s in removed],
            "spans": [s.model_dump(mode="json") for s in added],
            "status": saved.status,
            "updated": saved.updated,
        }
        if relations_changed:
            patch["relations"] = [r.model_dump(mode="json") for r in saved.relations]
        return (PATCH_TABLE, key, patch), saved

    def _apply_patch(self, key: str, patch: Record) -> None:
        """Apply a patch op to one annotation record, as a new record (readers may hold
        the old one).

        Idempotent and order-safe on replay: it removes the spans at the ``remove`` keys
        and at the keys of the patch's spans, then puts those spans, so replaying it over
        a record that already has it (a crash mid-checkpoint) ends with the same record.
        """
        rows = self._tables["annotations"]
        record = rows.get(key)
        if record is None:
            return  # deleted by a later op that the replay also holds
        new_spans: list[Record] = patch["spans"]
        gone = {tuple(k) for k in patch["remove"]}
        gone.update(_span_key(s) for s in new_spans)
        if key in self._sorted_records:
            # Sorted by (start, end) with no key twice: find each key by bisection.
            spans = list(record["spans"])  # a copy: readers may hold the old list
            for span_key in gone:
                index = bisect_left(spans, span_key, key=_span_key)
                if index < len(spans) and _span_key(spans[index]) == span_key:
                    del spans[index]
            for span in new_spans:
                insort(spans, span, key=_span_key)
        else:
            # A record from a whole save, which may be in any order: once, the long way.
            spans = [s for s in record["spans"] if _span_key(s) not in gone] + new_spans
            spans.sort(key=_span_key)
            self._sorted_records.add(key)
        updated = dict(record, spans=spans, status=patch["status"], updated=patch["updated"])
        if "relations" in patch:
            updated["relations"] = patch["relations"]
        rows[key] = updated
        self._ann_models.pop(key, None)

    def save_annotations(
        self, annotations: Iterable[Annotation], *, add_labels: bool = False,
        documents: Iterable[Document] = (), labels: LabelScheme | None = None,
        predictions: Iterable[Prediction] = (),
    ) -> list[Annotation]:
        """Store several annotations in one transaction (all or nothing).

        ``documents`` not yet in the store are added in the same transaction, so an
        import of annotated documents is all or nothing too; so are ``labels`` (a label
        scheme that replaces the stored one, and that the annotations and predictions
        are checked against) and ``predictions`` (each replacing the same extractor's
        on the same document), as ``reader merge`` needs.
        """
        with self._lock:
            saved: list[Annotation] = []
            ops: list[Op] = []
            reserved: dict[str, int] = {}
            pending: dict[tuple[str, str], str] = {}
            new_texts: dict[str, str] = {}
            for doc in documents:
                if doc.id in self._doc_keys or doc.id in new_texts:
                    continue
                new_texts[doc.id] = doc.text
                ops.append(("documents", self._new_key("documents", reserved), doc.model_dump()))
            for ann in annotations:
                text = new_texts.get(ann.doc_id)
                if text is None:
                    text = self.text(ann.doc_id)
                check_layer(text, ann.spans, ann.relations)
                ann = ann.model_copy(update={"updated": utc_now()})
                ident = (ann.doc_id, ann.annotator)
                key = self._ann_keys.get(ident) or pending.get(ident)
                if key is None:
                    key = pending[ident] = self._new_key("annotations", reserved)
                else:
                    old = self._tables["annotations"].get(key)
                    if old is not None:
                        ann = ann.model_copy(update={"created": old["created"]})
                ops.append(("annotations", key, ann.model_dump(mode="json")))
                saved.append(ann)
            preds = list(predictions)
            ops += self._prediction_ops(preds, reserved, new_texts)
            ops[:0] = self._label_ops([*saved, *preds], add_labels, labels)
            self._commit(ops)
            return saved

    def delete_annotation(self, doc_id: str, annotator: str = DEFAULT_ANNOTATOR) -> None:
        with self._lock:
            key = self._ann_keys.get((doc_id, annotator))
            if key is not None:
                self._commit([("annotations", key, None)])

    def _editable(self, doc_id: str, annotator: str) -> Annotation:
        self.text(doc_id)  # raises if the document is unknown
        return self.annotation(doc_id, annotator) or Annotation(doc_id=doc_id, annotator=annotator)

    def add_span(
        self, doc_id: str, span: Span, annotator: str = DEFAULT_ANNOTATOR, *,
        replace_overlapping: bool = True,
    ) -> Annotation:
        """Add ``span``; overlapping spans (and their relations) are replaced."""
        with self._lock:
            ann = self._editable(doc_id, annotator)
            spans = list(ann.spans)
            overlapping = [s for s in spans if s.start < span.end and span.start < s.end]
            if overlapping and not replace_overlapping:
                raise ValueError(f"span {span.start}-{span.end} overlaps an existing span")
            gone = {s.key for s in overlapping}
            spans = [s for s in spans if s.key not in gone] + [span]
            relations = [r for r in ann.relations if r.head not in gone and r.child not in gone]
            return self.save_annotation(
                ann.model_copy(update={"spans": sorted(spans, key=lambda s: s.key),
                                       "relations": relations})
            )

    def remove_span(
        self, doc_id: str, start: int, end: int, annotator: str = DEFAULT_ANNOTATOR
    ) -> Annotation:
        """Remove the span at exactly ``start``-``end`` and every relation that uses it."""
        with self._lock:
            ann = self._editable(doc_id, annotator)
            key = (start, end)
            if all(s.key != key for s in ann.spans):
                raise NotFoundError(f"document {doc_id}: no span at {start}-{end}")
            return self.save_annotation(
                ann.model_copy(update={
                    "spans": [s for s in ann.spans if s.key != key],
                    "relations": [r for r in ann.relations if key not in (r.head, r.child)],
                })
            )

    def relabel_span(
        self, doc_id: str, start: int, end: int, label: str, annotator: str = DEFAULT_ANNOTATOR
    ) -> Annotation:
        with self._lock:
            ann = self._editable(doc_id, annotator)
            spans = []
            found = False
            for s in ann.spans:
                if s.key == (start, end):
                    found = True
                    state = "confirmed" if s.source == "human" else "changed"
                    s = s.model_copy(update={"label": label, "state": state})
                spans.append(s)
            if not found:
                raise NotFoundError(f"document {doc_id}: no span at {start}-{end}")
            return self.save_annotation(ann.model_copy(update={"spans": spans}))

    def add_relation(
        self, doc_id: str, relation: Relation, annotator: str = DEFAULT_ANNOTATOR
    ) -> Annotation:
        with self._lock:
            ann = self._editable(doc_id, annotator)
            if relation.key in {r.key for r in ann.relations}:
                return ann
            return self.save_annotation(
                ann.model_copy(update={"relations": [*ann.relations, relation]})
            )

    def remove_relation(
        self, doc_id: str, relation: Relation, annotator: str = DEFAULT_ANNOTATOR
    ) -> Annotation:
        with self._lock:
            ann = self._editable(doc_id, annotator)
            kept = [r for r in ann.relations if r.key != relation.key]
            if len(kept) == len(ann.relations):
                raise NotFoundError(f"document {doc_id}: no such relation")
            return self.save_annotation(ann.model_copy(update={"relations": kept}))

    def set_status(
        self, doc_id: str, status: Status | None, annotator: str = DEFAULT_ANNOTATOR
    ) -> Annotation:
        with self._lock:
            ann = self._editable(doc_id, annotator)
            return self.save_annotation(ann.model_copy(update={"status": status}))

    # -- predictions ---------------------------------------------------------

    def put_predictions(
        self, predictions: Iterable[Prediction], *, add_labels: bool = True
    ) -> int:
        """Store predictions (replacing the same extractor's on the same document) at once."""
        with self._lock:
            preds = list(predictions)
            ops: list[Op] = self._label_ops(preds, add_labels)
            ops += self._prediction_ops(preds, {}, {})
            self._commit(ops)
            return len(preds)

    def _prediction_ops(
        self, preds: list[Prediction], reserved: dict[str, int], new_texts: dict[str, str]
    ) -> list[Op]:
        """Ops that store ``preds`` (checked against their texts; ``new_texts`` are those
        of documents added in the same transaction)."""
        ops: list[Op] = []
        pending: dict[tuple[str, str], str] = {}
        for pred in preds:
            text = new_texts.get(pred.doc_id)
            check_layer(text if text is not None else self.text(pred.doc_id), pred.spans,
                        pred.relations)
            ident = (pred.doc_id, pred.extractor)
            key = self._pred_keys.get(ident) or pending.get(ident)
            if key is None:
                key = pending[ident] = self._new_key("predictions", reserved)
            ops.append(("predictions", key, pred.model_dump(mode="json")))
        return ops

    def prediction(self, doc_id: str, extractor: str) -> Prediction | None:
        with self._lock:
            key = self._pred_keys.get((doc_id, extractor))
            if key is None:
                return None
            return Prediction.model_validate(self._tables["predictions"][key])

    def prediction_record(self, doc_id: str, extractor: str) -> Record | None:
        """One prediction as a plain dict (see :meth:`gold_records`); do not mutate it."""
        with self._lock:
            key = self._pred_keys.get((doc_id, extractor))
            return None if key is None else self._tables["predictions"][key]

    def predictions(self, doc_id: str) -> dict[str, Prediction]:
        """Every extractor's prediction on one document, by extractor id."""
        with self._lock:
            keys = dict(self._preds_by_doc.get(doc_id, {}))
            return {
                name: Prediction.model_validate(self._tables["predictions"][key])
                for name, key in sorted(keys.items())
            }

    def has_prediction(self, doc_id: str, extractor: str) -> bool:
        return (doc_id, extractor) in self._pred_keys

    def extractors(self) -> list[str]:
        return sorted({extractor for _, extractor in self._pred_keys})

    def delete_predictions(self, extractor: str) -> int:
        with self._lock:
            keys = [k for (_, name), k in self._pred_keys.items() if name == extractor]
            self._commit([("predictions", k, None) for k in keys])
            return len(keys)

    # -- summary -------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for ``reader stats``: documents, annotations by status, predictions."""
        with self._lock:
            by_status: dict[str, int] = {"accept": 0, "reject": 0, "ignore": 0, "open": 0}
            entity_counts: dict[str, int] = {}
            relation_counts: dict[str, int] = {}
            for record in self._tables["annotations"].values():
                by_status[record.get("status") or "open"] += 1
                for span in record["spans"]:
                    entity_counts[span["label"]] = entity_counts.get(span["label"], 0) + 1
                for rel in record["relations"]:
                    relation_counts[rel["label"]] = relation_counts.get(rel["label"], 0) + 1
            by_extractor: dict[str, dict[str, int]] = {}
            for record in self._tables["predictions"].values():
                entry = by_extractor.setdefault(record["extractor"], {"documents": 0, "spans": 0})
                entry["documents"] += 1
                entry["spans"] += len(record["spans"])
            scheme = self.labels
            return {
                "path": str(self.path),
                "documents": len(self._doc_keys),
                "annotations": by_status,
                "annotators": self.annotators(),
                "predictions": dict(sorted(by_extractor.items())),
                "entity_labels": scheme.entity_names,
                "relation_labels": scheme.relation_names,
                "gold_entities_by_label": dict(sorted(entity_counts.items())),
                "gold_relations_by_label": dict(sorted(relation_counts.items())),
            }
