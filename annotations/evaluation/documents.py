"""From the store to plain values: the gold layer of each document, and each
extractor's prediction on it, checked to belong to the stored text, with the strings it
returned that could not be placed (read from ``Prediction.meta["grounding"]``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ..edges import trim_layer
from ..errors import StoreCorruptError
from ..gold import ADJUDICATED, iter_gold_records
from ..models import HUMAN, Document, Relation, Span
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


_PROVENANCE_FIELDS = itemgetter("source", "state")


def _provenance(record: dict[str, Any]) -> list[tuple[str, str]]:
    """``(source, state)`` of each span of a stored record (defaults as in ``Span``)."""
    try:  # the store writes both fields of every span: read them at C speed
        provenance = list(map(_PROVENANCE_FIELDS, record["spans"]))
        if all(type(source) is str and type(state) is str for source, state in provenance):
            return provenance
    except KeyError:
        pass
    return [(str(s.get("source", HUMAN)), str(s.get("state", "confirmed")))
            for s in record["spans"]]


_SPAN_FIELDS = itemgetter("start", "end", "label")


def _span_problem(spans: list[SpanTuple], text_length: int) -> str | None:
    """Why the spans of a layer cannot be on the text, or None; "type" when a field is
    not a plain int or str before any other problem (the caller converts and asks
    again)."""
    for start, end, label in spans:
        if type(start) is not int or type(end) is not int or type(label) is not str:
            return "type"
        if not 0 <= start < end:
            return f"span {start}-{end} ({label}) has end <= start"
        if end > text_length:
            return (f"span {start}-{end} ({label}) ends past the document text (length "
                    f"{text_length}); it was made on a different text")
    return None


def layer_tuples(
    record: dict[str, Any], text_length: int, where: str
) -> tuple[list[SpanTuple], list[RelationTuple]]:
    """Spans and relations of a stored record, checked cheaply: offsets are integers
    inside the text and relations join spans of the layer.  Each relation end comes back
    as ``(start, end, entity_label)``."""
    try:
        spans: list[SpanTuple] = list(map(_SPAN_FIELDS, record["spans"]))
        problem = _span_problem(spans, text_length)
        if problem is not None and not all(
                type(s) is int and type(e) is int and type(label) is str
                for s, e, label in spans):
            # Values held as other types are converted (or refused) first, as a whole.
            spans = [(int(s), int(e), str(label)) for s, e, label in spans]
            problem = _span_problem(spans, text_length)
        relations = []
        stored = record.get("relations")
        if stored:
            labels: dict[tuple[int, int], str] = {}
            for start, end, label in spans:
                labels.setdefault((start, end), label)
            for r in stored:
                ends = []
                for ref in (r["head"], r["child"]):
                    offsets = (int(ref[0]), int(ref[1]))
                    ends.append((*offsets, str(ref[2]) if len(ref) > 2
                                 else labels.get(offsets, "")))
                relations.append((ends[0], ends[1], str(r["label"])))
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise EvaluationError(f"{where}: malformed span or relation record ({err!r})") from None
    if problem is not None:
        raise EvaluationError(f"{where}: {problem}")
    if relations:
        keys = set(spans)
        for head, child, label in relations:
            if head not in keys or child not in keys:
                raise EvaluationError(
                    f"{where}: relation {label} joins a span that is not in the layer"
                )
    return spans, relations


def gold_layer(store: GoldStore, doc_id: str, records: Sequence[dict[str, Any]]) -> GoldLayer:
    """The gold layer of one document from its gold records (:mod:`annotations.gold`):
    several annotators' accepted annotations, none adjudicated, is an error."""
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
    return GoldLayer(doc_id, record["annotator"], spans, relations, _provenance(record))


def no_gold(store: GoldStore, annotator: str | None) -> EvaluationError:
    who = f" by annotator {annotator!r}" if annotator else ""
    return EvaluationError(
        f"{store.path}: no gold documents (no accepted annotations{who}); accept "
        "documents in `reader annotate` first"
    )


