"""Entity counts of one document under nervaluate's four schemes, and their totals.

nervaluate 1.2's greedy matching (:func:`greedy`) on spans sorted by ``(start, end,
label)``; a document whose layers do not overlap themselves is first settled with set
operations and split into groups of mutually overlapping spans, which gives the same
counts faster (see :func:`count_document`).  Each document's counts are one flat row of
20 (``scheme * 5 + category``); per-label counts are gathered per document as well, for
the bootstrap and the paired tests.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress, filterfalse, islice
from operator import eq, le, ne

import numpy as np

from ..edges import padded, trimmed
from .base import (
    COR,
    ENTITY_WIDTH,
    EXACT,
    INC,
    MIN_OVERLAP_PERCENT,
    MIS,
    PAR,
    PARTIAL,
    SPU,
    STRICT,
    TYPE,
    EvalDocument,
    SpanTuple,
)
from .verdicts import compare_spans

# -- nervaluate's matching ---------------------------------------------------


def _sufficient(ps: int, pe: int, ts: int, te: int) -> bool:
    """nervaluate's overlap test, written for exclusive ends (same float arithmetic)."""
    if ps >= te or pe <= ts:
        return False
    overlap = min(pe, te) - max(ps, ts)
    return (overlap / (te - ts)) * 100.0 >= MIN_OVERLAP_PERCENT


def _type_candidate(trues: Sequence[SpanTuple], matched: set[int], pred: SpanTuple
                    ) -> tuple[int, int]:
    """Under ``type``: the unmatched overlapping gold span of the same label nearest in
    bounds (the first of equals), and the first overlapping one of another label."""
    ps, pe, pl = pred
    hit, fallback, best = -1, -1, -1
    for ti, (ts, te, tl) in enumerate(trues):
        if ti in matched or not _sufficient(ps, pe, ts, te):
            continue
        if tl == pl:
            distance = abs(ps - ts) + abs(pe - te)
            if best < 0 or distance < best:
                hit, best = ti, distance
        elif fallback < 0:
            fallback = ti
    return hit, fallback


def _bounds_candidate(trues: Sequence[SpanTuple], matched: set[int], pred: SpanTuple,
                      scheme: int) -> tuple[int, int]:
    """Under ``strict``, ``exact`` and ``partial``: the first unmatched gold span with the
    same bounds (and, under ``strict``, label), else the first that overlaps enough.
    Equal bounds always overlap enough, so ``partial`` matches as ``exact`` does."""
    ps, pe, pl = pred
    fallback = -1
    for ti, (ts, te, tl) in enumerate(trues):
        if ti in matched:
            continue
        if ts == ps and te == pe and (scheme != STRICT or tl == pl):
            return ti, fallback
        if fallback < 0 and _sufficient(ps, pe, ts, te):
            fallback = ti
    return -1, fallback


def greedy(
    trues: Sequence[SpanTuple], preds: Sequence[SpanTuple], scheme: int
) -> tuple[list[int], set[int], list[int]]:
    """nervaluate 1.2's matching for one scheme, in list order.

    Returns the five counts, the indices of the matched gold spans, and the
    indices of the spurious predictions.
    """
    counts = [0, 0, 0, 0, 0]
    matched: set[int] = set()
    spurious: list[int] = []
    for pi, pred in enumerate(preds):
        if scheme == TYPE:
            hit, fallback = _type_candidate(trues, matched, pred)
        else:
            hit, fallback = _bounds_candidate(trues, matched, pred, scheme)
        if hit >= 0:
            counts[COR] += 1
            matched.add(hit)
        elif fallback >= 0:
            counts[PAR if scheme == PARTIAL else INC] += 1
            matched.add(fallback)
        else:
            counts[SPU] += 1
            spurious.append(pi)
    counts[MIS] = len(trues) - len(matched)
    return counts, matched, spurious


def _non_overlapping(keys: Sequence[tuple[int, int]]) -> bool:
    """Whether sorted ``(start, end)`` keys never overlap: start0 <= end0 <= start1 <= ..."""
    if not keys:
        return True
    starts, ends = zip(*keys, strict=True)
    return all(map(le, starts, ends)) and all(map(le, ends, islice(starts, 1, None)))


