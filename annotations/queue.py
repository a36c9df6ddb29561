"""Which document to annotate next: a queue that puts first the documents that decide
between extractors.

A gold set built to choose between extractors (a spaCy model and an LLM, two versions
of one model) learns nothing from a document on which they give the same output: their
paired difference there is zero.  The queue ranks the documents not yet in the gold set
by how much the chosen extractors' predictions differ, and records, with each accepted
annotation, how the document was chosen (:class:`~annotations.models.Selection`), so
that estimates for the whole store stay honest (:mod:`annotations.estimate`).

Disagreement score
    For extractors ``E1 .. Ek`` (k >= 2) and one document, each extractor's output is
    two sets: its spans, each ``(start, end, label)``, and its relations, each
    ``(head, child, label)`` with both ends ``(start, end, entity_label)`` (direction
    ignored for relation labels declared symmetric, as in scoring).  For a pair
    ``(Ei, Ej)`` the pair's difference is the number of spans in exactly one of the two
    outputs (the size of the symmetric difference of the span sets) plus the same for
    relations.  The document's **score** is the sum of the pairs' differences over all
    ``k (k - 1) / 2`` pairs.  It is 0 exactly when every extractor gave the same spans
    and relations; those documents form the **agree** stratum, the others the
    **differ** stratum.  A span that differs only in its boundaries counts twice (one
    span in each output), as it does in strict scoring (one miss and one spurious).

Orders
    ``disagreement``: the differ stratum first, highest score first, ties in a seeded
    random order; then the agree stratum in a seeded random order.
    ``differ-first``: the differ stratum first, then the agree stratum, each in a
    seeded random order.  Any prefix of the differing documents is then a random
    sample of them: a comparison decided before they are all annotated speaks for all
    of them (the most different documents need not be typical ones), and the corpus
    estimate holds at every point.
    ``random``: all documents in a seeded random order.
    ``store``: the order of import.
    ``estimate``: what narrows the corpus estimate's interval most (see
    :func:`annotations.estimate.estimate_order`): the differ stratum first (as
    ``differ-first``), then each next document drawn at random from the stratum where
    one more annotated document reduces the variance of the estimate most.

    ``probability`` of an entry is the probability with which it was drawn at random
    among the documents of its stratum still in the queue before it (``1 / remaining``),
    or None when it was taken by rank (the differ stratum in ``disagreement`` order,
    every document in ``store`` order).

Not yet annotated
    A document leaves the queue when it has gold (an accepted annotation by the
    annotator, or, with no annotator named, the gold that evaluation uses: see
    :mod:`annotations.gold`), or when the annotator (any annotator, with none named)
    rejected or ignored it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from operator import itemgetter
from typing import TYPE_CHECKING, Any, get_args

import numpy as np

from .errors import AnnotationsError
from .gc_pause import gc_paused
from .models import Order, Selection, Stratum, relation_identity

if TYPE_CHECKING:
    from .store import GoldStore

ORDERS: tuple[str, ...] = get_args(Order)
STRATA: tuple[str, ...] = get_args(Stratum)

_SPAN = itemgetter("start", "end", "label")


class QueueError(AnnotationsError):
    """A queue that cannot be built (the reason names the store and what is missing)."""


# -- the disagreement of extractors ------------------------------------------------


def output_keys(record: dict[str, Any] | None, symmetric: Collection[str] = ()
                ) -> tuple[frozenset[Any], frozenset[Any]]:
    """A stored prediction record's spans as ``(start, end, label)`` and relations as
    ``(head, child, label)`` identities (ends ``(start, end, entity_label)``); a missing
    record is an empty output."""
    if record is None:
        return frozenset(), frozenset()
    spans = record["spans"]
    span_keys = frozenset(map(_SPAN, spans))
    relations = record.get("relations")
    if not relations:
        return span_keys, frozenset()
    labels: dict[tuple[int, int], str] = {}
    for start, end, label in sorted(span_keys):
        labels.setdefault((start, end), label)
    rel_keys = set()
    for rel in relations:
        ends = []
        for ref in (rel["head"], rel["child"]):
            offsets = (ref[0], ref[1])
            ends.append((*offsets, ref[2] if len(ref) > 2 else labels.get(offsets, "")))
        rel_keys.add(relation_identity(ends[0], ends[1], rel["label"], symmetric))
    return span_keys, frozenset(rel_keys)


@dataclass
class Disagreements:
    """The disagreement of ``extractors`` on each of ``doc_ids``.

    ``pair_spans[i, p]`` and ``pair_relations[i, p]``: how many spans (relations) of
    document ``i`` are in exactly one output of pair ``p`` (``pairs[p]``); ``scores``:
    their sum over pairs and kinds (see the module docstring).
    """

    extractors: tuple[str, ...]
    doc_ids: list[str]
    pair_spans: np.ndarray
    pair_relations: np.ndarray
    span_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Spans the first extractor predicted on each document (all of them, where they
    agree): what ``annotations.estimate`` groups the agreeing documents by."""
    missing: dict[str, int] = field(default_factory=dict)
    """Documents without a prediction of each extractor (counted as empty output)."""

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(combinations(self.extractors, 2))

    @property
    def scores(self) -> np.ndarray:
        if not len(self.doc_ids):
            return np.zeros(0, dtype=np.int64)
        return self.pair_spans.sum(axis=1) + self.pair_relations.sum(axis=1)

    @property
    def differ(self) -> np.ndarray:
        """True where the extractors' outputs differ (the differ stratum)."""
        return self.scores > 0

    def stratum(self, index: int) -> Stratum:
        return "differ" if self.scores[index] > 0 else "agree"

    def reason(self, index: int) -> str:
        """Why the document is where it is, in words: which extractors differ and on what."""
        parts = []
        for p, (a, b) in enumerate(self.pairs):
            spans, relations = int(self.pair_spans[index, p]), int(self.pair_relations[index, p])
            if spans or relations:
                what = [f"{n} {word}{'' if n == 1 else 's'}"
                        for n, word in ((spans, "span"), (relations, "relation")) if n]
                parts.append(f"{a} and {b} differ on {' and '.join(what)}")
        if parts:
            return "; ".join(parts)
        both = "agree" if len(self.extractors) == 2 else "all agree"
        return f"{listed(self.extractors)} {both}"


