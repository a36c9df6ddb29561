"""Prodigy task JSONL: one task per line, the main interchange format.

A line holds ``text``, ``meta``, ``_input_hash``, ``_task_hash``, ``tokens``
(``text``, ``start``, ``end``, ``id``, ``ws``; spaCy tokenisation, cut at span
edges, see ``tokens.py``), ``spans`` (``start``, ``end``, ``token_start``,
``token_end`` inclusive, ``label``, ``text``), ``relations`` (``head`` and
``child`` = the index of the last token of each span, ``head_span``,
``child_span``, ``label``) and ``answer``.  Gold lines carry ``_annotator_id``;
prediction lines carry ``_extractor``.  A span's ``source`` and ``state`` are
written when they differ from a span typed by a person.

What it loses: an open annotation (no status yet) is written without
``answer``, as Prodigy does for unanswered tasks, and comes back with the status
the import is told to give records without one (default ``accept``, like
``prodigy db-in``).  Nothing else: text, meta, spans, relations, annotator and
status round-trip exactly.

On import, character offsets are the truth; ``tokens`` and ``token_*`` are
ignored except to find a relation end given only by ``head``/``child``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import srsly

from ..errors import InputError
from ..models import HUMAN
from .base import (
    ExportItem,
    ExportResult,
    ImportRecord,
    RawRelation,
    RawSpan,
    WriteContext,
    atomic_output,
    field_error,
    get_int,
    get_str,
    iter_json_objects,
    parse_status,
    record_text,
    signed_hash32,
)
from .tokens import tokenize


def task(item: ExportItem) -> dict[str, Any]:
    """The Prodigy task of one document and layer."""
    text = item.document.text
    spans = sorted(item.spans, key=lambda s: s.key)
    tokens = tokenize(text, [s.start for s in spans], [s.end for s in spans])
    first_token = {tok.start: i for i, tok in enumerate(tokens)}
    last_token = {tok.end: i for i, tok in enumerate(tokens)}
    span_dicts: dict[tuple[int, int], dict[str, Any]] = {}
    out_spans = []
    for span in spans:
        entry: dict[str, Any] = {
            "start": span.start, "end": span.end,
            "token_start": first_token[span.start], "token_end": last_token[span.end],
            "label": span.label, "text": text[span.start:span.end],
        }
        span_dicts[span.key] = entry
        extra = {}
        if span.source != HUMAN or span.state != "confirmed":
            extra = {"source": span.source, "state": span.state}
        out_spans.append({**entry, **extra})
    relations = []
    for rel in item.relations:
        head, child = span_dicts[rel.head], span_dicts[rel.child]
        relations.append({
            "head": head["token_end"], "child": child["token_end"],
            "head_span": _span_ref(head), "child_span": _span_ref(child), "label": rel.label,
        })
    input_hash = signed_hash32(text)
    line: dict[str, Any] = {
        "text": text,
        "meta": item.document.meta,
        "_input_hash": input_hash,
        "_task_hash": signed_hash32(
            str(input_hash), srsly.json_dumps(out_spans), srsly.json_dumps(relations)),
        "tokens": [
            {"text": text[tok.start:tok.end], "start": tok.start, "end": tok.end, "id": i,
             "ws": tok.ws}
            for i, tok in enumerate(tokens)
        ],
        "spans": out_spans,
        "relations": relations,
    }
    if item.status is not None:
        line["answer"] = item.status
    if item.annotator is not None:
        line["_annotator_id"] = item.annotator
    if item.extractor is not None:
        line["_extractor"] = item.extractor
    return line


def _span_ref(span: dict[str, Any]) -> dict[str, Any]:
    return {k: span[k] for k in ("start", "end", "token_start", "token_end", "label")}


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    result = ExportResult(files=1)

    def lines() -> Iterator[dict[str, Any]]:
        for item in items:
            result.written += 1
            yield task(item)

    with atomic_output(out) as fh:
        for line in lines():
            fh.write(srsly.json_dumps(line) + "\n")
    return result


def read(path: Path) -> Iterator[ImportRecord | InputError]:
    for number, obj in iter_json_objects(path):
        if isinstance(obj, InputError):
            yield obj
            continue
        try:
            yield parse_task(path, number, obj)
        except ValueError as err:
            yield InputError(path, str(err), line=number)


def parse_task(path: Path, number: int, obj: dict[str, Any]) -> ImportRecord:
    text = record_text(obj, "text")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise ValueError(field_error("meta", meta, "an object"))
    record = ImportRecord(path=path, line=number, record=None, text=text, meta=dict(meta))
    if "answer" in obj:
        record.status = parse_status(obj["answer"])
        record.has_status = True
    annotator = obj.get("_annotator_id")
    if isinstance(annotator, str) and annotator:
        record.annotator = annotator
    spans = obj.get("spans", [])
    if not isinstance(spans, list):
        raise ValueError(field_error("spans", spans, "a list"))
    by_last_token: dict[int, tuple[int, int]] = {}
    for index, raw in enumerate(spans):
        where = f"spans[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected an object")
        try:
            span = RawSpan(start=get_int(raw, "start"), end=get_int(raw, "end"),
                           label=get_str(raw, "label"), where=where, line=number)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        given = raw.get("text")
        span.text = given if isinstance(given, str) else None
        for name in ("source", "state"):
            value = raw.get(name)
            if isinstance(value, str) and value:
                setattr(span, name, value)
        record.spans.append(span)
        token_end = raw.get("token_end")
        if isinstance(token_end, int):
            by_last_token[token_end] = (span.start, span.end)
    relations = obj.get("relations", [])
    if not isinstance(relations, list):
        raise ValueError(field_error("relations", relations, "a list"))
    for index, raw in enumerate(relations):
        where = f"relations[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected an object")
        try:
            label = get_str(raw, "label")
            head = _relation_end(raw, "head", by_last_token)
            child = _relation_end(raw, "child", by_last_token)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        record.relations.append(RawRelation(head, child, label, line=number, where=where))
    return record


def _relation_end(raw: dict[str, Any], end: str, by_last_token: dict[int, tuple[int, int]]
                  ) -> tuple[int, int]:
    ref = raw.get(f"{end}_span")
    if isinstance(ref, dict):
        return (get_int(ref, "start"), get_int(ref, "end"))
    token = raw.get(end)
    if isinstance(token, int) and not isinstance(token, bool):
        if token in by_last_token:
            return by_last_token[token]
        raise ValueError(f"{end} token {token} is not the last token of any span "
                         "(relation to a missing span)")
    raise ValueError(f'missing field "{end}_span"')
