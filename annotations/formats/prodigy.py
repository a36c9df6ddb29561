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

Spans may nest and overlap (Prodigy's ``spans.manual`` does the same); a relation's
``head_span``/``child_span`` carry the span's label, which names it among spans at
the same offsets.

On import, character offsets are the truth; ``tokens`` and ``token_*`` are
ignored except to find a relation end given only by ``head``/``child`` (an error
when that token ends several spans: then ``head_span``/``child_span`` must say which).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import srsly

from ..errors import InputError
from ..layer import SpanRef
from ..models import HUMAN
from .base import (
    ExportItem,
    ExportResult,
    ImportRecord,
    Payload,
    RawRelation,
    RawString,
    WriteContext,
    field_error,
    get_int,
    get_str,
    objects_in,
    parse_status,
    raw_span_of,
    read_json_records,
    record_text,
    signed_hash32,
    write_text_batches,
)
from .tokens import token_columns


def task(item: ExportItem) -> dict[str, Any]:
    """The Prodigy task of one document and layer."""
    return srsly.json_loads(line_of(item.payload()))  # type: ignore[no-any-return]


def line_of(payload: Payload) -> str:
    """The JSONL line of one document and layer, newline included: the bytes
    ``srsly.json_dumps`` writes for the task, assembled from pieces because the
    tokens are most of it (about 800 a document), and formatting them straight from
    three lists of numbers is half the time of building a dict per token to dump."""
    text, meta, spans, relations, status, annotator, extractor = payload
    starts, ends, spaces = token_columns(text, [s[0] for s in spans], [s[1] for s in spans])
    # Each span edge is a token edge (token_columns makes it one): its token by bisection,
    # a few dozen lookups rather than a dict of every token's start and end.
    span_dicts: dict[tuple[int, int, str], dict[str, Any]] = {}
    out_spans = []
    for start, end, label, source, state in spans:
        token_start, token_end = bisect_left(starts, start), bisect_left(ends, end)
        if starts[token_start] != start or ends[token_end] != end:
            raise AssertionError(f"span {start}-{end} does not fall on token edges")
        entry: dict[str, Any] = {
            "start": start, "end": end, "token_start": token_start, "token_end": token_end,
            "label": label, "text": text[start:end],
        }
        span_dicts[(start, end, label)] = entry
        if source != HUMAN or state != "confirmed":
            out_spans.append({**entry, "source": source, "state": state})
        else:
            out_spans.append(entry)
    out_relations = []
    for hs, he, hl, cs, ce, cl, label in relations:
        head, child = span_dicts[(hs, he, hl)], span_dicts[(cs, ce, cl)]
        out_relations.append({
            "head": head["token_end"], "child": child["token_end"],
            "head_span": _span_ref(head), "child_span": _span_ref(child), "label": label,
        })
    dumps = srsly.json_dumps
    spans_json, relations_json = dumps(out_spans), dumps(out_relations)
    input_hash = signed_hash32(text)
    task_hash = signed_hash32(str(input_hash), spans_json, relations_json)
    parts = ['{"text":', dumps(text), ',"meta":', dumps(meta), ',"_input_hash":',
             str(input_hash), ',"_task_hash":', str(task_hash), ',"tokens":',
             _tokens_json(text, starts, ends, spaces), ',"spans":', spans_json,
             ',"relations":', relations_json]
    for key, value in (("answer", status), ("_annotator_id", annotator),
                       ("_extractor", extractor)):
        if value is not None:
            parts += [f',"{key}":', dumps(value)]
    parts.append("}\n")
    return "".join(parts)


_ESCAPED = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')
"""A character JSON (as srsly writes it: ASCII only) does not write as itself: a
quote, a backslash, a control character, anything beyond ASCII."""
_NUMBERS: list[str] = []
"""``str(i)`` for the offsets and token ids seen so far (looked up: a list index is a
third of the time of formatting an int, and a line formats three per token)."""
_MAX_CACHED = 1 << 16
"""Offsets past this (in a text of more than about 10,000 words) are formatted each
time: the cache stays under 5 MB."""
_WS = (',"ws":false},{"text":"', ',"ws":true},{"text":"')
"""A token's ``ws`` and the end of its object, with the next one's opening."""


def _numbers(upto: int) -> list[str]:
    """The cache, grown to hold ``upto`` when that is under the limit.  A grown cache is
    a new list, never the old one extended: two threads growing it at once could
    otherwise both append the same numbers, and every later index would be wrong."""
    global _NUMBERS
    numbers = _NUMBERS
    if len(numbers) <= upto <= _MAX_CACHED:
        grown = min(max(upto + 1, 2 * len(numbers)), _MAX_CACHED + 1)
        numbers = numbers + list(map(str, range(len(numbers), grown)))
        _NUMBERS = numbers
    return numbers


def _tokens_json(text: str, starts: list[int], ends: list[int], spaces: list[bool]) -> str:
    """The ``tokens`` list as JSON (``text``, ``start``, ``end``, ``id``, ``ws``).

    Built as one list of pieces, eight a token, filled a column at a time by slice
    assignment (C loops, no Python step per token) and joined once: 35% less time than a
    formatted string per token."""
    count = len(starts)
    if not count:
        return "[]"
    pieces = [text[start:end] for start, end in zip(starts, ends, strict=True)]
    escaped = -1
    for match in _ESCAPED.finditer(text):  # few: newlines, quotes, accented letters
        index = bisect_right(starts, match.start()) - 1
        if index != escaped and index >= 0 and match.start() < ends[index]:
            pieces[index] = srsly.json_dumps(pieces[index])[1:-1]
            escaped = index
    top = max(ends[-1], count)
    numbers = _numbers(top)
    number, ids = ((numbers.__getitem__, numbers[:count]) if top < len(numbers)
                   else (str, map(str, range(count))))
    flat = ['","start":'] * (8 * count)
    flat[0::8] = pieces
    flat[2::8] = map(number, starts)
    flat[3::8] = [',"end":'] * count
    flat[4::8] = map(number, ends)
    flat[5::8] = [',"id":'] * count
    flat[6::8] = ids
    flat[7::8] = map(_WS.__getitem__, spaces)
    # Each token's piece ends with the next one's opening: the last one's is cut off.
    return '[{"text":"' + "".join(flat)[:-len(',{"text":"')] + "]"


def _span_ref(span: dict[str, Any]) -> dict[str, Any]:
    return {k: span[k] for k in ("start", "end", "token_start", "token_end", "label")}


def lines_of(payloads: list[Payload]) -> list[str]:
    """JSONL lines of a batch of items (what a worker process runs)."""
    return [line_of(payload) for payload in payloads]


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    return write_text_batches(items, out, context, lines_of)


def read(path: Path) -> Iterator[ImportRecord | InputError]:
    return read_json_records(path, parse_task)


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
    by_last_token: dict[int, list[tuple[int, int, str]]] = {}
    for where, raw in objects_in(obj, "spans"):
        given = raw.get("text")
        if "start" not in raw and "end" not in raw and isinstance(given, str):
            # A span given as a string (an LLM's answer): placed on the text at import.
            hint = raw.get("hint")
            try:
                label = get_str(raw, "label")
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
            record.strings.append(RawString(given, label, hint if isinstance(hint, int)
                                            else None, line=number, where=where))
            continue
        span = raw_span_of(raw, where, number)
        given = raw.get("text")
        span.text = given if isinstance(given, str) else None
        for name in ("source", "state"):
            value = raw.get(name)
            if isinstance(value, str) and value:
                setattr(span, name, value)
        record.spans.append(span)
        token_end = raw.get("token_end")
        if isinstance(token_end, int):
            by_last_token.setdefault(token_end, []).append((span.start, span.end, span.label))
    for where, raw in objects_in(obj, "relations"):
        try:
            label = get_str(raw, "label")
            head = _relation_end(raw, "head", by_last_token)
            child = _relation_end(raw, "child", by_last_token)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        record.relations.append(RawRelation(head, child, label, line=number, where=where))
    return record


def _relation_end(raw: dict[str, Any], end: str,
                  by_last_token: dict[int, list[tuple[int, int, str]]]) -> SpanRef:
    """The span a relation end names: by ``head_span``/``child_span`` (with its label
    when given, which nested spans need), else by the index of its last token."""
    ref = raw.get(f"{end}_span")
    if isinstance(ref, dict):
        label = ref.get("label")
        offsets = (get_int(ref, "start"), get_int(ref, "end"))
        return (*offsets, label) if isinstance(label, str) and label else offsets
    token = raw.get(end)
    if isinstance(token, int) and not isinstance(token, bool):
        found = by_last_token.get(token, [])
        if len(found) == 1:
            return found[0]
        if found:
            raise ValueError(f"{end} token {token} ends {len(found)} spans; give "
                             f'"{end}_span" to say which')
        raise ValueError(f"{end} token {token} is not the last token of any span "
                         "(relation to a missing span)")
    raise ValueError(f'missing field "{end}_span"')
