"""Scores of extractors against the gold set: pure functions over plain data.

Like ``spacy/scorer.py``, everything here takes plain values (offsets, labels,
texts) and returns plain values, so the CLI, the HTML report, the review screen
and tests all call the same code.  :func:`collect_documents` is the one bridge
from a :class:`~annotations.store.GoldStore`.

Entities
    Scored under nervaluate's four schemes (``strict``, ``exact``, ``partial``,
    ``type``; nervaluate calls the last ``ent_type``) with the same
    COR/INC/PAR/MIS/SPU counts and the same formulas, reproducing nervaluate
    1.2's greedy matching including its default overlap threshold (an overlap
    counts when it covers at least 1 % of the gold span).  Offsets are ours
    (end exclusive); nervaluate's end is inclusive.  Precision is
    ``COR / ACT`` and recall ``COR / POS`` with ``ACT = COR+INC+PAR+SPU`` and
    ``POS = COR+INC+PAR+MIS``; under ``partial`` and ``type`` a partial match
    counts half.  *Per label* is nervaluate's: the evaluation restricted to the
    gold and predicted spans of that label.  *Micro* is the evaluation over all
    spans; *macro* the unweighted mean of the per-label precision, recall and F1
    over every label seen in gold or prediction.  Strict equals exact
    ``(start, end, label)`` set matching.

    Gold and predictions may nest and overlap (an overlapping store's gold, any
    extractor's output; identical offsets with two labels are two spans).  Both
    are sorted by ``(start, end, label)`` before matching: nervaluate's greedy
    matching depends on the order of its input, so the counts equal nervaluate's
    run on the spans in that order.

Relations
    Scored as in Taillé et al. 2020: ``strict`` (both argument spans with their
    entity labels, and the relation label, match) and ``boundaries`` (argument
    spans and relation label match, entity labels ignored); per relation label
    and micro.  For a relation label declared symmetric (``RelationLabel.symmetric``)
    direction is ignored: A -> B matches B -> A (``models.relation_identity``).

Confidence
    A seeded bootstrap over documents (the same resamples for every extractor,
    so the intervals are paired) gives a 95 % percentile interval of each micro F1.

JSON (``Evaluation.to_json()``, what ``reader evaluate --json`` prints).  Stable keys:

- ``format``: ``"reader-evaluation"``; ``version``: ``1``.
- ``store``: path of the gold store, ``annotator``: the annotator whose accepted
  annotations are gold (``null`` = the adjudicated ``gold`` where it exists, else the
  one accepted annotation), ``gold_annotators``: ``{annotator: documents}`` saying whose
  annotation was the gold of how many documents, ``documents``: number of gold documents.
- ``schemes``: entity schemes in the output; ``relation_modes``: ``["strict", "boundaries"]``.
- ``bootstrap``: ``{"samples", "seed", "confidence"}`` (``samples`` 0 = no intervals).
- ``extractors``: ``{name: result}``, each result:

  - ``documents``: documents scored (the gold documents).
  - ``entities.micro[scheme]`` and ``entities.by_label[label][scheme]``:
    ``correct, incorrect, partial, missed, spurious, actual, possible,
    precision, recall, f1``; ``micro`` also ``f1_ci``: ``[low, high]`` or ``null``.
  - ``entities.macro[scheme]``: ``precision, recall, f1``.
  - ``relations.micro[mode]`` and ``relations.by_label[label][mode]``:
    ``correct, missed, spurious, precision, recall, f1`` (``micro`` also ``f1_ci``).
  - ``confusion``: list of ``{"gold", "predicted", "count"}`` over overlapping
    gold/predicted spans; ``gold`` is ``null`` for a prediction that overlaps no
    gold span, ``predicted`` is ``null`` for a gold span that no prediction overlaps.
  - ``missed`` / ``spurious``: most frequent ``{"text", "label", "count"}`` of
    the spans counted MIS / SPU under ``strict``.
  - ``worst_documents``: ``{"doc_id", "title", "f1", "correct", "incorrect",
    "partial", "missed", "spurious"}`` (strict), lowest F1 first; documents with
    neither gold nor predicted spans are left out.
  - ``gold_provenance``: ``{"gold_spans", "unreviewed", "confirmed_unchanged",
    "changed", "share_unchanged", "warning_share", "inflated", "known"}``: gold spans
    that are this extractor's own suggestions (see :class:`SeededGold`).
  - ``grounding``: ``null``, or for string-only predictions ``{"spans", "grounded",
    "exact", "case", "fuzzy", "ungrounded", "rate", "examples"}`` (see
    ``annotations.grounding``).

- ``comparisons``: one entry per pair of extractors (``a`` before ``b`` in the order
  scored), ΔF1 = F1(b) − F1(a) with paired bootstrap interval and approximate-
  randomization p-value (keys in ``annotations.significance.PairComparison.to_json``).

Scores are floats in [0, 1]; a score with nothing to score (no gold and no
predicted spans) is 0, as in nervaluate, and counts are always given beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import le
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from .errors import AnnotationsError, StoreCorruptError
from .gold import ADJUDICATED, gold_records_by_document
from .models import HUMAN, relation_identity

if TYPE_CHECKING:
    from .significance import PairComparison
    from .store import GoldStore

SpanTuple = tuple[int, int, str]
"""``(start, end, label)``, end exclusive."""
RelationTuple = tuple[Any, Any, str]
"""``(head, child, label)``, each end ``(start, end)`` or ``(start, end, entity_label)``
(what a stored relation holds; see ``annotations.layer``).  Stored layers are read
with both ends as ``(start, end, entity_label)``, so overlapping layers stay exact."""

SCHEMES: tuple[str, ...] = ("strict", "exact", "partial", "type")
CATEGORIES: tuple[str, ...] = ("correct", "incorrect", "partial", "missed", "spurious")
RELATION_MODES: tuple[str, ...] = ("strict", "boundaries")
STRICT, EXACT, PARTIAL, TYPE = range(4)
COR, INC, PAR, MIS, SPU = range(5)
_WIDTH = len(SCHEMES) * len(CATEGORIES)  # one document's entity counts, flat

MIN_OVERLAP_PERCENT = 1.0
"""nervaluate's default ``min_overlap_percentage`` (share of the gold span)."""


