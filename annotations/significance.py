"""Is extractor B better than extractor A on the same gold documents?  Paired tests of ΔF1.

For one pair of extractors scored on the same documents (two
:class:`~annotations.evaluation.ExtractorResult`), every statistic (entity micro F1 per
scheme, entity F1 per label and scheme, relation micro F1 per mode) gets:

- ``delta``: corpus-level F1 of B minus that of A (F1 from the summed counts, as
  everywhere in ``reader evaluate``; per-document F1 is never averaged);
- a **paired bootstrap** percentile interval of ``delta``: documents are resampled
  with replacement, both systems' counts summed over the same resample and F1
  recomputed (the resamples of :func:`~annotations.evaluation.bootstrap_weights`, so
  the same seed gives the same resamples as the per-extractor intervals); an interval
  of zero width (one differing document) is no interval, never shown as a point;
- a two-sided **paired permutation** p-value: every document's two outputs may be
  swapped between the systems and ``delta`` recomputed.  Only the ``d`` documents
  where the systems differ can change anything, so there are ``2**d`` swaps; when that
  is at most the rounds asked for, all of them are tried and ``p`` is **exact** (the
  share of swaps whose ``|delta|`` reaches the observed one).  Otherwise it is
  **approximate randomization** (Noreen 1989; Yeh 2000): in each round every
  document is swapped with probability 1/2, and ``p = (r + 1) / (R + 1)`` where ``r``
  of the ``R`` rounds reach the observed ``|delta|``.  Swapping every differing
  document gives ``-delta``, so ``p`` is never below ``2 / 2**d``: with few differing
  documents no test can reach ``alpha``, and the outputs say so first;
- per label, the p-values of one scheme adjusted with **Holm**'s step-down method
  (family: the labels of that scheme), since testing many labels finds some
  difference by chance.

Every nervaluate F1 is ``2 * hits / (actual + possible)`` (``hits`` = COR, plus half
of PAR under ``partial`` and ``type``), and a relation F1 ``2 * COR / (2 * COR + MIS +
SPU)``; so each statistic needs two numbers per document and system, and a round of
the test is one matrix product of the swap indicators with the per-document
differences (only documents where the systems differ can change anything).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .evaluation.base import (
    COR,
    ENTITY_WIDTH,
    INC,
    MIS,
    PAR,
    PARTIAL,
    RELATION_MODES,
    SCHEMES,
    SPU,
    TYPE,
    EvaluationError,
)
from .evaluation.bootstrap import NO_INTERVAL, bootstrap_weights, usable_interval

if TYPE_CHECKING:
    from .evaluation import ExtractorResult

ROUNDS = 10_000
"""Default rounds of approximate randomization."""
ALPHA = 0.05
"""Default significance level of the plain sentences."""
_CHUNK = 1000  # rounds per draw of the coins
_BLOCK_CELLS = 1 << 24  # swap indicators per matrix product (64 MB of float32)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    Sorted ascending, the ``i``-th smallest of ``m`` p-values (``i`` from 1) is
    multiplied by ``m - i + 1``; the adjusted values are then made non-decreasing
    in that order (a running maximum) and capped at 1.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def format_p(p: float) -> str:
    """``p = 0.003``, ``p = 0.049``, ``p = 0.41``, ``p < 0.001``."""
    if p < 0.001:
        return "p < 0.001"
    if p < 0.1:  # three decimals near the usual levels, so 0.049 is not shown as 0.05
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def _signed_points(value: float) -> str:
    return f"{100 * value:+.1f}"


def smallest_p(differing: int) -> float:
    """The smallest two-sided p any paired permutation test can give on ``differing``
    documents where the systems differ: ``2 / 2**d`` (the observed assignment and its
    mirror always reach the observed ``|delta|``), 1 when nothing differs."""
    return 1.0 if differing <= 1 else 2.0 ** (1 - differing)


def format_smallest_p(value: float) -> str:
    """``1.0``, ``0.5``, ``0.0625``, ``0.0039``."""
    return "1.0" if value >= 1 else f"{value:.2g}" if value < 0.001 else f"{value:.4g}"


def documents_phrase(n: int) -> str:
    return f"{n} document{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class DeltaF1:
    """One statistic of one pair: F1 of A and of B, their difference, interval and p.

    Direction: always ``delta = F1(B) - F1(A)``, in every output."""

    name: str  # e.g. "strict F1", "strict F1 for ORG", "strict relation F1"
    f1_a: float
    f1_b: float
    ci: tuple[float, float] | None  # of f1_b - f1_a; None: no interval that says anything
    p_value: float
    p_adjusted: float | None = None  # Holm, for per-label statistics
    differing: int = -1
    """Documents where the two systems' counts for this statistic differ (-1: unknown)."""
    resampled: bool = True
    """Whether a bootstrap was asked for (``ci`` None then means: cannot be estimated)."""

    @property
    def delta(self) -> float:
        return self.f1_b - self.f1_a

    @property
    def p(self) -> float:
        """The p-value the verdict uses: Holm-adjusted where there is one."""
        return self.p_value if self.p_adjusted is None else self.p_adjusted

    @property
    def min_p(self) -> float:
        """The smallest p the test could give on this statistic's differing documents."""
        return smallest_p(self.differing) if self.differing >= 0 else 0.0

    def testable(self, alpha: float = ALPHA) -> bool:
        """Whether the test could find a difference at ``alpha`` at all."""
        return self.min_p < alpha

    def significant(self, alpha: float = ALPHA) -> bool:
        return self.testable(alpha) and self.p < alpha

    def interval(self, confidence: float = 0.95) -> str:
        """``95% CI +0.8 to +3.4``, or why there is none."""
        if self.ci is None:
            return NO_INTERVAL if self.resampled else "no interval (--bootstrap 0)"
        return f"{confidence:.0%} CI {_signed_points(self.ci[0])} to {_signed_points(self.ci[1])}"

    def sentence(self, a: str, b: str, alpha: float = ALPHA, confidence: float = 0.95) -> str:
        """"B is better than A on strict F1: +2.1 points (B − A), 95% CI +0.8 to +3.4,
        p = 0.003"; the difference is always B − A, whichever is better."""
        difference = (f"{_signed_points(self.delta)} points ({b} − {a}), "
                      f"{self.interval(confidence)}")
        if not self.testable(alpha):
            return (f"Not testable on {self.name}: on {documents_phrase(max(self.differing, 0))}"
                    f" where they differ the smallest possible p is "
                    f"{format_smallest_p(self.min_p)}; {difference}")
        p = format_p(self.p) + (" (Holm-adjusted)" if self.p_adjusted is not None else "")
        if self.significant(alpha):
            better, worse = (b, a) if self.delta > 0 else (a, b)
            return f"{better} is better than {worse} on {self.name}: {difference}, {p}"
        return f"No significant difference between {a} and {b} on {self.name}: {difference}, {p}"

    def to_json(self, a: str, b: str, alpha: float, confidence: float) -> dict[str, Any]:
        return {"f1_a": self.f1_a, "f1_b": self.f1_b, "delta": self.delta,
                "delta_ci": list(self.ci) if self.ci else None,
                "interval": self.interval(confidence), "p_value": self.p_value,
                "p_holm": self.p_adjusted, "differing_documents": self.differing,
                "smallest_possible_p": self.min_p, "testable": self.testable(alpha),
                "significant": self.significant(alpha),
                "sentence": self.sentence(a, b, alpha, confidence)}


