"""doccano JSONL.

Export writes the shape of doccano's relation-extraction projects, one document
per line::

    {"id": 1, "text": "...", "meta": {...},
     "entities": [{"id": 1, "label": "PER", "start_offset": 0, "end_offset": 5}],
     "relations": [{"id": 1, "from_id": 1, "to_id": 2, "type": "works_for"}],
     "answer": "accept", "_annotator_id": "default"}

Entities may nest and overlap; relations name them by id, so they stay exact.

doccano files the import reads: that shape, and the sequence-labelling shape
``{"text": ..., "label": [[start, end, "PER"], ...]}``; ``data`` is accepted for
``text`` (older doccano); keys other than these go into the document's meta.

What it loses: a span's source and state (every span comes back as typed by a
person); an open annotation comes back with the import's default status.
``answer`` and ``_annotator_id`` are not doccano's own keys (doccano keeps them
as metadata); without them an import uses its defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import srsly

from ..errors import InputError
from ..layer import resolve_refs, span_order
from ..output import replacing
from .base import (
    ExportItem,
    ExportResult,
    ImportRecord,
    RawRelation,
    RawSpan,
    WriteContext,
    field_error,
    get_str,
    objects_in,
    parse_status,
    raw_span_of,
    read_json_records,
    record_text,
)

OWN_KEYS = {"id", "text", "data", "meta", "entities", "relations", "label", "answer",
            "_annotator_id", "Comments", "comments"}


def line_of(number: int, item: ExportItem) -> dict[str, Any]:
    spans = sorted(item.spans, key=span_order)
    ids = {span.ref: i for i, span in enumerate(spans, start=1)}
    line: dict[str, Any] = {
        "id": number,
        "text": item.document.text,
        "meta": item.document.meta,
        "entities": [
            {"id": ids[s.ref], "label": s.label, "start_offset": s.start, "end_offset": s.end}
            for s in spans
        ],
        "relations": [
            {"id": i, "from_id": ids[head.ref], "to_id": ids[child.ref], "type": label}
            for i, (head, child, label) in enumerate(resolve_refs(spans, item.relations),
                                                     start=1)
        ],
    }
    if item.status is not None:
        line["answer"] = item.status
    if item.annotator is not None:
        line["_annotator_id"] = item.annotator
    return line


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    result = ExportResult(files=1)
    with replacing(out) as fh:
        for item in items:
            result.written += 1
            fh.write(srsly.json_dumps(line_of(result.written, item)) + "\n")
    return result


def read(path: Path) -> Iterator[ImportRecord | InputError]:
    return read_json_records(path, parse_line)


def parse_line(path: Path, number: int, obj: dict[str, Any]) -> ImportRecord:
    text = record_text(obj, "text", "data")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise ValueError(field_error("meta", meta, "an object"))
    extra = {k: v for k, v in obj.items() if k not in OWN_KEYS}
    record = ImportRecord(path=path, line=number, record=None, text=text,
                          meta={**extra, **meta})
    if "answer" in obj:
        record.status = parse_status(obj["answer"])
        record.has_status = True
    annotator = obj.get("_annotator_id")
    if isinstance(annotator, str) and annotator:
        record.annotator = annotator
    if "entities" in obj:
        _read_relation_shape(record, obj)
    elif "label" in obj:
        _read_sequence_shape(record, obj["label"])
    return record


def _read_relation_shape(record: ImportRecord, obj: dict[str, Any]) -> None:
    by_id: dict[Any, tuple[int, int, str]] = {}
    for where, raw in objects_in(obj, "entities"):
        span = raw_span_of(raw, where, record.line, "start_offset", "end_offset")
        if "id" in raw:
            if not _is_id(raw["id"]):
                raise ValueError(f"{where}: entity id {raw['id']!r:.40} is not a number or "
                                 "a string")
            if raw["id"] in by_id:
                raise ValueError(f"{where}: entity id {raw['id']!r} is used twice")
            by_id[raw["id"]] = (span.start, span.end, span.label)
        record.spans.append(span)
    for where, raw in objects_in(obj, "relations"):
        ends = []
        for name in ("from_id", "to_id"):
            if name not in raw:
                raise ValueError(f'{where}: missing field "{name}"')
            if not _is_id(raw[name]) or raw[name] not in by_id:
                raise ValueError(f"{where}: {name} {raw[name]!r} is not the id of any entity "
                                 "(relation to a missing span)")
            ends.append(by_id[raw[name]])
        try:
            label = get_str(raw, "type")
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        record.relations.append(RawRelation(ends[0], ends[1], label, line=record.line,
                                            where=where))


def _is_id(value: object) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _read_sequence_shape(record: ImportRecord, labels: object) -> None:
    if not isinstance(labels, list):
        raise ValueError(field_error("label", labels, "a list of [start, end, label]"))
    for index, raw in enumerate(labels):
        where = f"label[{index}]"
        if isinstance(raw, str):
            raise ValueError(f"{where}: {raw!r} is a text-classification label, not a span; "
                             "only sequence-labelling and relation projects can be imported")
        if (not isinstance(raw, list) or len(raw) != 3
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw[:2])
                or not isinstance(raw[2], str) or not raw[2]):
            raise ValueError(f"{where}: expected [start, end, label], got {raw!r:.60}")
        record.spans.append(RawSpan(raw[0], raw[1], raw[2], line=record.line, where=where))