class EvaluationError(AnnotationsError):
    """The gold set and the predictions cannot be scored (and no score is shown)."""


@dataclass(frozen=True)
class EvalDocument:
    """One gold document with one extractor's prediction on it."""

    doc_id: str
    text: str
    gold: Sequence[SpanTuple]
    pred: Sequence[SpanTuple]
    gold_relations: Sequence[RelationTuple] = ()
    pred_relations: Sequence[RelationTuple] = ()
    title: str = ""
    gold_provenance: Sequence[tuple[str, str]] = ()
    """``(source, state)`` of each gold span (``Span.source``, ``Span.state``), if known."""


# -- nervaluate's matching ---------------------------------------------------


def _sufficient(ps: int, pe: int, ts: int, te: int) -> bool:
    """nervaluate's overlap test, written for exclusive ends (same float arithmetic)."""
    if ps >= te or pe <= ts:
        return False
    overlap = min(pe, te) - max(ps, ts)
    return (overlap / (te - ts)) * 100.0 >= MIN_OVERLAP_PERCENT


def _greedy(
    trues: Sequence[SpanTuple], preds: Sequence[SpanTuple], scheme: int
) -> tuple[list[int], set[int], list[int]]:
    """nervaluate 1.2's matching for one scheme, in list order.

    Returns the five counts, the indices of the matched gold spans, and the
    indices of the spurious predictions.
    """
    counts = [0, 0, 0, 0, 0]
    matched: set[int] = set()
    spurious: list[int] = []
    for pi, (ps, pe, pl) in enumerate(preds):
        hit = -1
        fallback = -1
        if scheme == TYPE:
            best = -1
            for ti, (ts, te, tl) in enumerate(trues):
                if ti in matched or not _sufficient(ps, pe, ts, te):
                    continue
                if tl == pl:
                    distance = abs(ps - ts) + abs(pe - te)
                    if best < 0 or distance < best:
                        hit, best = ti, distance
                elif fallback < 0:
                    fallback = ti
        else:
            for ti, (ts, te, tl) in enumerate(trues):
                if ti in matched:
                    continue
                if scheme == PARTIAL:
                    if _sufficient(ps, pe, ts, te):
                        if ts == ps and te == pe:
                            hit = ti
                            break
                        if fallback < 0:
                            fallback = ti
                    continue
                if ts == ps and te == pe and (scheme == EXACT or tl == pl):
                    hit = ti
                    break
                if fallback < 0 and _sufficient(ps, pe, ts, te):
                    fallback = ti
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
    flat = list(chain.from_iterable(keys))
    return all(map(le, flat, islice(flat, 1, None)))


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
    """

    docs: np.ndarray
    counts: np.ndarray


@dataclass
class _Accumulator:
    """Totals gathered over documents while each document is counted once.

    :func:`_count_document` fills the label lists of one document;
    :meth:`end_document` folds them into that document's per-label counts.
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
    confusion: list[tuple[str | None, str | None]] = field(default_factory=list)
    missed_texts: list[tuple[str, str]] = field(default_factory=list)
    spurious_texts: list[tuple[str, str]] = field(default_factory=list)
    doc_rows: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    _label_documents: dict[str, LabelDocumentCounts] | None = None

    correct_counts: Counter[str] = field(default_factory=Counter)

    def add_label(self, label: str, scheme: int, counts: Sequence[int]) -> None:
        row = self.document.get(label)
        if row is None:
            row = self.document[label] = [0] * _WIDTH
        base = scheme * 5
        for i, n in enumerate(counts):
            row[base + i] += n

    def end_document(self, index: int) -> None:
        """Fold the document's label lists into its per-label counts, kept by document."""
        rows = self.document
        correct = Counter(self.correct_labels)
        self.correct_counts.update(correct)
        for counts, cells in ((correct, _ALL_COR), (Counter(self.missed_labels), _ALL_MIS),
                              (Counter(self.spurious_labels), _ALL_SPU),
                              (Counter(self.shifted_labels), _SHIFTED)):
            for label, n in counts.items():
                row = rows.get(label)
                if row is None:
                    row = rows[label] = [0] * _WIDTH
                for cell in cells:
                    row[cell] += n
        for label, row in rows.items():
            kept = self.doc_rows.get(label)
            if kept is None:
                kept = self.doc_rows[label] = ([], [])
            kept[0].append(index)
            kept[1].extend(row)  # flat: one list per label, not one per document
        self.document = {}
        self.correct_labels, self.missed_labels, self.spurious_labels = [], [], []
        self.shifted_labels = []

    def finish(self) -> dict[str, list[int]]:
        """The per-label counts over every document (the sums of :meth:`label_documents`)."""
        self.by_label = {label: [int(n) for n in entry.counts.sum(axis=0)]
                         for label, entry in self.label_documents().items()}
        return self.by_label

    def label_documents(self) -> dict[str, LabelDocumentCounts]:
        if self._label_documents is None:
            self._label_documents = {
                label: LabelDocumentCounts(np.array(docs, dtype=np.int64),
                                           np.array(rows, dtype=np.int64).reshape(-1, _WIDTH))
                for label, (docs, rows) in self.doc_rows.items()}
        return self._label_documents