@dataclass
class PairComparison:
    """Extractor B against extractor A on the same documents: ΔF1 = F1(B) − F1(A)."""

    a: str
    b: str
    documents: int
    differing_documents: int
    rounds: int
    samples: int
    seed: int
    confidence: float
    alpha: float
    entities: dict[str, DeltaF1]  # scheme -> micro
    by_label: dict[str, dict[str, DeltaF1]]  # scheme -> label -> per label
    relations: dict[str, DeltaF1] = field(default_factory=dict)  # mode -> micro
    exact: bool = False
    """Whether every one of the ``2**differing_documents`` swaps was tried (exact p)."""

    @property
    def min_p(self) -> float:
        return smallest_p(self.differing_documents)

    @property
    def testable(self) -> bool:
        """Whether the documents where the two differ are enough for any test to reach
        ``alpha``."""
        return self.min_p < self.alpha

    def warning(self) -> str | None:
        """What must be said before anything else when no test can find a difference."""
        if self.testable:
            return None
        if self.differing_documents == 0:
            return (f"{self.a} and {self.b} give the same counts on every one of the "
                    f"{documents_phrase(self.documents)}: no test can find a difference.")
        return (f"On {documents_phrase(self.differing_documents)} where they differ, no test "
                f"can find a difference: the smallest possible p is "
                f"{format_smallest_p(self.min_p)} (significance needs p below "
                f"{self.alpha:g}). Annotate more documents where {self.a} and {self.b} "
                "disagree.")

    def method(self) -> str:
        """The one sentence that says what is compared and how (terminal and report)."""
        if self.exact:
            test = (f"p exact from all {2 ** self.differing_documents} paired permutations of "
                    "the documents where they differ")
        else:
            test = (f"p from paired approximate randomization ({self.rounds} rounds, seed "
                    f"{self.seed})")
        interval = (f"{self.confidence:.0%} paired bootstrap interval ({self.samples} "
                    "resamples of the documents)" if self.samples > 0
                    else "no interval (--bootstrap 0)")
        return (f"{self.b} against {self.a} on {self.documents} gold "
                f"document{'' if self.documents == 1 else 's'} "
                f"({self.differing_documents} where their counts differ): ΔF1 = F1({self.b}) − "
                f"F1({self.a}); {interval}; {test}; significant below {self.alpha:g}")

    def sentence(self, stat: DeltaF1) -> str:
        return stat.sentence(self.a, self.b, self.alpha, self.confidence)

    def to_json(self) -> dict[str, Any]:
        """JSON keys: ``a``, ``b``, ``direction``, ``documents``, ``differing_documents``,
        ``smallest_possible_p``, ``testable``, ``warning``, ``method``, ``exact``,
        ``rounds``, ``bootstrap``, ``seed``, ``confidence``, ``alpha``,
        ``entities.micro[scheme]``, ``entities.by_label[label][scheme]`` and
        ``relations.micro[mode]``, each ``{f1_a, f1_b, delta, delta_ci, interval, p_value,
        p_holm, differing_documents, smallest_possible_p, testable, significant,
        sentence}``; ``delta`` is always F1(b) − F1(a)."""
        args = (self.a, self.b, self.alpha, self.confidence)
        labels = sorted({label for by in self.by_label.values() for label in by})
        return {
            "a": self.a, "b": self.b, "direction": "F1(b) - F1(a)",
            "documents": self.documents, "differing_documents": self.differing_documents,
            "smallest_possible_p": self.min_p, "testable": self.testable,
            "warning": self.warning(), "method": self.method(), "exact": self.exact,
            "rounds": self.rounds, "bootstrap": self.samples, "seed": self.seed,
            "confidence": self.confidence, "alpha": self.alpha,
            "entities": {
                "micro": {s: d.to_json(*args) for s, d in self.entities.items()},
                "by_label": {label: {s: by[label].to_json(*args)
                                     for s, by in self.by_label.items() if label in by}
                             for label in labels},
            },
            "relations": {"micro": {m: d.to_json(*args) for m, d in self.relations.items()}},
        }


