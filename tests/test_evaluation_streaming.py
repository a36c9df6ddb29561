"""Scoring a store one gold document at a time: what is kept of each document (its
counts, the documents the report shows) gives the figures of scoring every document at
once, and the errors of the whole pass are still raised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotations.evaluation import (
    EvalDocument,
    EvaluationError,
    GoldDocuments,
    evaluate_extractor,
    report_order,
    run_evaluation,
    score_entities,
)
from annotations.models import Annotation, Document, Prediction, Span
from annotations.significance import approximate_randomization, entity_columns
from annotations.store import GoldStore

WORDS = ["Maria Keller", "Aster Rail", "Geneva", "Monday", "Bern", "Lena Hart"]


def _texts(n: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """``n`` short articles, each with its names as gold spans (PER, ORG, LOC)."""
    out = []
    for i in range(n):
        names = [WORDS[(i + k) % len(WORDS)] for k in range(3)]
        text = f"Item {i}: {names[0]} met {names[1]} in {names[2]}."
        spans, at = [], 0
        for name, label in zip(names, ("PER", "ORG", "LOC"), strict=True):
            start = text.index(name, at)
            spans.append((start, start + len(name), label))
            at = start + len(name)
        out.append((text, spans))
    return out


def _prediction(i: int, spans: list[tuple[int, int, str]]) -> list[Span]:
    """A prediction that gets some documents wrong in different ways."""
    out = []
    for k, (s, e, label) in enumerate(spans):
        if (i + k) % 4 == 0:
            label = "LOC" if label != "LOC" else "PER"  # relabelled
        elif (i + k) % 5 == 0:
            s += 1  # a boundary off
        elif (i + k) % 7 == 0:
            continue  # missed
        out.append(Span(start=s, end=e, label=label))
    return out


@pytest.fixture
def store_path(gold_path: Path) -> Path:
    """12 gold documents, one open; a@1 on all of them, b@1 on all but the last two,
    c@1 only on the open document."""
    articles = _texts(13)
    docs = [Document.from_text(text, {"title": f"T{i}"})
            for i, (text, _) in enumerate(articles)]
    with GoldStore(gold_path) as store:
        store.add_documents(docs)
        store.add_entity_labels(["PER", "ORG", "LOC"])
        store.save_annotations([
            Annotation(doc_id=d.id, status="accept" if i < 12 else None,
                       spans=[Span(start=s, end=e, label=label) for s, e, label in spans])
            for i, (d, (_, spans)) in enumerate(zip(docs, articles, strict=True))])
        predictions = []
        for i, (d, (_, spans)) in enumerate(zip(docs, articles, strict=True)):
            predictions.append(Prediction(doc_id=d.id, extractor="a@1",
                                          spans=_prediction(i, spans)))
            if i < 10:
                predictions.append(Prediction(doc_id=d.id, extractor="b@1",
                                              spans=_prediction(i + 1, spans)))
        predictions.append(Prediction(doc_id=docs[12].id, extractor="c@1"))
        store.put_predictions(predictions)
    return gold_path


def test_each_gold_document_comes_once_with_every_extractor_on_it(store_path: Path) -> None:
    with GoldStore(store_path, read_only=True) as store:
        stream = GoldDocuments(store, missing_as_empty=True)
        rows = list(stream)
        assert stream.finish() == ["a@1", "b@1"]  # c@1 predicted no gold document
    assert len(rows) == 12
    assert all([d.doc_id for d in row] == [row[0].doc_id] * 3 for row in rows)
    assert [len(row[2].pred) for row in rows] == [0] * 12  # c@1: nothing on gold
    assert rows[11][1].pred == [] and rows[0][1].pred != []  # b@1 misses the last two


def test_missing_predictions_are_refused_after_the_pass(store_path: Path) -> None:
    with GoldStore(store_path, read_only=True) as store:
        stream = GoldDocuments(store, ["a@1", "b@1"])
        assert len(list(stream)) == 12
        with pytest.raises(EvaluationError, match=r"'b@1' has no predictions for 2 of 12 gold"):
            stream.finish()
        with pytest.raises(EvaluationError, match="unknown extractor 'z@1'"):
            list(GoldDocuments(store, ["a@1", "z@1"]))
        with pytest.raises(EvaluationError, match="no gold documents"):
            GoldDocuments(store, ["z@1"], annotator="nobody").finish()


def test_only_the_documents_the_report_shows_are_kept(store_path: Path) -> None:
    with GoldStore(store_path, read_only=True) as store:
        everything = run_evaluation(store, ["a@1"], bootstrap=0, keep_documents=None)
        kept = run_evaluation(store, ["a@1"], bootstrap=0, keep_documents=4)
        none = run_evaluation(store, ["a@1"], bootstrap=0, keep_documents=0)
    all_docs = everything.scored_documents["a@1"]
    assert sorted(all_docs) == list(range(12))
    order = report_order(everything.results["a@1"].entities.document_f1("strict"))
    assert sorted(kept.scored_documents["a@1"]) == sorted(order[:4])
    assert none.scored_documents["a@1"] == {}
    assert kept.to_json() == everything.to_json()


def _documents() -> list[EvalDocument]:
    """Documents whose layers overlap themselves too (the general matcher's rows)."""
    docs = []
    for i, (text, spans) in enumerate(_texts(9)):
        pred = [(sp.start, sp.end, sp.label) for sp in _prediction(i, spans)]
        if i % 3 == 0:
            s, e, label = spans[0]
            pred.append((s, e - 2, "ORG"))  # overlaps a span of its own layer
        docs.append(EvalDocument(f"d{i}", text, spans, sorted(pred)))
    return docs


def test_per_label_counts_of_each_document_are_that_document_scored_alone() -> None:
    docs = _documents()
    result = evaluate_extractor("m@1", docs, bootstrap=0)
    for label, entry in result.entities.label_documents.items():
        for index, row in zip(entry.docs, entry.counts, strict=True):
            alone = score_entities([docs[index]]).label_counts[label]
            assert list(row) == alone
        total = np.asarray(entry.counts).sum(axis=0)
        assert list(total) == result.entities.label_counts[label]


def test_approximate_randomization_in_blocks_gives_the_same_p_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    a = entity_columns(rng.integers(0, 6, size=(300, 20)))
    b = entity_columns(rng.integers(0, 6, size=(300, 20)))
    whole = approximate_randomization(a, b, rounds=700, seed=5)
    monkeypatch.setattr("annotations.significance._BLOCK_CELLS", 300 * 7)
    assert np.array_equal(approximate_randomization(a, b, rounds=700, seed=5), whole)