_ALL_COR = (STRICT * 5 + COR, EXACT * 5 + COR, PARTIAL * 5 + COR, TYPE * 5 + COR)
_ALL_MIS = (STRICT * 5 + MIS, EXACT * 5 + MIS, PARTIAL * 5 + MIS, TYPE * 5 + MIS)
_ALL_SPU = (STRICT * 5 + SPU, EXACT * 5 + SPU, PARTIAL * 5 + SPU, TYPE * 5 + SPU)
# A same-label pair with other bounds: INC (strict, exact), PAR (partial), COR (type).
_SHIFTED = (STRICT * 5 + INC, EXACT * 5 + INC, PARTIAL * 5 + PAR, TYPE * 5 + COR)


@dataclass(frozen=True)
class LabelDocumentCounts:
    """One label's entity counts in the documents where it occurs (gold or predicted).

    ``docs``: ascending document indices; ``counts``: ``len(docs) x 20`` (scheme * 5 +
    category), the evaluation restricted to that label in each of those documents.
    Both are 32-bit integers (a document's count of one label fits easily), half the
    memory of the default at 100,000 documents.
    """

    docs: np.ndarray
    counts: np.ndarray


# How one span of a label counts in that label's row, when its verdict is the same in
# every scheme: correct, missed, spurious, or a same-label pair with other bounds.  A
# document's row for a label is (correct, missed, spurious, shifted) times these.
_KIND_CELLS = (_ALL_COR, _ALL_MIS, _ALL_SPU, _SHIFTED)
_KIND_ROWS = np.zeros((len(_KIND_CELLS), ENTITY_WIDTH), dtype=np.int32)
for _kind, _cells in enumerate(_KIND_CELLS):
    _KIND_ROWS[_kind, list(_cells)] = 1


@dataclass
class _LabelRows:
    """One label's counts in the documents where it occurs, compactly: per document its
    index and four numbers (see ``_KIND_CELLS``), and the rare full rows the general
    matcher gave (by position among the label's documents)."""

    docs: array[int] = field(default_factory=lambda: array("i"))
    kinds: array[int] = field(default_factory=lambda: array("i"))
    matched: dict[int, list[int]] = field(default_factory=dict)

    def counts(self) -> np.ndarray:
        """``len(docs) x 20``: the label's flat counts in each of its documents."""
        out = np.frombuffer(self.kinds, dtype=np.int32).reshape(-1, len(_KIND_CELLS)) @ _KIND_ROWS
        for position, row in self.matched.items():
            out[position] += np.array(row, dtype=np.int32)
        return out


@dataclass
class Accumulator:
    """Totals gathered over documents while each document is counted once.

    :func:`count_document` fills the lists of one document; :meth:`end_document`
    folds them into the totals (counters, and that document's per-label counts in
    compact arrays) and empties them, so what is kept grows with the documents (a few
    numbers per label each) and the distinct error strings, not with the spans counted.
    """

    by_label: dict[str, list[int]] = field(default_factory=dict)
    # This document's per-label counts from the general matcher (add_label).
    document: dict[str, list[int]] = field(default_factory=dict)
    # Labels of spans whose verdict is the same in all four schemes, folded per document
    # with one Counter each instead of per span.
    correct_labels: list[str] = field(default_factory=list)
    missed_labels: list[str] = field(default_factory=list)
    spurious_labels: list[str] = field(default_factory=list)
    # Same-label pairs with other bounds: INC (strict, exact), PAR (partial), COR (type).
    shifted_labels: list[str] = field(default_factory=list)
    # This document's confusion pairs and strict error strings, folded into the counters
    # below at the end of the document.
    confusion: list[tuple[str | None, str | None]] = field(default_factory=list)
    missed_texts: list[tuple[str, str]] = field(default_factory=list)
    spurious_texts: list[tuple[str, str]] = field(default_factory=list)
    ungrounded_texts: list[tuple[str, str]] = field(default_factory=list)
    confusion_counts: Counter[tuple[str | None, str | None]] = field(default_factory=Counter)
    missed_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    spurious_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    ungrounded_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    label_rows: dict[str, _LabelRows] = field(default_factory=dict)
    _label_documents: dict[str, LabelDocumentCounts] | None = None

    def add_label(self, label: str, scheme: int, counts: Sequence[int]) -> None:
        row = self.document.get(label)
        if row is None:
            row = self.document[label] = [0] * ENTITY_WIDTH
        base = scheme * 5
        for i, n in enumerate(counts):
            row[base + i] += n

    def end_document(self, index: int) -> None:
        """Fold the document's lists into the totals and its per-label counts."""
        kinds: dict[str, list[int]] = {label: [0, 0, 0, 0] for label in self.document}
        for kind, labels in enumerate((self.correct_labels, self.missed_labels,
                                       self.spurious_labels, self.shifted_labels)):
            if labels:
                for label, n in Counter(labels).items():
                    entry = kinds.get(label)
                    if entry is None:
                        entry = kinds[label] = [0, 0, 0, 0]
                    entry[kind] = n
        label_rows = self.label_rows
        for label, entry in kinds.items():
            rows = label_rows.get(label)
            if rows is None:
                rows = label_rows[label] = _LabelRows()
            if self.document:
                matched = self.document.get(label)
                if matched is not None:
                    rows.matched[len(rows.docs)] = matched
            rows.docs.append(index)
            rows.kinds.extend(entry)
        for pending, total in ((self.confusion, self.confusion_counts),
                               (self.missed_texts, self.missed_counts),
                               (self.spurious_texts, self.spurious_counts),
                               (self.ungrounded_texts, self.ungrounded_counts)):
            if pending:
                total.update(pending)  # type: ignore[arg-type]
                pending.clear()
        if self.document:
            self.document = {}
        self.correct_labels, self.missed_labels, self.spurious_labels = [], [], []
        self.shifted_labels = []

    @property
    def correct_counts(self) -> Counter[str]:
        """Per label, its spans correct in every scheme (same bounds, same label)."""
        return Counter({label: n for label, rows in self.label_rows.items()
                        if (n := int(np.frombuffer(rows.kinds, dtype=np.int32)[0::4]
                                     .sum(dtype=np.int64)))})

    def finish(self) -> dict[str, list[int]]:
        """The per-label counts over every document (the sums of :meth:`label_documents`)."""
        self.by_label = {label: [int(n) for n in entry.counts.sum(axis=0, dtype=np.int64)]
                         for label, entry in self.label_documents().items()}
        return self.by_label

    def label_documents(self) -> dict[str, LabelDocumentCounts]:
        """Per label, its documents and their counts (the accumulator takes no more
        documents after this)."""
        if self._label_documents is None:
            self._label_documents = {
                label: LabelDocumentCounts(np.frombuffer(rows.docs, dtype=np.int32),
                                           rows.counts())
                for label, rows in self.label_rows.items()}
        return self._label_documents