def entity_columns(counts: np.ndarray) -> np.ndarray:
    """Rows of 20 entity counts -> rows of (hits, actual + possible) for each scheme."""
    counts = np.asarray(counts, dtype=np.float64).reshape(-1, ENTITY_WIDTH)
    out = np.empty((len(counts), 2 * len(SCHEMES)))
    for index in range(len(SCHEMES)):
        c = counts[:, index * 5 : index * 5 + 5]
        hits = c[:, COR] + (0.5 * c[:, PAR] if index in (PARTIAL, TYPE) else 0.0)
        out[:, 2 * index] = hits
        out[:, 2 * index + 1] = (2 * c[:, COR] + 2 * c[:, INC] + 2 * c[:, PAR]
                                 + c[:, MIS] + c[:, SPU])
    return out


def relation_columns(counts: np.ndarray) -> np.ndarray:
    """Rows of 6 relation counts -> rows of (COR, 2 COR + MIS + SPU) for each mode."""
    counts = np.asarray(counts, dtype=np.float64).reshape(-1, 3 * len(RELATION_MODES))
    out = np.empty((len(counts), 2 * len(RELATION_MODES)))
    for index in range(len(RELATION_MODES)):
        cor, mis, spu = (counts[:, index * 3 + i] for i in range(3))
        out[:, 2 * index] = cor
        out[:, 2 * index + 1] = 2 * cor + mis + spu
    return out


def _f1(sums: np.ndarray) -> np.ndarray:
    """F1 of every statistic from (hits, total) column pairs: 2 hits / total, 0 if empty."""
    hits, total = sums[..., 0::2], sums[..., 1::2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 2 * hits / total, 0.0)


