"""The plain values every part of the evaluation shares: span and relation tuples, the
scheme and category indices of the flat count rows, one gold document with one
extractor's prediction (:class:`EvalDocument`), and the error that stops a score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import AnnotationsError

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
ENTITY_WIDTH = len(SCHEMES) * len(CATEGORIES)
"""One document's entity counts, flat: ``scheme * 5 + category``."""

MIN_OVERLAP_PERCENT = 1.0
"""nervaluate's default ``min_overlap_percentage`` (share of the gold span)."""

UNGROUNDED_RULES: tuple[str, ...] = ("spurious", "ignore")
"""What a string an extractor returned but that could not be placed on the text counts
as: ``spurious`` (a false positive in every scheme, the default) or ``ignore`` (left out
of the scores, only reported)."""


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
    ungrounded: Sequence[tuple[str, str]] = ()
    """``(text, label)`` of each string the extractor returned that could not be placed on
    the text: a false positive (SPU in every scheme) unless the rule is ``ignore``."""
    ungrounded_unlisted: int = 0
    """Ungrounded strings beyond those listed (the stored examples are bounded): spurious
    in the micro counts, under no label."""
    dropped_relations: int = 0
    """Relations the extractor returned with an ungrounded end: spurious relations."""
