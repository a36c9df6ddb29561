"""Each extractor's F1 on *all* documents of the store, from a gold set that is not a
random sample of them.

A gold set built in disagreement order (:mod:`annotations.queue`) holds mostly the
documents where the extractors differ: good for deciding which is better (the paired
test conditions on the documents, so it is valid on any fixed set), but its plain F1 is
not the store's F1, since the documents where the extractors agree are usually the
easy ones.  This module estimates the store's F1 the way a survey statistician would.

Strata
    Every document of the store (rejected and ignored ones left out) falls in one
    stratum: ``differ`` (the chosen extractors' outputs differ) or, where they agree,
    one of the size classes of ``agree`` by how many spans they predicted (0, 1-2,
    3-5, 6-10, 11-20, 21 or more).  The classes are known for every document before
    any annotation, so they cost nothing and make the estimate more precise.

Estimate (stratified, Horvitz-Thompson totals, a combined ratio estimator)
    For an extractor and a statistic (entity F1 under a scheme; strict relation F1), each
    gold document gives ``hits`` and ``total`` (``2 TP + FP + FN``, nervaluate's ``ACT +
    POS``; the per-document counting of :mod:`annotations.evaluation`).  Per stratum
    ``h`` with ``N_h`` documents of which ``n_h`` are gold, the totals of the gold
    documents are scaled by ``N_h / n_h``; the estimate is ``F1 = 2 H / T`` from the
    scaled totals ``H``, ``T`` summed over strata.  A stratum wholly annotated (a census,
    ``n_h = N_h``) adds its exact totals.

Interval
    A stratified bootstrap: in each resample, every stratum that is not a census is
    resampled within itself, ``n_h - 1`` documents with replacement, scaled by ``N_h /
    (n_h - 1)`` (the rescaling of McCarthy and Snowden 1985, which removes the
    bootstrap's ``(n - 1) / n`` shrinkage of the variance); census strata stay fixed.
    The interval is the percentile interval of ``F1`` over the resamples.  A stratum
    with documents but no gold leaves the store's F1 unknown (no estimate); one with a
    single gold document (not a census) leaves its variance unknown (no interval).

Assumptions, said in the output when they fail
    Within each stratum that is not a census, the gold documents are a uniform random
    sample of the stratum: true of those the queue drew at random (``Selection.
    probability``), and of every document in ``random`` order; not of documents taken
    by rank (most different first) or in store order, nor of documents annotated
    without a queue (no record).  Such documents are counted, and warned about.  The
    finite population correction is left out (the interval is conservative when a
    stratum is mostly annotated).  Strata are computed from the current predictions.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import AnnotationsError
from .evaluation import SCHEMES, EvaluationError, collect_documents, evaluate_extractor
from .gold import gold_records_by_document
from .queue import Disagreements, disagreements, done_documents
from .significance import entity_columns, relation_columns

if TYPE_CHECKING:
    from .store import GoldStore

SIZE_CLASSES: tuple[tuple[int, int | None], ...] = (
    (0, 0), (1, 2), (3, 5), (6, 10), (11, 20), (21, None))
"""Classes of the agreeing documents by the number of spans the extractors predicted."""
MIN_SAMPLE = 2
"""Gold documents a stratum needs (unless it is a census) for its variance, hence an
interval."""
SHARE_WARNING = 0.05
"""The plain gold F1 is called biased when the gold set's share of a stratum differs from
the store's by more than this."""


def _class_name(low: int, high: int | None) -> str:
    spans = f"{low}" if low == high else f"{low}-{high}" if high is not None else f"{low}+"
    return f"agree, {spans} span{'' if high == 1 else 's'}"


def stratum_names() -> list[str]:
    """Stratum ``0`` is ``differ``; ``1 + k`` the ``k``-th size class of ``agree``."""
    return ["differ", *(_class_name(low, high) for low, high in SIZE_CLASSES)]


def strata_of(found: Disagreements) -> np.ndarray:
    """The stratum index (see :func:`stratum_names`) of each of ``found``'s documents."""
    edges = np.array([low for low, _ in SIZE_CLASSES[1:]])
    size = np.searchsorted(edges, found.span_counts, side="right")
    return np.where(found.scores > 0, 0, 1 + size)


# -- the estimator, over plain arrays ------------------------------------------------


def _f1(hits: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 2 * hits / total, 0.0)


