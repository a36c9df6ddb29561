"""Relation agreement between two annotators.

Modes, as in the evaluation of extractors (Taillé et al. 2020):

- ``strict``: the same relation label, and the same head and child spans with the
  same entity labels;
- ``boundaries``: the same relation label and the same head and child offsets,
  entity labels ignored;
- ``restricted``: ``strict``, counted only over relations whose head and child spans
  (with their labels) both annotators marked: how far the two agree on relations
  once they agree on the entities.

A relation whose label is declared symmetric (``RelationLabel.symmetric``) has no
direction: A -> B and B -> A are the same relation here, as in ``reader evaluate``
(its two ends are put in one order, the earlier span first, before comparing).

Relations are laid on the same joined text as the spans (see :mod:`.continuum`), so a
relation is a row of global offsets and label ids.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter

import numpy as np

from ..evaluation import RelationTuple
from .continuum import Continuum, RaterSpans

RELATION_AGREEMENT_MODES: tuple[str, ...] = ("strict", "boundaries", "restricted")


@dataclass
class RaterRelations:
    """One annotator's relations: columns head start, head end, head label, child start,
    child end, child label, relation label id; and the document of each."""

    rows: np.ndarray
    doc: np.ndarray


def rater_relations(continuum: Continuum,
                    relations: Sequence[Sequence[Sequence[RelationTuple] | None]],
                    symmetric: Collection[str] = ()) -> list[RaterRelations]:
    """``relations[r][d]``: annotator ``r``'s relations on document ``d`` (or ``None``);
    the ends of a relation whose label is in ``symmetric`` in one order (earlier first)."""
    names = sorted({rel[2] for by_doc in relations for layer in by_doc if layer
                    for rel in layer})
    ids = {name: i for i, name in enumerate(names)}
    out = []
    for rater, by_doc in zip(continuum.raters, relations, strict=True):
        counts = np.fromiter((len(layer) if layer else 0 for layer in by_doc), dtype=np.int64,
                             count=len(by_doc))
        flat = list(chain.from_iterable(layer for layer in by_doc if layer))
        doc = np.repeat(np.arange(len(by_doc), dtype=np.int64), counts)
        if not flat:
            out.append(RaterRelations(np.zeros((0, 7), dtype=np.int64), doc))
            continue
        base = continuum.bases[doc]
        size = 2 * len(flat)
        # Each end by its offsets (its entity label, if given, is the span's at them).
        head = np.fromiter(chain.from_iterable(r[0][:2] for r in flat), dtype=np.int64,
                           count=size).reshape(-1, 2) + base[:, None]
        child = np.fromiter(chain.from_iterable(r[1][:2] for r in flat), dtype=np.int64,
                            count=size).reshape(-1, 2) + base[:, None]
        labels = list(map(itemgetter(2), flat))
        # An end named with its label (an overlapping layer) is the span with that label.
        label_ids = {name: i + 1 for i, name in enumerate(continuum.labels)}
        head_label = np.fromiter((label_ids.get(r[0][2], 0) if len(r[0]) > 2 else -1
                                  for r in flat), dtype=np.int64, count=len(flat))
        child_label = np.fromiter((label_ids.get(r[1][2], 0) if len(r[1]) > 2 else -1
                                   for r in flat), dtype=np.int64, count=len(flat))
        head_at = rater.index_of(head[:, 0], head[:, 1], head_label)
        child_at = rater.index_of(child[:, 0], child[:, 1], child_label)
        if (head_at < 0).any() or (child_at < 0).any():
            raise ValueError("a relation joins a span that is not in its layer")
        rows = np.column_stack([head[:, 0], head[:, 1], rater.label[head_at], child[:, 0],
                                child[:, 1], rater.label[child_at],
                                np.fromiter(map(ids.__getitem__, labels), dtype=np.int64,
                                            count=len(labels))])
        swap = np.fromiter((label in symmetric for label in labels), dtype=bool,
                           count=len(labels))
        if swap.any():
            # (start, end, label) of the child before the head's: swap the two ends
            head_key, child_key = rows[:, 0:3], rows[:, 3:6]
            differs = head_key != child_key
            first = np.argmax(differs, axis=1)
            picked = np.arange(len(rows))
            later = differs.any(axis=1) & (child_key[picked, first] < head_key[picked, first])
            flip = swap & later
            rows[flip] = rows[flip][:, [3, 4, 5, 0, 1, 2, 6]]
        out.append(RaterRelations(rows, doc))
    return out


def _has_spans(rater: RaterSpans, rows: np.ndarray, first: int) -> np.ndarray:
    """Whether ``rater`` marked the span in columns ``first``..``first + 2`` of each row."""
    return rater.index_of(rows[:, first], rows[:, first + 1], rows[:, first + 2]) >= 0


def pair_relations(continuum: Continuum, relations: Sequence[RaterRelations], ia: int, ib: int,
                   both: np.ndarray) -> tuple[int, ...]:
    """``(agreed, n_a, n_b)`` for strict, boundaries and restricted, on the documents
    flagged in ``both``."""
    ra, rb = relations[ia], relations[ib]
    rows_a, rows_b = ra.rows[both[ra.doc]], rb.rows[both[rb.doc]]

    def keys(rows: np.ndarray, columns: list[int]) -> np.ndarray:
        # Each row as one opaque value, so that numpy can intersect rows.
        picked = np.ascontiguousarray(rows[:, columns])
        return picked.view(np.dtype((np.void, picked.itemsize * len(columns)))).ravel()

    def agreed(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
        # A layer holds a relation once, so each side's rows are unique.
        return len(np.intersect1d(a, b, assume_unique=True)), len(a), len(b)

    strict_cols, bounds_cols = [0, 1, 2, 3, 4, 5, 6], [0, 1, 3, 4, 6]
    span_a, span_b = continuum.raters[ia], continuum.raters[ib]
    kept_a = rows_a[_has_spans(span_b, rows_a, 0) & _has_spans(span_b, rows_a, 3)]
    kept_b = rows_b[_has_spans(span_a, rows_b, 0) & _has_spans(span_a, rows_b, 3)]
    return (*agreed(keys(rows_a, strict_cols), keys(rows_b, strict_cols)),
            *agreed(keys(rows_a, bounds_cols), keys(rows_b, bounds_cols)),
            *agreed(keys(kept_a, strict_cols), keys(kept_b, strict_cols)))
