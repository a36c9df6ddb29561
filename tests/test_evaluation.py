"""Hand-made cases for entity and relation scores, the bootstrap, error analysis,
span verdicts, and reading the gold set and predictions from the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.evaluation import (
    EvalDocument,
    EvaluationError,
    bootstrap_intervals,
    collect_documents,
    compare_spans,
    evaluate_extractor,
    gold_annotations,
    overlapping_runs,
    score_entities,
    score_relations,
)
from annotations.models import Annotation, Document, Prediction, Relation, Span
from annotations.store import GoldStore

TEXT = "Maria Keller met Aster Rail in Geneva on Monday."
#       0     6      13  17         28 31     38 41


def doc(gold, pred, gold_relations=(), pred_relations=(), doc_id="d", text=TEXT):
    return EvalDocument(doc_id=doc_id, text=text, gold=gold, pred=pred,
                        gold_relations=gold_relations, pred_relations=pred_relations)


def test_each_kind_of_error_is_counted_as_nervaluate_documents_it():
    gold = [(0, 12, "PER"), (17, 27, "ORG"), (31, 37, "LOC"), (41, 47, "DATE")]
    pred = [
        (0, 12, "PER"),  # correct everywhere
        (17, 27, "PER"),  # right boundaries, wrong label
        (31, 35, "LOC"),  # right label, wrong boundaries
        # DATE missed
        (38, 40, "LOC"),  # "on": spurious
    ]
    scores = score_entities([doc(gold, pred)])
    assert scores.counts("strict") == (1, 2, 0, 1, 1)
    assert scores.counts("exact") == (2, 1, 0, 1, 1)
    assert scores.counts("partial") == (2, 0, 1, 1, 1)
    assert scores.counts("type") == (2, 1, 0, 1, 1)
    strict = scores.micro("strict")
    assert strict["actual"] == 4 and strict["possible"] == 4
    assert strict["precision"] == pytest.approx(1 / 4)
    partial = scores.micro("partial")
    assert partial["precision"] == pytest.approx(2.5 / 4)
    # Per label is the evaluation restricted to one label, as in nervaluate.
    assert scores.counts("strict", "ORG") == (0, 0, 0, 1, 0)
    assert scores.counts("strict", "PER") == (1, 0, 0, 0, 1)
    assert scores.counts("strict", "LOC") == (0, 1, 0, 0, 1)
    macro = scores.macro("strict")
    f1s = [e["f1"] for e in scores.by_label("strict").values()]
    assert macro.f1 == pytest.approx(sum(f1s) / len(f1s))


def test_strict_is_exact_start_end_label_set_matching():
    gold = [(0, 5, "PER"), (6, 12, "PER"), (17, 27, "ORG")]
    pred = [(0, 5, "PER"), (6, 12, "ORG"), (17, 28, "ORG"), (31, 37, "LOC")]
    strict = score_entities([doc(gold, pred)]).micro("strict")
    matches = len(set(gold) & set(pred))
    assert strict["correct"] == matches == 1
    assert strict["precision"] == pytest.approx(matches / len(pred))
    assert strict["recall"] == pytest.approx(matches / len(gold))


def test_nothing_to_score_gives_zero_with_zero_counts():
    scores = score_entities([doc([], [])])
    assert scores.micro("strict")["f1"] == 0.0
    assert scores.counts("strict") == (0, 0, 0, 0, 0)
    assert np.isnan(scores.document_f1("strict")[0])


PER_M, ORG_A, LOC_G = (0, 12), (17, 27), (31, 37)
GOLD_SPANS = [(*PER_M, "PER"), (*ORG_A, "ORG"), (*LOC_G, "LOC")]


def test_relations_strict_needs_argument_labels_boundaries_does_not():
    gold_rel = [(PER_M, ORG_A, "works_for"), (ORG_A, LOC_G, "based_in")]
    pred_spans = [(*PER_M, "PER"), (*ORG_A, "LOC"), (*LOC_G, "LOC")]  # ORG mislabelled
    pred_rel = [(PER_M, ORG_A, "works_for"), (ORG_A, LOC_G, "based_in")]
    scores = score_relations([doc(GOLD_SPANS, pred_spans, gold_rel, pred_rel)])
    assert scores.micro("strict")["correct"] == 0
    assert scores.micro("strict")["missed"] == 2 and scores.micro("strict")["spurious"] == 2
    assert scores.micro("boundaries")["correct"] == 2
    assert scores.micro("boundaries")["f1"] == 1.0


def test_relations_wrong_direction_label_or_argument_boundary_are_errors_in_both_modes():
    gold_rel = [(PER_M, ORG_A, "works_for")]
    for pred_spans, pred_rel in [
        (GOLD_SPANS, [(ORG_A, PER_M, "works_for")]),  # reversed
        (GOLD_SPANS, [(PER_M, ORG_A, "based_in")]),  # other relation label
        ([(0, 5, "PER"), *GOLD_SPANS[1:]], [((0, 5), ORG_A, "works_for")]),  # head too short
    ]:
        scores = score_relations([doc(GOLD_SPANS, pred_spans, gold_rel, pred_rel)])
        for mode in ("strict", "boundaries"):
            assert scores.micro(mode)["correct"] == 0
            assert scores.micro(mode)["missed"] == 1 and scores.micro(mode)["spurious"] == 1


def test_relations_per_label_and_micro():
    gold_rel = [(PER_M, ORG_A, "works_for"), (ORG_A, LOC_G, "based_in")]
    pred_rel = [(PER_M, ORG_A, "works_for")]
    scores = score_relations([doc(GOLD_SPANS, GOLD_SPANS, gold_rel, pred_rel)])
    micro = scores.micro("strict")
    assert (micro["correct"], micro["missed"], micro["spurious"]) == (1, 1, 0)
    assert micro["precision"] == 1.0 and micro["recall"] == 0.5
    by_label = scores.by_label("strict")
    assert by_label["works_for"]["f1"] == 1.0
    assert by_label["based_in"]["recall"] == 0.0


def _many_docs(n: int) -> list[EvalDocument]:
    rng = np.random.default_rng(1)
    docs = []
    for i in range(n):
        gold = [(10 * k, 10 * k + 5, "PER") for k in range(5)]
        pred = [span for span in gold if rng.random() < 0.7] + [(10 * 5 + 1, 10 * 5 + 3, "ORG")]
        docs.append(doc(gold, pred, doc_id=str(i), text="x" * 80))
    return docs


def test_bootstrap_is_seeded_and_brackets_the_micro_f1():
    docs = _many_docs(40)
    first = evaluate_extractor("a", docs, bootstrap=300, seed=5)
    again = evaluate_extractor("a", docs, bootstrap=300, seed=5)
    other = evaluate_extractor("a", docs, bootstrap=300, seed=6)
    assert first.intervals == again.intervals
    assert first.intervals != other.intervals
    for scheme in ("strict", "exact", "partial", "type"):
        low, high = first.intervals[scheme]
        assert low < first.entities.micro(scheme)["f1"] < high


def test_bootstrap_of_identical_documents_has_no_spread():
    docs = [doc([(0, 5, "PER")], [(0, 5, "PER"), (6, 9, "ORG")], doc_id=str(i)) for i in range(10)]
    result = evaluate_extractor("a", docs, bootstrap=50, seed=0)
    f1 = result.entities.micro("strict")["f1"]
    assert result.intervals["strict"] == pytest.approx((f1, f1))


def test_bootstrap_with_zero_samples_gives_no_intervals():
    counts = score_entities(_many_docs(3)).doc_counts
    assert bootstrap_intervals(counts, None, samples=0, seed=0) == {}


def test_error_analysis_confusion_missed_spurious_and_worst_documents():
    good = doc([(0, 12, "PER")], [(0, 12, "PER")], doc_id="good")
    bad = doc([(0, 12, "PER"), (17, 27, "ORG"), (31, 37, "LOC")],
              [(0, 12, "ORG"), (41, 47, "DATE")], doc_id="bad")
    empty = doc([], [], doc_id="empty")
    result = evaluate_extractor("x", [good, empty, bad], bootstrap=0)
    assert result.confusion[("PER", "PER")] == 1
    assert result.confusion[("PER", "ORG")] == 1
    assert result.confusion[("ORG", None)] == 1 and result.confusion[(None, "DATE")] == 1
    assert result.missed[("Aster Rail", "ORG")] == 1
    assert result.missed[("Geneva", "LOC")] == 1
    assert result.spurious[("Monday", "DATE")] == 1
    worst = result.worst_documents()
    assert [row["doc_id"] for row in worst] == ["bad", "good"]  # no entities: left out
    assert worst[0]["f1"] == 0.0 and worst[1]["f1"] == 1.0


def test_compare_spans_gives_one_verdict_per_group_in_text_order():
    gold = [(0, 12, "PER"), (17, 27, "ORG"), (31, 37, "LOC"), (41, 47, "DATE")]
    pred = [(0, 12, "PER"), (17, 27, "PER"), (31, 35, "LOC"), (38, 40, "LOC")]
    groups = compare_spans(gold, pred)
    assert [g.verdict for g in groups] == ["correct", "label", "boundary", "spurious", "missed"]
    assert groups[2].gold == ((31, 37, "LOC"),) and groups[2].pred == ((31, 35, "LOC"),)
    assert [g.is_disagreement for g in groups] == [False, True, True, True, True]


def test_compare_spans_keeps_one_prediction_over_two_gold_spans_together():
    groups = compare_spans([(0, 5, "PER"), (6, 12, "PER")], [(0, 12, "PER")])
    assert len(groups) == 1 and groups[0].verdict == "boundary"
    assert len(groups[0].gold) == 2


def test_compare_spans_keeps_exact_matches_apart_from_the_spans_nested_around_them():
    # "University of Dushanbe" ORG holding "Dushanbe" GPE; the prediction has the ORG
    # right and calls the inner span LOC, and misses an EVENT around "CSTO" ORG.
    gold = [(16, 38, "ORG"), (30, 38, "GPE"), (114, 118, "ORG"), (114, 125, "EVENT")]
    pred = [(16, 38, "ORG"), (30, 38, "LOC"), (114, 118, "ORG"), (120, 125, "EVENT")]
    groups = compare_spans(gold, pred)
    assert [(g.verdict, g.gold, g.pred) for g in groups] == [
        ("correct", ((16, 38, "ORG"),), ((16, 38, "ORG"),)),
        ("label", ((30, 38, "GPE"),), ((30, 38, "LOC"),)),
        ("boundary", ((114, 125, "EVENT"),), ((120, 125, "EVENT"),)),
        ("correct", ((114, 118, "ORG"),), ((114, 118, "ORG"),)),
    ]


def test_label_confusion_in_a_nested_layer_pairs_each_span_with_its_match():
    gold = [(16, 38, "ORG"), (30, 38, "GPE"), (114, 118, "ORG"), (114, 125, "EVENT")]
    pred = [(16, 38, "ORG"), (30, 38, "LOC"), (114, 118, "ORG")]
    doc = EvalDocument(doc_id="d", text="x" * 200, gold=gold, pred=pred)
    result = evaluate_extractor("x", [doc], bootstrap=0)
    # Not GPE→ORG, ORG→LOC or EVENT→ORG: the spans nested in or around a match overlap
    # it, but it is not theirs.
    assert dict(result.confusion) == {("ORG", "ORG"): 2, ("GPE", "LOC"): 1,
                                      ("EVENT", None): 1}


def _compare_by_overlap_only(gold, pred):
    """compare_spans as it was before exact matches were taken out first: in flat
    layers the two agree."""
    items = sorted([(s, e, label, 0) for s, e, label in gold]
                   + [(s, e, label, 1) for s, e, label in pred])
    out = []
    for members in overlapping_runs(items):
        g = tuple(m[:3] for m in members if m[3] == 0)
        p = tuple(m[:3] for m in members if m[3] == 1)
        if not p or not g:
            out += [("missed", (span,), ()) for span in g]
            out += [("spurious", (), (span,)) for span in p]
        elif len(g) == 1 and len(p) == 1 and g[0][:2] == p[0][:2]:
            out.append(("correct" if g[0][2] == p[0][2] else "label", g, p))
        else:
            out.append(("boundary", g, p))
    return out


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_compare_spans_in_flat_layers_is_grouping_by_overlap(data):
    def flat_layer():
        cuts = data.draw(st.lists(st.integers(0, 60), unique=True, max_size=12).map(sorted))
        pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
        return [(s, e, data.draw(st.sampled_from("AB"))) for s, e in pairs if s < e]

    gold, pred = flat_layer(), flat_layer()
    assert [(g.verdict, g.gold, g.pred) for g in compare_spans(gold, pred)] == \
        _compare_by_overlap_only(gold, pred)


# -- from the store -------------------------------------------------------------


@pytest.fixture
def filled(gold_path: Path) -> GoldStore:
    first = Document.from_text(TEXT, {"title": "First"})
    second = Document.from_text("Aster Rail hired Maria Keller.", {"title": "Second"})
    with GoldStore(gold_path) as store:
        store.add_documents([first, second])
        store.add_entity_labels(["PER", "ORG", "LOC", "DATE"])
        store.save_annotation(Annotation(doc_id=first.id, spans=[Span(start=0, end=12,
                                         label="PER")], status="accept"))
        store.save_annotation(Annotation(doc_id=second.id, spans=[], status="reject"))
        store.put_predictions([Prediction(doc_id=first.id, extractor="m@1",
                                          spans=[Span(start=0, end=12, label="PER")])])
    return GoldStore(gold_path, read_only=True)


def test_only_accepted_annotations_are_gold(filled: GoldStore):
    docs = collect_documents(filled, "m@1")
    assert [d.title for d in docs] == ["First"]
    assert docs[0].gold == [(0, 12, "PER")] and docs[0].pred == [(0, 12, "PER")]


def test_unknown_extractor_is_an_error_naming_the_known_ones(filled: GoldStore):
    with pytest.raises(EvaluationError, match=r"unknown extractor 'nope'.*m@1"):
        collect_documents(filled, "nope")


def test_no_gold_is_an_error(gold_path: Path):
    with GoldStore(gold_path) as store:
        store.add_documents([Document.from_text(TEXT)])
    with GoldStore(gold_path, read_only=True) as store, \
            pytest.raises(EvaluationError, match="no gold documents"):
        gold_annotations(store)


def test_gold_document_without_prediction_is_refused_unless_asked(gold_path: Path):
    first = Document.from_text(TEXT)
    second = Document.from_text("Another text.")
    with GoldStore(gold_path) as store:
        store.add_documents([first, second])
        store.add_entity_labels(["PER"])
        for d in (first, second):
            store.save_annotation(Annotation(doc_id=d.id, status="accept"))
        store.put_predictions([Prediction(doc_id=first.id, extractor="m@1")])
    with GoldStore(gold_path, read_only=True) as store:
        with pytest.raises(EvaluationError, match="no predictions for 1 of 2 gold documents"):
            collect_documents(store, "m@1")
        assert len(collect_documents(store, "m@1", missing_as_empty=True)) == 2


def test_prediction_reaching_past_the_text_is_an_error(gold_path: Path):
    """A prediction made on another text cannot be detected by id (the id is the hash of the
    stored text); what can be checked is that its spans fit the stored text."""
    d = Document.from_text("Short text.")
    with GoldStore(gold_path) as store:
        store.add_documents([d])
        store.save_annotation(Annotation(doc_id=d.id, status="accept"))
    # Written with TinyDB's layout directly, as a hand-edited or foreign file would be.
    import json

    data = json.loads(gold_path.read_text())
    data.setdefault("predictions", {})["1"] = Prediction(
        doc_id=d.id, extractor="m@1", spans=[Span(start=6, end=40, label="PER")]
    ).model_dump(mode="json")
    gold_path.write_text(json.dumps(data))
    with GoldStore(gold_path, read_only=True) as store, \
            pytest.raises(EvaluationError, match="ends past the document text"):
        collect_documents(store, "m@1")


def test_relations_are_read_with_their_argument_spans(gold_path: Path):
    d = Document.from_text(TEXT)
    spans = [Span(start=0, end=12, label="PER"), Span(start=17, end=27, label="ORG")]
    rel = Relation(head=(0, 12), child=(17, 27), label="works_for")
    with GoldStore(gold_path) as store:
        store.add_documents([d])
        store.add_entity_labels(["PER", "ORG"])
        store.add_relation_labels(["works_for"])
        store.save_annotation(Annotation(doc_id=d.id, spans=spans, relations=[rel],
                                         status="accept"))
        store.put_predictions([Prediction(doc_id=d.id, extractor="m@1", spans=spans,
                                          relations=[rel])])
    with GoldStore(gold_path, read_only=True) as store:
        docs = collect_documents(store, "m@1")
    result = evaluate_extractor("m@1", docs, bootstrap=0)
    assert result.relations.micro("strict")["f1"] == 1.0


def test_document_whose_text_was_changed_after_import_is_an_error(gold_path: Path):
    """Predictions are keyed by the hash of the text they were made on; a stored text that
    no longer matches its id means no prediction can be trusted to fit it."""
    import json

    d = Document.from_text(TEXT)
    with GoldStore(gold_path) as store:
        store.add_documents([d])
        store.add_entity_labels(["PER"])
        store.save_annotation(Annotation(doc_id=d.id, status="accept",
                                         spans=[Span(start=0, end=12, label="PER")]))
        store.put_predictions([Prediction(doc_id=d.id, extractor="m@1",
                                          spans=[Span(start=0, end=12, label="PER")])])
    data = json.loads(gold_path.read_text())
    record = next(iter(data["documents"].values()))
    record["text"] = record["text"].replace("Maria", "Mario")
    gold_path.write_text(json.dumps(data))
    with GoldStore(gold_path, read_only=True) as store, \
            pytest.raises(EvaluationError, match="does not match its id"):
        collect_documents(store, "m@1")