def scale_factors(strata: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per gold document, ``N_h / n_h`` of its stratum (``strata``: the stratum of each
    gold document; ``sizes``: ``N_h`` of each stratum)."""
    counts = np.bincount(strata, minlength=len(sizes))
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(counts > 0, sizes / np.maximum(counts, 1), 0.0)
    return factors[strata]


def stratified_f1(columns: np.ndarray, strata: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``F1 = 2 H / T`` per statistic from scaled totals: ``columns`` are the gold
    documents' ``(hits, total)`` pairs (documents x 2k), ``strata`` their strata."""
    totals = scale_factors(strata, sizes) @ columns
    return _f1(totals[0::2], totals[1::2])


def estimable(strata: np.ndarray, sizes: np.ndarray) -> tuple[bool, bool]:
    """(an estimate exists, an interval exists): every stratum with documents has gold;
    and each that is not a census has at least :data:`MIN_SAMPLE`."""
    counts = np.bincount(strata, minlength=len(sizes))
    present = sizes > 0
    estimate = bool(np.all(counts[present] > 0))
    sampled = present & (counts < sizes)
    return estimate, estimate and bool(np.all(counts[sampled] >= MIN_SAMPLE))


def stratified_bootstrap(
    columns: np.ndarray, strata: np.ndarray, sizes: np.ndarray, samples: int = 1000,
    seed: int = 0, confidence: float = 0.95,
) -> list[tuple[float, float]] | None:
    """Percentile intervals of :func:`stratified_f1` per statistic over stratified
    bootstrap resamples (see the module docstring); None when not :func:`estimable`."""
    if samples <= 0 or not estimable(strata, sizes)[1]:
        return None
    rng = np.random.default_rng(seed)
    n_docs = len(strata)
    counts = np.bincount(strata, minlength=len(sizes))
    fixed = np.zeros(n_docs)
    groups = []
    for h in np.flatnonzero(counts):
        members = np.flatnonzero(strata == h)
        if counts[h] >= sizes[h]:
            fixed[members] = 1.0  # a census: its totals are exact
        else:
            groups.append((members, len(members) - 1, sizes[h] / (len(members) - 1)))
    estimates = []
    chunk = 200
    done = 0
    while done < samples:
        k = min(chunk, samples - done)
        weights = np.tile(fixed, (k, 1))
        for members, draws, factor in groups:
            picks = rng.integers(0, len(members), size=(k, draws))
            tally = np.zeros((k, len(members)))
            np.add.at(tally, (np.arange(k)[:, None], picks), 1.0)
            weights[:, members] = factor * tally
        totals = weights @ columns
        estimates.append(_f1(totals[:, 0::2], totals[:, 1::2]))
        done += k
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(np.vstack(estimates), [tail, 100 - tail], axis=0)
    return [(float(lo), float(hi)) for lo, hi in zip(low, high, strict=True)]


def collapse(strata: np.ndarray, population: np.ndarray, n_strata: int) -> np.ndarray:
    """Merge neighbouring size classes of ``agree`` (never ``differ``) that have fewer than
    :data:`MIN_SAMPLE` gold documents and are not censuses, into the next class (the
    last into the one before): a map from old stratum index to new.  ``strata``: gold
    documents' strata; ``population``: every document's."""
    gold = np.bincount(strata, minlength=n_strata)
    size = np.bincount(population, minlength=n_strata)
    mapping = np.arange(n_strata)
    classes = [h for h in range(1, n_strata) if size[h] > 0]
    groups: list[list[int]] = []
    current: list[int] = []
    for h in classes:
        current.append(h)
        n, N = gold[current].sum(), size[current].sum()
        if n >= MIN_SAMPLE or n == N:
            groups.append(current)
            current = []
    if current:
        if groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    for group in groups:
        mapping[group] = group[0]
    return mapping


def stratified_estimate(
    columns: np.ndarray, strata: np.ndarray, population: np.ndarray, *,
    samples: int = 1000, seed: int = 0, confidence: float = 0.95,
) -> tuple[np.ndarray | None, list[tuple[float, float]] | None]:
    """The store's F1 per statistic and its interval, from the gold documents' ``columns``
    and strata (:func:`strata_of`) and every store document's stratum (``population``):
    thin size classes merged (:func:`collapse`), then :func:`stratified_f1` and
    :func:`stratified_bootstrap`; None where not :func:`estimable`.  What
    :func:`estimate_corpus` computes for each extractor."""
    n_strata = len(stratum_names())
    mapping = collapse(strata, population, n_strata)
    strata = mapping[strata]
    sizes = np.bincount(mapping[population], minlength=n_strata).astype(float)
    if not estimable(strata, sizes)[0]:
        return None, None
    return (stratified_f1(columns, strata, sizes),
            stratified_bootstrap(columns, strata, sizes, samples, seed, confidence))


# -- from a store ----------------------------------------------------------------------


@dataclass(frozen=True)
class StratumSummary:
    """One stratum: documents in the store, gold documents, and how those were chosen."""

    name: str
    size: int
    annotated: int
    drawn_at_random: int
    by_rank: int
    unrecorded: int

    @property
    def census(self) -> bool:
        return self.annotated >= self.size

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "documents": self.size, "annotated": self.annotated,
                "census": self.census, "drawn_at_random": self.drawn_at_random,
                "by_rank": self.by_rank, "unrecorded": self.unrecorded}