def gold_annotations(store: GoldStore, annotator: str | None = None) -> dict[str, GoldLayer]:
    """The gold layer of each document (see :mod:`annotations.gold` for which one): the
    adjudicated annotation when there is one, else the one accepted annotation; several
    annotators' accepted annotations on one document, none adjudicated, is an error."""
    gold = {doc_id: gold_layer(store, doc_id, records)
            for doc_id, records in iter_gold_records(store, annotator)}
    if not gold:
        raise no_gold(store, annotator)
    return gold


def unknown_extractor(store: GoldStore, extractor: str) -> EvaluationError:
    known = store.extractors()
    return EvaluationError(
        f"{store.path}: unknown extractor {extractor!r}; predictions exist for: "
        f"{', '.join(known) or 'none (run `reader extract` first)'}"
    )


class GoldDocuments:
    """The gold documents of a store one at a time, each with every extractor's
    prediction on it as an :class:`EvalDocument` (one list per document, in the order of
    :attr:`names`): what a scorer counts and then lets go, so that scoring a store holds
    one document at a time, not the store's every layer.

    ``extractors`` empty: every extractor of the store is read, and :meth:`finish` keeps
    those that predicted at least one gold document.  ``documents``: only these gold
    documents (ids).  ``gold``: the gold layers to use (default: the store's, read one
    document at a time).  ``ungrounded`` and ``strip_predictions`` as in
    :func:`collect_documents`.

    Iterate, then call :meth:`finish`: it raises what only the whole pass can tell (no
    gold, no document asked for, predictions missing) and names the extractors scored.
    Errors found on the way (a layer that does not fit its text, an unknown extractor,
    several annotators' gold) are raised as they are met, an unknown extractor at the
    first gold document, so that a store without gold says so first.
    """

    def __init__(
        self, store: GoldStore, extractors: Sequence[str] = (), *,
        annotator: str | None = None, missing_as_empty: bool = False,
        ungrounded: str = "spurious", documents: Collection[str] | None = None,
        strip_predictions: bool = False, gold: Iterable[GoldLayer] | None = None,
    ) -> None:
        check_ungrounded_rule(ungrounded)
        self.store = store
        self.explicit = bool(extractors)
        self.names: list[str] = (list(dict.fromkeys(extractors)) if extractors
                                 else store.extractors())
        self.annotator = annotator
        self.missing_as_empty = missing_as_empty
        self.ungrounded = ungrounded
        self.wanted = None if documents is None else set(documents)
        self.strip_predictions = strip_predictions
        self.gold = gold
        self.gold_annotators: Counter[str] = Counter()
        self.seen_gold = 0
        """Gold documents met, also those not asked for."""
        self.present = dict.fromkeys(self.names, 0)
        """Gold documents each extractor predicted."""
        self.absent: dict[str, list[str]] = {name: [] for name in self.names}
        """Gold documents each extractor did not predict (in document order)."""
        self.grounded: dict[str, list[str]] = {name: [] for name in self.names}
        """Gold documents whose prediction carries string grounding (see
        :func:`annotations.grounding.grounding_summary`)."""
        self.layer: GoldLayer | None = None
        """The gold layer of the document last yielded (whose annotator, for one)."""

    def _layers(self) -> Iterator[GoldLayer]:
        if self.gold is not None:
            for layer in self.gold:
                self.seen_gold += 1
                if self.wanted is None or layer.doc_id in self.wanted:
                    yield layer
            return
        store = self.store
        for doc_id, records in iter_gold_records(store, self.annotator):
            self.seen_gold += 1
            if self.wanted is not None and doc_id not in self.wanted:
                continue
            yield gold_layer(store, doc_id, records)

    def __iter__(self) -> Iterator[list[EvalDocument]]:
        store, names = self.store, self.names
        first = True
        for layer in self._layers():
            if first and self.explicit:
                known = set(store.extractors())
                for name in names:
                    if name not in known:
                        raise unknown_extractor(store, name)
            first = False
            doc_id = layer.doc_id
            self.gold_annotators[layer.annotator] += 1
            self.layer = layer
            document = self._document(doc_id)
            records = next(store.prediction_rows(names, (doc_id,)))
            yield [self._prediction(name, record, document, layer)
                   for name, record in zip(names, records, strict=True)]

    def _document(self, doc_id: str) -> Document:
        try:
            return self.store.document(doc_id)  # checks that the id is the hash of the text
        except StoreCorruptError as err:
            if "not the hash of its text" not in str(err):
                raise
            raise EvaluationError(
                f"{self.store.path}: document {doc_id}: its text does not match its id (the "
                "stored text was changed after import), so no prediction can be trusted to "
                "fit it"
            ) from err

    def _prediction(self, name: str, record: dict[str, Any] | None, document: Document,
                    layer: GoldLayer) -> EvalDocument:
        text = document.text
        lost = NO_UNGROUNDED
        if record is None:
            self.absent[name].append(layer.doc_id)
            pred_spans: list[SpanTuple] = []
            pred_relations: list[RelationTuple] = []
        else:
            self.present[name] += 1
            pred_spans, pred_relations = layer_tuples(
                record, len(text),
                f"{self.store.path}: extractor {name!r}, document {layer.doc_id}")
            if _grounding(record) is not None:
                self.grounded[name].append(layer.doc_id)
            if self.ungrounded == "spurious":
                lost = ungrounded_of(record)
            if self.strip_predictions:
                pred_spans, pred_relations = trimmed_prediction(text, pred_spans,
                                                                pred_relations)
        return EvalDocument(
            doc_id=layer.doc_id, text=text,
            gold=layer.spans, pred=pred_spans,
            gold_relations=layer.relations,
            pred_relations=pred_relations,
            title=document.title,
            gold_provenance=layer.provenance,
            ungrounded=lost.strings, ungrounded_unlisted=lost.unlisted,
            dropped_relations=lost.relations,
        )

    def finish(self) -> list[str]:
        """The extractors scored, after the whole pass; raises :class:`EvaluationError`
        when there was no gold, or an extractor lacks predictions on gold documents
        (unless ``missing_as_empty``)."""
        store = self.store
        documents = sum(self.gold_annotators.values())
        if not documents:
            if self.seen_gold and self.wanted is not None:
                raise EvaluationError(f"{store.path}: none of the {len(self.wanted)} "
                                      "document(s) asked for has gold")
            raise no_gold(store, self.annotator)
        names = self.names
        if not self.explicit:
            names = [name for name in names if self.present[name]]
            if not names:
                raise EvaluationError(
                    f"{store.path}: no extractor has predictions on the {documents} gold "
                    "document(s); run `reader extract` or import predictions first"
                )
        if not self.missing_as_empty:
            for name in names:
                absent = self.absent[name]
                if absent:
                    raise EvaluationError(
                        f"{store.path}: extractor {name!r} has no predictions for "
                        f"{len(absent)} of {documents} gold documents (first: {absent[0]}); "
                        "run `reader extract` on them, or pass --missing-as-empty to count "
                        "them as predicting nothing"
                    )
        return names


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
    A bulk scorer reads :class:`GoldDocuments` instead, one document at a time.
    """
    stream = GoldDocuments(
        store, [extractor], annotator=annotator, missing_as_empty=missing_as_empty,
        ungrounded=ungrounded, strip_predictions=strip_predictions,
        gold=None if gold is None else gold.values())
    docs = [doc for doc, in stream]
    stream.finish()
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


def _grounding(record: dict[str, Any]) -> dict[str, Any] | None:
    """A stored prediction's ``meta["grounding"]``, or None when it has none."""
    meta = record.get("meta")
    grounding = meta.get("grounding") if isinstance(meta, dict) else None
    return grounding if isinstance(grounding, dict) else None


def ungrounded_of(record: dict[str, Any]) -> Ungrounded:
    """The ungrounded strings of a stored prediction, from ``meta["grounding"]`` (written
    by ``annotations.grounding``): strings not found in the text and strings found only
    where other spans already were (``ungrounded`` and ``overlapping``), listed by text
    and label as far as the stored examples go, and the relations dropped with them.
    A prediction without grounding (spans given with offsets) has none."""
    grounding = _grounding(record)
    if grounding is None:
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