def _count_documents(docs: Sequence[EvalDocument], acc: _Accumulator) -> np.ndarray:
    """Every document's counts (documents x 20), per-label counts gathered in ``acc``."""
    rows = []
    for index, doc in enumerate(docs):
        rows.append(_count_document(doc.text, doc.gold, doc.pred, acc))
        acc.end_document(index)
    return np.array(rows, dtype=np.int64).reshape(len(rows), _WIDTH)


def _count_group(
    text: str, gold: Sequence[SpanTuple], pred: Sequence[SpanTuple],
    out: list[int], acc: _Accumulator,
) -> None:
    """Count a group of spans that no span outside it overlaps, overall and per label."""
    for scheme in range(4):
        counts, matched, spurious = _greedy(gold, pred, scheme)
        base = scheme * 5
        for i, n in enumerate(counts):
            out[base + i] += n
        if scheme == STRICT:
            acc.missed_texts.extend(
                (text[s:e], label) for ti, (s, e, label) in enumerate(gold) if ti not in matched
            )
            acc.spurious_texts.extend((text[pred[i][0]:pred[i][1]], pred[i][2]) for i in spurious)
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
                acc.add_label(label, scheme, _greedy(g, p, scheme)[0])
    for gs, ge, gl in gold:
        hits = [pl for ps, pe, pl in pred if ps < ge and gs < pe]
        acc.confusion.extend((gl, pl) for pl in hits)
        if not hits:
            acc.confusion.append((gl, None))
    for ps, pe, pl in pred:
        if not any(gs < pe and ps < ge for gs, ge, _ in gold):
            acc.confusion.append((None, pl))


def _count_pair(
    text: str, gs: int, ge: int, gl: str, ps: int, pe: int, pl: str,
    out: list[int], acc: _Accumulator, lone: list[tuple[tuple[int, int], str, int]],
) -> None:
    """One gold and one predicted span that overlap with different bounds (and nothing else).

    nervaluate's rules reduce to: if the overlap reaches its threshold the prediction
    is INC (strict, exact), PAR (partial), COR or INC (type, by label); otherwise
    both stand alone (MIS and SPU under every scheme).
    """
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


def _count_document(
    text: str, gold: Sequence[SpanTuple], pred: Sequence[SpanTuple], acc: _Accumulator
) -> list[int]:
    """One document's counts under the four schemes (flat: scheme * 5 + category).

    Spans whose bounds equal a gold span's are settled with set operations; the
    rest is split into groups of mutually overlapping spans, each matched with
    nervaluate's greedy rules.  Both give nervaluate's counts because, when
    neither layer overlaps itself, no span outside a group can touch its
    matching.  A layer that does overlap itself is matched as a whole.
    """
    out = [0] * _WIDTH
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
        pairs = [(gmap[k], pmap[k]) for k in common]
        same = [g for g, p in pairs if g == p]
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
            for g, p in pairs:
                if g != p:
                    # Restricted to one label, each side of a relabelled span stands alone.
                    acc.missed_labels.append(g)
                    acc.spurious_labels.append(p)
                    acc.confusion.append((g, p))
        gkeys = [k for k in gkeys if k not in common]
        pkeys = [k for k in pkeys if k not in common]

    if not pkeys or not gkeys:
        lone = [(k, gmap[k], MIS) for k in gkeys] + [(k, pmap[k], SPU) for k in pkeys]
    else:
        lone = []
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
                    _count_pair(text, gs, ge, gmap[(gs, ge)], ps, pe, pmap[(ps, pe)], out, acc,
                                lone)
                else:
                    _count_group(
                        text,
                        [(s, e, gmap[(s, e)]) for s, e, side in group if side == 0],
                        [(s, e, pmap[(s, e)]) for s, e, side in group if side == 1],
                        out, acc,
                    )
                group = []
            group.append(item)
            group_end = max(group_end, item[1]) if len(group) > 1 else item[1]
    if lone:
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
    return out


# -- scores --------------------------------------------------------------------


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float


def entity_prf(counts: Sequence[int] | np.ndarray, scheme: str | int) -> PRF:
    """nervaluate's precision, recall and F1 from ``(COR, INC, PAR, MIS, SPU)``."""
    index = SCHEMES.index(scheme) if isinstance(scheme, str) else scheme
    cor, inc, par, mis, spu = (int(n) for n in counts[:5])
    actual = cor + inc + par + spu
    possible = cor + inc + par + mis
    hits = cor + 0.5 * par if index in (PARTIAL, TYPE) else cor
    precision = hits / actual if actual > 0 else 0.0
    recall = hits / possible if possible > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return PRF(precision, recall, f1)


