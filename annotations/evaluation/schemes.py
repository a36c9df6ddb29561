"""Precision, recall and F1 from the counts: nervaluate's formulas for entities under
each scheme (micro, per label, macro), and Taillé et al.'s two modes for relations."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..models import relation_identity
from .base import (
    ENTITY_WIDTH,
    PARTIAL,
    RELATION_MODES,
    SCHEMES,
    TYPE,
    EvalDocument,
    RelationTuple,
    SpanTuple,
)
from .counting import Accumulator, LabelDocumentCounts, count_documents


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
        return self.doc_counts.sum(axis=0) if len(self.doc_counts) else np.zeros(ENTITY_WIDTH, int)

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


def score_entities(docs: Iterable[EvalDocument]) -> EntityScores:
    """Entity counts of ``docs`` (a list, or a stream) under the four schemes (see the
    module docstring)."""
    acc = Accumulator()
    counts = count_documents(docs, acc)
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


def relation_row(doc: EvalDocument, symmetric: Collection[str],
                 by_label: dict[str, list[int]]) -> list[int]:
    """One document's relation counts (strict COR, MIS, SPU, boundaries COR, MIS, SPU),
    each relation also counted under its label in ``by_label``."""
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
    # Relations with an ungrounded end are spurious in both modes (under no label).
    row[2] += doc.dropped_relations
    row[5] += doc.dropped_relations
    return row


def score_relations(docs: Sequence[EvalDocument], symmetric: Collection[str] = ()
                    ) -> RelationScores:
    """Relation counts of ``docs`` in the strict and boundaries modes (Taillé et al. 2020).

    For the relation labels in ``symmetric``, direction is ignored (A -> B matches B -> A).
    A relation the extractor gave with an end that could not be placed on the text
    (:attr:`EvalDocument.dropped_relations`) is spurious.
    """
    by_label: dict[str, list[int]] = {}
    rows = [relation_row(doc, symmetric, by_label) for doc in docs]
    return RelationScores(np.array(rows, dtype=np.int64).reshape(len(rows), 6), by_label)
