"""The stratified estimate of an extractor's F1 on the whole store, its interval, its
warnings, and the ``estimate`` order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotations.estimate import (
    collapse,
    estimable,
    estimate_corpus,
    stratified_bootstrap,
    stratified_f1,
)
from annotations.models import Annotation, Document, Prediction, Span
from annotations.queue import build_queue
from annotations.session import EditingSession
from annotations.store import GoldStore


def _population(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """300 documents' (hits, total) columns: 30 where the extractors differ (F1 about
    0.5), 270 where they agree (F1 about 0.9); and each one's stratum."""
    rng = np.random.default_rng(seed)
    strata = np.array([0] * 30 + [1] * 270)
    spans = rng.integers(1, 8, size=300)
    quality = np.where(strata == 0, 0.5, 0.9)
    hits = rng.binomial(spans, quality)
    total = 2 * spans  # as many predicted as gold spans: 2 TP + FP + FN = 2 spans
    return np.column_stack([hits, total]).astype(float), strata


def test_the_stratified_estimate_is_unbiased_where_the_plain_f1_is_not() -> None:
    columns, strata = _population()
    truth = 2 * columns[:, 0].sum() / columns[:, 1].sum()
    sizes = np.bincount(strata).astype(float)
    rng = np.random.default_rng(1)
    estimates, plain = [], []
    for _ in range(400):
        # Every differing document, and 20 agreeing ones drawn at random.
        chosen = np.concatenate([np.arange(30), 30 + rng.choice(270, 20, replace=False)])
        cols = columns[chosen]
        estimates.append(stratified_f1(cols, strata[chosen], sizes)[0])
        plain.append(2 * cols[:, 0].sum() / cols[:, 1].sum())
    assert abs(np.mean(estimates) - truth) < 0.005
    assert abs(np.mean(plain) - truth) > 0.1


def test_the_interval_covers_the_truth_at_about_its_rate() -> None:
    columns, strata = _population(2)
    truth = 2 * columns[:, 0].sum() / columns[:, 1].sum()
    sizes = np.bincount(strata).astype(float)
    rng = np.random.default_rng(3)
    covered = 0
    for rep in range(60):
        chosen = np.concatenate([np.arange(30), 30 + rng.choice(270, 30, replace=False)])
        interval = stratified_bootstrap(columns[chosen], strata[chosen], sizes, samples=200,
                                        seed=rep)
        assert interval is not None
        low, high = interval[0]
        covered += low <= truth <= high
    assert covered >= 50  # 95 % nominal; a fast test, so few repetitions


def test_a_census_stratum_adds_no_variance_and_a_thin_one_no_interval() -> None:
    columns, strata = _population()
    sizes = np.bincount(strata).astype(float)
    everything = stratified_bootstrap(columns, strata, sizes, samples=50)
    assert everything is not None
    assert everything[0][0] == pytest.approx(everything[0][1])
    one_agreeing = np.concatenate([np.arange(30), [40]])
    assert estimable(strata[one_agreeing], sizes) == (True, False)
    assert stratified_bootstrap(columns[one_agreeing], strata[one_agreeing], sizes) is None
    assert estimable(strata[:30], sizes) == (False, False)


def test_thin_size_classes_are_merged_with_their_neighbours() -> None:
    population = np.array([0, 1, 1, 1, 2, 2, 3, 3, 3, 3])
    gold = np.array([0, 1, 1, 2, 3])
    mapping = collapse(gold, population, 4)
    assert list(mapping) == [0, 1, 2, 2]


def _span(start: int, end: int, label: str = "PER") -> Span:
    return Span(start=start, end=end, label=label, source="x", state="suggested")


def _store(path: Path) -> list[str]:
    """24 documents: on 4 the extractors differ (b@1 misses the second name), on 20
    they agree; gold has both names everywhere, and a third one on every agreeing one
    that neither extractor finds."""
    ids = []
    with GoldStore(path) as store:
        docs = [Document.from_text(f"Anna Berg Cole Dorn Egon Falk {i:02d}") for i in range(24)]
        store.add_documents(docs)
        store.add_entity_labels(["PER"])
        preds = []
        for i, doc in enumerate(docs):
            a = [_span(0, 4), _span(5, 9)]
            preds += [Prediction(doc_id=doc.id, extractor="a@1", spans=a),
                      Prediction(doc_id=doc.id, extractor="b@1", spans=a[:1] if i < 4 else a)]
            ids.append(doc.id)
        store.put_predictions(preds)
    return ids