def relation_prf(correct: int, missed: int, spurious: int) -> PRF:
    predicted = correct + spurious
    gold = correct + missed
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return PRF(precision, recall, f1)


def _entity_entry(counts: Sequence[int] | np.ndarray, scheme: int) -> dict[str, Any]:
    prf = entity_prf(counts, scheme)
    cor, inc, par, mis, spu = (int(n) for n in counts[:5])
    return {
        "correct": cor, "incorrect": inc, "partial": par, "missed": mis, "spurious": spu,
        "actual": cor + inc + par + spu, "possible": cor + inc + par + mis,
        "precision": prf.precision, "recall": prf.recall, "f1": prf.f1,
    }


def _relation_entry(counts: Sequence[int] | np.ndarray) -> dict[str, Any]:
    cor, mis, spu = (int(n) for n in counts[:3])
    prf = relation_prf(cor, mis, spu)
    return {"correct": cor, "missed": mis, "spurious": spu,
            "precision": prf.precision, "recall": prf.recall, "f1": prf.f1}


@dataclass
class EntityScores:
    """Entity counts per document (``doc_counts``: documents x 20) and per label
    (``label_counts``: totals; ``label_documents``: per document, for significance tests)."""

    doc_counts: np.ndarray
    label_counts: dict[str, list[int]]
    label_documents: dict[str, LabelDocumentCounts] = field(default_factory=dict)

    @property
    def total(self) -> np.ndarray:
        return self.doc_counts.sum(axis=0) if len(self.doc_counts) else np.zeros(_WIDTH, int)

    def counts(self, scheme: str, label: str | None = None) -> tuple[int, ...]:
        row = self.total if label is None else self.label_counts[label]
        base = SCHEMES.index(scheme) * 5
        return tuple(int(n) for n in row[base : base + 5])

    def counts_of_document(self, index: int, scheme: str) -> tuple[int, ...]:
        base = SCHEMES.index(scheme) * 5
        return tuple(int(n) for n in self.doc_counts[index, base : base + 5])

    def micro(self, scheme: str) -> dict[str, Any]:
        return _entity_entry(self.counts(scheme), SCHEMES.index(scheme))

    def by_label(self, scheme: str) -> dict[str, dict[str, Any]]:
        return {label: _entity_entry(self.counts(scheme, label), SCHEMES.index(scheme))
                for label in sorted(self.label_counts)}

    def macro(self, scheme: str) -> PRF:
        entries = list(self.by_label(scheme).values())
        if not entries:
            return PRF(0.0, 0.0, 0.0)
        return PRF(*(sum(e[k] for e in entries) / len(entries)
                     for k in ("precision", "recall", "f1")))

    def document_f1(self, scheme: str = "strict") -> np.ndarray:
        """F1 of each document; NaN where a document has neither gold nor predicted spans."""
        return _f1_rows(self.doc_counts, SCHEMES.index(scheme), nan_if_empty=True)


def _f1_rows(rows: np.ndarray, scheme: int, nan_if_empty: bool = False) -> np.ndarray:
    """Vectorised :func:`entity_prf` F1 over rows of flat counts."""
    base = scheme * 5
    cor, inc, par, mis, spu = (rows[:, base + i].astype(float) for i in range(5))
    actual = cor + inc + par + spu
    possible = cor + inc + par + mis
    hits = cor + 0.5 * par if scheme in (PARTIAL, TYPE) else cor
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(actual > 0, hits / actual, 0.0)
        recall = np.where(possible > 0, hits / possible, 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / total, 0.0)
    if nan_if_empty:
        f1 = np.where((actual == 0) & (possible == 0), np.nan, f1)
    return f1


def score_entities(docs: Sequence[EvalDocument]) -> EntityScores:
    """Entity counts of ``docs`` under the four schemes (see the module docstring)."""
    acc = _Accumulator()
    counts = _count_documents(docs, acc)
    return EntityScores(counts, acc.finish(), acc.label_documents())


def _relation_keys(
    relations: Iterable[RelationTuple], spans: Iterable[SpanTuple],
    symmetric: Collection[str] = (),
) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    labels: dict[tuple[int, int], str] = {}
    for s, e, label in spans:
        labels.setdefault((s, e), label)
    strict: set[tuple[Any, ...]] = set()
    boundaries: set[tuple[Any, ...]] = set()
    for head_ref, child_ref, label in relations:
        # Lists from JSON become hashable tuples; an end without its entity label (a
        # flat layer's) takes the label of the span at its offsets.
        head, child = (head_ref[0], head_ref[1]), (child_ref[0], child_ref[1])
        head_label = head_ref[2] if len(head_ref) > 2 else labels.get(head) or ""
        child_label = child_ref[2] if len(child_ref) > 2 else labels.get(child) or ""
        strict.add(relation_identity((head, head_label), (child, child_label), label,
                                     symmetric))
        boundaries.add(relation_identity(head, child, label, symmetric))
    return strict, boundaries


