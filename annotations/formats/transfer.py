"""Import and export drivers: files in any registered format to and from the gold store.

Import reads the whole input first, checking every record (offsets, span text,
overlaps, relation ends, labels, and for predictions that the text is in the
store), and collects every problem.  Only if there is none does it write, in one
store transaction, so a failed import changes nothing.  Records are read one at a
time, and each checked layer is kept as the record the store will write (its JSON
text, ``GoldStore.prepare_record``), so an import holds about what it will store.

Overlapping spans are kept where the store's label scheme allows them
(``LabelScheme.overlapping``, or ``overlapping=True`` to switch it on), and in
predictions always; in a flat store they are refused, naming both spans.  A store
whose scheme has no entity labels yet adopts the labels of its first gold import
(brat's ``annotation.conf`` when the input has one, else the labels in the data),
and allows overlapping spans when that data has them; the summary says what it
adopted.  Relations are stored naming their spans by (start, end, label) in an
overlapping layer, by (start, end) in a flat one (as stores always did).  A span
that starts or ends in whitespace is reported as a warning, or trimmed with
``strip_spans``.

Export walks the store one document at a time and hands each item to the
format's writer, which writes it out at once: memory does not grow with the
number of documents (beyond the store itself, which holds everything).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import srsly

from ..edges import padded, trimmed
from ..errors import InputError, InputErrors, NotFoundError, RecordRefusedError
from ..gc_pause import gc_paused
from ..gold import iter_gold_records
from ..grounding import StringSpan, align_strings
from ..layer import SpanRef, is_flat, resolve_refs, span_order
from ..models import (
    HUMAN,
    LENIENT,
    SPAN_STATES,
    Annotation,
    Document,
    LabelScheme,
    Prediction,
    Relation,
    Span,
    Status,
    document_id,
    named_by,
    normalise_newlines,
    utc_now,
)
from ..names import label_problem, name_problem
from ..output import replacing_folder
from ..store import DEFAULT_ANNOTATOR, GoldStore, PreparedLayer
from . import FORMATS, InterchangeFormat, brat, conll, detect_format, get_format
from .base import (
    DocumentItems,
    ExportItem,
    ExportResult,
    ImportRecord,
    RawSpan,
    WriteContext,
    check_scheme,
)

PARALLEL_FROM = 2000
StatusFilter = Literal["accept", "reject", "ignore", "open", "all"]


@dataclass
class ImportSummary:
    format: str
    records: int = 0
    documents_added: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    """Layers identical to what the store already held (left as they were)."""
    warnings: list[InputError] = field(default_factory=list)
    adopted: str | None = None
    """What a store without labels took from this import (its label scheme), if anything."""
    predictions: list[int] = field(default_factory=lambda: [0, 0, 0])
    """In a gold import, the layers a file gave as an extractor's (Label Studio's
    ``predictions``), stored as predictions: added, updated, skipped."""
    extractors: list[str] = field(default_factory=list)
    """The extractors of those predictions."""


# -- export --------------------------------------------------------------------


def iter_export_items(
    store: GoldStore,
    *,
    status: StatusFilter = "accept",
    annotator: str | None = None,
    extractor: str | None = None,
) -> DocumentItems:
    """Annotations (or one extractor's predictions) in document order, one at a time,
    each checked again on the way out (:meth:`ExportItem.check`).  Worker processes
    forked for the export read their own batches of documents from this store (see
    :class:`~annotations.formats.base.DocumentItems`).

    With ``status="accept"``, a document's gold: its adjudicated annotation where there
    is one (see :mod:`annotations.gold`), else every accepted annotation."""
    if extractor is not None and extractor not in store.extractors():
        known = ", ".join(store.extractors()) or "none"
        raise NotFoundError(f"no predictions by extractor {extractor!r} (known: {known})")

    def read(doc_ids: list[str] | None) -> Iterator[ExportItem]:
        return (item.check() for item in _export_items(
            store, status=status, annotator=annotator, extractor=extractor, doc_ids=doc_ids))

    return DocumentItems(store.document_ids(), read)


def _export_items(
    store: GoldStore,
    *,
    status: StatusFilter,
    annotator: str | None,
    extractor: str | None,
    doc_ids: list[str] | None,
) -> Iterator[ExportItem]:
    if extractor is not None:
        for doc_id in store.document_ids() if doc_ids is None else doc_ids:
            record = store.prediction_record(doc_id, extractor)
            if record is not None:
                yield _stored_item(store, doc_id, "predictions", record)
        return
    if status == "accept":
        # The gold of each document, one document at a time: its adjudicated
        # annotation where there is one.
        for doc_id, records in iter_gold_records(store, annotator, doc_ids):
            for record in records:
                yield _stored_item(store, doc_id, "annotations", record)
        return
    for record in store.annotation_records(annotator=annotator, doc_ids=doc_ids):
        if status != "all" and (record.get("status") or "open") != status:
            continue
        yield _stored_item(store, record["doc_id"], "annotations", record)


def _stored_item(store: GoldStore, doc_id: str, table: str, record: dict[str, Any]
                 ) -> ExportItem:
    """The export item of a stored layer ``record`` over document ``doc_id``: built
    from the records as they are where they plainly have the models' shape (the usual
    case, and most of an export's time otherwise), else from the models, which report
    a damaged record as such."""
    document = store.document_record(doc_id)
    if store.plain("documents", document) and store.plain(table, record):
        meta = document.get("meta", {})
        if table == "predictions":
            return ExportItem.of_records(document, record, meta=meta,
                                         extractor=record["extractor"])
        if record.get("notes"):  # the annotator's notes travel in the document's meta
            meta = {**meta, "notes": record["notes"]}
        return ExportItem.of_records(document, record, meta=meta, status=record.get("status"),
                                     annotator=record.get("annotator", _ANNOTATOR))
    if table == "predictions":
        pred = store.prediction_of(record)
        return ExportItem(store.document(doc_id), pred.spans, pred.relations,
                          extractor=pred.extractor)
    return _annotation_item(store.document(doc_id), store.annotation_of(record))


_ANNOTATOR: str = Annotation.model_fields["annotator"].default


def _annotation_item(document: Document, ann: Annotation) -> ExportItem:
    shown = document
    if ann.notes:  # the annotator's notes travel in the document's meta
        shown = document.model_copy(update={"meta": {**document.meta, "notes": ann.notes}})
    return ExportItem(shown, ann.spans, ann.relations, status=ann.status,
                      annotator=ann.annotator)


def export_layers(
    store: GoldStore,
    out: Path,
    *,
    format_name: str = "prodigy",
    status: StatusFilter = "accept",
    annotator: str | None = None,
    extractor: str | None = None,
    shard_size: int = 1000,
    workers: int | None = None,
    flat_only: bool = False,
) -> ExportResult:
    """Write the chosen layers of ``store`` to ``out`` in ``format_name``.

    ``workers``: processes that tokenise and serialise in parallel for the
    token-based formats (Prodigy, CoNLL, spaCy); by default one per CPU (at most
    two) for stores of at least ``PARALLEL_FROM`` documents, where starting them
    pays off, else none.  ``flat_only``: a format of flat layers only (CoNLL) writes
    the outermost spans of an overlapping layer, naming the others in warnings,
    instead of refusing it (:class:`~annotations.errors.FormatError`).
    """
    fmt = get_format(format_name)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if len(store) >= PARALLEL_FROM else 1
    items = iter_export_items(store, status=status, annotator=annotator, extractor=extractor)
    edges = conll.layer_edges(store) if fmt.name == "conll" else None  # shared tokens
    context = WriteContext(scheme=check_scheme(store.labels), shard_size=shard_size,
                           workers=workers, flat_only=flat_only, token_edges=edges)
    if writes_folder(fmt, out):
        # Into a temporary folder, moved into place once every file is written: a
        # failure (a full disk, a refused record) leaves no partial folder.
        with replacing_folder(out) as folder:
            return fmt.write(items, folder, context)
    return fmt.write(items, out, context)


def needs_predictions(format_name: str, extractor: str | None) -> bool:
    """Whether :func:`export_layers` reads the store's predictions: to export an
    extractor's, and for CoNLL, whose tokens every layer of a document shares (see
    :func:`~annotations.formats.conll.layer_edges`).  A store opened for any other export
    need not read them (``GoldStore(..., predictions=False)``)."""
    return extractor is not None or get_format(format_name).name == "conll"


def writes_folder(fmt: InterchangeFormat, out: Path) -> bool:
    """Whether ``fmt`` writes a folder at ``out`` (brat; spaCy unless ``out`` ends in
    ``.spacy``) rather than one file."""
    return fmt.writes_folder or (fmt.name == "spacy" and out.suffix != ".spacy")


# -- import --------------------------------------------------------------------


def import_layers(
    store: GoldStore,
    paths: Path | Sequence[Path],
    *,
    format_name: str | None = None,
    as_predictions: bool = False,
    annotator: str | None = None,
    extractor: str | None = None,
    add_labels: bool = False,
    default_status: Status | None = "accept",
    overlapping: bool = False,
    strip_spans: bool = False,
) -> ImportSummary:
    """Import gold annotations (or one extractor's predictions) from files or folders.

    Every file is read and checked before anything is stored, and then everything
    is stored in one transaction.  Raises :class:`InputErrors` listing every
    problem, having stored nothing.  ``overlapping``: switch the store's label scheme
    to overlapping spans (kept for good).  ``strip_spans``: trim whitespace at the
    edges of spans instead of warning about it.
    """
    if as_predictions and not extractor:
        raise ValueError("predictions need an extractor name, e.g. my-llm@2026-11")
    paths = [paths] if isinstance(paths, Path) else list(paths)
    with gc_paused():
        return _import(store, paths, format_name=format_name, as_predictions=as_predictions,
                       annotator=annotator, extractor=extractor, add_labels=add_labels,
                       default_status=default_status, overlapping=overlapping,
                       strip_spans=strip_spans)


def _import(store: GoldStore, paths: list[Path], *, format_name: str | None,
            as_predictions: bool, annotator: str | None, extractor: str | None,
            add_labels: bool, default_status: Status | None, overlapping: bool,
            strip_spans: bool) -> ImportSummary:
    checker = _RecordChecker(store, as_predictions=as_predictions, annotator=annotator,
                             extractor=extractor, add_labels=add_labels,
                             default_status=default_status, overlapping=overlapping,
                             strip_spans=strip_spans)
    declared: tuple[list[str], list[str], Path] | None = None
    summary = ImportSummary(format="")
    errors: list[InputError] = []
    names: list[str] = []
    for path in paths:
        try:
            fmt: InterchangeFormat = (get_format(format_name) if format_name
                                      else detect_format(path))
        except InputError as err:
            errors.append(err)
            continue
        if not path.exists():
            errors.append(InputError(path, "no such file or folder"))
            continue
        if fmt.name not in names:
            names.append(fmt.name)
        if declared is None and checker.adopting and fmt.name == "brat":
            declared = brat.declared_labels(path)
        for item in fmt.read(path):
            if isinstance(item, InputError):
                errors.append(item)
                continue
            summary.records += 1
            errors.extend(checker.check(item))
            summary.warnings.extend(item.warnings)  # after check: grounding adds some
    if errors:
        raise InputErrors(errors)
    summary.format = ", ".join(names)
    summary.documents_added = len(checker.new_documents)
    summary.added, summary.updated, summary.skipped = checker.counts
    summary.predictions = checker.prediction_counts
    summary.extractors = sorted(checker.extractors)
    if as_predictions:
        if checker.prepared:
            store.save_prepared(checker.prepared, entity_names=checker.entity_names,
                                relation_names=checker.relation_names, add_labels=add_labels)
        return summary
    scheme = store.labels
    labels: LabelScheme | None = None
    if checker.adopting and checker.annotations:
        labels, summary.adopted = _adopt(scheme, checker, declared)
        if labels.overlapping and not checker.labelled:
            checker.name_relations_by_label()
    elif overlapping and not scheme.overlapping:
        labels = scheme.model_copy(update={"overlapping": True})
    # Layers the file gave as an extractor's (Label Studio's predictions) go in the
    # same transaction.
    if checker.prepared or checker.new_documents or labels:
        store.save_prepared(checker.prepared, documents=list(checker.new_documents.values()),
                            labels=labels, entity_names=checker.entity_names,
                            relation_names=checker.relation_names,
                            add_labels=add_labels and not checker.adopting)
    return summary


def _adopt(scheme: LabelScheme, checker: _RecordChecker,
           declared: tuple[list[str], list[str], Path] | None) -> tuple[LabelScheme, str]:
    """The label scheme a store without labels takes from its first gold import, and
    a sentence saying what it took."""
    in_data = sorted(checker.entity_names)
    relations_in_data = sorted(checker.relation_names)
    entities, relations, source = in_data, relations_in_data, "the labels in the data"
    if declared is not None:
        # A name the label rule refuses is left out (the data's own labels were checked).
        conf_entities = [n for n in declared[0] if not _label_problem(n)]
        conf_relations = [n for n in declared[1] if not _label_problem(n)]
        entities = conf_entities + [n for n in in_data if n not in conf_entities]
        relations = conf_relations + [n for n in relations_in_data if n not in conf_relations]
        source = f"{declared[2]}"
    overlapping = scheme.overlapping or checker.overlapping_asked or checker.any_overlap
    adopted = scheme.model_copy(update={"overlapping": overlapping}).with_entities(
        entities).with_relations(relations)
    if declared is not None:  # brat's argument types and symmetric-transitive
        adopted = brat.with_declared_relations(adopted, declared[2])
    said = (f"the store had no label scheme: it adopted {len(entities)} entity label(s) "
            f"({', '.join(entities)}) and {len(relations)} relation label(s)"
            + (f" ({', '.join(relations)})" if relations else "") + f" from {source}")
    if overlapping:
        said += "; its layers may hold nested and overlapping spans" + (
            " (the data has them)" if checker.any_overlap else "")
    return adopted, said


class _RecordChecker:
    """Checks records one at a time and keeps the layers that passed, each as the
    record the store will write (:meth:`GoldStore.prepare_record`): an import holds
    about the bytes it will store, not every layer's model."""

    def __init__(self, store: GoldStore, *, as_predictions: bool, annotator: str | None,
                 extractor: str | None, add_labels: bool, default_status: Status | None,
                 overlapping: bool = False, strip_spans: bool = False) -> None:
        self.store = store
        self.as_predictions = as_predictions
        self.annotator = annotator
        self.extractor = extractor
        scheme = store.labels
        # A store without entity labels takes its scheme from its first gold import.
        self.adopting = not as_predictions and not scheme.entities
        self.add_labels = add_labels or self.adopting
        self.default_status = default_status
        self.overlapping_asked = overlapping
        self.allow_overlap = (as_predictions or overlapping or scheme.overlapping
                              or self.adopting)
        self.any_overlap = False
        self.strip_spans = strip_spans
        self.entity_labels = set(scheme.entity_names)
        self.relation_labels = set(scheme.relation_names)
        self.new_documents: dict[str, Document] = {}
        self.prepared: list[PreparedLayer] = []
        self.annotations = 0  # of the prepared layers, annotations
        self.entity_names: set[str] = set()  # the labels of the prepared layers
        self.relation_names: set[str] = set()
        self.extractors: set[str] = set()  # of the prepared predictions
        # Whether annotations' relations name their spans with labels (an overlapping
        # layer): known at the start unless the store adopts its scheme from this import
        # (overlapping if the data has overlaps), when the few layers with relations are
        # named again at the end (``relational``: where they are in ``prepared``).
        self.labelled = scheme.overlapping or overlapping
        self.relational: list[int] = []
        self.counts = [0, 0, 0]  # added, updated, skipped
        self.prediction_counts = [0, 0, 0]  # of a gold import's predictions (record.extractor)
        self._seen: dict[tuple[str, str], str] = {}
        self._by_squeezed: dict[str, list[str]] | None = None

    def check(self, record: ImportRecord) -> list[InputError]:
        errors = _check_offsets(record) + _check_values(record)
        if not record.text.strip():
            errors.append(record.error("empty text"))
        if errors:
            return errors
        errors = self._padded(record)
        if errors:
            return errors
        if "\r" in record.text:
            _remap(record, normalise_newlines(record.text), _newline_map(record.text))
        if record.loose_whitespace:
            error = self._align_to_store(record)
            if error:
                return [error]
        doc_id = document_id(normalise_newlines(record.text))  # as Document.from_text
        stored = self.store.has_document(doc_id)
        # A record the file gives as an extractor's is a prediction in a gold import too.
        predicted = self.as_predictions or record.extractor is not None
        if self.as_predictions and not stored:
            return [record.error("no stored document has this text (a prediction must be "
                                 "for a stored document; import the articles first)")]
        meta: dict[str, Any] = {}
        if record.strings:
            if not self.as_predictions:
                return [record.error(
                    f"{len(record.strings)} span(s) given as text without offsets (first: "
                    f"{record.strings[0].where}); gold needs offsets, string-only spans are "
                    "accepted with --as-predictions")]
            meta["grounding"] = _ground(record)
        spans, errors = self._spans(record, predicted)
        relations, relation_errors = _relations(record, spans)
        errors += relation_errors
        if not self.add_labels:
            errors += self._unknown_labels(record, spans, relations)
        who = (self.extractor if self.as_predictions else record.extractor if predicted
               else self.annotator or record.annotator or DEFAULT_ANNOTATOR)
        assert who is not None
        first = self._seen.get((doc_id, who))
        if first is not None:
            errors.append(record.error(f"the same text for {who!r} was already given at "
                                       f"{first}; give each document once"))
        if errors:
            return errors
        self._seen[(doc_id, who)] = _place(record)
        if not stored and doc_id not in self.new_documents:
            self.new_documents[doc_id] = Document.from_text(record.text, record.meta)
        if predicted:
            kept = self._keep_prediction(doc_id, who, spans, relations, meta)
        else:
            status = record.status if record.has_status else self.default_status
            kept = self._keep_annotation(doc_id, who, spans, relations, status)
        # What the store refuses of a layer these checks passed (it checks each record
        # on its way in), said of the record all the same.
        return [] if kept is None else [record.error(kept)]

    def _keep_annotation(self, doc_id: str, annotator: str, spans: list[_SpanRow],
                         relations: list[Relation], status: Status | None) -> str | None:
        old = self.store.annotation(doc_id, annotator)
        if old is None:
            self.counts[0] += 1
        else:
            ann = Annotation(doc_id=doc_id, annotator=annotator, spans=_models(spans),
                             relations=relations, status=status)
            if (old.spans, _relation_set(old), old.status) == (
                    ann.spans, _relation_set(ann), ann.status):
                self.counts[2] += 1
                return None
            self.counts[1] += 1
        named: list[Relation] = []
        if relations:
            # A layer with overlaps makes an adopted scheme overlapping: named by label now.
            labelled = self.labelled or not is_flat(spans)  # type: ignore[arg-type]
            if not labelled:
                self.relational.append(len(self.prepared))
            named = named_by(spans, relations, labelled)  # type: ignore[arg-type]
        now = utc_now()
        # The record as ``Annotation.model_dump(mode="json")`` writes it, made without a
        # model per span; the store checks it as it checks every record (prepare_record).
        refused = self._prepare("annotations", {
            "doc_id": doc_id, "spans": _span_records(spans),
            "relations": _relation_records(named), "annotator": annotator, "status": status,
            "notes": "", "created": now, "updated": now, "chosen": None})
        if refused is None:
            self.annotations += 1
        return refused

    def _keep_prediction(self, doc_id: str, extractor: str, spans: list[_SpanRow],
                         relations: list[Relation], meta: dict[str, Any] | None = None
                         ) -> str | None:
        old = self.store.prediction(doc_id, extractor)
        counts = self.counts if self.as_predictions else self.prediction_counts
        if old is None:
            counts[0] += 1
        else:
            pred = Prediction(doc_id=doc_id, extractor=extractor, spans=_models(spans),
                              relations=relations, meta=meta or {})
            if (old.spans, _relation_set(old), old.meta) == (
                    pred.spans, _relation_set(pred), pred.meta):
                counts[2] += 1
                return None
            counts[1] += 1
        named: list[Relation] = []
        if relations:
            named = named_by(spans, relations, not is_flat(spans))  # type: ignore[arg-type]
        refused = self._prepare("predictions", {
            "doc_id": doc_id, "spans": _span_records(spans),
            "relations": _relation_records(named), "extractor": extractor,
            "created": utc_now(), "meta": meta or {}})
        if refused is None:
            self.extractors.add(extractor)
        return refused

    def _prepare(self, table: str, record: dict[str, Any]) -> str | None:
        """Keep the layer ``record`` as the store will write it, and its labels; or the
        reason the store refuses it."""
        doc_id = record["doc_id"]
        text = (self.new_documents[doc_id].text if doc_id in self.new_documents
                else self.store.text(doc_id))
        try:
            prepared = self.store.prepare_record(table, record, text,
                                                 overlapping=self.allow_overlap)
        except (ValueError, RecordRefusedError) as err:
            return str(err)
        self.prepared.append(prepared)
        self.entity_names.update(span["label"] for span in record["spans"])
        self.relation_names.update(rel["label"] for rel in record["relations"])
        return None

    def name_relations_by_label(self) -> None:
        """Name the relations of the kept annotations by (start, end, label): the store
        adopted an overlapping scheme from this import (see ``labelled``)."""
        self.labelled = True
        for index in self.relational:
            kept = self.prepared[index]
            ann = Annotation.model_validate(srsly.json_loads(kept.text), context=LENIENT)
            ann = ann.model_copy(update={"relations": named_by(ann.spans, ann.relations, True)})
            text = (self.new_documents[ann.doc_id].text if ann.doc_id in self.new_documents
                    else self.store.text(ann.doc_id))
            self.prepared[index] = self.store.prepare_layer(ann, text, overlapping=True)

    def _spans(self, record: ImportRecord, predicted: bool = False
               ) -> tuple[list[_SpanRow], list[InputError]]:
        errors: list[InputError] = []
        keyed: list[tuple[int, int, str, int, _SpanRow, RawSpan]] = []
        for index, raw in enumerate(record.spans):
            if predicted:
                source, state = self.extractor or record.extractor or HUMAN, "suggested"
            else:
                source, state = raw.source or HUMAN, raw.state or "confirmed"
                if state not in SPAN_STATES:
                    errors.append(_span_error(
                        record, raw, f"state {state!r} is not one of {', '.join(SPAN_STATES)}"))
                    continue
            span = _SpanRow(raw.start, raw.end, raw.label, source, state)
            keyed.append((*span_order(span), index, span, raw))  # type: ignore[arg-type]
        # In span order, the file's order among equal spans (the index): a plain tuple sort.
        keyed.sort()
        pairs = [(span, raw) for *_, span, raw in keyed]
        reach: tuple[_SpanRow, RawSpan] | None = None  # the span reaching furthest so far
        for (before, raw_before), (after, raw_after) in zip(pairs, pairs[1:], strict=False):
            same = after[:3] == before[:3]  # the same ref
            if same:
                at = f" at {raw_before.where}" if raw_before.where else ""
                errors.append(_span_error(
                    record, raw_after,
                    f"span {after.start}-{after.end} ({after.label}) is given twice{at}"))
            if reach is None or before.end > reach[0].end:
                reach = (before, raw_before)
            if after.start < reach[0].end and not same:
                # Predictions may overlap whatever the scheme says (they are scored);
                # in a gold import they say nothing about the gold's scheme.
                if not predicted or self.as_predictions:
                    self.any_overlap = True
                if not (self.allow_overlap or predicted):
                    other, raw_other = reach
                    at = f" at {raw_other.where}" if raw_other.where else ""
                    errors.append(_span_error(
                        record, raw_after,
                        f"span {after.start}-{after.end} ({after.label}) overlaps span "
                        f"{other.start}-{other.end} ({other.label}){at} (the store's label "
                        "scheme is flat; --overlapping lets it hold nested and overlapping "
                        "spans)"))
        return [span for span, _ in pairs], errors

    def _padded(self, record: ImportRecord) -> list[InputError]:
        """Spans starting or ending in whitespace: a warning each, or trimmed with
        ``strip_spans`` (an error if nothing but whitespace is left)."""
        errors = []
        text = record.text
        moved: dict[Any, tuple[int, int]] = {}
        for raw in record.spans:
            if not padded(text, raw.start, raw.end):
                continue
            edges = trimmed(text, raw.start, raw.end)
            if not self.strip_spans:
                record.warnings.append(_span_error(
                    record, raw, f"span {raw.start}-{raw.end} ({raw.label}) "
                    f"{text[raw.start:raw.end]!r:.60} starts or ends with whitespace "
                    "(--strip-spans trims it)"))
            elif edges is None:
                errors.append(_span_error(
                    record, raw, f"span {raw.start}-{raw.end} ({raw.label}) is only "
                    "whitespace; nothing is left to keep once trimmed"))
            else:
                old = (raw.start, raw.end)
                raw.start, raw.end = edges
                raw.text = None  # checked against the text already
                moved[old] = (raw.start, raw.end)
        if moved:
            # Relations follow their trimmed spans.
            for rel in record.relations:
                rel.head = _moved(rel.head, moved)
                rel.child = _moved(rel.child, moved)
        return errors

    def _unknown_labels(self, record: ImportRecord, spans: list[_SpanRow],
                        relations: list[Relation]) -> list[InputError]:
        errors = []
        for raw in record.spans:
            if raw.label not in self.entity_labels:
                errors.append(_span_error(
                    record, raw, f"unknown entity label {raw.label!r} (known: "
                    f"{', '.join(sorted(self.entity_labels)) or 'none'}; --add-labels adds it)"))
        for rel in record.relations:
            if rel.label not in self.relation_labels:
                errors.append(InputError(
                    record.path, f"unknown relation label {rel.label!r} (known: "
                    f"{', '.join(sorted(self.relation_labels)) or 'none'}; --add-labels adds it)",
                    line=rel.line or record.line, record=_join(record.record, rel.where)))
        return errors

    def _align_to_store(self, record: ImportRecord) -> InputError | None:
        """Move a record whose text was rebuilt from tokens onto the stored document with
        the same non-whitespace characters, if there is one."""
        if self._by_squeezed is None:
            self._by_squeezed = {}
            for doc_id in self.store.document_ids():
                squeezed = "".join(self.store.text(doc_id).split())
                self._by_squeezed.setdefault(squeezed, []).append(doc_id)
        matches = self._by_squeezed.get("".join(record.text.split()), [])
        if len(matches) > 1:
            return record.error(f"its tokens match {len(matches)} stored documents that differ "
                                "only in whitespace; cannot tell which one it is")
        if not matches:
            if self.as_predictions:
                return record.error("no stored document has these tokens (a prediction must "
                                    "be for a stored document; import the articles first)")
            return None
        stored = self.store.document(matches[0])
        source = [i for i, c in enumerate(record.text) if not c.isspace()]
        target = [i for i, c in enumerate(stored.text) if not c.isspace()]
        mapping = [0] * (len(record.text) + 1)
        for s, t in zip(source, target, strict=True):
            mapping[s] = t
            mapping[s + 1] = t + 1  # span ends fall right after a non-space character
        _remap(record, stored.text, mapping)
        record.meta = dict(stored.meta)
        return None


def _check_values(record: ImportRecord) -> list[InputError]:
    """The names in a record (labels, annotator, span sources) by the one rule for
    names, and its text and meta as storable Unicode and JSON."""
    errors = []
    surrogate = _surrogate(record.text)
    if surrogate:
        errors.append(record.error(
            f"the text holds an unpaired surrogate (U+{ord(surrogate.group()):04X}) at offset "
            f"{surrogate.start()}, which is not Unicode text"))
    plain = all(isinstance(k, str) and isinstance(v, str) for k, v in record.meta.items())
    try:
        if not plain or any(_surrogate(k + v) for k, v in record.meta.items()):
            srsly.json_dumps(record.meta).encode("utf-8")
    except (TypeError, ValueError, OverflowError) as err:
        errors.append(record.error(f"meta cannot be stored as JSON ({err})"))
    if record.annotator is not None:
        problem = name_problem(record.annotator)
        if problem:
            errors.append(record.error(f"annotator name {record.annotator!r:.80} {problem}"))
    for raw in record.spans:
        problem = _label_problem(raw.label)
        if problem:
            errors.append(_span_error(record, raw, f"entity label {raw.label!r:.80} {problem}"))
        if raw.source is not None:
            problem = _name_problem(raw.source)
            if problem:
                errors.append(_span_error(record, raw,
                                          f"span source {raw.source!r:.80} {problem}"))
    for rel in record.relations:
        problem = _label_problem(rel.label)
        if problem:
            errors.append(InputError(record.path, f"relation label {rel.label!r:.80} {problem}",
                                     line=rel.line or record.line,
                                     record=_join(record.record, rel.where)))
    return errors


# Cached: a corpus repeats a few labels (and span sources) many times.
_label_problem = functools.lru_cache(maxsize=4096)(label_problem)
_name_problem = functools.lru_cache(maxsize=4096)(name_problem)


def _surrogate(text: str) -> re.Match[str] | None:
    """The first unpaired surrogate in ``text``, if any (a text that encodes as UTF-8
    has none, and encoding is much quicker than the search)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.search(text)
    return None


def _check_offsets(record: ImportRecord) -> list[InputError]:
    """Checks on the text as the file gives it, before line endings are normalised."""
    errors = []
    length = len(record.text)
    for raw in record.spans:
        if raw.end <= raw.start:
            reason = f"span end {raw.end} is not after its start {raw.start}"
        elif raw.start < 0 or raw.end > length:
            reason = f"span {raw.start}-{raw.end} is outside the text (length {length})"
        elif raw.text is not None and record.text[raw.start:raw.end] != raw.text:
            reason = (f"span text {raw.text!r} differs from the text at {raw.start}-{raw.end} "
                      f"({record.text[raw.start:raw.end]!r})")
        else:
            continue
        errors.append(_span_error(record, raw, reason))
    for rel in record.relations:
        outside = [f"{name} {ref[0]}-{ref[1]}" for name, ref in
                   (("head", rel.head), ("child", rel.child))
                   if not 0 <= ref[0] < ref[1] <= length]
        if outside:
            errors.append(InputError(
                record.path, f"relation {rel.label!r:.80}: {' and '.join(outside)} is not a "
                f"span of the text (length {length})", line=rel.line or record.line,
                record=_join(record.record, rel.where)))
    return errors


class _SpanRow(NamedTuple):
    """A checked span of an import, as plain data: what the store writes of a
    :class:`Span` (``_asdict()`` is its record), with its ``key`` and ``ref``.  An
    import makes tens of millions of them; a model each costs most of its time."""

    start: int
    end: int
    label: str
    source: str
    state: str

    @property
    def key(self) -> tuple[int, int]:
        return (self.start, self.end)

    @property
    def ref(self) -> tuple[int, int, str]:
        return (self.start, self.end, self.label)


def _models(spans: list[_SpanRow]) -> list[Span]:
    return [Span(**span._asdict()) for span in spans]


def _span_records(spans: list[_SpanRow]) -> list[dict[str, Any]]:
    """Spans as ``Span.model_dump(mode="json")`` writes them."""
    return [{"start": start, "end": end, "label": label, "source": source, "state": state}
            for start, end, label, source, state in spans]


def _relation_records(relations: list[Relation]) -> list[dict[str, Any]]:
    """Relations as ``Relation.model_dump(mode="json")`` writes them."""
    return [{"head": list(rel.head), "child": list(rel.child), "label": rel.label}
            for rel in relations]


def _relations(record: ImportRecord, spans: list[_SpanRow]
               ) -> tuple[list[Relation], list[InputError]]:
    """The record's relations, each end named by (start, end, label) of one of ``spans``
    (a file's (start, end) end must name one span)."""
    if not record.relations:
        return [], []
    by_ref: dict[tuple[Any, ...], list[_SpanRow]] = {}
    for span in spans:
        by_ref.setdefault(span.ref, []).append(span)
        by_ref.setdefault(span.key, []).append(span)
    relations: list[Relation] = []
    errors: list[InputError] = []
    seen: set[tuple[Any, Any, str]] = set()
    for raw in record.relations:
        where = _join(record.record, raw.where)
        line = raw.line or record.line
        ends: list[_SpanRow] = []
        problems = []
        for name, ref in (("head", raw.head), ("child", raw.child)):
            found = by_ref.get(tuple(ref), [])
            shown = f"{ref[0]}-{ref[1]}" + (f" ({ref[2]})" if len(ref) > 2 else "")
            if not found:
                problems.append(f"{name} {shown}")
            elif len(found) > 1:
                problems.append(f"{name} {shown} names {len(found)} spans "
                                f"({', '.join(s.label for s in found)})")
            else:
                ends.append(found[0])
        if problems:
            missing = all("names" not in p for p in problems)
            reason = (f"relation {raw.label}: {' and '.join(problems)}" + (
                " is not one of the spans (relation to a missing span)" if missing else
                "; name each end by its label too"))
        elif ends[0] is ends[1]:
            reason = f"relation {raw.label} links a span to itself"
        elif (ends[0].ref, ends[1].ref, raw.label) in seen:
            reason = f"relation {raw.label} between the same spans is given twice"
        else:
            seen.add((ends[0].ref, ends[1].ref, raw.label))
            relations.append(Relation(head=ends[0].ref, child=ends[1].ref, label=raw.label))
            continue
        errors.append(InputError(record.path, reason, line=line, record=where))
    return relations, errors


_SURROGATE = re.compile("[\ud800-\udfff]")


def _newline_map(text: str) -> list[int]:
    """For each offset into ``text``, the offset after CRLF/CR become LF."""
    mapping = [0] * (len(text) + 1)
    j = 0
    for i, char in enumerate(text):
        mapping[i] = j
        if not (char == "\r" and text[i + 1:i + 2] == "\n"):
            j += 1
    mapping[len(text)] = j
    return mapping


def _remap(record: ImportRecord, text: str, mapping: list[int]) -> None:
    record.text = text
    for span in record.spans:
        span.start, span.end = mapping[span.start], mapping[span.end]
        span.text = None  # already checked against the original text
    for rel in record.relations:
        rel.head = _moved(rel.head, {tuple(rel.head[:2]): (mapping[rel.head[0]],
                                                           mapping[rel.head[1]])})
        rel.child = _moved(rel.child, {tuple(rel.child[:2]): (mapping[rel.child[0]],
                                                              mapping[rel.child[1]])})


def _moved(ref: SpanRef, moved: dict[Any, tuple[int, int]]) -> SpanRef:
    """``ref`` with its offsets moved as ``moved`` says (its label kept)."""
    offsets = moved.get(tuple(ref[:2]))
    if offsets is None:
        return ref
    return (*offsets, ref[2]) if len(ref) > 2 else offsets  # type: ignore[misc]


def _relation_set(layer: Annotation | Prediction) -> set[tuple[Any, Any, str]]:
    """The layer's relations by the spans they join, however their ends are written."""
    return {(head.ref, child.ref, label)
            for head, child, label in resolve_refs(layer.spans, layer.relations)}


def _join(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return ", ".join(kept) if kept else None


def _ground(record: ImportRecord) -> dict[str, Any]:
    """Place the record's string-only spans on its text (as ``reader extract --command``
    does), add them to its spans, and return the grounding counts for the prediction."""
    grounding = align_strings(
        record.text, [StringSpan(s.text, s.label, s.hint) for s in record.strings],
        taken=[(raw.start, raw.end) for raw in record.spans])
    for given, placed in zip(record.strings, grounding.placed, strict=True):
        for start, end in placed:
            record.spans.append(RawSpan(start=start, end=end, label=given.label,
                                        line=given.line, where=given.where))
    record.strings = []
    lost = grounding.ungrounded
    if lost:
        shown = ", ".join(f"{u['text']!r} ({u['label']})" for u in lost[:5])
        record.warnings.append(record.error(
            f"{len(lost)} of {len(grounding.placed)} span(s) given as text could not be "
            f"placed on the text (ungrounded, counted in the prediction's grounding): {shown}"))
    return grounding.to_meta()


def _place(record: ImportRecord) -> str:
    where = _join(f"line {record.line}" if record.line else None, record.record)
    return where or "an earlier record"


def _span_error(record: ImportRecord, raw: RawSpan, reason: str) -> InputError:
    return InputError(record.path, reason, line=raw.line or record.line,
                      record=_join(record.record, raw.where))


__all__ = ["FORMATS", "ImportSummary", "export_layers", "import_layers", "iter_export_items"]
