"""Overlapping layers: the layer rule with its flag, span references, and the span index."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.layer import (
    SpanIndex,
    check_layer,
    crossing,
    is_flat,
    lanes,
    nesting_depths,
    outermost,
    resolve_refs,
    stacked,
    visit_order,
)
from annotations.models import LabelScheme, Relation, Span

TEXT = "The University of California campus in Berkeley"  # 0..47


def s(start: int, end: int, label: str = "ORG") -> Span:
    return Span(start=start, end=end, label=label)


UNI, CAL, CAL_LOC = s(4, 30), s(18, 28, "GPE"), s(18, 28, "LOC")


def test_a_flat_layer_refuses_nesting_and_an_overlapping_one_keeps_it() -> None:
    with pytest.raises(ValueError, match="overlap.*flat"):
        check_layer(TEXT, [UNI, CAL], [])
    check_layer(TEXT, [UNI, CAL, CAL_LOC], [], overlapping=True)
    with pytest.raises(ValueError, match="given twice"):
        check_layer(TEXT, [UNI, CAL, s(18, 28, "GPE")], [], overlapping=True)
    with pytest.raises(ValueError, match="outside the text"):
        check_layer(TEXT, [s(40, 60)], [], overlapping=True)


def test_relations_name_their_spans_by_offsets_and_label() -> None:
    spans = [UNI, CAL, CAL_LOC]
    located = Relation(head=UNI.ref, child=CAL.ref, label="located_in")
    check_layer(TEXT, spans, [located], overlapping=True)
    # Offsets alone name a span only where one span has them.
    check_layer(TEXT, spans, [Relation(head=(4, 30), child=CAL.ref, label="x")], True)
    with pytest.raises(ValueError, match=r"child 18-28 names 2 spans \(GPE, LOC\)"):
        check_layer(TEXT, spans, [Relation(head=(4, 30), child=(18, 28), label="x")], True)
    with pytest.raises(ValueError, match=r"child 18-28 \(PER\) is not one of the spans"):
        check_layer(TEXT, spans, [Relation(head=UNI.ref, child=(18, 28, "PER"), label="x")],
                    True)
    with pytest.raises(ValueError, match="to itself"):
        check_layer(TEXT, spans, [Relation(head=(4, 30), child=UNI.ref, label="x")], True)
    with pytest.raises(ValueError, match="given twice"):
        check_layer(TEXT, spans, [located, Relation(head=(4, 30), child=CAL.ref,
                                                    label="located_in")], True)
    assert resolve_refs(spans, [located]) == [(UNI, CAL, "located_in")]
    # A labelled end in a flat layer must carry the span's label.
    check_layer(TEXT, [UNI, s(34, 47, "GPE")], [Relation(head=UNI.ref, child=(34, 47, "GPE"),
                                                         label="x")])


def test_old_relations_and_schemes_still_read() -> None:
    rel = Relation.model_validate({"head": [0, 4], "child": [5, 9], "label": "x"})
    assert rel.head == (0, 4)
    assert Relation.model_validate({"head": [0, 4, "PER"], "child": [5, 9], "label": "x"}
                                   ).head == (0, 4, "PER")
    assert LabelScheme.model_validate({"entities": [], "relations": []}).overlapping is False


def test_the_index_of_an_overlapping_layer_finds_every_span_under_an_offset() -> None:
    index = SpanIndex([CAL_LOC, UNI, CAL, s(40, 47, "GPE")], overlapping=True)
    assert [x.ref for x in index.spans] == [UNI.ref, CAL.ref, CAL_LOC.ref, (40, 47, "GPE")]
    assert index.all_at(20) == [CAL, CAL_LOC, UNI]  # innermost first
    assert index.at(20) == CAL and index.at(10) == UNI and index.at(35) is None
    assert index.get((18, 28, "LOC")) == CAL_LOC and index.get((18, 28)) == CAL
    assert index.get((18, 28, "PER")) is None
    assert index.all_with_offsets(18, 28) == [CAL, CAL_LOC]
    assert index.overlapping(25, 41) == [UNI, CAL, CAL_LOC, s(40, 47, "GPE")]
    index.replace([CAL], [s(18, 23, "PER")])
    assert index.all_at(20) == [s(18, 23, "PER"), CAL_LOC, UNI]
    assert index.starts == [x.start for x in index.spans]


def test_the_index_of_a_flat_layer_works_as_before() -> None:
    spans = [s(n * 10, n * 10 + 4, "PER") for n in range(30)]
    shuffled = list(spans)
    random.Random(5).shuffle(shuffled)
    index = SpanIndex(shuffled)
    assert index.spans == spans and index.all_at(12) == [spans[1]] and index.all_at(15) == []
    assert index.get((10, 14)) == spans[1] and index.get((10, 14, "PER")) == spans[1]
    assert index.get((10, 14, "ORG")) is None


spans_strategy = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 25), st.sampled_from(["A", "B", "C"])),
    max_size=25,
).map(lambda raw: sorted({s(a, a + n, lab) for a, n, lab in raw}, key=lambda x: x.ref))


@settings(max_examples=150, deadline=None)
@given(spans_strategy, st.integers(0, 90), st.integers(0, 90), st.data())
def test_the_overlapping_index_agrees_with_a_scan(spans, offset, other, data) -> None:
    index = SpanIndex(spans, overlapping=True)
    held = [x for x in spans if x.start <= offset < x.end]
    assert sorted(index.all_at(offset), key=lambda x: x.ref) == held
    if held:
        assert index.at(offset) == min(held, key=lambda x: (x.end - x.start, -x.start, x.label))
    start, end = min(offset, other), max(offset, other) + 1
    assert index.overlapping(start, end) == [x for x in spans if x.start < end and start < x.end]
    assert is_flat(spans) == (not any(a.start < b.end and b.start < a.end
                                      for i, a in enumerate(spans) for b in spans[i + 1:]))
    # Edits keep it equal to an index built afresh.
    if spans:
        removed = data.draw(st.lists(st.sampled_from(spans), unique=True))
        added = [s(offset, offset + 3, "Z")]
        index.replace(removed, added)
        fresh = SpanIndex([x for x in spans if x not in removed] + added, overlapping=True)
        assert index.spans == fresh.spans and index.starts == fresh.starts
        assert index.all_at(offset) == fresh.all_at(offset)


def test_lanes_put_outer_spans_above_nested_ones() -> None:
    assert lanes([CAL, UNI, CAL_LOC, s(40, 47, "GPE")]) == {
        UNI.ref: 0, CAL.ref: 1, CAL_LOC.ref: 2, (40, 47, "GPE"): 0}
    assert outermost([CAL, UNI, CAL_LOC]) == ([UNI], [CAL, CAL_LOC])


@settings(max_examples=150, deadline=None)
@given(spans_strategy)
def test_lanes_never_overlap_and_are_as_few_as_the_deepest_point(spans) -> None:
    lane_of = lanes(spans)
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            if a.start < b.end and b.start < a.end:
                assert lane_of[a.ref] != lane_of[b.ref]
    deepest = max((sum(x.start <= o < x.end for x in spans) for o in range(100)), default=0)
    assert len(set(lane_of.values())) == deepest
    kept, dropped = outermost(spans)
    assert is_flat(kept) and sorted(kept + dropped, key=lambda x: x.ref) == spans
    # The outermost spans are lane 0: what a flat view of the layer shows.
    assert {x.ref for x in kept} == {ref for ref, lane in lane_of.items() if lane == 0}


@given(spans_strategy)
def test_stacked_spans_start_inside_a_span_before_them(spans) -> None:
    """``stacked`` (one sweep), ``SpanIndex.is_stacked`` (per span, from the spans at its
    start) and the definition, by brute force, agree."""
    index = SpanIndex(spans, overlapping=True)

    def before(a: Span, b: Span) -> bool:
        return (a.start, -a.end, a.label) < (b.start, -b.end, b.label)

    expected = {b.ref for b in spans
                if any(before(a, b) and a.start <= b.start < a.end for a in spans)}
    assert stacked(spans) == expected
    assert {span.ref for span in spans if index.is_stacked(span)} == expected
    crossers = {b.ref for b in spans if any(before(a, b) and a.start <= b.start < a.end < b.end
                                            for a in spans)}
    assert crossing(spans) == crossers <= expected
    assert {span.ref for span in spans if index.crosses(span)} == crossers
    flat = outermost(spans)[0]  # a flat layer: nothing stacked
    assert stacked(flat) == set() and not any(SpanIndex(flat).is_stacked(x) for x in flat)


# The nested brat document of issue 18 (doc.txt, doc.ann).
DOC = ("Students of the University of Dushanbe marched through Dushanbe on Monday.\n"
       "The Tajik National University said the CSTO summit in Dushanbe was postponed.\n")
DOC_SPANS = [s(16, 38), s(30, 38, "GPE"), s(55, 63, "GPE"), s(67, 73, "DATE"), s(79, 104),
             s(79, 84, "NORP"), s(114, 118), s(114, 125, "EVENT"), s(129, 137, "GPE")]


def test_tab_and_shift_tab_visit_every_nested_span_in_opposite_orders() -> None:
    index = SpanIndex(DOC_SPANS, overlapping=True)
    forward, span = [], index.step(0, 1)
    while span is not None:
        forward.append(DOC[span.start:span.end])
        span = index.step(0, 1, span)
    assert forward == ["University of Dushanbe", "Dushanbe", "Dushanbe", "Monday",
                       "Tajik National University", "Tajik", "CSTO summit", "CSTO",
                       "Dushanbe"]
    backward, span = [], index.step(len(DOC), -1)
    while span is not None:
        backward.append(DOC[span.start:span.end])
        span = index.step(0, -1, span)
    assert backward == forward[::-1]
    # From a bare offset: the first span starting after it, the last starting before it.
    assert index.step(40, 1) == s(55, 63, "GPE") and index.step(40, -1) == s(30, 38, "GPE")


@settings(max_examples=40, deadline=None)
@given(spans_strategy, st.integers(0, 90))
def test_stepping_walks_the_visit_order_both_ways(spans, offset) -> None:
    index = SpanIndex(spans, overlapping=True)
    order = visit_order(spans)
    for i, span in enumerate(order):
        assert index.step(offset, 1, span) == (order[i + 1] if i + 1 < len(order) else None)
        assert index.step(offset, -1, span) == (order[i - 1] if i else None)
    assert index.step(offset, 1) == next((x for x in order if x.start > offset), None)
    assert index.step(offset, -1) == next((x for x in reversed(order) if x.start < offset),
                                          None)


def test_nesting_depth_counts_the_spans_holding_a_span() -> None:
    order = visit_order(DOC_SPANS)
    assert [(DOC[x.start:x.end], depth) for x, depth in zip(order, nesting_depths(order),
                                                          strict=True)][3:7] == [
        ("Monday", 0), ("Tajik National University", 0), ("Tajik", 1), ("CSTO summit", 0)]
    # Spans that cross are not nested; a span inside both is held by both.
    crossing = visit_order([s(0, 10), s(5, 15, "B"), s(6, 8, "C")])
    assert nesting_depths(crossing) == [0, 0, 2]
    assert nesting_depths(visit_order([s(0, 10), s(0, 10, "B"), s(2, 4)])) == [0, 1, 2]