def listed(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else \
        "".join(names)


def check_extractors(store: GoldStore, extractors: Sequence[str]) -> tuple[str, ...]:
    """The distinct extractors asked for, each known to the store; at least two."""
    names = tuple(dict.fromkeys(extractors))
    if len(names) < 2:
        raise QueueError("give at least two different extractors: -e A -e B (their "
                         "disagreement orders the queue)")
    known = store.extractors()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise QueueError(
            f"{store.path}: unknown extractor {unknown[0]!r}; predictions exist for: "
            f"{', '.join(known) or 'none (run `reader extract` first)'}")
    return names


def disagreements(store: GoldStore, extractors: Sequence[str],
                  doc_ids: Sequence[str] | None = None, *,
                  missing_as_empty: bool = False) -> Disagreements:
    """The disagreement of ``extractors`` on ``doc_ids`` (default: every document).

    A document that an extractor did not predict is refused (naming how many and the
    first), unless ``missing_as_empty`` counts it as an empty output.
    """
    names = check_extractors(store, extractors)
    ids = list(store.document_ids() if doc_ids is None else doc_ids)
    missing: dict[str, int] = {}
    for name in names:
        absent = [doc_id for doc_id in ids if not store.has_prediction(doc_id, name)]
        if absent:
            if not missing_as_empty:
                raise QueueError(
                    f"{store.path}: extractor {name!r} has no predictions for {len(absent)} "
                    f"of {len(ids)} documents (first: {absent[0]}); run `reader extract` on "
                    "them, or pass --missing-as-empty to count them as predicting nothing")
            missing[name] = len(absent)
    symmetric = store.labels.symmetric_relations
    pairs = list(combinations(range(len(names)), 2))
    pair_spans = np.zeros((len(ids), len(pairs)), dtype=np.int64)
    pair_relations = np.zeros((len(ids), len(pairs)), dtype=np.int64)
    span_counts = np.zeros(len(ids), dtype=np.int64)
    # One document at a time, each record parsed and dropped (the store's bulk read):
    # memory stays that of one document whatever the store's size.  Most documents have
    # no relations and the same spans in every output.  A stored layer keeps its spans
    # sorted by (start, end, label), so equal tuples of those (compared in C, against
    # the first output: equality is transitive) mean equal span sets; only the other
    # documents need sets and pairs.  The records are acyclic, so the cyclic collector
    # rests meanwhile (it would walk the heap again and again for nothing).
    with gc_paused():
        for i, records in enumerate(store.prediction_rows(names, ids)):
            first = records[0]
            keys = () if first is None else tuple(map(_SPAN, first["spans"]))
            span_counts[i] = len(keys)
            for record in records:
                if record is None:
                    if keys:
                        break
                elif record.get("relations") or (
                        record is not first and tuple(map(_SPAN, record["spans"])) != keys):
                    break
            else:
                continue
            outputs = [output_keys(record, symmetric) for record in records]
            for p, (a, b) in enumerate(pairs):
                pair_spans[i, p] = len(outputs[a][0] ^ outputs[b][0])
                pair_relations[i, p] = len(outputs[a][1] ^ outputs[b][1])
    return Disagreements(names, ids, pair_spans, pair_relations, span_counts, missing)


# -- which documents are done ----------------------------------------------------------


def done_documents(store: GoldStore, annotator: str | None = None
                   ) -> tuple[set[str], set[str]]:
    """Documents that leave the queue: those with gold (the annotator's accepted
    annotation, else the gold evaluation uses), and, apart, those without gold that the
    annotator (any, with none named) rejected or ignored."""
    annotated: set[str] = set()
    closed: set[str] = set()
    # One pass over the records.  The documents with gold are those with an accepted
    # record (of the annotator): which record is the gold (``annotations.gold``) does not
    # change which documents have one.
    for record in store.annotation_records(annotator=annotator):
        status = record.get("status")
        if status == "accept":
            annotated.add(record["doc_id"])
        elif status in ("reject", "ignore"):
            closed.add(record["doc_id"])
    return annotated, closed - annotated


# -- the queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    """One document of the queue: its place and why it is there."""

    doc_id: str
    rank: int
    score: int
    stratum: Stratum
    probability: float | None
    reason: str


class _Lazy(Mapping[str, Any]):
    """A mapping by document id whose values are made when asked for (a queue of
    100,000 documents makes only the few a session opens)."""

    def __init__(self, positions: dict[str, int], make: Callable[[int], Any]) -> None:
        self._positions, self._make = positions, make

    def __getitem__(self, doc_id: str) -> Any:
        return self._make(self._positions[doc_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)


@dataclass
class Queue:
    """The documents not yet annotated, in the order to annotate them.

    Per position (queue order): ``doc_ids``, ``scores``, ``probabilities`` (NaN where
    taken by rank) and ``rows`` (into ``found``, the disagreements of every document).
    ``sizes``: documents of each stratum in the whole store (annotated or not, rejected
    and ignored ones left out); ``waiting``: those still in the queue; ``annotated``:
    documents with gold; ``excluded``: documents rejected or ignored (without gold).
    """

    order: str
    extractors: tuple[str, ...]
    seed: int
    doc_ids: list[str]
    scores: np.ndarray
    probabilities: np.ndarray
    rows: np.ndarray
    found: Disagreements
    sizes: dict[str, int]
    waiting: dict[str, int]
    annotated: int
    excluded: int
    groups: list[str] | None = None
    """Per position, the finer stratum a document was drawn in (``estimate`` order)."""

    def __len__(self) -> int:
        return len(self.doc_ids)

    @property
    def missing(self) -> dict[str, int]:
        return self.found.missing

    def stratum(self, index: int) -> Stratum:
        return "differ" if self.scores[index] > 0 else "agree"

    def probability(self, index: int) -> float | None:
        value = float(self.probabilities[index])
        return None if np.isnan(value) else value

    def reason(self, index: int) -> str:
        return self.found.reason(int(self.rows[index]))

    def entry(self, index: int) -> QueueEntry:
        return QueueEntry(self.doc_ids[index], index + 1, int(self.scores[index]),
                          self.stratum(index), self.probability(index), self.reason(index))

    def entries(self, limit: int | None = None) -> list[QueueEntry]:
        count = len(self) if limit is None else min(limit, len(self))
        return [self.entry(i) for i in range(count)]

    def selection(self, index: int) -> Selection:
        """What is recorded with the annotation when this document is accepted."""
        return Selection(order=self.order, rank=index + 1,  # type: ignore[arg-type]
                         stratum=self.stratum(index), score=int(self.scores[index]),
                         probability=self.probability(index),
                         extractors=list(self.extractors), seed=self.seed,
                         group=self.groups[index] if self.groups else None)

    def _positions(self) -> dict[str, int]:
        return {doc_id: i for i, doc_id in enumerate(self.doc_ids)}

    def selections(self) -> Mapping[str, Selection]:
        """Each document's :class:`Selection`, by id (made when asked for)."""
        return _Lazy(self._positions(), self.selection)

    def reasons(self) -> Mapping[str, str]:
        """Why each document is where it is, by id (made when asked for)."""
        return _Lazy(self._positions(), self.reason)


def _random_keys(count: int, seed: int) -> np.ndarray:
    """A seeded random rank for each of ``count`` items (a permutation)."""
    return np.random.default_rng(seed).permutation(count)


def draw_probabilities(groups: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """For items in queue order (``groups``: the stratum of each, any labels): ``1 /
    (items of the same stratum from here on)`` where the item was drawn at random
    (``drawn``), else NaN (taken by rank)."""
    groups = np.asarray(groups)
    drawn = np.asarray(drawn, dtype=bool)
    out = np.full(len(groups), np.nan)
    for group in np.unique(groups):
        mask = groups == group
        before = np.cumsum(mask) - mask  # items of this stratum before each position
        remaining = int(mask.sum()) - before
        take = mask & drawn
        out[take] = 1.0 / remaining[take]
    return out


def rank_documents(scores: np.ndarray, order: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into ``scores``) in queue order, and whether each was drawn at random,
    for the ``disagreement``, ``random`` and ``store`` orders."""
    count = len(scores)
    if order == "store":
        return np.arange(count), np.zeros(count, dtype=bool)
    keys = _random_keys(count, seed)
    if order == "random":
        positions = np.argsort(keys, kind="stable")
        return positions, np.ones(count, dtype=bool)
    if order == "disagreement":
        positions = np.lexsort((keys, -scores))
        return positions, scores[positions] == 0
    if order == "differ-first":
        positions = np.lexsort((keys, scores == 0))
        return positions, np.ones(count, dtype=bool)
    raise QueueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")


def build_queue(store: GoldStore, extractors: Sequence[str], *, order: str = "disagreement",
                seed: int = 0, annotator: str | None = None,
                missing_as_empty: bool = False, scheme: str = "strict") -> Queue:
    """The documents of ``store`` not yet annotated, in ``order`` (see the module
    docstring).  ``scheme`` is the entity scheme whose interval ``estimate`` narrows."""
    if order not in ORDERS:
        raise QueueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    if not len(store):
        raise QueueError(f"{store.path}: the store holds no documents; import articles "
                         "first (`reader import`)")
    found = disagreements(store, extractors, missing_as_empty=missing_as_empty)
    names = found.extractors
    annotated, excluded = done_documents(store, annotator)
    done = annotated | excluded
    waiting_mask = np.array([d not in done for d in found.doc_ids], dtype=bool)
    counted = np.array([d not in excluded for d in found.doc_ids], dtype=bool)
    all_scores = found.scores
    rows = np.flatnonzero(waiting_mask)
    scores = all_scores[rows]
    sizes = {"differ": int(np.count_nonzero(counted & (all_scores > 0))),
             "agree": int(np.count_nonzero(counted & (all_scores == 0)))}
    groups: list[str] | None = None
    if order == "estimate":
        from .estimate import estimate_order

        positions, drawn, labels = estimate_order(
            store, found, rows, seed=seed, annotator=annotator, scheme=scheme,
            missing_as_empty=missing_as_empty)
        groups = [labels[p] for p in positions]
        group_ids = np.unique(np.array(groups, dtype=object), return_inverse=True)[1]
    else:
        positions, drawn = rank_documents(scores, order, seed)
    rows = rows[positions]
    scores = scores[positions]
    if groups is None:
        group_ids = (scores == 0).astype(np.int64)
    waiting = {"differ": int(np.count_nonzero(scores > 0)),
               "agree": int(np.count_nonzero(scores == 0))}
    return Queue(order, names, seed, [found.doc_ids[r] for r in rows], scores,
                 draw_probabilities(group_ids, drawn), rows, found, sizes, waiting,
                 len(annotated), len(excluded), groups)
