"""Krippendorff's unitizing alpha (α_U) over a character continuum.

Krippendorff, K. (1995), "On the reliability of unitizing contiguous data",
Sociological Methodology 25: 47–76; Krippendorff, K. (2004), "Measuring the
reliability of qualitative text analysis data", Quality & Quantity 38: 787–800,
and *Content Analysis* (2nd ed.), pp. 251–256.  The figures match the worked
examples of those texts as dkpro-statistics (``KrippendorffAlphaUnitizingAgreement``,
which INCEpTION uses) reproduces them; ``tests/test_agreement_unitizing.py`` ports
its test cases.

For one label ``c``, each of ``m`` annotators cuts the continuum ``[0, L)`` into
units of ``c`` and the gaps between them.  Two segments ``g`` (annotator ``i``)
and ``h`` (annotator ``j``) differ by

- ``(b_g - b_h)² + (e_g - e_h)²`` when both are units and they overlap;
- ``l_g²`` when ``g`` is a unit inside a gap ``h`` (and the other way round);
- 0 otherwise (two gaps, or segments that do not overlap).

Observed disagreement ``D_o(c) = 2 / (m (m-1) L²) · Σ_{i<j} Σ_{g,h} δ²(g, h)``.
Expected disagreement, over every way of placing the same units and gaps:

    D_e(c) = 2/L · Σ_u [ (N_c - 1)(2 l_u³ - 3 l_u² + l_u) / 3
                         + l_u² Σ_{gaps γ, l_γ >= l_u} (l_γ - l_u + 1) ]
             / ( m L (m L - 1) - Σ_u l_u (l_u - 1) )

with ``u`` over all units of ``c`` (all annotators), ``N_c`` their number and ``γ``
over all gaps of ``c``.  ``α_U(c) = 1 - D_o(c) / D_e(c)`` (0 when the two are
equal).  Overall: ``1 - mean_c D_o(c) / mean_c D_e(c)`` over the labels used.

A unit of one annotator never overlaps another of the same label (a layer is flat).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Unit = tuple[int, int]
"""``(start, end)`` on the continuum, end exclusive."""


@dataclass(frozen=True)
class UnitizingAlpha:
    """α_U of one label (or overall) with its two disagreements."""

    alpha: float
    observed: float
    expected: float


def _sorted_units(units: Sequence[Unit]) -> tuple[np.ndarray, np.ndarray]:
    if not units:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    arr = np.asarray(sorted(units), dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def overlapping_pairs(
    a_start: np.ndarray, a_end: np.ndarray, b_start: np.ndarray, b_end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` of every unit of ``a`` that overlaps a unit of ``b``.

    Both lists are sorted and free of overlaps, so the units of ``b`` that overlap
    one unit of ``a`` are a run ``[lo, hi)`` found by bisection.
    """
    lo = np.searchsorted(b_end, a_start, side="right")
    hi = np.searchsorted(b_start, a_end, side="left")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    i = np.repeat(np.arange(len(a_start)), counts)
    # Within each run, j goes lo, lo+1, ...: the position in the run plus its lo.
    run_starts = np.cumsum(counts) - counts
    j = np.arange(total) - np.repeat(run_starts, counts) + np.repeat(lo, counts)
    return i, j


def _pair_disagreement(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
                       ) -> float:
    """``Σ δ²`` over the segments of two annotators for one label."""
    a_start, a_end = a
    b_start, b_end = b
    i, j = overlapping_pairs(a_start, a_end, b_start, b_end)
    total = 0.0
    if len(i):
        d_begin = (a_start[i] - b_start[j]).astype(np.float64)
        d_end = (a_end[i] - b_end[j]).astype(np.float64)
        total += float((d_begin * d_begin + d_end * d_end).sum())
    # A unit that overlaps no unit of the other annotator lies inside one of their gaps.
    for start, end, matched in ((a_start, a_end, i), (b_start, b_end, j)):
        alone = np.ones(len(start), dtype=bool)
        alone[matched] = False
        length = (end[alone] - start[alone]).astype(np.float64)
        total += float((length * length).sum())
    return total