def approximate_randomization(
    a: np.ndarray, b: np.ndarray, rounds: int = ROUNDS, seed: int = 0,
) -> np.ndarray:
    """Two-sided paired approximate-randomization p-values, one per statistic.

    ``a`` and ``b``: documents x (2 x statistics) of (hits, total) column pairs, the
    same documents in the same order.  In each round every document's rows are
    swapped between ``a`` and ``b`` with probability 1/2 (one coin per document,
    shared by all statistics).  ``p = (r + 1) / (rounds + 1)``, ``r`` the rounds whose
    ``|F1(b') - F1(a')|`` reaches the observed ``|F1(b) - F1(a)|``.
    """
    sum_a, sum_b = a.sum(axis=0), b.sum(axis=0)
    observed = np.abs(_f1(sum_b) - _f1(sum_a))
    # Rounding of the float sums must not make an equal difference look smaller.
    threshold = observed - 1e-9
    diff = b - a
    changed = np.flatnonzero(np.any(diff != 0, axis=1))
    reached = np.zeros(len(observed), dtype=np.int64)
    if rounds <= 0:
        return np.ones(len(observed))
    if len(changed) == 0:
        reached += rounds  # every round gives the observed difference (0)
        return (reached + 1) / (rounds + 1)
    diff32 = diff[changed].astype(np.float32)  # small counts: sums exact below 2**22 spans
    rng = np.random.default_rng(seed)
    m = len(changed)
    chunk = min(_CHUNK, rounds)
    # The coins are drawn a chunk of rounds at a time (one bit each), and turned into
    # swap rows a block at a time: at 100,000 documents a whole chunk of rows would be
    # 400 MB.  The sums are exact in float32, so the blocks give the same counts.
    block = max(1, min(chunk, _BLOCK_CELLS // m))
    swaps = np.empty((block, m), dtype=np.float32)  # reused: a fresh array costs page faults
    done = 0
    while done < rounds:
        k = min(chunk, rounds - done)
        bits = rng.integers(0, 256, size=(k, (m + 7) // 8), dtype=np.uint8)
        for first in range(0, k, block):
            rows = bits[first:first + block]
            n = len(rows)
            np.copyto(swaps[:n], np.unpackbits(rows, axis=1, count=m))
            moved = (swaps[:n] @ diff32).astype(np.float64)
            delta = _f1(sum_b - moved) - _f1(sum_a + moved)
            reached += np.count_nonzero(np.abs(delta) >= threshold, axis=0)
        done += k
    return (reached + 1) / (rounds + 1)


def exact_permutation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-sided exact paired permutation p-values, one per statistic: every one of the
    ``2**d`` ways of swapping the ``d`` differing documents' rows between ``a`` and ``b``
    is tried, and ``p`` is the share whose ``|F1(b') - F1(a')|`` reaches the observed one
    (the identity and the full swap always do).  Use when ``2**d`` is small."""
    sum_a, sum_b = a.sum(axis=0), b.sum(axis=0)
    observed = np.abs(_f1(sum_b) - _f1(sum_a))
    threshold = observed - 1e-9  # as in approximate_randomization
    diff = b - a
    changed = np.flatnonzero(np.any(diff != 0, axis=1))
    m = len(changed)
    total = 1 << m
    reached = np.zeros(len(observed), dtype=np.int64)
    moved_rows = diff[changed]
    for first in range(0, total, _CHUNK):
        codes = np.arange(first, min(first + _CHUNK, total), dtype=np.int64)
        swaps = ((codes[:, None] >> np.arange(m)) & 1).astype(np.float64)
        moved = swaps @ moved_rows
        delta = _f1(sum_b - moved) - _f1(sum_a + moved)
        reached += np.count_nonzero(np.abs(delta) >= threshold, axis=0)
    return reached / total


MAX_EXACT_DOCUMENTS = 20
"""Never enumerate more than 2**20 swaps, whatever the rounds."""


def paired_permutation(
    a: np.ndarray, b: np.ndarray, rounds: int = ROUNDS, seed: int = 0,
) -> tuple[np.ndarray, bool]:
    """Two-sided paired permutation p-values and whether they are exact: exact when the
    ``2**d`` swaps of the ``d`` differing documents are at most ``rounds``, else
    approximate randomization with ``rounds`` rounds."""
    differing = int(np.count_nonzero(np.any(a != b, axis=1)))
    if differing <= MAX_EXACT_DOCUMENTS and (1 << differing) <= rounds:
        return exact_permutation(a, b), True
    return approximate_randomization(a, b, rounds, seed), False


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, samples: int, seed: int, confidence: float = 0.95,
) -> list[tuple[float, float]] | None:
    """Percentile intervals of ``F1(b) - F1(a)`` over paired resamples of the documents."""
    n_docs = len(a)
    if samples <= 0 or n_docs == 0:
        return None
    # Counts, halves (PAR) and resample weights: sums are exact in float32 up to 2**22
    # spans (4 million), and float32 is twice as fast.
    columns = np.hstack([a, b]).astype(np.float32)
    width = a.shape[1]
    deltas = []
    for weights in bootstrap_weights(n_docs, samples, seed):
        sums = (weights.astype(np.float32) @ columns).astype(np.float64)
        deltas.append(_f1(sums[:, width:]) - _f1(sums[:, :width]))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(np.vstack(deltas), [tail, 100 - tail], axis=0)
    return [(float(lo), float(hi)) for lo, hi in zip(low, high, strict=True)]


def _label_columns(result: ExtractorResult, label: str, n_docs: int) -> np.ndarray:
    out = np.zeros((n_docs, 2 * len(SCHEMES)))
    entry = result.entities.label_documents.get(label)
    if entry is not None and len(entry.docs):
        out[entry.docs] = entity_columns(entry.counts)
    return out


def compare_results(
    a: ExtractorResult, b: ExtractorResult, *, rounds: int = ROUNDS, samples: int = 1000,
    seed: int = 0, confidence: float = 0.95, alpha: float = ALPHA,
    schemes: Sequence[str] = SCHEMES,
) -> PairComparison:
    """Paired bootstrap interval and paired permutation p of ΔF1 = F1(B) − F1(A)."""
    if a.doc_ids != b.doc_ids:
        raise EvaluationError(
            f"extractors {a.extractor!r} and {b.extractor!r} were scored on different "
            "documents; a paired comparison needs the same gold documents")
    n_docs = len(a.doc_ids)
    labels = sorted(set(a.entities.label_counts) | set(b.entities.label_counts))
    with_relations = a.relations.any or b.relations.any
    blocks_a = [entity_columns(a.entities.doc_counts)]
    blocks_b = [entity_columns(b.entities.doc_counts)]
    for label in labels:
        blocks_a.append(_label_columns(a, label, n_docs))
        blocks_b.append(_label_columns(b, label, n_docs))
    if with_relations:
        blocks_a.append(relation_columns(a.relations.doc_counts))
        blocks_b.append(relation_columns(b.relations.doc_counts))
    cols_a, cols_b = np.hstack(blocks_a), np.hstack(blocks_b)
    f1_a, f1_b = _f1(cols_a.sum(axis=0)), _f1(cols_b.sum(axis=0))
    pvalues, exact = paired_permutation(cols_a, cols_b, rounds, seed)
    intervals = paired_bootstrap(cols_a, cols_b, samples, seed, confidence)
    differs = cols_a != cols_b
    differing = int(np.count_nonzero(np.any(differs, axis=1)))
    # Per statistic: the documents where its (hits, total) pair differs.
    per_stat = np.count_nonzero(differs[:, 0::2] | differs[:, 1::2], axis=0)

    def stat(index: int, name: str, p_adjusted: float | None = None) -> DeltaF1:
        return DeltaF1(name, float(f1_a[index]), float(f1_b[index]),
                       usable_interval(intervals[index]) if intervals else None,
                       float(pvalues[index]), p_adjusted, differing=int(per_stat[index]),
                       resampled=samples > 0)

    n_schemes = len(SCHEMES)
    entities = {s: stat(SCHEMES.index(s), f"{s} F1") for s in schemes}
    by_label: dict[str, dict[str, DeltaF1]] = {}
    for s in schemes:
        index = SCHEMES.index(s)
        stat_indices = [n_schemes * (1 + i) + index for i in range(len(labels))]
        adjusted = holm([float(pvalues[i]) for i in stat_indices])
        by_label[s] = {label: stat(i, f"{s} F1 for {label}", adj)
                       for label, i, adj in zip(labels, stat_indices, adjusted, strict=True)}
    relations = {}
    if with_relations:
        base = n_schemes * (1 + len(labels))
        relations = {mode: stat(base + i, f"{mode} relation F1")
                     for i, mode in enumerate(RELATION_MODES)}
    return PairComparison(
        a=a.extractor, b=b.extractor, documents=n_docs, differing_documents=differing,
        rounds=rounds, samples=samples, seed=seed, confidence=confidence, alpha=alpha,
        entities=entities, by_label=by_label, relations=relations, exact=exact)


def compare_all(
    results: Sequence[ExtractorResult], **options: Any
) -> list[PairComparison]:
    """Every pair of extractors, in the order given (A before B)."""
    return [compare_results(a, b, **options)
            for i, a in enumerate(results) for b in results[i + 1:]]