def count_eval_document(doc: EvalDocument, acc: Accumulator, index: int) -> list[int]:
    """One document's counts (flat, 20), its per-label counts and errors gathered in
    ``acc`` as document ``index``.  A document's ungrounded strings (see
    :attr:`EvalDocument.ungrounded`) are spurious predictions: SPU in every scheme,
    overall and under their label."""
    row = count_document(doc.text, doc.gold, doc.pred, acc)
    if doc.ungrounded or doc.ungrounded_unlisted:
        _count_ungrounded(doc, row, acc)
    acc.end_document(index)
    return row


def count_documents(docs: Iterable[EvalDocument], acc: Accumulator) -> np.ndarray:
    """Every document's counts (documents x 20), per-label counts gathered in ``acc``
    (see :func:`count_eval_document`); ``docs`` may be a stream, each document let go
    once counted."""
    rows = [count_eval_document(doc, acc, index) for index, doc in enumerate(docs)]
    return np.array(rows, dtype=np.int64).reshape(len(rows), ENTITY_WIDTH)


def _count_ungrounded(doc: EvalDocument, out: list[int], acc: Accumulator) -> None:
    n = len(doc.ungrounded) + doc.ungrounded_unlisted
    for cell in _ALL_SPU:
        out[cell] += n
    for text, label in doc.ungrounded:
        acc.spurious_labels.append(label)
        acc.spurious_texts.append((text, label))
        acc.confusion.append((None, label))
        acc.ungrounded_texts.append((text, label))


def _count_group(
    text: str, gold: Sequence[SpanTuple], pred: Sequence[SpanTuple],
    out: list[int], acc: Accumulator,
) -> None:
    """Count a group of spans that no span outside it overlaps, overall and per label."""
    for scheme in range(4):
        counts, matched, spurious = greedy(gold, pred, scheme)
        base = scheme * 5
        for i, n in enumerate(counts):
            out[base + i] += n
        if scheme == STRICT:
            acc.missed_texts.extend(
                (text[s:e], label) for ti, (s, e, label) in enumerate(gold) if ti not in matched
            )
            acc.spurious_texts.extend((text[pred[i][0]:pred[i][1]], pred[i][2]) for i in spurious)
    _count_group_labels(gold, pred, acc)
    _group_confusion(gold, pred, acc)