@dataclass
class RelationScores:
    """Relation counts (correct, missed, spurious) per document and mode, and per label."""

    doc_counts: np.ndarray  # documents x 6: strict (COR, MIS, SPU), boundaries (COR, MIS, SPU)
    label_counts: dict[str, list[int]]

    @property
    def total(self) -> np.ndarray:
        return self.doc_counts.sum(axis=0) if len(self.doc_counts) else np.zeros(6, int)

    @property
    def any(self) -> bool:
        return bool(self.total.any())

    def micro(self, mode: str) -> dict[str, Any]:
        base = RELATION_MODES.index(mode) * 3
        return _relation_entry(self.total[base : base + 3])

    def by_label(self, mode: str) -> dict[str, dict[str, Any]]:
        base = RELATION_MODES.index(mode) * 3
        return {label: _relation_entry(row[base : base + 3])
                for label, row in sorted(self.label_counts.items())}


def score_relations(docs: Sequence[EvalDocument], symmetric: Collection[str] = ()
                    ) -> RelationScores:
    """Relation counts of ``docs`` in the strict and boundaries modes (Taillé et al. 2020).

    For the relation labels in ``symmetric``, direction is ignored (A -> B matches B -> A).
    """
    rows: list[list[int]] = []
    by_label: dict[str, list[int]] = {}
    for doc in docs:
        row = [0] * 6
        if doc.gold_relations or doc.pred_relations:
            gold = _relation_keys(doc.gold_relations, doc.gold, symmetric)
            pred = _relation_keys(doc.pred_relations, doc.pred, symmetric)
            for mode in range(2):
                g, p = gold[mode], pred[mode]
                for keys, category in ((g & p, 0), (g - p, 1), (p - g, 2)):
                    row[mode * 3 + category] += len(keys)
                    for key in keys:
                        counts = by_label.setdefault(key[-1], [0] * 6)
                        counts[mode * 3 + category] += 1
        rows.append(row)
    return RelationScores(np.array(rows, dtype=np.int64).reshape(len(rows), 6), by_label)


# -- bootstrap -------------------------------------------------------------------


def bootstrap_weights(
    n_docs: int, samples: int, seed: int, chunk: int = 200
) -> Iterator[np.ndarray]:
    """Resamples of ``n_docs`` documents with replacement, as count-per-document rows.

    Yields arrays of shape ``(k, n_docs)`` (``k <= chunk``), ``samples`` rows in all;
    the same ``seed`` gives the same resamples, so extractors scored with one
    seed are compared on the same resampled corpora.
    """
    rng = np.random.default_rng(seed)
    done = 0
    while done < samples:
        k = min(chunk, samples - done)
        picks = rng.integers(0, n_docs, size=(k, n_docs))
        picks += (np.arange(k) * n_docs)[:, None]
        yield np.bincount(picks.ravel(), minlength=k * n_docs).reshape(k, n_docs).astype(float)
        done += k


