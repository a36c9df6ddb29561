"""The store's data in memory, compactly, and the indexes that find records.

``Tables`` holds one :class:`RecordTable` per TinyDB table (record key -> record, as in
the file) and indexes by document id, (document, annotator) and (document, extractor).
It applies journal ops (a put or a delete of one record) and knows nothing of files.

Annotations and predictions are most of a store, and most of them are not read in a
session: each is held as its JSON text (about the bytes it takes in the file) and
parsed when it is first touched; the last :data:`RecordTable.HOT` records touched stay
parsed, and a record parsed for a bulk reader (:meth:`RecordTable.peek`, as evaluation
and export read every record once) is dropped again at once.  A record that was
changed stays parsed until it leaves that window, and is then encoded again.  The
indexes hold only each record's document id and annotator or extractor.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import srsly

from ..errors import StoreCorruptError

TABLES = ("meta", "labels", "documents", "annotations", "predictions")
# The tables held as JSON text until touched; the others (small, or read all the time:
# documents' texts) are held parsed.
COMPACT = ("annotations", "predictions")
# The field that, with ``doc_id``, names a record of a compact table.
OWNER = {"annotations": "annotator", "predictions": "extractor"}

Record = dict[str, Any]
Op = tuple[str, str, Record | None]  # (table, TinyDB doc id, record or None to delete)
# Records written in place of the tables' (their JSON text, or None: left out), by
# table and key: see ``Tables.lines``.
Overlay = dict[str, dict[str, bytes | None]]


def _check_layer_shape(record: Record) -> None:
    """The cheap part of an annotation or prediction record's shape, checked when the
    record is parsed (the full model is checked where a record is read as one)."""
    if not isinstance(record["spans"], list) or not isinstance(record.get("relations", []),
                                                               list):
        raise TypeError("spans or relations")
    if not isinstance(record["doc_id"], str):
        raise TypeError("doc_id")


def encode_record(table: str, record: Record) -> bytes:
    """A record's JSON text as the main file holds it: one line, ASCII, its document id,
    owner (and an annotation's status) first, so an open can index it without parsing
    it."""
    owner = OWNER.get(table)
    if owner is not None and "doc_id" in record and owner in record:
        first = {"doc_id": record["doc_id"], owner: record[owner]}
        if table == "annotations" and "status" in record:
            first["status"] = record["status"]
        record = {**first, **record}
    return srsly.json_dumps(record).encode("utf-8")


class RecordTable:
    """One table's records by key, each held parsed or as its JSON text.

    ``raw[key]`` is the record's JSON text, or None while a changed record is held only
    parsed; ``hot`` holds the parsed records of the last keys touched (all of them in a
    table that is not compact).  Records are returned as dicts that callers must not
    mutate (a change is a new record put with ``table[key] = record``).
    """

    HOT = 64

    def __init__(self, name: str, path: Path | None = None) -> None:
        self.name = name
        self.path = path
        self.compact = name in COMPACT
        self.raw: dict[str, bytes | None] = {}
        self.hot: OrderedDict[str, Record] = OrderedDict()
        self.unchecked: set[str] = set()  # records read as text and not parsed since

    # -- reading -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.raw)

    def __contains__(self, key: object) -> bool:
        return key in self.raw

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def keys(self) -> Iterator[str]:
        return iter(list(self.raw))

    def get(self, key: str, default: Record | None = None) -> Record | None:
        return self[key] if key in self.raw else default

    def __getitem__(self, key: str) -> Record:
        record = self.hot.get(key)
        if record is not None:
            if self.compact:
                self.hot.move_to_end(key)
            return record
        record = self._parse(key, self.raw[key])
        self.hot[key] = record
        self._evict()
        return record

    def peek(self, key: str) -> Record:
        """The record at ``key``, parsed for this once (a bulk reader's way: it is not
        kept, so reading every record costs the memory of one)."""
        record = self.hot.get(key)
        return record if record is not None else self._parse(key, self.raw[key])

    def values(self) -> Iterator[Record]:
        for key in list(self.raw):
            if key in self.raw:
                yield self.peek(key)

    def items(self) -> Iterator[tuple[str, Record]]:
        for key in list(self.raw):
            if key in self.raw:
                yield key, self.peek(key)

    def encoded(self, key: str) -> bytes:
        """The record's JSON text, as the main file holds it; a record read as text and
        never parsed is parsed first, so a damaged one is refused, not written again."""
        data = self.raw[key]
        if data is None:
            return encode_record(self.name, self.hot[key])
        if key in self.unchecked:
            self._parse(key, data)
        return data

    def _parse(self, key: str, data: bytes | None) -> Record:
        assert data is not None  # a record without its text is held parsed
        try:
            record = srsly.json_loads(data)
            if not isinstance(record, dict):
                raise TypeError("not an object")
            if self.compact:
                _check_layer_shape(record)
        except (ValueError, TypeError, KeyError):
            raise StoreCorruptError(
                f"{self.path}: table {self.name!r}, record {key!r} is malformed (not a "
                f"{self.name} record: damaged JSON or missing fields); the file was left "
                "untouched"
            ) from None
        self.unchecked.discard(key)
        return record

    # -- writing -----------------------------------------------------------------

    def __setitem__(self, key: str, record: Record) -> None:
        self.raw[key] = None
        self.hot[key] = record
        if self.compact:
            self.hot.move_to_end(key)
        self.unchecked.discard(key)
        self._evict()

    def put_raw(self, key: str, data: bytes, *, checked: bool = False) -> None:
        """A record as its JSON text (read from the main file: not checked yet)."""
        self.raw[key] = data
        self.hot.pop(key, None)
        if not checked:
            self.unchecked.add(key)

    def pop(self, key: str, default: None = None) -> None:
        self.hot.pop(key, None)
        self.raw.pop(key, None)
        self.unchecked.discard(key)

    def _evict(self) -> None:
        if not self.compact:
            return
        while len(self.hot) > self.HOT:
            key, record = self.hot.popitem(last=False)
            if key in self.raw and self.raw[key] is None:
                self.raw[key] = encode_record(self.name, record)


class NotRead:
    """What stands for a table an open did not read, and for its indexes: any use of it
    is a bug (the open was told the table would not be needed), and says so rather than
    answer as if the table were empty."""

    def __init__(self, path: Path | None, table: str) -> None:
        self.message = (f"{path}: the {table} table was not read (opened without it); "
                        "this is a bug in the reader")

    def _refuse(self, *_: object, **__: object) -> Any:
        raise RuntimeError(self.message)

    __getitem__ = __contains__ = __iter__ = __len__ = _refuse
    get = keys = values = items = peek = setdefault = pop = _refuse


class Tables:
    """Records by table and key, and the indexes over them.

    ``predictions=False``: the predictions table is not held (an open for a reader that
    needs none, such as an export of annotations, reads half a typical store): the
    journal's ops on it are not applied, and reading it raises (see :class:`NotRead`)."""

    def __init__(self, path: Path | None = None, *, predictions: bool = True) -> None:
        self.path = path
        self.unread: tuple[str, ...] = () if predictions else ("predictions",)
        self.clear()

    def clear(self) -> None:
        """Empty tables and indexes."""
        path = self.path
        self.rows: dict[str, RecordTable] = {name: RecordTable(name, path) for name in TABLES}
        self.next_id: dict[str, int] = {name: 1 for name in TABLES}
        self.doc_keys: dict[str, str] = {}
        self.ann_keys: dict[tuple[str, str], str] = {}
        self.pred_keys: dict[tuple[str, str], str] = {}
        self.preds_by_doc: dict[str, dict[str, str]] = {}
        self.anns_by_doc: dict[str, dict[str, str]] = {}
        # What names each record of a compact table: (document id, annotator/extractor).
        self.owners: dict[str, dict[str, tuple[str, str]]] = {name: {} for name in COMPACT}
        # Each annotation's status by record key, where known without parsing it.
        self.statuses: dict[str, str | None] = {}
        if self.unread:
            not_read = NotRead(path, "predictions")
            self.rows["predictions"] = not_read  # type: ignore[assignment]
            self.pred_keys = self.preds_by_doc = not_read  # type: ignore[assignment]

    def malformed(self, table: str, key: str) -> StoreCorruptError:
        return StoreCorruptError(
            f"{self.path}: table {table!r}, record {key!r} is malformed (missing fields "
            "or a non-numeric key); left untouched"
        )

    def load_record(self, table: str, key: str, record: Record) -> None:
        """Take one record of the main file (parsed) and index it."""
        try:
            self.put(table, key, record, reading=True)
        except (KeyError, TypeError, ValueError):
            raise self.malformed(table, key) from None

    def trust_read_records(self) -> None:
        """Take every record read as text as checked: what follows the main file's meta
        table is, byte for byte, what a checkpoint wrote there (its checksum says so, see
        ``storage.files.BODY_CRC``), and a checkpoint writes only records it has checked."""
        for table in self.rows.values():
            table.unchecked.clear()

    def load_raw(self, table: str, key: str, data: bytes, doc_id: str, owner: str,
                 status: str | None | bool = False) -> None:
        """Take one record of a compact table as its JSON text, with what names it (and
        an annotation's status, False where unknown)."""
        try:
            self._number(table, key)
        except ValueError:
            raise self.malformed(table, key) from None
        self.rows[table].put_raw(key, data)
        self._index_owner(table, key, doc_id, owner)
        if status is not False:
            self.statuses[key] = status  # type: ignore[assignment]

    def status(self, key: str) -> str | None:
        """The status of the annotation record at ``key`` (parsed only if not known)."""
        if key in self.statuses:
            return self.statuses[key]
        status = self.rows["annotations"].peek(key).get("status")
        self.statuses[key] = status
        return status

    def put(self, table: str, key: str, record: Record | None, *, reading: bool = False,
            text: bytes | None = None) -> None:
        """Put ``record`` at ``key`` (None deletes it), keeping the indexes right; a
        compact table keeps ``text`` (the record's JSON text) instead, when given."""
        if table in self.unread:
            return
        rows = self.rows[table]
        if key in rows:
            self.unindex(table, key)
        if record is None:
            rows.pop(key, None)
            return
        self.index(table, key, record)
        if rows.compact and (reading or text is not None):
            rows.put_raw(key, text if text is not None else encode_record(table, record),
                         checked=True)
        else:
            rows[key] = record

    def put_text(self, table: str, key: str, text: bytes, doc_id: str, owner: str,
                 status: str | None = None) -> None:
        """Put a record of a compact table at ``key`` as its JSON text (checked already),
        with what names it (and an annotation's status), keeping the indexes right."""
        rows = self.rows[table]
        if key in rows:
            self.unindex(table, key)
        self._number(table, key)
        self._index_owner(table, key, doc_id, owner)
        if table == "annotations":
            self.statuses[key] = status
        rows.put_raw(key, text, checked=True)

    def _number(self, table: str, key: str) -> None:
        if not (key.isascii() and key.isdigit()):
            raise ValueError(key)
        number = int(key)
        if number >= self.next_id[table]:
            self.next_id[table] = number + 1

    def index(self, table: str, key: str, record: Record) -> None:
        self._number(table, key)
        if table == "documents":
            if not isinstance(record["text"], str):
                raise TypeError("text")
            self.doc_keys[record["id"]] = key
        elif table in COMPACT:
            _check_layer_shape(record)
            owner = record[OWNER[table]]
            if not isinstance(owner, str):
                raise TypeError(OWNER[table])
            self._index_owner(table, key, record["doc_id"], owner)
            if table == "annotations":
                self.statuses[key] = record.get("status")

    def _index_owner(self, table: str, key: str, doc_id: str, owner: str) -> None:
        self.owners[table][key] = (doc_id, owner)
        if table == "annotations":
            self.ann_keys[(doc_id, owner)] = key
            self.anns_by_doc.setdefault(doc_id, {})[owner] = key
        else:
            self.pred_keys[(doc_id, owner)] = key
            self.preds_by_doc.setdefault(doc_id, {})[owner] = key

    def unindex(self, table: str, key: str) -> None:
        if table == "documents":
            self.doc_keys.pop(self.rows[table][key]["id"], None)
        elif table in COMPACT:
            doc_id, owner = self.owners[table].pop(key)
            if table == "annotations":
                self.statuses.pop(key, None)
                self.ann_keys.pop((doc_id, owner), None)
                self.anns_by_doc.get(doc_id, {}).pop(owner, None)
            else:
                self.pred_keys.pop((doc_id, owner), None)
                self.preds_by_doc.get(doc_id, {}).pop(owner, None)

    def new_key(self, table: str, reserved: dict[str, int]) -> str:
        """A free key in ``table``, not yet handed out in ``reserved`` (one transaction)."""
        number = max(self.next_id[table], reserved.get(table, 0))
        reserved[table] = number + 1
        return str(number)

    def sorted_keys(self, table: str) -> list[str]:
        return sorted(self.rows[table], key=int)

    def lines(self, overlay: Overlay | None = None) -> Iterator[bytes]:
        """The main file, a TinyDB JSON file that plain TinyDB reads, one record per
        line (see ``storage.files.read_main``, which reads it back without parsing the
        records of the compact tables); with ``overlay``'s records in place of (or
        besides) the tables' own."""
        yield b"{\n"
        for number, name in enumerate(TABLES):
            rows = self.rows[name]
            yield b'"%s":{\n' % name.encode("ascii")
            extra = (overlay or {}).get(name, {})
            entries: list[tuple[str, bytes | None]] = [
                (key, None) for key in rows if key not in extra]
            entries += [(key, text) for key, text in extra.items() if text is not None]
            for index, (key, text) in enumerate(entries):
                end = b",\n" if index + 1 < len(entries) else b"\n"
                data = rows.encoded(key) if text is None else text
                yield b'"%s":%s%s' % (key.encode("ascii"), data, end)
            yield b"},\n" if number + 1 < len(TABLES) else b"}\n"
        yield b"}"  # no newline after it: a file cut by one byte is not JSON