@dataclass(frozen=True)
class StatisticEstimate:
    """One extractor's F1 on one statistic: on the whole store (estimated) and plain (on
    the gold documents only, as ``reader evaluate`` gives it)."""

    extractor: str
    statistic: str
    estimate: float | None
    interval: tuple[float, float] | None
    plain: float

    def to_json(self) -> dict[str, Any]:
        return {"extractor": self.extractor, "statistic": self.statistic,
                "f1": self.estimate, "f1_ci": list(self.interval) if self.interval else None,
                "plain_gold_f1": self.plain}


@dataclass
class CorpusEstimate:
    """What ``reader estimate`` prints (see the module docstring)."""

    store: str
    annotator: str | None
    extractors: tuple[str, ...]
    documents: int
    annotated: int
    strata: list[StratumSummary]
    results: list[StatisticEstimate]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    samples: int = 1000
    seed: int = 0
    confidence: float = 0.95

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "reader-corpus-estimate", "version": 1, "store": self.store,
            "annotator": self.annotator, "extractors": list(self.extractors),
            "documents": self.documents, "annotated": self.annotated,
            "bootstrap": {"samples": self.samples, "seed": self.seed,
                          "confidence": self.confidence, "method": "stratified, n_h - 1 "
                          "draws per stratum (McCarthy and Snowden 1985)"},
            "strata": [s.to_json() for s in self.strata],
            "estimates": [r.to_json() for r in self.results],
            "warnings": self.warnings, "notes": self.notes,
        }


@dataclass
class _Gold:
    """The gold documents' strata and (hits, total) columns per extractor."""

    strata: np.ndarray  # per gold document
    population: np.ndarray  # per store document counted (not rejected or ignored)
    columns: dict[str, np.ndarray]
    statistics: list[str]
    doc_ids: list[str]


def _gold_columns(store: GoldStore, found: Disagreements, counted: np.ndarray,
                  annotator: str | None, scheme: str, missing_as_empty: bool,
                  require_gold: bool = True) -> _Gold:
    strata_all = strata_of(found)
    population = strata_all[counted]
    index = {doc_id: i for i, doc_id in enumerate(found.doc_ids)}
    try:
        per_extractor = {name: collect_documents(store, name, annotator=annotator,
                                                 missing_as_empty=missing_as_empty)
                         for name in found.extractors}
    except EvaluationError:
        if require_gold:
            raise
        return _Gold(np.zeros(0, dtype=np.int64), population, {}, [], [])
    symmetric = store.labels.symmetric_relations
    results = {name: evaluate_extractor(name, docs, bootstrap=0, symmetric=symmetric)
               for name, docs in per_extractor.items()}
    first = next(iter(results.values()))
    with_relations = any(r.relations.any for r in results.values())
    s = SCHEMES.index(scheme)
    columns = {}
    for name, result in results.items():
        blocks = [entity_columns(result.entities.doc_counts)[:, 2 * s:2 * s + 2]]
        if with_relations:
            blocks.append(relation_columns(result.relations.doc_counts)[:, 0:2])
        columns[name] = np.hstack(blocks)
    statistics = [f"entities, {scheme}"] + (["relations, strict"] if with_relations else [])
    strata = np.array([strata_all[index[d]] for d in first.doc_ids], dtype=np.int64)
    return _Gold(strata, population, columns, statistics, list(first.doc_ids))


