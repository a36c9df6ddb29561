"""Seeded bootstrap over documents: the resamples (shared by every extractor and by the
paired comparison, so the intervals are paired) and the percentile interval of each
micro F1; and how an interval is written wherever it is shown."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .base import ENTITY_WIDTH, RELATION_MODES, SCHEMES
from .schemes import _f1_rows

NO_INTERVAL = "no interval (too few documents)"
"""What is shown for an interval that cannot be estimated (undefined or of zero width)."""


def usable_interval(ci: tuple[float, float] | None) -> tuple[float, float] | None:
    """``ci`` if it says something (finite, low < high), else None: a zero-width
    interval (one document, or every resample alike) must not read as certainty."""
    if ci is None:
        return None
    low, high = ci
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        return None
    return (float(low), float(high))


def interval_text(ci: tuple[float, float] | None, confidence: float = 0.95,
                  signed: bool = False) -> str:
    """``95% CI 0.8 to 3.4`` (points), or :data:`NO_INTERVAL`; ``signed`` for differences
    (``+0.8 to +3.4``).  The one wording of an interval in the terminal and the report."""
    usable = usable_interval(ci)
    if usable is None:
        return NO_INTERVAL
    form = "{:+.1f}" if signed else "{:.1f}"
    low, high = (form.format(100 * v) for v in usable)
    return f"{confidence:.0%} CI {low} to {high}"


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
            base = ENTITY_WIDTH + mode_index * 3
            cor, mis, spu = sums[:, base], sums[:, base + 1], sums[:, base + 2]
            denominator = 2 * cor + mis + spu
            with np.errstate(divide="ignore", invalid="ignore"):
                f1 = np.where(denominator > 0, 2 * cor / denominator, 0.0)
            low, high = np.percentile(f1, [tail, 100 - tail])
            out[f"relations:{mode}"] = (float(low), float(high))
    return out

