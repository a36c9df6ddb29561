"""The review's document order, found in one pass over the store: worst strict F1 first,
documents with nothing to score last, then import order; each document's predicted
spans read when the review shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.evaluation import EvaluationError, collect_documents, score_entities
from annotations.models import Annotation, Document, Prediction, Span
from annotations.review import review_documents
from annotations.store import GoldStore

WORDS = ["Ines", "Olaf", "Tartu", "Lumen"]


def _store(path: Path) -> GoldStore:
    store = GoldStore(path)
    docs = [Document.from_text(f"Note {i}: Ines met Olaf in Tartu at Lumen.") for i in range(7)]
    store.add_documents(docs)
    store.set_labels(store.labels.with_entities(["PERSON", "GPE", "ORG"]))

    def span(doc: Document, word: str, label: str) -> Span:
        start = doc.text.index(word)
        return Span(start=start, end=start + len(word), label=label)

    gold = [span(d, "Ines", "PERSON") for d in docs]
    store.save_annotations([
        Annotation(doc_id=d.id, status="accept" if i != 5 else None,
                   annotator="ana" if i % 2 else "ben",
                   spans=[] if i == 4 else [g, span(d, "Tartu", "GPE")])
        for i, (d, g) in enumerate(zip(docs, gold, strict=True))])
    labels = ["PERSON", "ORG", "GPE", "PERSON", "PERSON", "GPE", "ORG"]
    store.put_predictions([
        Prediction(doc_id=d.id, extractor="fast@1",
                   spans=[] if i == 4 else [span(d, "Ines", labels[i])]
                   + ([span(d, "Lumen", "ORG")] if i in (1, 3) else []))
        for i, d in enumerate(docs) if i != 6])
    return store


def test_the_order_is_worst_f1_first_as_scoring_every_document_says(tmp_path: Path) -> None:
    store = _store(tmp_path / "gold.json")
    reviewed = review_documents(store, "fast@1")
    # The plain definition: every predicted gold document scored at once.
    docs = [d for d in collect_documents(store, "fast@1", missing_as_empty=True)
            if store.has_prediction(d.doc_id, "fast@1")]
    f1 = score_entities(docs).document_f1("strict")
    order = sorted(range(len(docs)), key=lambda i: (f1[i] != f1[i], f1[i], i))
    assert [r.doc_id for r in reviewed] == [docs[i].doc_id for i in order]
    assert [r.pred for r in reviewed] == [list(docs[i].pred) for i in order]
    assert [r.title for r in reviewed] == [docs[i].title for i in order]
    annotators = {a.doc_id: a.annotator for a in store.gold()}
    assert [r.annotator for r in reviewed] == [annotators[r.doc_id] for r in reviewed]
    # Document 5 has no gold, 6 no prediction; 4 has nothing to score, so it is last.
    assert len(reviewed) == 5 and reviewed[-1].pred == []
    store.close()


def test_no_gold_and_unknown_extractors_are_errors(tmp_path: Path) -> None:
    store = _store(tmp_path / "gold.json")
    with pytest.raises(EvaluationError, match="unknown extractor 'slow@2'"):
        review_documents(store, "slow@2")
    with pytest.raises(EvaluationError, match="no accepted annotations|no gold"):
        review_documents(store, "fast@1", annotator="nobody")
    store.close()
