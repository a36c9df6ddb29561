"""From the store to plain values: the gold layer of each document, and each
extractor's prediction on it, checked to belong to the stored text, with the strings it
returned that could not be placed (read from ``Prediction.meta["grounding"]``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..edges import trim_layer
from ..errors import StoreCorruptError
from ..gold import ADJUDICATED, gold_records_by_document
from ..models import HUMAN, Relation, Span
from .base import UNGROUNDED_RULES, EvalDocument, EvaluationError, RelationTuple, SpanTuple

if TYPE_CHECKING:
    from ..store import GoldStore


@dataclass(frozen=True)
class GoldLayer:
    """The accepted annotation of one document, as plain tuples."""

    doc_id: str
    annotator: str
    spans: list[SpanTuple]
    relations: list[RelationTuple]
    provenance: list[tuple[str, str]] = field(default_factory=list)


def _provenance(record: dict[str, Any]) -> list[tuple[str, str]]:
    """``(source, state)`` of each span of a stored record (defaults as in ``Span``)."""
    return [(str(s.get("source", HUMAN)), str(s.get("state", "confirmed")))
            for s in record["spans"]]


def layer_tuples(
    record: dict[str, Any], text_length: int, where: str
) -> tuple[list[SpanTuple], list[RelationTuple]]:
    """Spans and relations of a stored record, checked cheaply: offsets are integers
    inside the text and relations join spans of the layer.  Each relation end comes back
    as ``(start, end, entity_label)``."""
    try:
        spans = [(int(s["start"]), int(s["end"]), str(s["label"])) for s in record["spans"]]
        labels: dict[tuple[int, int], str] = {}
        for start, end, label in spans:
            labels.setdefault((start, end), label)
        relations = []
        for r in record.get("relations", []):
            ends = []
            for ref in (r["head"], r["child"]):
                offsets = (int(ref[0]), int(ref[1]))
                ends.append((*offsets, str(ref[2]) if len(ref) > 2 else labels.get(offsets, "")))
            relations.append((ends[0], ends[1], str(r["label"])))
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise EvaluationError(f"{where}: malformed span or relation record ({err!r})") from None
    keys = set(spans)
    for start, end, label in spans:
        if not 0 <= start < end:
            raise EvaluationError(f"{where}: span {start}-{end} ({label}) has end <= start")
        if end > text_length:
            raise EvaluationError(
                f"{where}: span {start}-{end} ({label}) ends past the document text (length "
                f"{text_length}); it was made on a different text"
            )
    for head, child, label in relations:
        if head not in keys or child not in keys:
            raise EvaluationError(
                f"{where}: relation {label} joins a span that is not in the layer"
            )
    return spans, relations


def gold_annotations(store: GoldStore, annotator: str | None = None) -> dict[str, GoldLayer]:
    """The gold layer of each document (see :mod:`annotations.gold` for which one): the
    adjudicated annotation when there is one, else the one accepted annotation; several
    annotators' accepted annotations on one document, none adjudicated, is an error."""
    gold: dict[str, GoldLayer] = {}
    for doc_id, records in gold_records_by_document(store, annotator).items():
        if len(records) > 1:
            names = ", ".join(repr(r["annotator"]) for r in records)
            raise EvaluationError(
                f"{store.path}: document {doc_id} has accepted annotations by {names} and no "
                f"adjudicated one ({ADJUDICATED!r}); choose one with --annotator"
            )
        record = records[0]
        spans, relations = layer_tuples(
            record, len(store.text(doc_id)),
            f"{store.path}: annotation of document {doc_id} by {record['annotator']!r}",
        )
        gold[doc_id] = GoldLayer(doc_id, record["annotator"], spans, relations,
                                 _provenance(record))
    if not gold:
        who = f" by annotator {annotator!r}" if annotator else ""
        raise EvaluationError(
            f"{store.path}: no gold documents (no accepted annotations{who}); accept "
            "documents in `reader annotate` first"
        )
    return gold


def collect_documents(
    store: GoldStore, extractor: str, *, annotator: str | None = None,
    missing_as_empty: bool = False, gold: dict[str, Any] | None = None,
    ungrounded: str = "spurious", strip_predictions: bool = False,
) -> list[EvalDocument]:
    """The gold documents with ``extractor``'s predictions, checked to refer to the same text.

    Raises :class:`EvaluationError` when there is no gold, the extractor is
    unknown, a gold document has no prediction (unless ``missing_as_empty``), or
    a prediction cannot belong to the stored text (its spans reach past the text,
    or the stored document's id is not the hash of its text).

    ``ungrounded``: ``spurious`` (default) carries the strings the extractor returned
    that could not be placed on the text, and the relations it gave on them, into each
    document as false positives (see :func:`ungrounded_of`); ``ignore`` leaves them out.
    ``strip_predictions``: trim whitespace at the edges of predicted spans before scoring
    (:func:`trimmed_prediction`); by default predictions are scored as stored.
    """
    check_ungrounded_rule(ungrounded)
    gold = gold if gold is not None else gold_annotations(store, annotator)
    known = store.extractors()
    if extractor not in known:
        raise EvaluationError(
            f"{store.path}: unknown extractor {extractor!r}; predictions exist for: "
            f"{', '.join(known) or 'none (run `reader extract` first)'}"
        )
    docs: list[EvalDocument] = []
    absent: list[str] = []
    for doc_id, ann in gold.items():
        try:
            document = store.document(doc_id)  # checks that the id is the hash of the text
        except StoreCorruptError as err:
            if "not the hash of its text" not in str(err):
                raise
            raise EvaluationError(
                f"{store.path}: document {doc_id}: its text does not match its id (the stored "
                "text was changed after import), so no prediction can be trusted to fit it"
            ) from err
        text = document.text
        record = store.prediction_record(doc_id, extractor)
        lost = NO_UNGROUNDED
        if record is None:
            absent.append(doc_id)
            if not missing_as_empty:
                continue
            pred_spans: list[SpanTuple] = []
            pred_relations: list[RelationTuple] = []
        else:
            pred_spans, pred_relations = layer_tuples(
                record, len(text), f"{store.path}: extractor {extractor!r}, document {doc_id}"
            )
            if ungrounded == "spurious":
                lost = ungrounded_of(record)
            if strip_predictions:
                pred_spans, pred_relations = trimmed_prediction(text, pred_spans, pred_relations)
        docs.append(EvalDocument(
            doc_id=doc_id, text=text,
            gold=ann.spans, pred=pred_spans,
            gold_relations=ann.relations,
            pred_relations=pred_relations,
            title=document.title,
            gold_provenance=ann.provenance,
            ungrounded=lost.strings, ungrounded_unlisted=lost.unlisted,
            dropped_relations=lost.relations,
        ))
    if absent and not missing_as_empty:
        raise EvaluationError(
            f"{store.path}: extractor {extractor!r} has no predictions for {len(absent)} of "
            f"{len(gold)} gold documents (first: {absent[0]}); run `reader extract` on them, "
            "or pass --missing-as-empty to count them as predicting nothing"
        )
    return docs


