"""The gold store: a TinyDB file plus an append-only journal beside it.

The TinyDB file (``gold.json``) is the store of record: open it with plain
``TinyDB("gold.json")`` and every document, annotation, prediction and the label
scheme is there, in tables of those names.  Stock TinyDB rewrites the whole
file on every write, in place, so a write costs time in proportion to the
dataset and a crash mid-write destroys it.  ``GoldStore`` therefore:

* keeps the data in memory in TinyDB's own layout, compactly: annotations and
  predictions as their JSON text, parsed when touched (``storage.tables``); the main
  file holds one record per line, so an open reads it without parsing them;
* makes each edit durable by appending one checksummed line to
  ``gold.json.journal`` and fsyncing it before the call returns, a cost that
  depends on the size of the edited document, not on the number of documents
  (``storage.files``; an edit of a stored annotation is a patch of the spans that
  changed, ``storage.patch``);
* replays the journal when it opens, if it is this store's (its header names the
  store and checkpoint generation), ignoring a torn last line (no newline: a write
  that never returned) and refusing any complete line that fails its checksum;
* folds the journal into the TinyDB file at checkpoints (on close, and when the
  journal grows large) by writing a temporary file, fsyncing it and renaming it
  over the old one, so the TinyDB file is only ever replaced atomically;
* holds an exclusive ``flock`` on ``gold.json.lock`` and on the main file itself
  (whatever name reaches it) while open for writing, so a second writer gets an
  error naming the holder instead of losing updates;
* checks every record on its way in as a read will (``_commit``; an import's records
  as it reads them, ``prepare_record``), so no edit saves what a later read refuses;
* writes a transaction larger than ``bulk_bytes`` (an import) as a checkpoint with
  its records in place, instead of as one journal line.

Each journal line is one transaction (a list of record puts and deletes, each
idempotent), so a batch such as an import is all or nothing.  This module is the
public API; it persists what it is given and holds no editing rule.
"""

from __future__ import annotations

import functools
import glob
import os
import stat
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from . import output
from .errors import (
    NotFoundError,
    ReadOnlyStoreError,
    RecordRefusedError,
    StoreCorruptError,
    StoreError,
    StoreIdentityError,
)
from .gc_pause import gc_paused
from .gold import iter_gold_records
from .layer import check_bounds
from .models import (
    LENIENT,
    SCHEMA_VERSION,
    Annotation,
    Document,
    LabelScheme,
    Prediction,
    Status,
    check_layer,
    utc_now,
)
from .names import check_name
from .output import store_files
from .storage.files import (
    FileLock,
    Identity,
    Journal,
    check_record,
    describe,
    encode_ops,
    inode,
    read_main,
    write_main,
)
from .storage.patch import PATCH_TABLE, Patcher
from .storage.shape import document_record_ok, layer_bounds, layer_record_ok
from .storage.tables import OWNER, Op, Overlay, Record, Tables, encode_record

__all__ = ["DEFAULT_ANNOTATOR", "AddResult", "GoldStore", "PreparedLayer"]

M = TypeVar("M", bound=BaseModel)
# An import names one annotator or extractor for thousands of layers.
_check_owner = functools.lru_cache(maxsize=256)(check_name)
DEFAULT_ANNOTATOR = "default"
READ_ATTEMPTS = 5  # read-only opens retried when a checkpoint races them


@dataclass
class AddResult:
    """What an import did: ids of documents added and already present."""

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PreparedLayer:
    """An annotation or prediction checked and encoded by :meth:`GoldStore.prepare_record`
    for :meth:`GoldStore.save_prepared`: its record's JSON text, as the file will hold it,
    and what names it.  A bulk write (an import) holds these, about the bytes the records
    take in the file, instead of every layer's model at once."""

    table: str
    doc_id: str
    owner: str
    status: str | None
    text: bytes
    seal: object = field(default=None, repr=False, compare=False)
    """Set by :meth:`GoldStore.prepare_record` alone: a layer made any other way (never
    checked) is refused by :meth:`GoldStore.save_prepared`."""


