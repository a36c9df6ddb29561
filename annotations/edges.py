"""No whitespace at the edge of a span: the one trimming rule.

An extractor may return "Dushanbe\\n\\n" where the entity is "Dushanbe".  Whitespace
(``str.isspace``) at either end of a span is never part of the entity: ``import
--strip-spans`` trims it, the session trims suggestions when they seed a document, and
``reader evaluate`` counts the errors that are edge whitespace only (and trims
predictions before scoring with ``--strip-predictions``).  All of them use
:func:`trimmed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .layer import SpanRef
from .models import Relation, Span


def trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``start``-``end`` without whitespace at either edge, or None when nothing but
    whitespace is there."""
    covered = text[start:end]
    if not covered.strip():
        return None
    return (start + len(covered) - len(covered.lstrip()),
            end - (len(covered) - len(covered.rstrip())))


def padded(text: str, start: int, end: int) -> bool:
    """Whether ``start``-``end`` starts or ends with whitespace."""
    return end > start and (text[start].isspace() or text[end - 1].isspace())


@dataclass(frozen=True)
class TrimmedLayer:
    """Spans and relations with the edge whitespace of every span taken off."""

    spans: list[Span]
    relations: list[Relation]
    trimmed: int = 0
    """Spans whose edges moved."""
    dropped: int = 0
    """Spans that were only whitespace (or became the same as another span), left out
    with their relations."""


def trim_layer(text: str, spans: Sequence[Span], relations: Sequence[Relation]
               ) -> TrimmedLayer:
    """``spans`` trimmed by :func:`trimmed`, their relations following them (named by
    offsets or by offsets and label, as they were); a span that is only whitespace, or
    that trims to a span already there, is left out with its relations."""
    if not any(padded(text, s.start, s.end) for s in spans):
        return TrimmedLayer(list(spans), list(relations))
    moved: dict[SpanRef, SpanRef | None] = {}
    out: list[Span] = []
    seen: set[tuple[int, int, str]] = set()
    count = 0
    for span in spans:
        edges = trimmed(text, span.start, span.end)
        new: Span | None = span
        if edges is None:
            new = None
        elif edges != span.key:
            count += 1
            new = span.model_copy(update={"start": edges[0], "end": edges[1]})
        if new is None:
            moved[span.key] = moved[span.ref] = None
            continue
        if new is not span:
            moved[span.key], moved[span.ref] = new.key, new.ref
        if new.ref not in seen:  # else the same span is there already: one is kept
            seen.add(new.ref)
            out.append(new)
    kept = []
    keys: set[tuple[SpanRef, SpanRef, str]] = set()
    for rel in relations:
        head = moved.get(rel.head, rel.head)
        child = moved.get(rel.child, rel.child)
        if head is None or child is None or head == child or (head, child, rel.label) in keys:
            continue
        keys.add((head, child, rel.label))
        kept.append(rel if (head, child) == (rel.head, rel.child)
                    else Relation(head=head, child=child, label=rel.label))
    return TrimmedLayer(out, kept, count, len(spans) - len(out))