def trimmed_prediction(text: str, spans: Sequence[SpanTuple],
                       relations: Sequence[RelationTuple]
                       ) -> tuple[list[SpanTuple], list[RelationTuple]]:
    """A prediction with the edge whitespace of its spans trimmed, relations following
    (``annotations.edges.trim_layer``, the rule the session seeds with)."""
    layer = trim_layer(text, [Span(start=s, end=e, label=label) for s, e, label in spans],
                       [Relation(head=h, child=c, label=label) for h, c, label in relations])
    return ([s.ref for s in layer.spans],
            [(tuple(r.head), tuple(r.child), r.label) for r in layer.relations])


@dataclass(frozen=True)
class Ungrounded:
    """What one prediction returned that could not be placed on the text."""

    strings: tuple[tuple[str, str], ...] = ()
    """``(text, label)`` of the listed strings (the stored examples)."""
    unlisted: int = 0
    """Further ungrounded strings the stored examples do not list."""
    relations: int = 0
    """Relations dropped because an end was an ungrounded string."""


NO_UNGROUNDED = Ungrounded()


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def ungrounded_of(record: dict[str, Any]) -> Ungrounded:
    """The ungrounded strings of a stored prediction, from ``meta["grounding"]`` (written
    by ``annotations.grounding``): strings not found in the text and strings found only
    where other spans already were (``ungrounded`` and ``overlapping``), listed by text
    and label as far as the stored examples go, and the relations dropped with them.
    A prediction without grounding (spans given with offsets) has none."""
    meta = record.get("meta")
    grounding = meta.get("grounding") if isinstance(meta, dict) else None
    if not isinstance(grounding, dict):
        return NO_UNGROUNDED
    total = _count(grounding.get("ungrounded")) + _count(grounding.get("overlapping"))
    examples = grounding.get("examples")
    listed = [(e["text"], e["label"]) for e in (examples if isinstance(examples, list) else [])
              if isinstance(e, dict) and isinstance(e.get("text"), str)
              and isinstance(e.get("label"), str) and e["label"]][:total]
    return Ungrounded(tuple(listed), total - len(listed),
                      _count(grounding.get("relations_dropped")))


def check_ungrounded_rule(rule: str) -> None:
    if rule not in UNGROUNDED_RULES:
        raise EvaluationError(f"unknown rule for ungrounded strings {rule!r}; choose one of "
                              f"{', '.join(UNGROUNDED_RULES)}")


def documents_by_extractor(
    store: GoldStore, extractors: Sequence[str], *, annotator: str | None = None,
    missing_as_empty: bool = False, ungrounded: str = "spurious",
    documents: Collection[str] | None = None, strip_predictions: bool = False,
) -> tuple[dict[str, list[EvalDocument]], dict[str, int]]:
    """The gold documents with each extractor's predictions, and how many documents' gold
    each annotator gives.

    ``extractors`` empty: every extractor that predicted at least one gold document.
    ``documents``: score only these gold documents (ids; default all): the set a
    sample or a stratum of the store is scored on.
    """
    gold = gold_annotations(store, annotator)
    if documents is not None:
        wanted = set(documents)
        gold = {doc_id: layer for doc_id, layer in gold.items() if doc_id in wanted}
        if not gold:
            raise EvaluationError(f"{store.path}: none of the {len(wanted)} document(s) asked "
                                  "for has gold")
    counts = dict(Counter(layer.annotator for layer in gold.values()))
    if extractors:
        names = list(dict.fromkeys(extractors))
    else:
        names = [name for name in store.extractors()
                 if any(store.has_prediction(doc_id, name) for doc_id in gold)]
        if not names:
            raise EvaluationError(
                f"{store.path}: no extractor has predictions on the {len(gold)} gold "
                "document(s); run `reader extract` or import predictions first"
            )
    return {name: collect_documents(store, name, annotator=annotator,
                                    missing_as_empty=missing_as_empty, gold=gold,
                                    ungrounded=ungrounded,
                                    strip_predictions=strip_predictions)
            for name in names}, counts
