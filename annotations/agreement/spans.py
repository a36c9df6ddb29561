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

import numpy as np

from ..evaluation import RelationTuple, SpanTuple, overlapping_runs
from .continuum import Continuum, RaterSpans
from .unitizing import overlapping_pairs

SPAN_MODES: tuple[str, ...] = ("exact", "overlap", "unlabelled")
LABELLED_MODES: tuple[str, ...] = ("exact", "overlap")


def _greedy_matches(a_start: np.ndarray, a_end: np.ndarray, b_start: np.ndarray,
                    b_end: np.ndarray) -> list[int]:
    """Indices into ``a`` of the largest one-to-one matching of overlapping spans, both
    sides sorted and flat: a left-to-right walk that matches whenever two overlap
    (optimal here: a span overlapping two on the other side ends after the first)."""
    i = j = 0
    matched = []
    a_s, a_e, b_s, b_e = a_start.tolist(), a_end.tolist(), b_start.tolist(), b_end.tolist()
    while i < len(a_s) and j < len(b_s):
        if a_e[i] <= b_s[j]:
            i += 1
        elif b_e[j] <= a_s[i]:
            j += 1
        else:
            matched.append(i)
            i += 1
            j += 1
    return matched


@dataclass
class PairSpans:
    """Span counts of two annotators over the documents both annotated.

    ``doc_rows[d]``: ``(agreed, n_a, n_b)`` for exact, overlap and unlabelled, for the
    ``d``-th shared document; ``labels[mode][k]``: ``(agreed, n_a, n_b)`` of label id
    ``k`` for the labelled modes.  ``a`` and ``b`` are the spans on shared documents;
    ``exact_a`` / ``exact_b`` flag those matched exactly, ``same_offsets_a`` /
    ``same_offsets_b`` those with a span at the same offsets on the other side.
    """

    shared: np.ndarray
    doc_rows: np.ndarray
    labels: dict[str, np.ndarray]
    a: RaterSpans
    b: RaterSpans
    exact_a: np.ndarray
    exact_b: np.ndarray
    same_offsets_a: np.ndarray
    same_offsets_b: np.ndarray


def pair_spans(continuum: Continuum, ia: int, ib: int) -> PairSpans:
    """Exact, overlap and unlabelled agreement of annotators ``ia`` and ``ib``."""
    ra, rb = continuum.raters[ia], continuum.raters[ib]
    both = ra.present & rb.present
    a, b = ra.subset(both[ra.doc]), rb.subset(both[rb.doc])
    n_docs = len(both)
    n_labels = len(continuum.labels) + 1
    # Spans of one annotator never overlap, so a start names at most one span.
    _, ia_same, ib_same = np.intersect1d(a.start, b.start, assume_unique=True,
                                         return_indices=True)
    same_end = a.end[ia_same] == b.end[ib_same]
    ia_u, ib_u = ia_same[same_end], ib_same[same_end]
    same_label = a.label[ia_u] == b.label[ib_u]
    ia_x, ib_x = ia_u[same_label], ib_u[same_label]
    exact_a = np.zeros(len(a.start), dtype=bool)
    exact_a[ia_x] = True
    exact_b = np.zeros(len(b.start), dtype=bool)
    exact_b[ib_x] = True
    same_offsets_a = np.zeros(len(a.start), dtype=bool)
    same_offsets_a[ia_u] = True
    same_offsets_b = np.zeros(len(b.start), dtype=bool)
    same_offsets_b[ib_u] = True

    # Overlap: identical spans match each other (nothing else overlaps them); among the
    # rest, same-label overlapping pairs where each span has one partner match at once,
    # and the few tangled ones are settled by the left-to-right walk, label by label.
    rest_a, rest_b = np.flatnonzero(~exact_a), np.flatnonzero(~exact_b)
    pi, pj = overlapping_pairs(a.start[rest_a], a.end[rest_a], b.start[rest_b],
                               b.end[rest_b])
    keep = a.label[rest_a][pi] == b.label[rest_b][pj]
    pi, pj = pi[keep], pj[keep]
    deg_a = np.bincount(pi, minlength=len(rest_a))
    deg_b = np.bincount(pj, minlength=len(rest_b))
    alone = (deg_a[pi] == 1) & (deg_b[pj] == 1)
    matched = [rest_a[pi[alone]]]
    tangled_a = np.unique(rest_a[pi[~alone]])
    tangled_b = np.unique(rest_b[pj[~alone]])
    for label in np.unique(a.label[tangled_a]):
        sa = tangled_a[a.label[tangled_a] == label]
        sb = tangled_b[b.label[tangled_b] == label]
        hits = _greedy_matches(a.start[sa], a.end[sa], b.start[sb], b.end[sb])
        matched.append(sa[np.array(hits, dtype=np.int64)])
    overlap_a = np.concatenate([ia_x, *matched])

    def per_doc(docs: np.ndarray) -> np.ndarray:
        return np.bincount(docs, minlength=n_docs)

    n_a, n_b = per_doc(a.doc), per_doc(b.doc)
    rows = np.stack([per_doc(a.doc[ia_x]), n_a, n_b, per_doc(a.doc[overlap_a]), n_a, n_b,
                     per_doc(a.doc[ia_u]), n_a, n_b], axis=1)[both]

    def per_label(agreed: np.ndarray) -> np.ndarray:
        return np.stack([np.bincount(agreed, minlength=n_labels),
                         np.bincount(a.label, minlength=n_labels),
                         np.bincount(b.label, minlength=n_labels)], axis=1)

    labels = {"exact": per_label(a.label[ia_x]), "overlap": per_label(a.label[overlap_a])}
    return PairSpans(np.flatnonzero(both), rows, labels, a, b, exact_a, exact_b,
                     same_offsets_a, same_offsets_b)