_SEAL = object()
_label = itemgetter("label")


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
        predictions: bool = True,
        checkpoint_bytes: int = 64 * 1024 * 1024,
        bulk_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        """``predictions=False`` (read-only stores only): do not read the predictions, for
        a reader that needs none (an export of annotations: see
        :func:`annotations.formats.transfer.needs_predictions`).  They are half of a
        typical store, so the open takes half the time and memory; anything that reads
        them from such a store raises (a bug, see ``storage.tables.NotRead``)."""
        if not predictions and not read_only:
            raise ValueError("only a read-only store may be opened without its predictions")
        # The real path: a store reached through a symlink has one lock, journal and
        # checkpoint, beside the file the link points to.
        self.path, self.journal_path, self.lock_path = store_files(
            Path(os.path.realpath(path)))
        self.read_only = read_only
        self._with_predictions = predictions
        self.checkpoint_bytes = checkpoint_bytes
        # A transaction larger than this (an import) is written as a checkpoint (the
        # main file replaced with it in) rather than as one journal line: it is written
        # once, not twice, and no open ever has to replay (parse whole) a line that big.
        self.bulk_bytes = bulk_bytes
        self._lock = threading.RLock()
        self._file_lock = FileLock(self.lock_path, self.path)
        self._journal = Journal(self.journal_path, self.path)
        self._closed = False
        self._main_inode: int | None = None
        self._created = True  # False while a new store exists only in memory
        self._reset()

        self._check_path()
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(
                    f"{self.path.parent}: cannot create the folder ({err.strerror})"
                ) from None
            self._file_lock.acquire()
        try:
            self._load()
        except OSError as err:
            self._abandon()
            raise StoreError(
                f"{err.filename or self.path}: cannot open the gold store "
                f"{'' if read_only else 'for writing '}({err.strerror}); nothing was changed"
            ) from None
        except BaseException:
            self._abandon()
            raise
        output.protect(store_files(self.path))

    def _check_path(self) -> None:
        """Refuse, before touching anything, a path that cannot be a store."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return
        except OSError as err:
            raise StoreError(f"{self.path}: cannot open ({err.strerror})") from None
        kind = output.file_kind(info.st_mode)
        if kind:
            raise StoreError(f"{self.path}: is {kind}, not a gold store (a TinyDB JSON file)")
        if not self.read_only and not info.st_mode & 0o222:
            raise StoreError(
                f"{self.path}: the file is read-only (mode {stat.S_IMODE(info.st_mode):04o}); "
                "open it read-only (e.g. reader stats, export, evaluate), or make it "
                "writable (chmod u+w) to edit it"
            )

    def _abandon(self) -> None:
        """Undo what a failed open did: close the journal, drop the lock and its file."""
        self._journal.close()
        self._file_lock.release(remove=True)

    # -- opening and closing -------------------------------------------------

    def _reset(self) -> None:
        """Empty tables and indexes, ready to load."""
        self._tables = Tables(self.path, predictions=self._with_predictions)
        self._patcher = Patcher()
        self._labels: tuple[Record | None, LabelScheme] | None = None

    def _load(self) -> None:
        with gc_paused():
            for attempt in range(READ_ATTEMPTS):
                last = attempt == READ_ATTEMPTS - 1
                try:
                    if self.path.exists():
                        self._main_inode = read_main(self.path, self._tables,
                                                     writer=not self.read_only)
                    elif self.read_only:
                        raise StoreError(f"{self.path}: no such gold store")
                    if self.journal_path.exists():
                        self._replay_journal()
                except StoreIdentityError:
                    # A reader racing a checkpoint sees the new journal beside the old
                    # main file: read both again before calling the journal foreign.
                    if not self.read_only or last or self._main_inode == inode(self.path):
                        raise
                    self._reset()
                    continue
                settled = self._main_inode == inode(self.path)
                if not self.read_only or settled or last:
                    break
                # A writer checkpointed between our reading the main file and the
                # journal (new main file, emptied journal): the two may not match.
                self._reset()
        if not self.read_only:
            # Temporary files of checkpoints a crash interrupted; we hold the lock,
            # so no other writer is writing one now.
            for stale in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp"):
                stale.unlink(missing_ok=True)
            if self.path.exists():
                self._journal.open_for_append(self._identity())
            else:
                # A new store lives in memory until its first edit, so a command that
                # fails (or stores nothing) leaves no file behind.
                self._start_new({
                    "schema_version": SCHEMA_VERSION, "created": utc_now(),
                    "store_id": uuid.uuid4().hex, "generation": 0,
                })

    def _start_new(self, meta: Record) -> None:
        """The tables of a new store, not on disk yet: its meta and an empty scheme."""
        rows = self._tables.rows
        rows["meta"]["1"] = meta
        rows["labels"]["1"] = LabelScheme().model_dump()
        self._tables.next_id["meta"] = self._tables.next_id["labels"] = 2
        self._created = False

    def _identity(self) -> Identity:
        return Identity.of(self._tables.rows["meta"].get("1") or {}, self._main_inode)

    def _create(self, ops: Iterable[Op] = (),
                prepared: Iterable[tuple[str, PreparedLayer]] = ()) -> None:
        """Write a new store's main file with its first transaction ``ops`` in it, then its
        journal.  The main file appears whole (temporary file, rename) or not at all, so a
        first import that fails or is killed leaves no store, never an empty one; on a
        failure the store is new and empty again in memory too."""
        meta = self._tables.rows["meta"]["1"]
        for table, key, record in ops:
            self._apply(table, key, record)
        for key, layer in prepared:
            self._apply_prepared(key, layer)
        try:
            self._main_inode = write_main(self.path, self._tables, self._file_lock)
        except BaseException as err:
            self._reset()
            self._start_new(meta)
            if isinstance(err, OSError):
                raise StoreError(
                    f"{self.path}: cannot create the gold store ({err.strerror}); "
                    "nothing was saved"
                ) from None
            raise
        self._created = True
        self._open_journal()

    def _open_journal(self) -> None:
        try:
            self._journal.open_for_append(self._identity())
        except OSError as err:
            self._journal.close()
            raise StoreError(
                f"{self.journal_path}: cannot open the journal ({err.strerror}); what was "
                f"saved is in {self.path.name}, nothing more can be saved until it opens"
            ) from None

    def _replay_journal(self) -> None:
        self._journal.replay(self._apply, self._identity(), writable=not self.read_only)

    def close(self) -> None:
        """Checkpoint (fold the journal into the TinyDB file) and release the lock."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            output.unprotect(store_files(self.path))
            folded = True
            try:
                if not self.read_only and self._journal.size:
                    folded = False
                    self._checkpoint_locked()
                    folded = True
            finally:
                self._journal.close()
                if not self.read_only and folded:
                    # Nothing left to replay: the journal (a header at most) goes, and the
                    # lock file with it (see FileLock), so a clean close leaves one file.
                    try:
                        self.journal_path.unlink(missing_ok=True)
                    except OSError:
                        pass
                self._file_lock.release(remove=not self.read_only and folded)

    def __enter__(self) -> GoldStore:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc is None:
            self.close()
            return
        # An error is on its way out: closing must not replace it with another (a
        # checkpoint failing on the same full disk).  The journal keeps every edit.
        try:
            self.close()
        except StoreError:
            pass

    def checkpoint(self) -> None:
        """Fold the journal into the TinyDB file (replaced atomically) and empty the journal."""
        with self._lock:
            self._writable()
            if not self._created:
                self._create()
            self._checkpoint_locked()

    def _checkpoint_locked(self, overlay: Overlay | None = None) -> None:
        """Write the main file as the next generation (a store without an id gets one),
        then start the journal again with that generation in its header.  ``overlay``:
        records written in place of (or besides) the tables' (a bulk transaction, see
        :meth:`_commit`), which then fails with nothing saved if the write fails."""
        meta_rows = self._tables.rows["meta"]
        old_meta = meta_rows.get("1") or {}
        identity = self._identity()
        meta_rows["1"] = dict(old_meta, store_id=identity.store_id or uuid.uuid4().hex,
                              generation=identity.generation + 1)
        try:
            self._main_inode = write_main(self.path, self._tables, self._file_lock, overlay)
        except BaseException as err:
            meta_rows["1"] = old_meta
            if not isinstance(err, OSError):
                raise  # a damaged record refused (storage.tables): the file is untouched
            if overlay is not None:
                raise StoreError(
                    f"{self.path}: could not save ({err.strerror}); nothing of it was "
                    "saved, earlier edits are safe") from err
            raise StoreError(
                f"{self.path}: could not fold the journal into the file ({err.strerror}); "
                f"every edit is safe in {self.journal_path.name} and is replayed at the "
                "next open (free space, then open the store again)"
            ) from err
        # Crash here: the journal is one generation behind the main file, which says
        # that everything in it is already folded in; it is dropped at the next open.
        self._journal.reset(self._identity())

    # -- the write path ------------------------------------------------------

    def _writable(self) -> None:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        if self.read_only:
            raise ReadOnlyStoreError(f"{self.path} is open read-only")

    def _commit(self, ops: list[Op],
                prepared: Sequence[tuple[str, PreparedLayer]] = ()) -> None:
        """Check every record of ``ops`` as a read will, make them and ``prepared`` (each
        with its key; checked by :meth:`prepare_record`) durable as one transaction, then
        apply them in memory.  The check is here, on the one way in (a prepared layer
        was checked by the same :meth:`_check_record` when it was made), so that no edit
        (whatever built its model: ``model_copy`` validates nothing) can save what a
        later read refuses."""
        if not ops and not prepared:
            return
        self._writable()
        for table, key, record in ops:
            if record is not None:
                self._check_record(table, key, record)
        if not self._created:
            self._create(ops, prepared)
            return
        if self._journal.fd is None:
            self._open_journal()
        payload, texts = encode_ops(ops, [(p.table, key, p.text) for key, p in prepared])
        if (sum(map(len, payload)) > self.bulk_bytes
                and all(table != PATCH_TABLE for table, _, _ in ops)):
            del payload
            overlay: Overlay = {}
            for (table, key, _), text in zip(ops, texts, strict=True):
                overlay.setdefault(table, {})[key] = text
            for key, layer in prepared:
                overlay.setdefault(layer.table, {})[key] = layer.text
            self._checkpoint_locked(overlay)
        else:
            self._journal.append(payload)
            del payload
        for (table, key, record), text in zip(ops, texts, strict=True):
            self._apply(table, key, record, text)
        for key, layer in prepared:
            self._apply_prepared(key, layer)
        if self._journal.size > self.checkpoint_bytes:
            try:
                self._checkpoint_locked()
            except StoreError:
                # The edit is already durable in the journal, so the call succeeded;
                # the checkpoint is tried again after the next edit and on close.
                pass

    def _check_record(self, table: str, key: str, record: Record) -> None:
        try:
            check_record(table, record)
        except (ValueError, TypeError, AttributeError) as err:
            # A patch names its annotation by key: the stored record says whose it is.
            whose = (self._tables.rows["annotations"].get(key) or {}) if table == PATCH_TABLE \
                else record
            owner = [f"document {whose.get('doc_id', whose.get('id', '?'))}"]
            for field_name in ("annotator", "extractor"):
                if isinstance(whose.get(field_name), str):
                    owner.append(f"{field_name} {whose[field_name]!r}")
            kind = {"labels": "the label scheme", "documents": "a document record",
                    "predictions": "a predictions record"}.get(table, "an annotations record")
            raise RecordRefusedError(
                f"{self.path}: refused to save {kind} ({', '.join(owner)}): "
                f"{describe(err)}; nothing was saved"
            ) from None

    def _apply(self, table: str, key: str, record: Record | None,
               text: bytes | None = None) -> None:
        """Apply one op in memory (``text``: the record's JSON text, when known)."""
        if table == PATCH_TABLE:
            if record is not None and key in self._tables.rows["annotations"]:
                self._patcher.apply(self._tables.rows["annotations"], key, record)
                self._tables.statuses[key] = record["status"]
            return
        if table == "annotations":
            self._patcher.forget(key)
        self._tables.put(table, key, record, text=text)

    def _apply_prepared(self, key: str, layer: PreparedLayer) -> None:
        if layer.table == "annotations":
            self._patcher.forget(key)
        self._tables.put_text(layer.table, key, layer.text, layer.doc_id, layer.owner,
                              layer.status)

    def _model(self, model: type[M], table: str, key: str | None,
               record: Record | None = None) -> M:
        """A stored record as its model, read leniently (names are not checked again); a
        record that is not one is store damage, reported as such."""
        if record is None:
            assert key is not None
            record = self._tables.rows[table].get(key) or {}
        try:
            return model.model_validate(record, context=LENIENT)
        except ValidationError as err:
            where = f"record {key!r}" if key else "a record"
            reason = str(err).splitlines()
            raise StoreCorruptError(
                f"{self.path}: table {table!r}, {where} is malformed "
                f"({' '.join(reason[1:3]).strip()[:160]}); the file was left untouched"
            ) from None

    # -- documents -----------------------------------------------------------

    def add_documents(self, documents: Iterable[Document], *,
                      labels: LabelScheme | None = None) -> AddResult:
        """Add documents not yet present (by text hash), all in one transaction; with
        ``labels``, a label scheme stored in the same transaction when any document is
        added (a new store's first labels, so a killed import leaves none without)."""
        with self._lock:
            result = AddResult()
            ops: list[Op] = []
            reserved: dict[str, int] = {}
            seen: set[str] = set()
            for doc in documents:
                if doc.id in self._tables.doc_keys or doc.id in seen:
                    result.present.append(doc.id)
                    continue
                seen.add(doc.id)
                key = self._tables.new_key("documents", reserved)
                ops.append(("documents", key, doc.model_dump()))
                result.added.append(doc.id)
            if ops and labels is not None:
                ops.insert(0, ("labels", "1", labels.model_dump()))
            self._commit(ops)
            return result

    def has_document(self, doc_id: str) -> bool:
        return doc_id in self._tables.doc_keys

    def document(self, doc_id: str) -> Document:
        with self._lock:
            key = self._tables.doc_keys.get(doc_id)
            if key is None:
                raise NotFoundError(f"{self.path}: no document {doc_id!r}")
            return self._model(Document, "documents", key)

    def document_record(self, doc_id: str) -> Record:
        """One document as a plain dict (see :meth:`annotation_records`); do not mutate it."""
        with self._lock:
            key = self._tables.doc_keys.get(doc_id)
            if key is None:
                raise NotFoundError(f"{self.path}: no document {doc_id!r}")
            return self._tables.rows["documents"][key]

    @staticmethod
    def plain(table: str, record: Record) -> bool:
        """Whether a stored record of ``documents``, ``annotations`` or ``predictions``
        plainly has the shape its model accepts (``storage.shape``), so that a bulk
        reader may read it as it is.  Read any other as its model, which accepts it or
        reports it as damage."""
        if table == "documents":
            return document_record_ok(record)
        return layer_record_ok(table, record)

    def document_ids(self) -> list[str]:
        """Document ids in the order they were imported."""
        with self._lock:
            rows = self._tables.rows["documents"]
            return [rows[k]["id"] for k in self._tables.sorted_keys("documents")]

    def documents(self) -> Iterator[Document]:
        for doc_id in self.document_ids():
            yield self.document(doc_id)

    def text(self, doc_id: str) -> str:
        key = self._tables.doc_keys.get(doc_id)
        if key is None:
            raise NotFoundError(f"{self.path}: no document {doc_id!r}")
        return str(self._tables.rows["documents"][key]["text"])

    def find_document(self, text: str) -> str | None:
        """The id of the stored document with exactly this (normalised) text."""
        doc = Document.from_text(text)
        return doc.id if doc.id in self._tables.doc_keys else None

    def __len__(self) -> int:
        return len(self._tables.doc_keys)

    # -- label scheme --------------------------------------------------------

    @property
    def labels(self) -> LabelScheme:
        """The label scheme (do not mutate it: :meth:`set_labels` replaces it).  Built once
        per record of the labels table, since it is asked for on every edit."""
        with self._lock:
            record = self._tables.rows["labels"].get("1")
            cached = self._labels
            # A record is replaced, never changed in place (storage.tables), and the
            # cache holds it, so the same object is the same scheme.
            if cached is None or cached[0] is not record or record is None:
                cached = self._labels = (record, self._model(LabelScheme, "labels", "1"))
            return cached[1]

    def set_labels(self, scheme: LabelScheme) -> None:
        """Replace the label scheme.  Making an overlapping scheme flat is refused while an
        annotation still holds overlapping spans (naming the first)."""
        with self._lock:
            if not scheme.overlapping and self.labels.overlapping:
                self._check_flat()
            self._commit([("labels", "1", scheme.model_dump())])

    def _check_flat(self) -> None:
        for record in self.annotation_records():
            bounds = sorted((s["start"], s["end"], s["label"]) for s in record["spans"])
            for (a_start, a_end, a_label), (b_start, b_end, b_label) in zip(
                    bounds, bounds[1:], strict=False):
                if b_start < a_end:
                    raise ValueError(
                        f"the label scheme cannot become flat: the annotation of document "
                        f"{record['doc_id']} by {record['annotator']!r} holds overlapping "
                        f"spans {a_start}-{a_end} ({a_label}) and {b_start}-{b_end} "
                        f"({b_label})")

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
        return self._names_ops({s.label for layer in layers for s in layer.spans},
                               {r.label for layer in layers for r in layer.relations},
                               add_labels, scheme)

    def _names_ops(self, entity_names: Set[str], relation_names: Set[str], add_labels: bool,
                   scheme: LabelScheme | None = None) -> list[Op]:
        """:meth:`_label_ops` for layers with these entity and relation labels."""
        current = self.labels
        if scheme is None:
            scheme = current
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
            key = self._tables.ann_keys.get((doc_id, annotator))
            if key is None:
                return None
            return self._model(Annotation, "annotations", key)

    def annotation_records(
        self, *, annotator: str | None = None, status: Status | None = None,
        doc_ids: Iterable[str] | None = None,
    ) -> Iterator[Record]:
        """Annotation records as plain dicts, in document order (or of ``doc_ids``, in
        theirs), optionally of one annotator or status, without building models: for
        bulk readers such as evaluation, where 10,000 pydantic models cost seconds.
        Each record was validated when it was written; do not mutate them."""
        with self._lock:
            keys = [
                key
                for doc_id in (self.document_ids() if doc_ids is None else doc_ids)
                for name, key in self._tables.anns_by_doc.get(doc_id, {}).items()
                if annotator is None or name == annotator
            ]
        # Each record is parsed as it is yielded and not kept (see storage.tables).
        table = self._tables.rows["annotations"]
        for key in keys:
            with self._lock:
                if key not in table:
                    continue  # deleted since
                # A record whose status the tables know to be another is not parsed.
                known = self._tables.statuses
                if status is not None and key in known and known[key] != status:
                    continue
                record = table.peek(key)
            if status is not None and record.get("status") != status:
                continue
            yield record

    def annotations(
        self, *, annotator: str | None = None, status: Status | None = None
    ) -> Iterator[Annotation]:
        """Annotations in document order, optionally of one annotator or status."""
        for record in self.annotation_records(annotator=annotator, status=status):
            yield self.annotation_of(record)

    def annotation_of(self, record: Record) -> Annotation:
        """An annotation record (from :meth:`annotation_records`) as its model."""
        return self._model(Annotation, "annotations", None, record)

    def prediction_of(self, record: Record) -> Prediction:
        """A prediction record (from :meth:`prediction_record`) as its model."""
        return self._model(Prediction, "predictions", None, record)

    def gold_records(self, annotator: str | None = None,
                     doc_ids: Iterable[str] | None = None) -> Iterator[Record]:
        """Accepted annotation records as plain dicts (see :meth:`annotation_records`)."""
        return self.annotation_records(annotator=annotator, status="accept", doc_ids=doc_ids)

    def gold(self, annotator: str | None = None) -> Iterator[Annotation]:
        """Accepted annotations: the gold set."""
        return self.annotations(annotator=annotator, status="accept")

    def annotation_status(self, doc_id: str, annotator: str = DEFAULT_ANNOTATOR
                          ) -> str | None:
        """The status of a stored annotation (``accept``, ``reject``, ``ignore``, or
        ``open`` when it has none), None when there is no annotation: without building
        (or, for a record the store wrote, parsing) the annotation, so that asking it of
        every document (where to resume) costs little."""
        with self._lock:
            key = self._tables.ann_keys.get((doc_id, annotator))
            if key is None:
                return None
            return self._tables.status(key) or "open"

    def annotators(self) -> list[str]:
        return sorted({annotator for _, annotator in self._tables.ann_keys})

    def save_annotation(self, annotation: Annotation, *, add_labels: bool = False,
                        run: tuple[int, int] | None = None) -> Annotation:
        """Validate ``annotation`` against its document and the scheme, and store it durably.

        A save of an annotation this store saved last time is journalled as a patch of the
        spans that changed (found by comparing the two span lists from both ends), so an
        edit of one entity in a long article costs about the same as in a short one.
        ``run``: how many spans at the start and at the end of the saved span list the
        caller's edit kept, when it knows (checked, never trusted: a wrong one costs only
        the comparison).
        """
        with self._lock:
            key = self._tables.ann_keys.get((annotation.doc_id, annotation.annotator))
            if key is not None and not add_labels:
                base = self._patcher.base(key)
                if base is not None:
                    scheme = self.labels
                    patched = self._patcher.op(
                        key, base, annotation, self.text(annotation.doc_id), scheme, run
                    )
                    if patched is not None:
                        op, saved = patched
                        self._commit([op])
                        self._patcher.remember(key, saved, flat=not scheme.overlapping)
                        return saved
            saved = self.save_annotations([annotation], add_labels=add_labels)[0]
            self._patcher.saved_whole(self._tables.ann_keys[(saved.doc_id, saved.annotator)], saved)
            return saved


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
            reserved: dict[str, int] = {}
            pending: dict[tuple[str, str], str] = {}
            ops, new_texts = self._document_ops(documents, reserved)
            overlapping = (labels or self.labels).overlapping
            for ann in annotations:
                text = new_texts.get(ann.doc_id)
                if text is None:
                    text = self.text(ann.doc_id)
                check_layer(text, ann.spans, ann.relations, overlapping)
                ident = (ann.doc_id, ann.annotator)
                ann = self._stamped(ann)
                key = self._tables.ann_keys.get(ident) or pending.get(ident)
                if key is None:
                    key = pending[ident] = self._tables.new_key("annotations", reserved)
                ops.append(("annotations", key, ann.model_dump(mode="json")))
                saved.append(ann)
            preds = list(predictions)
            ops += self._prediction_ops(preds, reserved, new_texts)
            ops[:0] = self._label_ops([*saved, *preds], add_labels, labels)
            self._commit(ops)
            return saved

    def _document_ops(self, documents: Iterable[Document], reserved: dict[str, int]
                      ) -> tuple[list[Op], dict[str, str]]:
        """Ops that add those of ``documents`` not in the store yet (each once), and their
        texts by id."""
        ops: list[Op] = []
        new_texts: dict[str, str] = {}
        for doc in documents:
            if doc.id in self._tables.doc_keys or doc.id in new_texts:
                continue
            new_texts[doc.id] = doc.text
            ops.append(("documents", self._tables.new_key("documents", reserved),
                        doc.model_dump()))
        return ops, new_texts

    def _stamped(self, ann: Annotation) -> Annotation:
        """``ann`` with its save time, keeping the creation time of the annotation it
        replaces in the store, if there is one."""
        return ann.model_copy(update=self._save_times(ann.doc_id, ann.annotator))

    def _save_times(self, doc_id: str, annotator: str) -> dict[str, str]:
        """The times an annotation saved now gets: ``updated`` now, and the ``created`` of
        the annotation it replaces in the store, if there is one."""
        update = {"updated": utc_now()}
        key = self._tables.ann_keys.get((doc_id, annotator))
        old = None if key is None else self._tables.rows["annotations"].peek(key)
        if old is not None:
            update["created"] = old["created"]
        return update

    def prepare_layer(self, layer: Annotation | Prediction, text: str, *,
                      overlapping: bool = False) -> PreparedLayer:
        """``layer`` checked against its document's ``text`` (an annotation's spans apart
        unless ``overlapping``; a prediction's may overlap) and as a record, as a save
        checks it, and encoded, for :meth:`save_prepared`.  An annotation gets its save
        time (and keeps the creation time of the one it replaces), as in
        :meth:`save_annotations`.  Raises ``ValueError`` or :class:`RecordRefusedError`."""
        table = "annotations" if isinstance(layer, Annotation) else "predictions"
        return self.prepare_record(table, layer.model_dump(mode="json"), text,
                                   overlapping=overlapping)

    def prepare_record(self, table: str, record: Record, text: str, *,
                       overlapping: bool = False) -> PreparedLayer:
        """:meth:`prepare_layer` for a layer given as its record (``annotations`` or
        ``predictions``; what ``model_dump(mode="json")`` of its model gives), which an
        import builds without a model per span: checked as a record (as every save
        checks one), its annotator's or extractor's name by the names rule, then
        against ``text``."""
        owner_field = OWNER.get(table)
        if owner_field is None:
            raise ValueError(f"not a table of layers: {table!r}")
        with self._lock:
            self._check_record(table, "-", record)
            owner = record.get(owner_field)
            if not isinstance(owner, str):
                raise ValueError(f"the record names no {owner_field}")
            _check_owner(owner, f"{owner_field} name")
            bounds, links = layer_bounds(record)
            if table == "annotations":
                check_bounds(text, bounds, links, overlapping)
                record = {**record, **self._save_times(record["doc_id"], owner)}
            else:
                check_bounds(text, bounds, links, overlapping=True)
            return PreparedLayer(table, record["doc_id"], owner, record.get("status"),
                                 encode_record(table, record), _SEAL)

    def save_prepared(
        self, layers: Iterable[PreparedLayer], *, documents: Iterable[Document] = (),
        labels: LabelScheme | None = None, entity_names: Set[str] = frozenset(),
        relation_names: Set[str] = frozenset(), add_labels: bool = False,
    ) -> None:
        """Store prepared layers (each replacing the same annotator's or extractor's on
        the same document), ``documents`` not yet in the store and ``labels`` in one
        transaction, as :meth:`save_annotations` does: the bulk write of an import, which
        holds each layer as its encoded record.  ``entity_names`` and ``relation_names``:
        the labels the layers use, checked against the scheme (added with
        ``add_labels``).  Every layer's document must be stored or in ``documents``."""
        with self._lock:
            reserved: dict[str, int] = {}
            ops, new_ids = self._document_ops(documents, reserved)
            keyed: list[tuple[str, PreparedLayer]] = []
            pending: dict[tuple[str, str, str], str] = {}
            for layer in layers:
                if layer.seal is not _SEAL:
                    raise ValueError("a layer not made by GoldStore.prepare_layer or "
                                     "prepare_record (unchecked)")
                if layer.doc_id not in self._tables.doc_keys and layer.doc_id not in new_ids:
                    raise NotFoundError(f"{self.path}: no document {layer.doc_id!r}")
                known = (self._tables.ann_keys if layer.table == "annotations"
                         else self._tables.pred_keys)
                ident = (layer.table, layer.doc_id, layer.owner)
                key = known.get(ident[1:]) or pending.get(ident)
                if key is None:
                    key = pending[ident] = self._tables.new_key(layer.table, reserved)
                keyed.append((key, layer))
            ops[:0] = self._names_ops(entity_names, relation_names, add_labels, labels)
            self._commit(ops, keyed)

    def delete_annotation(self, doc_id: str, annotator: str = DEFAULT_ANNOTATOR) -> None:
        with self._lock:
            key = self._tables.ann_keys.get((doc_id, annotator))
            if key is not None:
                self._commit([("annotations", key, None)])

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
            # Predictions may overlap whatever the scheme says: they are scored, not edited.
            check_layer(text if text is not None else self.text(pred.doc_id), pred.spans,
                        pred.relations, overlapping=True)
            ident = (pred.doc_id, pred.extractor)
            key = self._tables.pred_keys.get(ident) or pending.get(ident)
            if key is None:
                key = pending[ident] = self._tables.new_key("predictions", reserved)
            ops.append(("predictions", key, pred.model_dump(mode="json")))
        return ops

    def prediction(self, doc_id: str, extractor: str) -> Prediction | None:
        with self._lock:
            key = self._tables.pred_keys.get((doc_id, extractor))
            if key is None:
                return None
            return self._model(Prediction, "predictions", key)

    def prediction_record(self, doc_id: str, extractor: str) -> Record | None:
        """One prediction as a plain dict (see :meth:`gold_records`); do not mutate it."""
        with self._lock:
            key = self._tables.pred_keys.get((doc_id, extractor))
            return None if key is None else self._tables.rows["predictions"][key]

    def prediction_rows(self, extractors: Sequence[str], doc_ids: Iterable[str]
                        ) -> Iterator[tuple[Record | None, ...]]:
        """Per document of ``doc_ids``, in that order, the predictions of ``extractors``
        as plain dicts (None where one has none), for bulk readers such as the queue.
        Each is parsed as it is yielded and not kept (see storage.tables), so reading
        every document costs the memory of one; do not mutate them."""
        keys, rows = self._tables.pred_keys, self._tables.rows["predictions"]
        for doc_id in doc_ids:
            with self._lock:
                yield tuple(None if (key := keys.get((doc_id, name))) is None
                            else rows.peek(key) for name in extractors)

    def predictions(self, doc_id: str) -> dict[str, Prediction]:
        """Every extractor's prediction on one document, by extractor id."""
        with self._lock:
            keys = dict(self._tables.preds_by_doc.get(doc_id, {}))
            return {
                name: self._model(Prediction, "predictions", key)
                for name, key in sorted(keys.items())
            }

    def has_prediction(self, doc_id: str, extractor: str) -> bool:
        return (doc_id, extractor) in self._tables.pred_keys

    def extractors(self) -> list[str]:
        return sorted({extractor for _, extractor in self._tables.pred_keys})

    # -- summary -------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for ``reader stats``: documents, annotations by status, predictions, and
        the gold's entities and relations by label (of the annotations that
        :mod:`annotations.gold` chooses as gold: open, rejected and ignored annotations,
        and an annotator's that adjudication replaced, are not gold)."""
        with self._lock:
            by_status: dict[str, int] = {"accept": 0, "reject": 0, "ignore": 0, "open": 0}
            for key in self._tables.ann_keys.values():  # statuses known without parsing
                by_status[self._tables.status(key) or "open"] += 1
            entity_counts: Counter[str] = Counter()
            relation_counts: Counter[str] = Counter()
            gold_documents = 0
            for _, records in iter_gold_records(self):
                gold_documents += 1
                for record in records:
                    entity_counts.update(map(_label, record["spans"]))
                    relation_counts.update(map(_label, record["relations"]))
            by_extractor: dict[str, dict[str, int]] = {}
            for record in self._tables.rows["predictions"].values():
                entry = by_extractor.setdefault(record["extractor"], {"documents": 0, "spans": 0})
                entry["documents"] += 1
                entry["spans"] += len(record["spans"])
            scheme = self.labels
            return {
                "path": str(self.path),
                "documents": len(self._tables.doc_keys),
                "annotations": by_status,
                "annotators": self.annotators(),
                "predictions": dict(sorted(by_extractor.items())),
                "entity_labels": scheme.entity_names,
                "relation_labels": scheme.relation_names,
                "gold_documents": gold_documents,
                "gold_entities_by_label": dict(sorted(entity_counts.items())),
                "gold_relations_by_label": dict(sorted(relation_counts.items())),
            }