def estimate_corpus(
    store: GoldStore, extractors: Sequence[str], *, annotator: str | None = None,
    scheme: str = "strict", samples: int = 1000, seed: int = 0, confidence: float = 0.95,
    missing_as_empty: bool = False,
) -> CorpusEstimate:
    """Each extractor's F1 on every document of the store, stratified by the extractors'
    disagreement, with a stratified bootstrap interval (see the module docstring)."""
    if scheme not in SCHEMES:
        raise AnnotationsError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    found = disagreements(store, extractors, missing_as_empty=missing_as_empty)
    names = found.extractors
    _annotated, excluded = done_documents(store, annotator)
    counted = np.array([d not in excluded for d in found.doc_ids], dtype=bool)
    gold = _gold_columns(store, found, counted, annotator, scheme, missing_as_empty)
    n_strata = len(stratum_names())
    mapping = collapse(gold.strata, gold.population, n_strata)
    strata, population = mapping[gold.strata], mapping[gold.population]
    sizes = np.bincount(population, minlength=n_strata).astype(float)
    names_of = stratum_names()
    for h in range(1, n_strata):  # merged classes: from the first's low to the last's high
        merged = np.flatnonzero(mapping == h)
        if len(merged) > 1:
            names_of[h] = _class_name(SIZE_CLASSES[merged[0] - 1][0],
                                      SIZE_CLASSES[merged[-1] - 1][1])
    choices = _choices(store, annotator, gold.doc_ids)
    summaries = []
    for h in np.flatnonzero(sizes):
        members = [choices[i] for i in np.flatnonzero(strata == h)]
        summaries.append(StratumSummary(
            names_of[h], int(sizes[h]), len(members),
            sum(1 for c in members if c is not None and c.get("probability") is not None),
            sum(1 for c in members if c is not None and c.get("probability") is None),
            sum(1 for c in members if c is None)))
    results = []
    has_estimate, has_interval = estimable(strata, sizes)
    for name in names:
        cols = gold.columns[name]
        point, intervals = stratified_estimate(cols, gold.strata, gold.population,
                                               samples=samples, seed=seed,
                                               confidence=confidence)
        sums = cols.sum(axis=0)
        plain = _f1(sums[0::2], sums[1::2])
        for k, statistic in enumerate(gold.statistics):
            results.append(StatisticEstimate(
                name, statistic, None if point is None else float(point[k]),
                intervals[k] if intervals else None, float(plain[k])))
    estimate = CorpusEstimate(str(store.path), annotator, names, int(counted.sum()),
                              len(gold.doc_ids), summaries, results, samples=samples,
                              seed=seed, confidence=confidence)
    _explain(estimate, strata, sizes, has_estimate, has_interval, choices, names,
             found, gold)
    return estimate


def _choices(store: GoldStore, annotator: str | None, doc_ids: Sequence[str]
             ) -> list[dict[str, Any] | None]:
    """The recorded :class:`~annotations.models.Selection` of each gold document."""
    chosen = {doc_id: records[0].get("chosen")
              for doc_id, records in gold_records_by_document(store, annotator).items()}
    return [chosen.get(doc_id) for doc_id in doc_ids]


def _explain(estimate: CorpusEstimate, strata: np.ndarray, sizes: np.ndarray,
             has_estimate: bool, has_interval: bool, choices: list[dict[str, Any] | None],
             names: tuple[str, ...], found: Disagreements, gold: _Gold) -> None:
    """The warnings and notes that say what the figures can and cannot claim."""
    warn, note = estimate.warnings.append, estimate.notes.append
    for s in estimate.strata:
        if s.annotated == 0:
            warn(f"stratum {s.name!r} ({s.size} documents) has no gold document, so the "
                 "store's F1 cannot be estimated; annotate some drawn at random "
                 "(`reader queue --order estimate`)")
        elif not s.census and s.annotated < MIN_SAMPLE:
            warn(f"stratum {s.name!r} has {s.annotated} gold document of {s.size}: its "
                 f"variance, and so an interval, needs at least {MIN_SAMPLE}")
        if s.census or not s.annotated:
            continue
        if s.by_rank:
            warn(f"stratum {s.name!r}: {s.by_rank} of its {s.annotated} gold documents (of "
                 f"{s.size}) were taken by rank (most different first, or store order), not "
                 "drawn at random; the stratum's scaled totals assume a random sample and may "
                 "be biased: annotate the whole stratum, or continue in random order")
        if s.unrecorded:
            warn(f"stratum {s.name!r}: {s.unrecorded} of its {s.annotated} gold documents "
                 "carry no record of how they were chosen (annotated without a queue); "
                 "the estimate takes them as drawn at random within the stratum")
    other = sum(1 for c in choices if c is not None
                and sorted(c.get("extractors") or []) != sorted(names))
    if other:
        note(f"{other} gold document(s) were chosen by a queue of other extractors; the "
             f"strata here are those of {', '.join(names)} on the current predictions")
    if has_estimate:
        gold_share = np.bincount(strata, minlength=len(sizes)) / max(len(strata), 1)
        store_share = sizes / max(sizes.sum(), 1)
        differ_gold, differ_store = float(gold_share[0]), float(store_share[0])
        if float(np.max(np.abs(gold_share - store_share))) > SHARE_WARNING:
            pairs = ", ".join(
                f"{r.extractor} {100 * r.plain:.1f}% (store: "
                f"{100 * r.estimate:.1f}%)" for r in estimate.results
                if r.estimate is not None and r.statistic == gold.statistics[0])
            warn(f"the gold set is not a random sample of the store ({100 * differ_gold:.0f}% "
                 f"of its documents are ones where the extractors differ, against "
                 f"{100 * differ_store:.0f}% of the store's), so its plain F1 is biased as "
                 f"an estimate of the store's: plain {pairs}; use the stratified estimate. "
                 "The paired comparison (`reader compare`) stays valid on these documents")
    if estimate.strata and all(s.census for s in estimate.strata):
        note("every document is gold: the figures are the store's F1, exactly")
    if has_estimate and not has_interval:
        note("no interval: a stratum that is not fully annotated has fewer than "
             f"{MIN_SAMPLE} gold documents")
    note("strata: documents where the extractors differ, and where they agree by how many "
         "spans they predicted; per stratum the gold totals are scaled by documents / gold "
         "documents; the interval is a stratified bootstrap within strata")


