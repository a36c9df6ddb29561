"""Label Studio JSON: the task list a Text + Labels (+ Relations) project exports.

Export writes one JSON array, one task per document::

    {"id": 1, "data": {"text": "...", "meta": {...}},
     "annotations": [{"id": 1, "completed_by": {"id": 1, "email": "ANNOTATOR"},
                      "was_cancelled": false, "answer": "accept",
                      "result": [RESULTS]}],
     "predictions": [{"id": 2, "model_version": "EXTRACTOR", "result": [RESULTS]}]}

with a ``labels`` result per span (``{"id": "s1", "from_name": "label", "to_name":
"text", "type": "labels", "origin": "manual", "value": {"start", "end", "text",
"labels": [LABEL]}}``) and a ``relation`` result per relation (``{"type": "relation",
"from_id": "s1", "to_id": "s2", "direction": "right", "labels": [LABEL]}``).  Offsets
are code points, as Label Studio has stored them since 2021 (a span whose offsets
count UTF-16 code units, as older exports do after an emoji, is read by its
``text`` and reported as a warning).  Every annotator's
layer of a document is one entry of its ``annotations``, every extractor's one
entry of its ``predictions``.  Beside ``NAME.json`` goes ``NAME.label_config.xml``,
the labeling config (``Text``, ``Labels`` with the scheme's colours, ``Relations``)
to paste into a new project's Labeling Interface, so that Label Studio shows
the imported tasks at once.

Import reads such exports (a JSON array of tasks, or one task), older ones with
``completions`` in place of ``annotations``, and task lists written by hand
(``data.text`` and ``predictions`` only, as for pre-annotation).  Each annotation
becomes gold under its annotator (``completed_by``: the ``email`` of an object, or
``label-studio-user-N`` for a user id; ``--annotator`` overrides it); a skipped
(cancelled) annotation comes back with status ``ignore``.  Each prediction becomes
the prediction of the extractor its ``model_version`` names (``label-studio`` when it
has none), in the same transaction.  With ``--as-predictions --extractor NAME`` every
layer of the file is NAME's instead, so a task with more than one layer is an error
naming it (``--as-gold`` keeps each under its own name).  A result with several
labels is one span per label.  The text is ``data.text`` (or the one string field
of ``data``); the other fields of ``data`` go into the document's meta.  Results other
than ``labels`` and ``relation`` (choices, text areas, ratings, HyperText ranges) are
reported as warnings and left out, and so is a relation without a label.  Every
other problem is an error naming the task and the result; nothing is stored then.

What it loses: an open annotation comes back with the import's default status
(``answer`` is not Label Studio's own key: Label Studio keeps it as it is, and
without it a decided annotation that was not skipped comes back as ``accept``); a
span's source and state are kept in a ``provenance`` key of the result, which
Label Studio keeps but does not show.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import srsly

from ..errors import InputError
from ..models import HUMAN
from ..names import css_colour, label_colours
from ..output import replacing, write_text
from .base import (
    ExportItem,
    ExportResult,
    ImportRecord,
    RawRelation,
    RawSpan,
    WriteContext,
    parse_status,
)

FROM_NAME = "label"
TO_NAME = "text"
RELATION_TYPES = ("relation",)
DEFAULT_EXTRACTOR = "label-studio"
"""The extractor of a prediction without ``model_version``."""
ORIGINS = {("confirmed", True): "manual", ("confirmed", False): "prediction",
           ("changed", False): "prediction-changed", ("changed", True): "prediction-changed",
           ("suggested", False): "prediction", ("suggested", True): "prediction"}


def config_path(out: Path) -> Path:
    """The labeling config written beside ``out``."""
    return out.with_name(out.stem + ".label_config.xml")


def label_config(entities: Iterable[tuple[str, str]], relations: Iterable[str]) -> str:
    """A labeling config for a Text + Labels + Relations project (entity labels with
    their ``#rrggbb`` colours)."""
    lines = ["<View>"]
    relations = list(relations)
    if relations:
        lines.append("  <Relations>")
        lines += [f"    <Relation value={quoteattr(name)}/>" for name in relations]
        lines.append("  </Relations>")
    lines.append(f'  <Labels name="{FROM_NAME}" toName="{TO_NAME}">')
    lines += [f"    <Label value={quoteattr(name)} background={quoteattr(colour)}/>"
              for name, colour in entities]
    lines += ["  </Labels>", f'  <Text name="{TO_NAME}" value="$text"/>', "</View>", ""]
    return "\n".join(lines)


class _TaskWriter:
    """Builds tasks from export items, one document's layers into one task."""

    def __init__(self) -> None:
        self.task_id = 0
        self.layer_id = 0
        self.users: dict[str, int] = {}
        self.entity_labels: dict[str, None] = {}
        self.relation_labels: dict[str, None] = {}

    def task(self, items: list[ExportItem]) -> dict[str, Any]:
        self.task_id += 1
        document = items[0].document
        annotations, predictions = [], []
        for item in items:
            self.layer_id += 1
            result = self.results(item)
            if item.extractor is not None:
                predictions.append({"id": self.layer_id, "model_version": item.extractor,
                                    "result": result})
                continue
            annotator = item.annotator or "default"
            user = self.users.setdefault(annotator, len(self.users) + 1)
            annotation: dict[str, Any] = {
                "id": self.layer_id, "completed_by": {"id": user, "email": annotator},
                "was_cancelled": item.status == "ignore", "result": result}
            if item.status is not None:
                annotation["answer"] = item.status
            annotations.append(annotation)
        return {"id": self.task_id, "data": {"text": document.text, "meta": document.meta},
                "annotations": annotations, "predictions": predictions}

    def results(self, item: ExportItem) -> list[dict[str, Any]]:
        text, _, spans, relations, *_ = item.payload()
        out: list[dict[str, Any]] = []
        ids: dict[tuple[int, int, str], str] = {}
        for start, end, label, source, state in spans:
            ids[(start, end, label)] = rid = f"s{len(ids) + 1}"
            self.entity_labels.setdefault(label)
            result: dict[str, Any] = {
                "id": rid, "from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels",
                "origin": ORIGINS.get((state, source == HUMAN), "manual"),
                "value": {"start": start, "end": end, "text": text[start:end],
                          "labels": [label]}}
            if source != HUMAN or state != "confirmed":
                result["provenance"] = {"source": source, "state": state}
            out.append(result)
        for hs, he, hl, cs, ce, cl, label in relations:
            self.relation_labels.setdefault(label)
            out.append({"from_id": ids[(hs, he, hl)], "to_id": ids[(cs, ce, cl)],
                        "type": "relation", "direction": "right", "labels": [label]})
        return out


def _by_document(items: Iterable[ExportItem]) -> Iterator[list[ExportItem]]:
    """Consecutive items of one document together (the store yields them so)."""
    group: list[ExportItem] = []
    for item in items:
        if group and group[0].document.id != item.document.id:
            yield group
            group = []
        group.append(item)
    if group:
        yield group


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    result = ExportResult(files=2)
    writer = _TaskWriter()
    with replacing(out) as fh:
        fh.write("[")
        for number, group in enumerate(_by_document(items)):
            result.written += len(group)
            fh.write(("\n" if number == 0 else ",\n") + srsly.json_dumps(writer.task(group)))
        fh.write("\n]\n")
    colours = label_colours(context.scheme)
    entities = list(context.scheme.entity_names)
    entities += [name for name in writer.entity_labels if name not in colours]
    relations = list(context.scheme.relation_names)
    relations += [name for name in writer.relation_labels if name not in relations]
    write_text(config_path(out), label_config(
        [(name, css_colour(colours.get(name))) for name in entities], relations))
    return result


# -- import --------------------------------------------------------------------


def read(path: Path) -> Iterator[ImportRecord | InputError]:
    try:
        data = srsly.read_json(path)
    except (ValueError, UnicodeDecodeError) as err:
        yield InputError(path, f"not a Label Studio JSON export (invalid JSON: {err})")
        return
    except OSError as err:
        yield InputError(path, f"cannot read: {err.strerror}")
        return
    tasks = data if isinstance(data, list) else [data]
    if not tasks:
        yield InputError(path, "no tasks: an empty Label Studio export")
    for index, task in enumerate(tasks):
        if not isinstance(task, dict):
            yield InputError(path, f"expected a task object, got {type(task).__name__}",
                             record=f"task {index}")
            continue
        name = f"task {index}" + (f" (id {task['id']})" if _is_id(task.get("id")) else "")
        try:
            yield from _task_records(path, name, task)
        except ValueError as err:
            yield InputError(path, str(err), record=name)


def _is_id(value: object) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _text_and_meta(task: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = task.get("data")
    if not isinstance(data, dict):
        raise ValueError('missing "data" object (the task\'s data, with its "text")')
    if "text" in data:
        key = "text"
    else:
        strings = [k for k, v in data.items() if isinstance(v, str)]
        if len(strings) != 1:
            raise ValueError('"data" has no "text" field' + (
                f" and {len(strings)} string fields ({', '.join(strings)[:80]}); cannot tell "
                "which is the text" if strings else ""))
        key = strings[0]
    text = data[key]
    if not isinstance(text, str):
        raise ValueError(f'"data.{key}" must be a string, not {type(text).__name__}')
    meta = data.get("meta")
    meta = dict(meta) if isinstance(meta, dict) and key != "meta" else {}
    meta.update({k: v for k, v in data.items() if k not in (key, "meta")})
    return text, meta


def _task_records(path: Path, name: str, task: dict[str, Any]
                  ) -> Iterator[ImportRecord | InputError]:
    """A record per annotation and per prediction of one task; an error for each
    layer that cannot be read (the others are still read, so every problem shows)."""
    text, meta = _text_and_meta(task)
    key = "annotations" if "annotations" in task else "completions"
    for kind in (key, "predictions"):
        layers = task.get(kind, [])
        if not isinstance(layers, list):
            raise ValueError(f'"{kind}" must be a list, not {type(layers).__name__}')
        for number, layer in enumerate(layers):
            where = f"{name}, {kind}[{number}]"
            if not isinstance(layer, dict):
                yield InputError(path, "expected an object", record=where)
                continue
            record = ImportRecord(path=path, line=None, record=where, text=text,
                                  meta=dict(meta))
            try:
                if kind == "predictions":
                    version = layer.get("model_version")
                    record.extractor = (str(version).strip() if _is_id(version)
                                        and str(version).strip() else DEFAULT_EXTRACTOR)
                else:
                    _annotation_fields(record, layer)
                _results(record, layer.get("result", []))
            except ValueError as err:
                yield InputError(path, str(err), record=where)
                continue
            yield record


def _annotation_fields(record: ImportRecord, layer: dict[str, Any]) -> None:
    who = layer.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("username") or who.get("id")
    if isinstance(who, str) and who.strip():
        record.annotator = who
    elif isinstance(who, int) and not isinstance(who, bool):
        record.annotator = f"label-studio-user-{who}"
    if "answer" in layer:
        record.status = parse_status(layer["answer"])
        record.has_status = True
    elif layer.get("was_cancelled") is True:
        record.status, record.has_status = "ignore", True


def _results(record: ImportRecord, results: object) -> None:
    if not isinstance(results, list):
        raise ValueError(f'"result" must be a list, not {type(results).__name__}')
    by_id: dict[str, list[tuple[int, int, str]]] = {}
    relations: list[tuple[str, dict[str, Any]]] = []
    for index, result in enumerate(results):
        where = f"result[{index}]"
        if not isinstance(result, dict):
            raise ValueError(f"{where}: expected an object")
        kind = result.get("type")
        if kind in RELATION_TYPES:
            relations.append((where, result))
            continue
        if kind != "labels":
            record.warnings.append(record.error(
                f"a {kind!r:.40} result is not a span or a relation; left out",
                where=_join(record.record, where)))
            continue
        for span in _spans_of(record, where, result):
            record.spans.append(span)
            if _is_id(result.get("id")):
                by_id.setdefault(str(result["id"]), []).append((span.start, span.end,
                                                                span.label))
    for where, result in relations:
        _relation(record, where, result, by_id)


def _spans_of(record: ImportRecord, where: str, result: dict[str, Any]) -> list[RawSpan]:
    value = result.get("value")
    if not isinstance(value, dict):
        raise ValueError(f'{where}: missing "value" object')
    offsets = []
    for key in ("start", "end"):
        number = value.get(key)
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f'{where}: "value.{key}" must be an integer, not {number!r:.40}'
                             + (" (a HyperText range: only plain Text offsets are supported)"
                                if isinstance(number, str) else ""))
        offsets.append(number)
    labels = value.get("labels")
    if not isinstance(labels, list) or not labels or not all(
            isinstance(label, str) and label for label in labels):
        raise ValueError(f'{where}: "value.labels" must be a list of label names, not '
                         f"{labels!r:.60}")
    given = value.get("text")
    if isinstance(given, str) and record.text[offsets[0]:offsets[1]] != given:
        moved = _from_utf16(record.text, offsets[0], offsets[1])
        if moved is not None and record.text[moved[0]:moved[1]] == given:
            record.warnings.append(record.error(
                f"offsets {offsets[0]}-{offsets[1]} count UTF-16 code units (as Label Studio "
                f"did before 2021); read as {moved[0]}-{moved[1]}",
                where=_join(record.record, where)))
            offsets = list(moved)
    source = state = None
    provenance = result.get("provenance")
    if isinstance(provenance, dict):
        source = provenance.get("source") if isinstance(provenance.get("source"), str) else None
        state = provenance.get("state") if isinstance(provenance.get("state"), str) else None
    return [RawSpan(offsets[0], offsets[1], label, text=given if isinstance(given, str) else None,
                    source=source, state=state, where=where)
            for label in labels]


def _from_utf16(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Code point offsets of UTF-16 offsets into ``text`` (None when they split a
    character or fall outside; the same when the text has nothing beyond the BMP)."""
    if text.isascii() or max(text) <= "\uffff":
        return None
    position, found = 0, {}
    for index, char in enumerate(text):
        found[position] = index
        position += 2 if char > "\uffff" else 1
    found[position] = len(text)
    if start not in found or end not in found:
        return None
    return found[start], found[end]


def _relation(record: ImportRecord, where: str, result: dict[str, Any],
              by_id: dict[str, list[tuple[int, int, str]]]) -> None:
    labels = result.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
        raise ValueError(f'{where}: "labels" must be a list of relation label names, not '
                         f"{labels!r:.60}")
    if not labels:
        record.warnings.append(record.error(
            "a relation without a label cannot be stored; left out",
            where=_join(record.record, where)))
        return
    ends = []
    for key in ("from_id", "to_id"):
        ident = result.get(key)
        found = by_id.get(str(ident), []) if _is_id(ident) else []
        if not found:
            raise ValueError(f"{where}: {key} {ident!r:.40} is not the id of a labels result "
                             "of this annotation (relation to a missing span)")
        if len(found) > 1:
            raise ValueError(f"{where}: {key} {ident!r:.40} names a result with "
                             f"{len(found)} labels ({', '.join(f[2] for f in found)}); a "
                             "relation must join single spans")
        ends.append(found[0])
    head, child = ends
    if result.get("direction") == "left":
        head, child = child, head
    for label in labels:
        record.relations.append(RawRelation(head, child, label, where=where))


def _join(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return ", ".join(kept) if kept else None


def looks_like(path: Path) -> bool:
    """True if ``path`` holds one JSON document (an array, or an object over several
    lines), as Label Studio exports, rather than JSON Lines."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return False
    return head.startswith(b"[")