def _accept(session: EditingSession, index: int, differ: set[str]) -> None:
    session.open(index)
    session.confirm_spans(session.annotation.spans, "confirm")
    session.label(5, 9, "PER")  # the name b@1 misses where they differ
    if session.doc_id not in differ:
        session.label(10, 14, "PER")
    session.set_status("accept")


def test_estimate_from_a_disagreement_first_gold_set(gold_path: Path) -> None:
    ids = _store(gold_path)
    with GoldStore(gold_path) as store:
        queue = build_queue(store, ["a@1", "b@1"], seed=0)
        session = EditingSession(store, doc_ids=queue.doc_ids, chosen=queue.selections())
        for index in range(4 + 4):  # the 4 differing documents, then 4 agreeing ones
            _accept(session, index, set(ids[:4]))
        estimate = estimate_corpus(store, ["a@1", "b@1"], samples=200)
    assert estimate.documents == 24 and estimate.annotated == 8
    differ = estimate.strata[0]
    assert (differ.name, differ.size, differ.annotated, differ.census) == (
        "differ", 4, 4, True)
    agree = estimate.strata[1]
    assert (agree.size, agree.annotated, agree.drawn_at_random) == (20, 4, 4)
    a = next(r for r in estimate.results if r.extractor == "a@1")
    # a@1 finds 2 of 2 names on differing documents and 2 of 3 on agreeing ones:
    # store F1 = 2 * 48 / (2 * 48 + 20) exactly (the agreeing documents are all alike).
    assert a.estimate == pytest.approx(96 / 116)
    assert a.interval == pytest.approx((96 / 116, 96 / 116))
    assert a.plain == pytest.approx(2 * 16 / (2 * 16 + 4))
    assert any("not a random sample" in w and "compare" in w for w in estimate.warnings)
    assert not any("taken by rank" in w for w in estimate.warnings)


def test_no_estimate_without_gold_in_a_stratum_and_a_warning_for_ranked_documents(
        gold_path: Path) -> None:
    ids = _store(gold_path)
    with GoldStore(gold_path) as store:
        store.save_annotations([Annotation(doc_id=ids[0], spans=[_span(0, 4)],
                                           status="accept")])
        estimate = estimate_corpus(store, ["a@1", "b@1"], samples=50)
    assert all(r.estimate is None and r.interval is None for r in estimate.results)
    assert any("has no gold document" in w for w in estimate.warnings)
    assert any("no record of how they were chosen" in w for w in estimate.warnings)


def test_estimate_order_draws_the_differing_first_then_from_thin_strata(
        gold_path: Path) -> None:
    ids = _store(gold_path)
    with GoldStore(gold_path) as store:
        queue = build_queue(store, ["a@1", "b@1"], order="estimate", seed=4)
    assert set(queue.doc_ids[:4]) == set(ids[:4])
    assert [queue.probability(i) for i in range(4)] == [1 / 4, 1 / 3, 1 / 2, 1.0]
    assert [queue.probability(i) for i in range(4, 7)] == [1 / 20, 1 / 19, 1 / 18]
    selection = queue.selection(4)
    assert (selection.order, selection.stratum, selection.group) == (
        "estimate", "agree", "agree, 1-2 spans")


def test_a_gold_document_counts_once_however_many_annotators_accepted_it(
        gold_path: Path) -> None:
    """Two annotators and the adjudicated annotation accepted the same documents: each
    is one gold document, in the estimate as in the evaluation (checked for issue 20)."""
    from annotations.evaluation import run_evaluation

    ids = _store(gold_path)
    with GoldStore(gold_path) as store:
        for doc_id in ids[:6]:
            store.save_annotations([
                Annotation(doc_id=doc_id, annotator=who, spans=[_span(0, 4)], status="accept")
                for who in ("ann", "bob", "gold")])
        store.save_annotations([Annotation(doc_id=doc_id, annotator="ann",
                                           spans=[_span(0, 4)], status="accept")
                                for doc_id in ids[6:12]])
        for annotator, gold in ((None, 12), ("ann", 12), ("bob", 6)):
            evaluation = run_evaluation(store, ["a@1", "b@1"], annotator=annotator,
                                        bootstrap=0, rounds=0)
            estimate = estimate_corpus(store, ["a@1", "b@1"], annotator=annotator,
                                       samples=20)
            assert evaluation.documents == estimate.annotated == gold
            assert sum(s.annotated for s in estimate.strata) == gold
            assert estimate.documents == 24