def _max_matching(edges: dict[int, list[int]]) -> dict[int, int]:
    """A maximum one-to-one matching of a bipartite graph (``a -> [b, ...]``), by
    augmenting paths (Kuhn); the candidate lists are tried in order, so an edge listed
    first (identical spans) is kept when it can be."""
    match_b: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in match_b or augment(match_b[j], seen):
                match_b[j] = i
                return True
        return False

    for i in edges:
        augment(i, set())
    return {i: j for j, i in match_b.items()}


def pair_spans_nested(continuum: Continuum, ia: int, ib: int) -> PairSpans:
    """:func:`pair_spans` for layers whose spans may nest or overlap (brat, spaCy's
    ``doc.spans``): exact and unlabelled as multisets of offsets, overlap as a maximum
    one-to-one matching of overlapping same-label spans.  Plain Python per document:
    such layers are small and rare next to flat ones."""
    ra, rb = continuum.raters[ia], continuum.raters[ib]
    both = ra.present & rb.present
    a, b = ra.subset(both[ra.doc]), rb.subset(both[rb.doc])
    shared = np.flatnonzero(both)
    n_labels = len(continuum.labels) + 1
    position = {int(d): k for k, d in enumerate(shared.tolist())}
    rows = np.zeros((len(shared), 9), dtype=np.int64)
    labels = {mode: np.zeros((n_labels, 3), dtype=np.int64) for mode in LABELLED_MODES}
    exact_a, exact_b = np.zeros(len(a.start), dtype=bool), np.zeros(len(b.start), dtype=bool)
    same_a, same_b = np.zeros(len(a.start), dtype=bool), np.zeros(len(b.start), dtype=bool)
    a_of: dict[int, list[int]] = {}
    b_of: dict[int, list[int]] = {}
    for i, d in enumerate(a.doc.tolist()):
        a_of.setdefault(d, []).append(i)
    for j, d in enumerate(b.doc.tolist()):
        b_of.setdefault(d, []).append(j)
    a_spans = list(zip(a.start.tolist(), a.end.tolist(), a.label.tolist(), strict=True))
    b_spans = list(zip(b.start.tolist(), b.end.tolist(), b.label.tolist(), strict=True))
    for d, k in position.items():
        mine, theirs = a_of.get(d, []), b_of.get(d, [])
        by_key = {b_spans[j]: j for j in theirs}
        offsets_b = Counter(b_spans[j][:2] for j in theirs)
        offsets_a = Counter(a_spans[i][:2] for i in mine)
        exact = [i for i in mine if a_spans[i] in by_key]
        for i in exact:
            exact_a[i] = exact_b[by_key[a_spans[i]]] = True
        for i in mine:
            same_a[i] = a_spans[i][:2] in offsets_b
        for j in theirs:
            same_b[j] = b_spans[j][:2] in offsets_a
        edges: dict[int, list[int]] = {}
        for i in mine:
            s, e, label = a_spans[i]
            hits = [j for j in theirs if b_spans[j][2] == label
                    and b_spans[j][0] < e and s < b_spans[j][1]]
            if hits:
                edges[i] = sorted(hits, key=lambda j: b_spans[j] != a_spans[i])
        overlap = _max_matching(edges)
        unlabelled = sum(min(n, offsets_b[key]) for key, n in offsets_a.items())
        n_a, n_b = len(mine), len(theirs)
        rows[k] = (len(exact), n_a, n_b, len(overlap), n_a, n_b, unlabelled, n_a, n_b)
        for mode, agreed in (("exact", exact), ("overlap", list(overlap))):
            for i in agreed:
                labels[mode][a_spans[i][2], 0] += 1
    for mode in LABELLED_MODES:
        labels[mode][:, 1] = np.bincount(a.label, minlength=n_labels)
        labels[mode][:, 2] = np.bincount(b.label, minlength=n_labels)
    return PairSpans(shared, rows, labels, a, b, exact_a, exact_b, same_a, same_b)


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
    for members in overlapping_runs(items):
        by_annotator: dict[str, list[SpanTuple]] = {name: [] for name in names}
        for s, e, label, index in members:
            by_annotator[names[index]].append((s, e, label))
        groups.append(AlignedGroup(
            start=members[0][0], end=max(item[1] for item in members),
            by_annotator={name: tuple(spans) for name, spans in by_annotator.items()},
        ))
    return groups


@dataclass(frozen=True)
class AlignedRelation:
    """The relations several annotators drew from one span to another (by offsets).

    ``by_annotator`` has every annotator asked about, with the relation labels each
    put from ``head`` to ``child`` (``()`` for none).
    """

    head: tuple[int, int]
    child: tuple[int, int]
    by_annotator: dict[str, tuple[str, ...]]

    @property
    def agreed(self) -> bool:
        return len(set(self.by_annotator.values())) == 1


def align_relations(relations_by_annotator: Mapping[str, Iterable[RelationTuple]]
                    ) -> list[AlignedRelation]:
    """One document's relations by annotator, one entry per (head, child) pair of offsets
    any annotator linked, in text order."""
    names = list(relations_by_annotator)
    found: dict[tuple[tuple[int, int], tuple[int, int]], dict[str, list[str]]] = {}
    for name in names:
        for head, child, label in relations_by_annotator[name]:
            key = ((head[0], head[1]), (child[0], child[1]))
            found.setdefault(key, {n: [] for n in names})[name].append(label)
    return [AlignedRelation(head, child, {n: tuple(sorted(labels)) for n, labels in by.items()})
            for (head, child), by in sorted(found.items())]
