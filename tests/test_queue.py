"""The disagreement-first queue: its score, its orders, its strata and draw probabilities,
and what an accepted document records about how it was chosen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tinydb import TinyDB

from annotations.gold import gold_records_by_document
from annotations.models import Annotation, Document, Prediction, Relation, Span
from annotations.queue import (
    QueueError,
    build_queue,
    disagreements,
    done_documents,
    draw_probabilities,
)
from annotations.session import EditingSession
from annotations.store import GoldStore


def _span(start: int, end: int, label: str = "PER") -> Span:
    return Span(start=start, end=end, label=label, source="x", state="suggested")


# Per document: (spans of a@1, spans of b@1); c@1 always predicts a@1's spans.
LAYERS: list[tuple[list[Span], list[Span]]] = [
    ([_span(0, 4)], [_span(0, 4)]),                                  # agree
    ([_span(0, 4)], [_span(0, 4, "ORG")]),                           # 2 spans differ
    ([_span(0, 4), _span(5, 9)], []),                                # 2 spans differ
    ([_span(0, 4), _span(5, 9), _span(10, 14)], [_span(0, 9)]),      # 4 spans differ
    ([], []),                                                        # agree
    ([_span(5, 9)], [_span(5, 9)]),                                  # agree
]


def make_store(path: Path, layers: list[tuple[list[Span], list[Span]]] = LAYERS,
               relations: bool = False) -> list[str]:
    ids = []
    with GoldStore(path) as store:
        docs = [Document.from_text(f"Anna Berg Cole Dorn doc {i}", {"title": f"Doc [b]{i}"})
                for i in range(len(layers))]
        store.add_documents(docs)
        store.add_entity_labels(["PER", "ORG"])
        preds = []
        for doc, (a, b) in zip(docs, layers, strict=True):
            rel_a: list[Relation] = []
            if relations and len(a) >= 2:
                rel_a = [Relation(head=a[0].key, child=a[1].key, label="knows")]
            preds += [Prediction(doc_id=doc.id, extractor="a@1", spans=a, relations=rel_a),
                      Prediction(doc_id=doc.id, extractor="b@1", spans=b),
                      Prediction(doc_id=doc.id, extractor="c@1", spans=a, relations=rel_a)]
            ids.append(doc.id)
        store.put_predictions(preds)
    return ids


def test_the_score_counts_spans_in_one_output_only_summed_over_pairs(gold_path: Path) -> None:
    ids = make_store(gold_path, relations=True)
    with GoldStore(gold_path, read_only=True) as store:
        two = disagreements(store, ["a@1", "b@1"])
        three = disagreements(store, ["a@1", "b@1", "c@1"])
    assert list(two.scores) == [0, 2, 2 + 1, 4 + 1, 0, 0]
    assert two.doc_ids == ids
    # c@1 = a@1: pairs (a, c) add nothing, (b, c) repeat (a, b).
    assert list(three.scores) == [2 * s for s in two.scores]
    assert two.reason(2) == "a@1 and b@1 differ on 2 spans and 1 relation"
    assert two.reason(0) == "a@1 and b@1 agree"
    assert three.reason(0) == "a@1, b@1 and c@1 all agree"


def test_disagreement_order_puts_the_most_different_first_then_agreeing_at_random(
        gold_path: Path) -> None:
    ids = make_store(gold_path)
    with GoldStore(gold_path, read_only=True) as store:
        queue = build_queue(store, ["a@1", "b@1"], order="disagreement", seed=3)
    entries = queue.entries()
    assert [e.rank for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].doc_id == ids[3] and entries[0].score == 4
    assert {e.doc_id for e in entries[1:3]} == {ids[1], ids[2]}
    assert [e.stratum for e in entries] == ["differ"] * 3 + ["agree"] * 3
    # Taken by rank in the differ stratum; drawn at random among the agreeing ones left.
    assert [e.probability for e in entries] == [None, None, None, 1 / 3, 1 / 2, 1.0]
    assert queue.sizes == {"differ": 3, "agree": 3}


def test_ties_follow_the_seed(gold_path: Path) -> None:
    make_store(gold_path, LAYERS * 4)
    with GoldStore(gold_path, read_only=True) as store:
        orders = {seed: build_queue(store, ["a@1", "b@1"], seed=seed).doc_ids
                  for seed in range(4)}
        again = build_queue(store, ["a@1", "b@1"], seed=2).doc_ids
        found = disagreements(store, ["a@1", "b@1"])
    assert again == orders[2]
    assert len({tuple(o) for o in orders.values()}) > 1
    score = dict(zip(found.doc_ids, found.scores.tolist(), strict=True))
    for order in orders.values():
        scores = [score[d] for d in order]
        assert scores == sorted(scores, reverse=True)


def test_differ_first_draws_each_stratum_at_random(gold_path: Path) -> None:
    ids = make_store(gold_path)
    with GoldStore(gold_path, read_only=True) as store:
        queue = build_queue(store, ["a@1", "b@1"], order="differ-first", seed=2)
    entries = queue.entries()
    assert {e.doc_id for e in entries[:3]} == {ids[1], ids[2], ids[3]}
    assert [e.probability for e in entries] == [1 / 3, 1 / 2, 1.0] * 2
    assert queue.selection(0).order == "differ-first"


def test_random_and_store_orders(gold_path: Path) -> None:
    ids = make_store(gold_path)
    with GoldStore(gold_path, read_only=True) as store:
        stored = build_queue(store, ["a@1", "b@1"], order="store")
        randomly = build_queue(store, ["a@1", "b@1"], order="random", seed=1)
    assert stored.doc_ids == ids
    assert all(e.probability is None for e in stored.entries())
    assert sorted(randomly.doc_ids) == sorted(ids)
    # Each drawn uniformly among the documents of its stratum still waiting.
    by_stratum: dict[str, list[float | None]] = {}
    for entry in randomly.entries():
        by_stratum.setdefault(entry.stratum, []).append(entry.probability)
    assert by_stratum == {"differ": [1 / 3, 1 / 2, 1.0], "agree": [1 / 3, 1 / 2, 1.0]}


def test_draw_probabilities() -> None:
    drawn = draw_probabilities(np.array([0, 1, 0, 1, 1]),
                               np.array([False, True, True, True, True]))
    assert np.isnan(drawn[0])
    assert list(drawn[1:]) == [1 / 3, 1.0, 1 / 2, 1.0]


def test_annotated_documents_leave_the_queue(gold_path: Path) -> None:
    ids = make_store(gold_path)
    with GoldStore(gold_path) as store:
        store.save_annotations([
            Annotation(doc_id=ids[3], status="accept"),
            Annotation(doc_id=ids[1], status="reject"),
            Annotation(doc_id=ids[2]),  # open: still waiting
        ])
        queue = build_queue(store, ["a@1", "b@1"])
    assert queue.doc_ids[0] == ids[2]
    assert ids[3] not in queue.doc_ids and ids[1] not in queue.doc_ids
    assert (queue.annotated, queue.excluded) == (1, 1)
    # The rejected document is out of the population; the accepted one is in it.
    assert queue.sizes == {"differ": 2, "agree": 3}
    assert queue.waiting == {"differ": 1, "agree": 3}
    with GoldStore(gold_path, read_only=True) as store:
        assert done_documents(store)[0] == set(gold_records_by_document(store))


def test_errors_name_the_problem(gold_path: Path, tmp_path: Path) -> None:
    make_store(gold_path)
    with GoldStore(gold_path, read_only=True) as store:
        with pytest.raises(QueueError, match="unknown extractor 'z@1'.*a@1, b@1, c@1"):
            build_queue(store, ["a@1", "z@1"])
        with pytest.raises(QueueError, match="at least two"):
            build_queue(store, ["a@1", "a@1"])
        with pytest.raises(QueueError, match="unknown order"):
            build_queue(store, ["a@1", "b@1"], order="best")
    with GoldStore(tmp_path / "empty.json") as empty:
        with pytest.raises(QueueError, match="holds no documents"):
            build_queue(empty, ["a@1", "b@1"])


def test_a_missing_prediction_is_refused_unless_counted_as_empty(gold_path: Path) -> None:
    ids = make_store(gold_path)
    with GoldStore(gold_path) as store:
        store.add_documents([Document.from_text("Anna Berg, once more")])
        store.put_predictions([Prediction(doc_id=store.document_ids()[-1], extractor="a@1",
                                          spans=[_span(0, 4)])])
        with pytest.raises(QueueError, match="'b@1' has no predictions for 1 of 7"):
            build_queue(store, ["a@1", "b@1"])
        queue = build_queue(store, ["a@1", "b@1"], missing_as_empty=True)
    assert len(queue) == len(ids) + 1 and queue.missing == {"b@1": 1}


def test_a_missing_prediction_counts_as_an_empty_output_whichever_extractor_lacks_it(
        gold_path: Path) -> None:
    make_store(gold_path)
    with GoldStore(gold_path) as store:
        docs = [Document.from_text(f"Anna Berg, missing {i}") for i in range(3)]
        store.add_documents(docs)
        store.put_predictions([
            # a@1 lacks it, b@1 predicts nothing: they agree.
            Prediction(doc_id=docs[0].id, extractor="b@1", spans=[]),
            # a@1 lacks it, b@1 predicts a span: they differ on it.
            Prediction(doc_id=docs[1].id, extractor="b@1", spans=[_span(0, 4)]),
            # b@1 lacks it, a@1 predicts a span and a relation.
            Prediction(doc_id=docs[2].id, extractor="a@1", spans=[_span(0, 4), _span(5, 9)],
                       relations=[Relation(head=(0, 4, "PER"), child=(5, 9, "PER"),
                                           label="knows")])])
        found = disagreements(store, ["a@1", "b@1"], [d.id for d in docs],
                              missing_as_empty=True)
    assert list(found.scores) == [0, 1, 3]
    assert list(found.span_counts) == [0, 0, 2]
    assert found.missing == {"a@1": 2, "b@1": 1}


def test_accepting_a_queued_document_records_how_it_was_chosen(gold_path: Path) -> None:
    make_store(gold_path)
    with GoldStore(gold_path) as store:
        queue = build_queue(store, ["a@1", "b@1"], seed=5)
        session = EditingSession(store, doc_ids=queue.doc_ids, chosen=queue.selections(),
                                 reasons=queue.reasons())
        session.open(session.resume_index())
        assert session.reason_of(session.doc_id) == "a@1 and b@1 differ on 4 spans"
        session.set_status("accept", confirm_unreviewed=True)
        session.open(3)
        session.set_status("accept", confirm_unreviewed=True)
        session.open(4)
        session.set_status("reject")
        first, fourth = queue.entry(0), queue.entry(3)
    # Readable by plain TinyDB, beside the annotation.
    records = {r["doc_id"]: r for r in TinyDB(gold_path).table("annotations").all()}
    assert records[first.doc_id]["chosen"] == {
        "order": "disagreement", "rank": 1, "stratum": "differ", "score": 4,
        "probability": None, "extractors": ["a@1", "b@1"], "seed": 5, "group": None}
    assert records[fourth.doc_id]["chosen"]["probability"] == pytest.approx(1 / 3)
    assert records[fourth.doc_id]["chosen"]["stratum"] == "agree"
    assert records[queue.doc_ids[4]]["chosen"] is None
    with GoldStore(gold_path, read_only=True) as store:
        assert build_queue(store, ["a@1", "b@1"]).doc_ids == [
            *queue.doc_ids[1:3], *queue.doc_ids[5:]]


def test_a_patch_save_keeps_the_choice(gold_path: Path) -> None:
    """The choice survives edits after accepting (saves journalled as span patches)."""
    make_store(gold_path)
    with GoldStore(gold_path) as store:
        queue = build_queue(store, ["a@1", "b@1"])
        session = EditingSession(store, doc_ids=queue.doc_ids, chosen=queue.selections())
        session.open(0)
        session.set_status("accept", confirm_unreviewed=True)
        session.label(20, 23, "ORG")
        doc_id = session.doc_id
    with GoldStore(gold_path, read_only=True) as store:
        saved = store.annotation(doc_id)
        assert saved is not None and saved.chosen is not None and saved.chosen.rank == 1