def bootstrap_intervals(
    entity_counts: np.ndarray, relation_counts: np.ndarray | None,
    samples: int, seed: int, confidence: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of the micro F1 of each entity scheme and relation mode.

    Keys: entity scheme names, and ``relations:strict`` / ``relations:boundaries``.
    """
    n_docs = len(entity_counts)
    if samples <= 0 or n_docs == 0:
        return {}
    columns = entity_counts.astype(float)
    if relation_counts is not None:
        columns = np.hstack([columns, relation_counts.astype(float)])
    sums = np.vstack([weights @ columns for weights in bootstrap_weights(n_docs, samples, seed)])
    tail = (1 - confidence) / 2 * 100
    out: dict[str, tuple[float, float]] = {}
    for index, scheme in enumerate(SCHEMES):
        f1 = _f1_rows(sums, index)
        low, high = np.percentile(f1, [tail, 100 - tail])
        out[scheme] = (float(low), float(high))
    if relation_counts is not None:
        for mode_index, mode in enumerate(RELATION_MODES):
            base = _WIDTH + mode_index * 3
            cor, mis, spu = sums[:, base], sums[:, base + 1], sums[:, base + 2]
            denominator = 2 * cor + mis + spu
            with np.errstate(divide="ignore", invalid="ignore"):
                f1 = np.where(denominator > 0, 2 * cor / denominator, 0.0)
            low, high = np.percentile(f1, [tail, 100 - tail])
            out[f"relations:{mode}"] = (float(low), float(high))
    return out


# -- gold the extractor seeded ------------------------------------------------------

SEEDED_WARNING_SHARE = 0.5
"""``reader evaluate`` warns when at least this share of the gold spans are the scored
extractor's own suggestions that nobody changed (unreviewed, or confirmed as they were)."""


@dataclass(frozen=True)
class SeededGold:
    """How much of the gold an extractor suggested itself (``Span.source`` is its name).

    ``unreviewed``: its suggestions still in state ``suggested``; ``confirmed``: its
    suggestions a person accepted unchanged; ``changed``: its suggestions a person
    relabelled or resized (these are not counted as its own).  A score on gold that is
    largely the extractor's own unchanged output is inflated by anchoring.
    """

    gold_spans: int
    unreviewed: int
    confirmed: int
    changed: int
    known: bool = True  # False when the gold spans' provenance was not given

    @property
    def unchanged(self) -> int:
        return self.unreviewed + self.confirmed

    @property
    def share(self) -> float:
        return self.unchanged / self.gold_spans if self.gold_spans else 0.0

    @property
    def inflated(self) -> bool:
        return self.known and self.gold_spans > 0 and self.share >= SEEDED_WARNING_SHARE

    def warning(self, extractor: str) -> str | None:
        """The warning sentence when the share reaches :data:`SEEDED_WARNING_SHARE`."""
        if not self.inflated:
            return None
        return (f"{self.unchanged} of {self.gold_spans} gold spans ({self.share:.0%}) are "
                f"{extractor}'s own suggestions left unchanged ({self.unreviewed} never "
                f"reviewed, {self.confirmed} confirmed as suggested); its scores are inflated "
                f"by anchoring (warning at {SEEDED_WARNING_SHARE:.0%} or more). Annotate with "
                "`reader annotate --blind` or review the suggestions for an independent gold.")

    def to_json(self) -> dict[str, Any]:
        return {"gold_spans": self.gold_spans, "unreviewed": self.unreviewed,
                "confirmed_unchanged": self.confirmed, "changed": self.changed,
                "share_unchanged": self.share, "warning_share": SEEDED_WARNING_SHARE,
                "inflated": self.inflated, "known": self.known}


def seeded_gold(extractor: str, docs: Sequence[EvalDocument]) -> SeededGold:
    """Count the gold spans of ``docs`` that ``extractor`` suggested, by what became of them."""
    states: Counter[str] = Counter()
    total = 0
    known = True
    for doc in docs:
        total += len(doc.gold)
        if len(doc.gold_provenance) != len(doc.gold):
            known = known and not doc.gold
            continue
        states.update(state for source, state in doc.gold_provenance if source == extractor)
    return SeededGold(total, states["suggested"], states["confirmed"], states["changed"],
                      known)


# -- one extractor, everything ---------------------------------------------------


@dataclass
class ExtractorResult:
    """Everything ``reader evaluate`` shows about one extractor."""

    extractor: str
    entities: EntityScores
    relations: RelationScores
    intervals: dict[str, tuple[float, float]]
    confusion: Counter[tuple[str | None, str | None]]
    missed: Counter[tuple[str, str]]
    spurious: Counter[tuple[str, str]]
    doc_ids: list[str]
    titles: list[str]
    seeded: SeededGold | None = None
    grounding: dict[str, Any] | None = None
    """String alignment counts of the stored predictions (see ``annotations.grounding``)."""

    def worst_documents(self, limit: int = 10, scheme: str = "strict") -> list[dict[str, Any]]:
        f1 = self.entities.document_f1(scheme)
        order = [int(i) for i in np.argsort(f1, kind="stable") if not np.isnan(f1[i])]
        base = SCHEMES.index(scheme) * 5
        out = []
        for i in order[:limit]:
            counts = self.entities.doc_counts[i, base : base + 5]
            out.append({"doc_id": self.doc_ids[i], "title": self.titles[i], "f1": float(f1[i]),
                        **{name: int(n) for name, n in zip(CATEGORIES, counts, strict=True)}})
        return out

    def to_json(self, schemes: Sequence[str] = SCHEMES, top: int = 20) -> dict[str, Any]:
        micro = {}
        for scheme in schemes:
            entry = self.entities.micro(scheme)
            ci = self.intervals.get(scheme)
            entry["f1_ci"] = list(ci) if ci else None
            micro[scheme] = entry
        relation_micro = {}
        for mode in RELATION_MODES:
            entry = self.relations.micro(mode)
            ci = self.intervals.get(f"relations:{mode}")
            entry["f1_ci"] = list(ci) if ci else None
            relation_micro[mode] = entry
        labels = sorted(self.entities.label_counts)
        relation_labels = sorted(self.relations.label_counts)
        return {
            "documents": len(self.doc_ids),
            "entities": {
                "micro": micro,
                "macro": {s: vars(self.entities.macro(s)) for s in schemes},
                "by_label": {label: {s: _entity_entry(self.entities.counts(s, label),
                                                      SCHEMES.index(s)) for s in schemes}
                             for label in labels},
            },
            "relations": {
                "micro": relation_micro,
                "by_label": {label: {m: self.relations.by_label(m)[label] for m in RELATION_MODES}
                             for label in relation_labels},
            },
            "confusion": [
                {"gold": gold, "predicted": pred, "count": n}
                for (gold, pred), n in sorted(self.confusion.items(),
                                              key=lambda kv: (-kv[1], str(kv[0])))
            ],
            "missed": [{"text": t, "label": label, "count": n}
                       for (t, label), n in self.missed.most_common(top)],
            "spurious": [{"text": t, "label": label, "count": n}
                         for (t, label), n in self.spurious.most_common(top)],
            "worst_documents": self.worst_documents(top),
            "gold_provenance": self.seeded.to_json() if self.seeded else None,
            "grounding": self.grounding,
        }


def evaluate_extractor(
    extractor: str, docs: Sequence[EvalDocument], *, bootstrap: int = 1000, seed: int = 0,
    symmetric: Collection[str] = (),
) -> ExtractorResult:
    """Entity and relation scores, bootstrap intervals and error analysis for one extractor;
    ``symmetric``: relation labels whose direction is ignored."""
    acc = _Accumulator()
    counts = _count_documents(docs, acc)
    entities = EntityScores(counts, acc.finish(), acc.label_documents())
    relations = score_relations(docs, symmetric)
    intervals = bootstrap_intervals(
        entities.doc_counts, relations.doc_counts if relations.any else None, bootstrap, seed)
    return ExtractorResult(
        extractor=extractor, entities=entities, relations=relations, intervals=intervals,
        confusion=Counter(acc.confusion) + Counter(
            {(label, label): n for label, n in acc.correct_counts.items()}),
        missed=Counter(acc.missed_texts),
        spurious=Counter(acc.spurious_texts), doc_ids=[d.doc_id for d in docs],
        titles=[d.title for d in docs], seeded=seeded_gold(extractor, docs),
    )


@dataclass
class Evaluation:
    """Several extractors scored on the same gold documents."""

    store: str
    annotator: str | None
    documents: int
    bootstrap: int
    seed: int
    results: dict[str, ExtractorResult]
    confidence: float = 0.95
    comparisons: list[PairComparison] = field(default_factory=list)
    gold_annotators: dict[str, int] = field(default_factory=dict)
    """Documents whose gold each annotator gives (``gold``: the adjudicated annotation)."""

    def to_json(self, schemes: Sequence[str] = SCHEMES, top: int = 20) -> dict[str, Any]:
        return {
            "format": "reader-evaluation",
            "version": 1,
            "store": self.store,
            "annotator": self.annotator,
            "gold_annotators": dict(sorted(self.gold_annotators.items())),
            "documents": self.documents,
            "schemes": list(schemes),
            "relation_modes": list(RELATION_MODES),
            "bootstrap": {"samples": self.bootstrap, "seed": self.seed,
                          "confidence": self.confidence},
            "extractors": {name: result.to_json(schemes, top)
                           for name, result in self.results.items()},
            "comparisons": [comparison.to_json() for comparison in self.comparisons],
        }


# -- disagreements of one document (the review screen and the HTML report) ------

Verdict = Literal["correct", "label", "boundary", "spurious", "missed"]
VERDICTS: tuple[str, ...] = ("correct", "label", "boundary", "spurious", "missed")


@dataclass(frozen=True)
class SpanGroup:
    """Gold and predicted spans that overlap one another (and nothing else), with a verdict.

    ``correct``: one gold span and one prediction with the same offsets and label;
    ``label``: same offsets, another label; ``boundary``: overlapping with other
    offsets; ``missed``: gold spans no prediction overlaps; ``spurious``: a
    prediction that overlaps no gold span.
    """

    verdict: Verdict
    gold: tuple[SpanTuple, ...]
    pred: tuple[SpanTuple, ...]

    @property
    def start(self) -> int:
        return min(s[0] for s in (*self.gold, *self.pred))

    @property
    def end(self) -> int:
        return max(s[1] for s in (*self.gold, *self.pred))

    @property
    def is_disagreement(self) -> bool:
        return self.verdict != "correct"


_Item = TypeVar("_Item", bound=tuple[Any, ...])


def overlapping_runs(items: Iterable[_Item]) -> Iterator[list[_Item]]:
    """``(start, end, ...)`` tuples sorted by start, in runs that overlap one another
    (directly or through other members of the run), in text order."""
    members: list[_Item] = []
    run_end = -1
    for item in items:
        if members and item[0] >= run_end:
            yield members
            members = []
        members.append(item)
        run_end = item[1] if len(members) == 1 else max(run_end, item[1])
    if members:
        yield members


def compare_spans(gold: Iterable[SpanTuple], pred: Iterable[SpanTuple]) -> list[SpanGroup]:
    """Split one document's gold and predicted spans into verdict groups, in text order."""
    items = sorted([(s, e, label, 0) for s, e, label in gold]
                   + [(s, e, label, 1) for s, e, label in pred])
    groups: list[SpanGroup] = []
    for members in overlapping_runs(items):
        g = tuple((s, e, label) for s, e, label, side in members if side == 0)
        p = tuple((s, e, label) for s, e, label, side in members if side == 1)
        verdict: Verdict
        if not p:
            verdict = "missed"
        elif not g:
            verdict = "spurious"
        elif len(g) == 1 and len(p) == 1 and g[0][:2] == p[0][:2]:
            verdict = "correct" if g[0][2] == p[0][2] else "label"
        else:
            verdict = "boundary"
        if verdict in ("missed", "spurious") and len(members) > 1:
            # Spans of one side that overlap each other but nothing on the other side
            # are still separate misses: one group each.
            for span in (g or p):
                groups.append(SpanGroup(verdict, (span,) if g else (), (span,) if p else ()))
            continue
        groups.append(SpanGroup(verdict, g, p))
    return groups


# -- from the store ---------------------------------------------------------------


@dataclass(frozen=True)
class GoldLayer:
    """The accepted annotation of one document, as plain tuples."""

    doc_id: str
    annotator: str
    spans: list[SpanTuple]
    relations: list[RelationTuple]
    provenance: list[tuple[str, str]] = field(default_factory=list)


def _provenance(record: dict[str, Any]) -> list[tuple[str, str]]:
    """``(source, state)`` of each span of a stored record (defaults as in ``Span``)."""
    return [(str(s.get("source", HUMAN)), str(s.get("state", "confirmed")))
            for s in record["spans"]]


def _layer_tuples(
    record: dict[str, Any], text_length: int, where: str
) -> tuple[list[SpanTuple], list[RelationTuple]]:
    """Spans and relations of a stored record, checked cheaply: offsets are integers
    inside the text and relations join spans of the layer.  Each relation end comes back
    as ``(start, end, entity_label)``."""
    try:
        spans = [(int(s["start"]), int(s["end"]), str(s["label"])) for s in record["spans"]]
        labels: dict[tuple[int, int], str] = {}
        for start, end, label in spans:
            labels.setdefault((start, end), label)
        relations = []
        for r in record.get("relations", []):
            ends = []
            for ref in (r["head"], r["child"]):
                offsets = (int(ref[0]), int(ref[1]))
                ends.append((*offsets, str(ref[2]) if len(ref) > 2 else labels.get(offsets, "")))
            relations.append((ends[0], ends[1], str(r["label"])))
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise EvaluationError(f"{where}: malformed span or relation record ({err!r})") from None
    keys = set(spans)
    for start, end, label in spans:
        if not 0 <= start < end:
            raise EvaluationError(f"{where}: span {start}-{end} ({label}) has end <= start")
        if end > text_length:
            raise EvaluationError(
                f"{where}: span {start}-{end} ({label}) ends past the document text (length "
                f"{text_length}); it was made on a different text"
            )
    for head, child, label in relations:
        if head not in keys or child not in keys:
            raise EvaluationError(
                f"{where}: relation {label} joins a span that is not in the layer"
            )
    return spans, relations


def gold_annotations(store: GoldStore, annotator: str | None = None) -> dict[str, GoldLayer]:
    """The gold layer of each document (see :mod:`annotations.gold` for which one): the
    adjudicated annotation when there is one, else the one accepted annotation; several
    annotators' accepted annotations on one document, none adjudicated, is an error."""
    gold: dict[str, GoldLayer] = {}
    for doc_id, records in gold_records_by_document(store, annotator).items():
        if len(records) > 1:
            names = ", ".join(repr(r["annotator"]) for r in records)
            raise EvaluationError(
                f"{store.path}: document {doc_id} has accepted annotations by {names} and no "
                f"adjudicated one ({ADJUDICATED!r}); choose one with --annotator"
            )
        record = records[0]
        spans, relations = _layer_tuples(
            record, len(store.text(doc_id)),
            f"{store.path}: annotation of document {doc_id} by {record['annotator']!r}",
        )
        gold[doc_id] = GoldLayer(doc_id, record["annotator"], spans, relations,
                                 _provenance(record))
    if not gold:
        who = f" by annotator {annotator!r}" if annotator else ""
        raise EvaluationError(
            f"{store.path}: no gold documents (no accepted annotations{who}); accept "
            "documents in `reader annotate` first"
        )
    return gold


def collect_documents(
    store: GoldStore, extractor: str, *, annotator: str | None = None,
    missing_as_empty: bool = False, gold: dict[str, Any] | None = None,
) -> list[EvalDocument]:
    """The gold documents with ``extractor``'s predictions, checked to refer to the same text.

    Raises :class:`EvaluationError` when there is no gold, the extractor is
    unknown, a gold document has no prediction (unless ``missing_as_empty``), or
    a prediction cannot belong to the stored text (its spans reach past the text,
    or the stored document's id is not the hash of its text).
    """
    gold = gold if gold is not None else gold_annotations(store, annotator)
    known = store.extractors()
    if extractor not in known:
        raise EvaluationError(
            f"{store.path}: unknown extractor {extractor!r}; predictions exist for: "
            f"{', '.join(known) or 'none (run `reader extract` first)'}"
        )
    docs: list[EvalDocument] = []
    absent: list[str] = []
    for doc_id, ann in gold.items():
        try:
            document = store.document(doc_id)  # checks that the id is the hash of the text
        except StoreCorruptError as err:
            if "not the hash of its text" not in str(err):
                raise
            raise EvaluationError(
                f"{store.path}: document {doc_id}: its text does not match its id (the stored "
                "text was changed after import), so no prediction can be trusted to fit it"
            ) from err
        text = document.text
        record = store.prediction_record(doc_id, extractor)
        if record is None:
            absent.append(doc_id)
            if not missing_as_empty:
                continue
            pred_spans: list[SpanTuple] = []
            pred_relations: list[RelationTuple] = []
        else:
            pred_spans, pred_relations = _layer_tuples(
                record, len(text), f"{store.path}: extractor {extractor!r}, document {doc_id}"
            )
        docs.append(EvalDocument(
            doc_id=doc_id, text=text,
            gold=ann.spans, pred=pred_spans,
            gold_relations=ann.relations,
            pred_relations=pred_relations,
            title=document.title,
            gold_provenance=ann.provenance,
        ))
    if absent and not missing_as_empty:
        raise EvaluationError(
            f"{store.path}: extractor {extractor!r} has no predictions for {len(absent)} of "
            f"{len(gold)} gold documents (first: {absent[0]}); run `reader extract` on them, "
            "or pass --missing-as-empty to count them as predicting nothing"
        )
    return docs
