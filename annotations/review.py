"""The review of one extractor against the gold: which documents, in which order.

``reader review`` walks the gold documents an extractor predicted, worst strict F1
first (documents with nothing to score last, then in import order), so the
extractor's worst mistakes come first.  The edits themselves are the editing
session's (:meth:`~annotations.session.EditingSession.take_prediction` and the rest).

The order is found in one pass over the store, one document at a time (as evaluation
reads it): what is kept is each document's id, title and gold annotator, and a
document's predicted spans are read again when the review shows it, so a review of a
large store holds its order, not every document's layers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from .evaluation import EvalDocument, EvaluationError, GoldDocuments, score_entities
from .evaluation.documents import layer_tuples
from .store import GoldStore


@dataclass
class ReviewDocument:
    """A gold document to review, and what the extractor predicted on it."""

    doc_id: str
    title: str
    annotator: str
    extractor: str
    store: GoldStore = field(repr=False, compare=False)

    @cached_property
    def pred(self) -> list[tuple[int, int, str]]:
        """The extractor's spans on the document, ``(start, end, label)``, as stored
        (read when first asked for)."""
        record = self.store.prediction_record(self.doc_id, self.extractor)
        if record is None:
            raise EvaluationError(f"{self.store.path}: extractor {self.extractor!r} no longer "
                                  f"has a prediction on document {self.doc_id}")
        spans, _ = layer_tuples(record, len(self.store.text(self.doc_id)),
                                f"{self.store.path}: extractor {self.extractor!r}, "
                                f"document {self.doc_id}")
        return spans


def review_documents(store: GoldStore, extractor: str,
                     annotator: str | None = None) -> list[ReviewDocument]:
    """Gold documents the extractor predicted, lowest strict F1 first.

    Raises :class:`EvaluationError` (no gold, unknown extractor, a prediction that
    does not fit its text, or no gold document predicted).
    """
    stream = GoldDocuments(store, [extractor], annotator=annotator, missing_as_empty=True)
    kept: list[ReviewDocument] = []

    def predicted() -> Iterator[EvalDocument]:
        for doc, in stream:
            if store.has_prediction(doc.doc_id, extractor):
                assert stream.layer is not None
                kept.append(ReviewDocument(doc.doc_id, doc.title, stream.layer.annotator,
                                           extractor, store))
                yield doc

    f1 = score_entities(predicted()).document_f1("strict")
    stream.finish()
    if not kept:
        raise EvaluationError(f"{store.path}: extractor {extractor!r} has no predictions on "
                              "gold documents")
    # Worst first; documents with nothing to score (NaN) last, then import order.
    order = sorted(range(len(kept)), key=lambda i: (f1[i] != f1[i], f1[i], i))
    return [kept[i] for i in order]
