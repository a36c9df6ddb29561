"""The review of one extractor against the gold: which documents, in which order.

``reader review`` walks the gold documents an extractor predicted, worst strict F1
first (documents with nothing to score last, then in import order), so the
extractor's worst mistakes come first.  The edits themselves are the editing
session's (:meth:`~annotations.session.EditingSession.take_prediction` and the rest).
"""

from __future__ import annotations

from dataclasses import dataclass

from .evaluation import (
    EvalDocument,
    EvaluationError,
    collect_documents,
    gold_annotations,
    score_entities,
)
from .store import GoldStore


@dataclass
class ReviewDocument:
    """A gold document to review and what the extractor predicted on it."""

    doc_id: str
    title: str
    annotator: str
    pred: list[tuple[int, int, str]]


def review_documents(store: GoldStore, extractor: str,
                     annotator: str | None = None) -> list[ReviewDocument]:
    """Gold documents the extractor predicted, lowest strict F1 first.

    Raises :class:`EvaluationError` (no gold, unknown extractor, a prediction that
    does not fit its text, or no gold document predicted).
    """
    gold = gold_annotations(store, annotator)
    docs: list[EvalDocument] = [
        d for d in collect_documents(store, extractor, missing_as_empty=True, gold=gold)
        if store.has_prediction(d.doc_id, extractor)
    ]
    if not docs:
        raise EvaluationError(f"{store.path}: extractor {extractor!r} has no predictions on "
                              "gold documents")
    f1 = score_entities(docs).document_f1("strict")
    # Worst first; documents with nothing to score (NaN) last, then import order.
    order = sorted(range(len(docs)), key=lambda i: (f1[i] != f1[i], f1[i], i))
    return [ReviewDocument(docs[i].doc_id, docs[i].title, gold[docs[i].doc_id].annotator,
                           list(docs[i].pred)) for i in order]