# -- what to annotate next, for the estimate -----------------------------------------------


def estimate_order(
    store: GoldStore, found: Disagreements, waiting: np.ndarray, *, seed: int = 0,
    annotator: str | None = None, scheme: str = "strict", missing_as_empty: bool = False,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The ``estimate`` order of the waiting documents (``waiting``: their rows in
    ``found``): positions into ``waiting``, whether each was drawn at random, and each
    one's stratum name (for :func:`~annotations.queue.draw_probabilities`).

    First the differing documents in a random order (as ``differ-first``: they decide
    the comparison, and annotating them all makes that stratum a census); then, one at a
    time, a document drawn at random from the stratum where one more gold document
    lowers the variance of the estimate most: ``N_h^2 S_h^2 (1/n_h - 1/(n_h + 1))``,
    ``S_h^2`` the sample variance in the stratum of the linearised F1 (``(2 hits -
    F1 total) / T``), summed over the extractors; a stratum with fewer than
    :data:`MIN_SAMPLE` gold documents comes first, the largest first.
    """
    from .queue import rank_documents

    _annotated, excluded = done_documents(store, annotator)
    counted = np.array([d not in excluded for d in found.doc_ids], dtype=bool)
    gold = _gold_columns(store, found, counted, annotator, scheme, missing_as_empty,
                         require_gold=False)
    n_strata = len(stratum_names())
    names = stratum_names()
    sizes = np.bincount(gold.population, minlength=n_strata).astype(float)
    n_gold = np.bincount(gold.strata, minlength=n_strata)
    spread = np.ones(n_strata)
    if gold.columns and estimable(gold.strata, sizes)[0]:
        spread = np.zeros(n_strata)
        for cols in gold.columns.values():
            hits, total = cols[:, 0], cols[:, 1]
            scaled = scale_factors(gold.strata, sizes) @ cols[:, :2]
            f1 = float(_f1(scaled[0:1], scaled[1:2])[0])
            residual = (2 * hits - f1 * total) / max(float(scaled[1]), 1.0)
            for h in range(n_strata):
                r = residual[gold.strata == h]
                if len(r) >= MIN_SAMPLE:
                    spread[h] += float(np.var(r, ddof=1))
    strata = strata_of(found)[waiting]
    scores = found.scores[waiting]
    differ = np.flatnonzero(scores > 0)
    positions_list = [int(p) for p in differ[rank_documents(scores[differ], "random",
                                                            seed)[0]]]
    drawn_list = [True] * len(positions_list)
    rng = np.random.default_rng(seed)
    pools = {h: list(rng.permutation(np.flatnonzero(strata == h)))
             for h in range(1, n_strata) if np.any(strata == h)}

    def priority(h: int) -> tuple[float, float]:
        n = n_gold[h]
        if n < MIN_SAMPLE:
            return (1.0, sizes[h])
        return (0.0, sizes[h] ** 2 * spread[h] * (1 / n - 1 / (n + 1)))

    heap = [(-priority(h)[0], -priority(h)[1], h) for h in pools]
    heapq.heapify(heap)
    while heap:
        _, _, h = heapq.heappop(heap)
        positions_list.append(int(pools[h].pop()))
        drawn_list.append(True)
        n_gold[h] += 1
        if pools[h]:
            first, second = priority(h)
            heapq.heappush(heap, (-first, -second, h))
    labels = [names[h] for h in strata]
    return (np.array(positions_list, dtype=np.int64), np.array(drawn_list, dtype=bool),
            labels)
