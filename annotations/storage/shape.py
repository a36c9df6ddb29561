"""A quick yes to the common layer record: the fast path of ``files.check_record``.

Every annotation and prediction record is checked on its way into the store, and for
a record of 60 spans pydantic's validation (a model per span, each with its own
validator) costs most of a millisecond: most of an import's check, and most of an
edit's.  :func:`layer_record_ok` answers True only for a record that plainly has the
models' shape (exact JSON types, known fields, every constraint of the models), so
that the models would accept it; for anything else it answers False, and
``check_record`` asks the models themselves, whose verdict and error message stand.
It can therefore only make a check faster, never more lenient: the fields, required
fields and literal values are taken from the models, and ``tests/test_store_shape.py``
holds the constraints to the models' on mutated records.  Read leniently, as the
store reads (names and colours are not checked again: see ``models.LENIENT``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from pydantic import BaseModel

from ..layer import Link, check_bounds
from ..models import (
    SPAN_STATES,
    Annotation,
    Document,
    Prediction,
    Relation,
    Selection,
    Span,
    Status,
    document_id,
)


def _fields(model: type[BaseModel]) -> tuple[frozenset[str], frozenset[str]]:
    """The fields of ``model``, and those it requires."""
    fields = model.model_fields
    return (frozenset(fields),
            frozenset(name for name, info in fields.items() if info.is_required()))


_SPAN_FIELDS = frozenset(Span.model_fields)
_RELATION_FIELDS = frozenset(Relation.model_fields)  # every one required
_ANNOTATION_FIELDS, _ANNOTATION_REQUIRED = _fields(Annotation)
_PREDICTION_FIELDS, _PREDICTION_REQUIRED = _fields(Prediction)
_DOCUMENT_FIELDS, _DOCUMENT_REQUIRED = _fields(Document)
_STATES = frozenset(SPAN_STATES)
_STATUSES = frozenset(get_args(Status))
# Annotation.notes' max_length, read from the model rather than written again.
_NOTES_MAX: int = next(m.max_length for m in Annotation.model_fields["notes"].metadata
                       if hasattr(m, "max_length"))


def _spans_bounds(spans: Any) -> list[tuple[int, int, str]] | None:
    """Each span's (start, end, label) when every one of ``spans`` plainly has the
    shape of a :class:`Span` record, else None.  One loop, no call per span: it runs
    on every save of a layer."""
    if type(spans) is not list:
        return None
    bounds = []
    fields, states = _SPAN_FIELDS, _STATES
    every = len(fields)
    for span in spans:
        if type(span) is not dict:
            return None
        if len(span) == every and "source" in span and "state" in span:
            # Every field given (as the store writes spans): none other can be there.
            start, end, label = span.get("start"), span.get("end"), span.get("label")
            source, state = span["source"], span["state"]
        elif span.keys() <= fields:
            start, end, label = span.get("start"), span.get("end"), span.get("label")
            source, state = span.get("source", ""), span.get("state", "confirmed")
        else:
            return None
        if (type(start) is not int or type(end) is not int or not 0 <= start < end
                or type(label) is not str or not label or type(source) is not str
                or type(state) is not str or state not in states):
            return None
        bounds.append((start, end, label))
    return bounds


def _ref_ok(ref: Any) -> bool:
    return (type(ref) in (list, tuple) and len(ref) in (2, 3) and type(ref[0]) is int
            and type(ref[1]) is int and (len(ref) == 2 or type(ref[2]) is str))


def _relation_ok(rel: Any) -> bool:
    if type(rel) is not dict or rel.keys() != _RELATION_FIELDS:
        return False
    label = rel["label"]
    return type(label) is str and bool(label) and _ref_ok(rel["head"]) and _ref_ok(rel["child"])


def spans_ok(spans: Any, relations: Any = ()) -> bool:
    """Whether ``spans`` and ``relations`` (JSON lists) plainly have the shape of
    :class:`Span` and :class:`Relation` records (not whether they form a layer)."""
    return (type(spans) is list and _spans_bounds(spans) is not None
            and type(relations) in (list, tuple) and all(map(_relation_ok, relations)))


def _str(value: Any) -> bool:
    return type(value) is str


def _layer_ok(record: dict[str, Any], fields: frozenset[str], required: frozenset[str],
              extra: Callable[[dict[str, Any]], bool]) -> bool:
    if not record.keys() <= fields or not required <= record.keys():
        return False
    spans, relations = record.get("spans", []), record.get("relations", [])
    bounds = _spans_bounds(spans) if type(spans) is list else None
    if bounds is None or type(record["doc_id"]) is not str:
        return False
    if type(relations) is not list or not all(map(_relation_ok, relations)):
        return False
    if not extra(record) or not _str(record.get("created", "")):
        return False
    if not relations and len(set(bounds)) == len(bounds):
        return True  # all that the layer check below would look at
    # The models' own layer check (as ``_Layer._check``, without a text).
    try:
        check_bounds(None, bounds, _links(relations), overlapping=True)
    except ValueError:
        return False
    return True


def _annotation_fields_ok(record: dict[str, Any]) -> bool:
    annotator = record.get("annotator", "default")
    status = record.get("status")
    notes = record.get("notes", "")
    chosen = record.get("chosen")
    if type(annotator) is not str or not annotator:
        return False
    if status is not None and not (type(status) is str and status in _STATUSES):
        return False
    if type(notes) is not str or len(notes) > _NOTES_MAX or not _str(record.get("updated", "")):
        return False
    if chosen is not None:
        try:
            Selection.model_validate(chosen)
        except ValueError:
            return False
    return True


def _prediction_fields_ok(record: dict[str, Any]) -> bool:
    extractor, meta = record["extractor"], record.get("meta", {})
    return (type(extractor) is str and bool(extractor) and type(meta) is dict
            and all(type(key) is str for key in meta))


def layer_record_ok(table: str, record: dict[str, Any]) -> bool:
    """True when ``record`` (of ``annotations`` or ``predictions``) plainly has the
    shape its model accepts; False when the model must say (see the module's doc)."""
    if table == "annotations":
        return _layer_ok(record, _ANNOTATION_FIELDS, _ANNOTATION_REQUIRED,
                         _annotation_fields_ok)
    if table == "predictions":
        return _layer_ok(record, _PREDICTION_FIELDS, _PREDICTION_REQUIRED,
                         _prediction_fields_ok)
    return False


def document_record_ok(record: Any) -> bool:
    """True when ``record`` (of ``documents``) plainly has the shape :class:`Document`
    accepts, its id the hash of its text included; False when the model must say."""
    if type(record) is not dict or not record.keys() <= _DOCUMENT_FIELDS \
            or not _DOCUMENT_REQUIRED <= record.keys():
        return False
    text, meta = record["text"], record.get("meta", {})
    return (type(text) is str and type(meta) is dict and type(record["id"]) is str
            and "\r" not in text and record["id"] == document_id(text))


def _links(relations: list[dict[str, Any]]) -> list[Link]:
    return [(r["head"], r["child"], r["label"]) for r in relations]


def layer_bounds(record: dict[str, Any]) -> tuple[list[tuple[int, int, str]], list[Link]]:
    """The spans and relations of a layer record that :func:`layer_record_ok` (or its
    model) accepted, as ``layer.check_bounds`` takes them."""
    return ([(s["start"], s["end"], s["label"]) for s in record.get("spans", [])],
            _links(record.get("relations", [])))
