"""The store's data in memory: TinyDB's own layout, plus the indexes that find records.

``Tables`` holds one dict per TinyDB table (record key -> record, as in the file) and
indexes by document id, (document, annotator) and (document, extractor).  It applies
journal ops (a put or a delete of one record) and knows nothing of files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import StoreCorruptError

TABLES = ("meta", "labels", "documents", "annotations", "predictions")

Record = dict[str, Any]
Op = tuple[str, str, Record | None]  # (table, TinyDB doc id, record or None to delete)


def _check_layer_shape(record: Record) -> None:
    """The cheap part of an annotation or prediction record's shape, checked for every
    record at open (the full model is checked where a record is read)."""
    if not isinstance(record["spans"], list) or not isinstance(record.get("relations", []),
                                                               list):
        raise TypeError("spans or relations")


class Tables:
    """Records by table and key, and the indexes over them."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Record]] = {name: {} for name in TABLES}
        self.next_id: dict[str, int] = {name: 1 for name in TABLES}
        self.doc_keys: dict[str, str] = {}
        self.ann_keys: dict[tuple[str, str], str] = {}
        self.pred_keys: dict[tuple[str, str], str] = {}
        self.preds_by_doc: dict[str, dict[str, str]] = {}
        self.anns_by_doc: dict[str, dict[str, str]] = {}

    def load(self, data: dict[str, dict[str, Record]], path: Path) -> None:
        """Take the tables of a TinyDB file's ``data`` and index them."""
        for name in TABLES:
            table = data.get(name, {})
            self.rows[name] = table
            for key, record in table.items():
                try:
                    self.index(name, key, record)
                except (KeyError, TypeError, ValueError):
                    raise StoreCorruptError(
                        f"{path}: table {name!r}, record {key!r} is malformed (missing "
                        "fields or a non-numeric key); left untouched"
                    ) from None

    def put(self, table: str, key: str, record: Record | None) -> None:
        """Put ``record`` at ``key`` (None deletes it), keeping the indexes right."""
        rows = self.rows[table]
        old = rows.get(key)
        if old is not None:
            self.unindex(table, key, old)
        if record is None:
            rows.pop(key, None)
        else:
            rows[key] = record
            self.index(table, key, record)

    def index(self, table: str, key: str, record: Record) -> None:
        number = int(key)
        if number >= self.next_id[table]:
            self.next_id[table] = number + 1
        if table == "documents":
            if not isinstance(record["text"], str):
                raise TypeError("text")
            self.doc_keys[record["id"]] = key
        elif table == "annotations":
            _check_layer_shape(record)
            self.ann_keys[(record["doc_id"], record["annotator"])] = key
            self.anns_by_doc.setdefault(record["doc_id"], {})[record["annotator"]] = key
        elif table == "predictions":
            _check_layer_shape(record)
            self.pred_keys[(record["doc_id"], record["extractor"])] = key
            self.preds_by_doc.setdefault(record["doc_id"], {})[record["extractor"]] = key

    def unindex(self, table: str, key: str, record: Record) -> None:
        if table == "documents":
            self.doc_keys.pop(record["id"], None)
        elif table == "annotations":
            self.ann_keys.pop((record["doc_id"], record["annotator"]), None)
            self.anns_by_doc.get(record["doc_id"], {}).pop(record["annotator"], None)
        elif table == "predictions":
            self.pred_keys.pop((record["doc_id"], record["extractor"]), None)
            self.preds_by_doc.get(record["doc_id"], {}).pop(record["extractor"], None)

    def new_key(self, table: str, reserved: dict[str, int]) -> str:
        """A free key in ``table``, not yet handed out in ``reserved`` (one transaction)."""
        number = max(self.next_id[table], reserved.get(table, 0))
        reserved[table] = number + 1
        return str(number)

    def sorted_keys(self, table: str) -> list[str]:
        return sorted(self.rows[table], key=int)