def _gaps(start: np.ndarray, end: np.ndarray, length: int) -> np.ndarray:
    """Lengths of the stretches of ``[0, length)`` outside the units (none of length 0)."""
    edges_from = np.concatenate([[0], end])
    edges_to = np.concatenate([start, [length]])
    gaps = edges_to - edges_from
    return gaps[gaps > 0]


def _expected(units: Sequence[tuple[np.ndarray, np.ndarray]], length: int) -> float:
    raters = len(units)
    lengths = np.concatenate([(e - s) for s, e in units]).astype(np.float64)
    gaps = np.sort(np.concatenate([_gaps(s, e, length) for s, e in units]).astype(np.float64))
    n_units = len(lengths)
    # Σ_{γ >= l} (γ - l + 1) = (Σ_{γ >= l} γ) - (l - 1)·#{γ >= l}, by suffix sums.
    suffix = np.concatenate([np.cumsum(gaps[::-1])[::-1], [0.0]])
    first = np.searchsorted(gaps, lengths, side="left")
    count = len(gaps) - first
    gap_sum = suffix[first] - (lengths - 1) * count
    within = (n_units - 1) * (2 * lengths**3 - 3 * lengths**2 + lengths) / 3
    numerator = float((within + lengths * lengths * gap_sum).sum()) * 2 / length
    total = raters * length
    denominator = total * (total - 1) - float((lengths * (lengths - 1)).sum())
    return numerator / denominator


def _alpha(observed: float, expected: float) -> float:
    if math.isnan(observed) or math.isnan(expected):
        return math.nan
    if observed == expected:
        return 0.0
    return 1.0 - observed / expected


def unitizing_alpha(
    units: Sequence[Mapping[str, Sequence[Unit]]], length: int
) -> tuple[UnitizingAlpha, dict[str, UnitizingAlpha]]:
    """α_U overall and per label.

    ``units[r][label]`` lists annotator ``r``'s units of ``label`` on ``[0, length)``;
    every annotator unitizes the whole continuum (a label an annotator never used is
    one long gap).  Overall is NaN when no one marked anything.
    """
    labels = sorted({label for by_label in units for label, us in by_label.items() if us})
    return unitizing_alpha_arrays(
        [{label: _sorted_units(by_label.get(label, ())) for label in labels}
         for by_label in units], length)


def unitizing_alpha_arrays(
    units: Sequence[Mapping[str, tuple[np.ndarray, np.ndarray]]], length: int
) -> tuple[UnitizingAlpha, dict[str, UnitizingAlpha]]:
    """:func:`unitizing_alpha` on ``(starts, ends)`` arrays already sorted by start."""
    raters = len(units)
    if raters < 2:
        raise ValueError("α_U needs at least two annotators")
    if length <= 0:
        raise ValueError("α_U needs a continuum of positive length")
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    labels = sorted({label for by_label in units for label, (s, _) in by_label.items() if len(s)})
    per_label: dict[str, UnitizingAlpha] = {}
    for label in labels:
        sorted_units = [by_label.get(label, empty) for by_label in units]
        for start, end in sorted_units:
            if len(start) and (start.min() < 0 or end.max() > length or (end <= start).any()):
                raise ValueError(f"a unit of {label!r} lies outside [0, {length}) or is empty")
            if len(start) > 1 and (start[1:] < end[:-1]).any():
                raise ValueError(f"one annotator's units of {label!r} overlap")
        pairs = sum(_pair_disagreement(sorted_units[i], sorted_units[j])
                    for i in range(raters) for j in range(i + 1, raters))
        observed = 2.0 * pairs / (raters * (raters - 1) * float(length) ** 2)
        expected = _expected(sorted_units, length)
        per_label[label] = UnitizingAlpha(_alpha(observed, expected), observed, expected)
    if not per_label:
        return UnitizingAlpha(math.nan, math.nan, math.nan), per_label
    observed = sum(a.observed for a in per_label.values()) / len(per_label)
    expected = sum(a.expected for a in per_label.values()) / len(per_label)
    return UnitizingAlpha(_alpha(observed, expected), observed, expected), per_label