def _count_group_labels(gold: Sequence[SpanTuple], pred: Sequence[SpanTuple],
                        acc: Accumulator) -> None:
    """The group's counts restricted to each label (nervaluate's per label)."""
    labels = {span[2] for span in gold} | {span[2] for span in pred}
    for label in labels:
        g = [span for span in gold if span[2] == label]
        p = [span for span in pred if span[2] == label]
        if not p:
            acc.missed_labels.extend(label for _ in g)
        elif not g:
            acc.spurious_labels.extend(label for _ in p)
        else:
            for scheme in range(4):
                acc.add_label(label, scheme, greedy(g, p, scheme)[0])


def _group_confusion(gold: Sequence[SpanTuple], pred: Sequence[SpanTuple],
                     acc: Accumulator) -> None:
    """Gold label by predicted label over the spans of a group: a span with a span of
    the other side at its offsets pairs with that one only (as the review's verdicts pair
    them, :func:`compare_spans`); any other, with every span of the other side it
    overlaps.  (In a group of two flat layers no span has one of the other side at its
    offsets: ``count_document`` settled those before grouping.)"""
    for group in compare_spans(gold, pred):
        if group.verdict in ("correct", "label"):
            acc.confusion.append((group.gold[0][2], group.pred[0][2]))
            continue
        for gs, ge, gl in group.gold:
            hits = [pl for ps, pe, pl in group.pred if ps < ge and gs < pe]
            acc.confusion.extend((gl, pl) for pl in hits)
            if not hits:
                acc.confusion.append((gl, None))
        for ps, pe, pl in group.pred:
            if not any(gs < pe and ps < ge for gs, ge, _ in group.gold):
                acc.confusion.append((None, pl))


def _count_pair(
    text: str, gold: SpanTuple, pred: SpanTuple, out: list[int], acc: Accumulator,
) -> None:
    """One gold and one predicted span that overlap with different bounds (and nothing else).

    nervaluate's rules reduce to: if the overlap reaches its threshold the prediction
    is INC (strict, exact), PAR (partial), COR or INC (type, by label); otherwise
    both stand alone (MIS and SPU under every scheme).
    """
    (gs, ge, gl), (ps, pe, pl) = gold, pred
    acc.confusion.append((gl, pl))
    if not _sufficient(ps, pe, gs, ge):
        # Below the threshold: both stand alone, but they did overlap (the pair above).
        for base in (0, 5, 10, 15):
            out[base + MIS] += 1
            out[base + SPU] += 1
        acc.missed_labels.append(gl)
        acc.spurious_labels.append(pl)
        acc.missed_texts.append((text[gs:ge], gl))
        acc.spurious_texts.append((text[ps:pe], pl))
        return
    out[STRICT * 5 + INC] += 1
    out[EXACT * 5 + INC] += 1
    out[PARTIAL * 5 + PAR] += 1
    if gl == pl:
        out[TYPE * 5 + COR] += 1
        acc.shifted_labels.append(gl)
    else:
        out[TYPE * 5 + INC] += 1
        acc.missed_labels.append(gl)
        acc.spurious_labels.append(pl)


Bounds = tuple[int, int]
Lone = tuple[Bounds, str, int]
"""A span no span of the other side overlaps: its bounds, label and category (MIS/SPU)."""


def count_document(
    text: str, gold: Sequence[SpanTuple], pred: Sequence[SpanTuple], acc: Accumulator
) -> list[int]:
    """One document's counts under the four schemes (flat: scheme * 5 + category).

    Spans whose bounds equal a gold span's are settled with set operations; the
    rest is split into groups of mutually overlapping spans, each matched with
    nervaluate's greedy rules.  Both give nervaluate's counts because, when
    neither layer overlaps itself, no span outside a group can touch its
    matching.  A layer that does overlap itself is matched as a whole.
    """
    out = [0] * ENTITY_WIDTH
    gmap = {(s, e): label for s, e, label in gold}
    pmap = {(s, e): label for s, e, label in pred}
    gkeys = sorted(gmap)
    pkeys = sorted(pmap)
    if (
        len(gmap) != len(gold) or len(pmap) != len(pred)
        or not (_non_overlapping(gkeys) and _non_overlapping(pkeys))
    ):
        _count_group(text, sorted(gold), sorted(pred), out, acc)
        return out
    common = gmap.keys() & pmap.keys()
    if common:
        _count_common(gmap, pmap, common, out, acc)
        gkeys = list(filterfalse(common.__contains__, gkeys))
        pkeys = list(filterfalse(common.__contains__, pkeys))
    if not pkeys or not gkeys:
        lone = [(k, gmap[k], MIS) for k in gkeys] + [(k, pmap[k], SPU) for k in pkeys]
    else:
        lone = _count_groups(text, gkeys, pkeys, gmap, pmap, out, acc)
    if lone:
        _count_lone(text, lone, out, acc)
    return out


