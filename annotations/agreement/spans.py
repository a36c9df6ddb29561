"""Span agreement between two annotators, and the span groups of one document.

Pairwise F1 (Hripcsak & Rothschild 2005, "Agreement, the F-measure, and reliability
in information retrieval"): with one annotator taken as the reference, F1 of the
other, which is symmetric: ``F1 = 2·TP / (n_A + n_B)``.  Three modes:

- ``exact``: the same ``(start, end, label)``;
- ``overlap``: spans that overlap and have the same label, matched one to one
  (each annotator's spans never overlap one another, so a left-to-right walk finds
  the largest matching; identical spans always match each other);
- ``unlabelled``: the same ``(start, end)``, labels ignored (micro only).

:func:`align_spans` groups the spans of several annotators on one document into
regions of overlapping spans, with who marked which version: the adjudication
screen and the disagreement lists read it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..evaluation import SpanTuple

SPAN_MODES: tuple[str, ...] = ("exact", "overlap", "unlabelled")
LABELLED_MODES: tuple[str, ...] = ("exact", "overlap")


def _overlap_matches(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    """The size of the largest one-to-one matching of overlapping spans (both sorted, flat)."""
    i = j = matched = 0
    while i < len(a) and j < len(b):
        if a[i][1] <= b[j][0]:
            i += 1
        elif b[j][1] <= a[i][0]:
            j += 1
        else:
            matched += 1
            i += 1
            j += 1
    return matched


@dataclass
class PairCounts:
    """Per-document span counts of two annotators: ``(tp, n_a, n_b)`` per mode."""

    doc_rows: list[tuple[int, ...]]
    by_label: dict[str, dict[str, list[int]]]  # mode -> label -> [tp, n_a, n_b]


def count_pair(a: Iterable[SpanTuple], b: Iterable[SpanTuple],
               by_label: dict[str, dict[str, list[int]]]) -> tuple[int, ...]:
    """One document: ``(tp, n_a, n_b)`` for exact, overlap and unlabelled, in that order.

    Adds the per-label counts of the two labelled modes to ``by_label``.
    """
    set_a, set_b = set(a), set(b)
    n_a, n_b = len(set_a), len(set_b)
    common = set_a & set_b
    exact_labels = by_label["exact"]
    overlap_labels = by_label["overlap"]
    for spans, column in ((set_a, 1), (set_b, 2)):
        for span in spans:
            label = span[2]
            exact = exact_labels.get(label)
            if exact is None:
                exact = exact_labels[label] = [0, 0, 0]
                overlap_labels[label] = [0, 0, 0]
            exact[column] += 1
            overlap_labels[label][column] += 1
    for span in common:
        exact_labels[span[2]][0] += 1
        overlap_labels[span[2]][0] += 1
    overlap = len(common)
    rest_a, rest_b = set_a - common, set_b - common
    if rest_a and rest_b:
        grouped: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        for spans, side in ((rest_a, 0), (rest_b, 1)):
            for start, end, label in spans:
                grouped.setdefault(label, ([], []))[side].append((start, end))
        for label, (left, right) in grouped.items():
            if left and right:
                matched = _overlap_matches(sorted(left), sorted(right))
                overlap += matched
                overlap_labels[label][0] += matched
    unlabelled = len({s[:2] for s in set_a} & {s[:2] for s in set_b})
    return (len(common), n_a, n_b, overlap, n_a, n_b, unlabelled, n_a, n_b)


def f1_entry(tp: int, n_a: int, n_b: int) -> dict[str, float | int | None]:
    """Counts and scores with ``a`` as the reference (precision and recall of ``b``).

    When neither marked anything there is nothing to compare: the scores are ``None``.
    """
    if n_a + n_b == 0:
        return {"agreed": 0, "a": 0, "b": 0, "precision": None, "recall": None, "f1": None}
    return {
        "agreed": tp, "a": n_a, "b": n_b,
        "precision": tp / n_b if n_b else 0.0,
        "recall": tp / n_a if n_a else 0.0,
        "f1": 2 * tp / (n_a + n_b),
    }


# -- groups of one document (for adjudication and the disagreement lists) ----------


@dataclass(frozen=True)
class SpanVersion:
    """One way of marking a region: the spans, and who marked it that way."""

    spans: tuple[SpanTuple, ...]
    annotators: tuple[str, ...]


@dataclass(frozen=True)
class AlignedGroup:
    """A region where spans of several annotators overlap one another (and nothing else).

    ``by_annotator`` has every annotator asked about, with ``()`` for those who
    marked nothing in the region.
    """

    start: int
    end: int
    by_annotator: dict[str, tuple[SpanTuple, ...]]

    @property
    def versions(self) -> list[SpanVersion]:
        """The distinct versions, the most shared first (marking nothing is a version)."""
        who: dict[tuple[SpanTuple, ...], list[str]] = {}
        for name, spans in self.by_annotator.items():
            who.setdefault(spans, []).append(name)
        ranked = sorted(who.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return [SpanVersion(spans, tuple(names)) for spans, names in ranked]

    @property
    def agreed(self) -> bool:
        """Every annotator marked exactly the same spans here."""
        return len(set(self.by_annotator.values())) == 1

    def share(self) -> float:
        """The fraction of annotators behind the most shared version that marks something
        (INCEpTION's auto-merge threshold compares against this)."""
        counts = Counter(spans for spans in self.by_annotator.values() if spans)
        if not counts:
            return 0.0
        return counts.most_common(1)[0][1] / len(self.by_annotator)


def align_spans(spans_by_annotator: Mapping[str, Iterable[SpanTuple]]) -> list[AlignedGroup]:
    """One document's spans by annotator, split into groups of overlapping spans in text order.

    Two spans are in one group when they overlap, directly or through other spans
    (of any annotator).  Each annotator's spans must not overlap one another.
    """
    names = list(spans_by_annotator)
    items = sorted((s, e, label, index) for index, name in enumerate(names)
                   for s, e, label in spans_by_annotator[name])
    groups: list[AlignedGroup] = []
    members: list[tuple[int, int, str, int]] = []
    group_end = -1

    def flush() -> None:
        by_annotator: dict[str, list[SpanTuple]] = {name: [] for name in names}
        for s, e, label, index in members:
            by_annotator[names[index]].append((s, e, label))
        groups.append(AlignedGroup(
            start=members[0][0], end=group_end,
            by_annotator={name: tuple(spans) for name, spans in by_annotator.items()},
        ))

    for item in items:
        if members and item[0] >= group_end:
            flush()
            members = []
        members.append(item)
        group_end = item[1] if len(members) == 1 else max(group_end, item[1])
    if members:
        flush()
    return groups