def _count_common(gmap: dict[Bounds, str], pmap: dict[Bounds, str], common: set[Bounds],
                  out: list[int], acc: Accumulator) -> None:
    """Spans with the same bounds on both sides: COR, or INC where the label differs."""
    # C-level passes (map, compress) over the pairs, in the set's one iteration order.
    gold = list(map(gmap.__getitem__, common))
    pred = list(map(pmap.__getitem__, common))
    same = list(compress(gold, map(eq, gold, pred)))
    n_common, n_same = len(common), len(same)
    n_diff = n_common - n_same
    out[STRICT * 5 + COR] += n_same
    out[STRICT * 5 + INC] += n_diff
    out[EXACT * 5 + COR] += n_common
    out[PARTIAL * 5 + COR] += n_common
    out[TYPE * 5 + COR] += n_same
    out[TYPE * 5 + INC] += n_diff
    # Same-label pairs reach the confusion matrix through correct_labels (see finish).
    acc.correct_labels.extend(same)
    if n_diff:
        # Restricted to one label, each side of a relabelled span stands alone.
        gold_labels = list(compress(gold, map(ne, gold, pred)))
        pred_labels = list(compress(pred, map(ne, gold, pred)))
        acc.missed_labels.extend(gold_labels)
        acc.spurious_labels.extend(pred_labels)
        acc.confusion.extend(zip(gold_labels, pred_labels, strict=True))


def _count_groups(
    text: str, gkeys: list[Bounds], pkeys: list[Bounds], gmap: dict[Bounds, str],
    pmap: dict[Bounds, str], out: list[int], acc: Accumulator,
) -> list[Lone]:
    """Split the remaining spans into groups that overlap one another; count the pairs and
    larger groups, and return the spans that stand alone."""
    lone: list[Lone] = []
    merged = sorted([(k[0], k[1], 0) for k in gkeys] + [(k[0], k[1], 1) for k in pkeys])
    group: list[tuple[int, int, int]] = []
    group_end = -1
    for item in [*merged, (1 << 62, 1 << 62, 2)]:  # the sentinel flushes the last group
        if group and item[0] >= group_end:
            if len(group) == 1:
                s, e, side = group[0]
                lone.append(((s, e), (pmap if side else gmap)[(s, e)], SPU if side else MIS))
            elif len(group) == 2:
                # One gold and one predicted span (a layer never overlaps itself):
                # by far the most common group, settled without the general matcher.
                (gs, ge, _), (ps, pe, _) = group if group[0][2] == 0 else group[::-1]
                _count_pair(text, (gs, ge, gmap[(gs, ge)]), (ps, pe, pmap[(ps, pe)]), out,
                            acc)
            else:
                _count_group(text, [(s, e, gmap[(s, e)]) for s, e, side in group if side == 0],
                             [(s, e, pmap[(s, e)]) for s, e, side in group if side == 1],
                             out, acc)
            group = []
        group.append(item)
        group_end = max(group_end, item[1]) if len(group) > 1 else item[1]
    return lone


def _count_lone(text: str, lone: list[Lone], out: list[int], acc: Accumulator) -> None:
    """Spans no span of the other side overlaps: MIS or SPU under every scheme."""
    n_missed = 0
    for (s, e), label, category in lone:
        if category == MIS:
            n_missed += 1
            acc.missed_labels.append(label)
            acc.missed_texts.append((text[s:e], label))
            acc.confusion.append((label, None))
        else:
            acc.spurious_labels.append(label)
            acc.spurious_texts.append((text[s:e], label))
            acc.confusion.append((None, label))
    n_spurious = len(lone) - n_missed
    for base in (0, 5, 10, 15):
        out[base + MIS] += n_missed
        out[base + SPU] += n_spurious


def edge_whitespace_errors(doc: EvalDocument) -> int:
    """Predicted spans of ``doc`` that are strict errors only because of whitespace at
    their edges: not in the gold as they are, but a gold span (label and all) once
    trimmed by the one rule of :mod:`annotations.edges`."""
    gold = set(doc.gold)
    count = 0
    for start, end, label in doc.pred:
        if (start, end, label) in gold or not padded(doc.text, start, end):
            continue
        edges = trimmed(doc.text, start, end)
        count += edges is not None and (*edges, label) in gold
    return count
