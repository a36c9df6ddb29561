"""Pure editing rules of the annotator: tokens, and edits as new ``Annotation`` values.

No Textual here, so the rules are tested without a screen.  Each edit returns a
new annotation (the app saves it through the store and records before/after for
undo) or ``None`` when there is nothing to change.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from annotations.models import HUMAN, Annotation, Prediction, Relation, Span

# A token is a run of word characters or one other visible character; this keeps
# "Okafor's" as "Okafor", "'", "s" so entity boundaries can fall inside it.
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class Tokens:
    """The tokens of a text as ``(start, end)`` offsets, with lookups by offset."""

    def __init__(self, text: str) -> None:
        self.spans = [m.span() for m in _TOKEN.finditer(text)]
        if not self.spans:
            self.spans = [(0, len(text))] if text else [(0, 0)]
        self.starts = [s for s, _ in self.spans]

    def __len__(self) -> int:
        return len(self.spans)

    def at(self, offset: int) -> int:
        """The token holding ``offset``, else the nearest one before it (or the first)."""
        return max(bisect_right(self.starts, offset) - 1, 0)

    def covering(self, start: int, end: int) -> tuple[int, int]:
        """First and last token index overlapping ``start``-``end``."""
        first = self.at(start)
        if self.spans[first][1] <= start and first + 1 < len(self.spans):
            first += 1
        last = max(self.at(max(end - 1, start)), first)
        return first, last

    def range(self, first: int, last: int) -> tuple[int, int]:
        """Character range of tokens ``first``..``last`` (either order)."""
        lo, hi = min(first, last), max(first, last)
        return self.spans[lo][0], self.spans[hi][1]


def seed_annotation(
    doc_id: str, annotator: str, predictions: dict[str, Prediction], prefer: str | None = None
) -> Annotation:
    """A new annotation holding one extractor's spans as suggestions."""
    chosen = predictions.get(prefer) if prefer else None
    if chosen is None and predictions:
        chosen = predictions[sorted(predictions)[-1]]
    spans: list[Span] = []
    relations: list[Relation] = []
    if chosen is not None:
        spans = [s if s.state == "suggested" and s.source == chosen.extractor
                 else s.model_copy(update={"state": "suggested", "source": chosen.extractor})
                 for s in chosen.spans]
        relations = list(chosen.relations)
    return Annotation(doc_id=doc_id, annotator=annotator, spans=spans, relations=relations)


def overlapping(spans: Iterable[Span], start: int, end: int) -> list[Span]:
    return [s for s in spans if s.start < end and start < s.end]


def span_at(spans: Iterable[Span], offset: int) -> Span | None:
    return next((s for s in spans if s.start <= offset < s.end), None)


def _index_of(spans: list[Span], key: tuple[int, int]) -> int | None:
    """The index of the span at exactly ``key``: by bisection when the spans are sorted
    (as the annotator keeps them; thousands in a long article), else by a scan."""
    index = bisect_left(spans, key, key=lambda s: s.key)
    if index < len(spans) and spans[index].key == key:
        return index
    return next((i for i, s in enumerate(spans) if s.key == key), None)


def assign_label(ann: Annotation, start: int, end: int, label: str) -> Annotation | None:
    """Label ``start``-``end``: relabel a span with exactly that range, else replace overlaps."""
    index = _index_of(ann.spans, (start, end))
    if index is not None:
        same = ann.spans[index]
        if same.label == label:
            return None
        state = "confirmed" if same.source == HUMAN else "changed"
        spans = list(ann.spans)
        spans[index] = same.model_copy(update={"label": label, "state": state})
        return ann.model_copy(update={"spans": spans})
    gone = {s.key for s in overlapping(ann.spans, start, end)}
    new = Span(start=start, end=end, label=label, source=HUMAN, state="confirmed")
    spans = sorted([s for s in ann.spans if s.key not in gone] + [new], key=lambda s: s.key)
    relations = [r for r in ann.relations if r.head not in gone and r.child not in gone]
    return ann.model_copy(update={"spans": spans, "relations": relations})


def delete_spans(ann: Annotation, start: int, end: int) -> Annotation | None:
    """Delete every span overlapping ``start``-``end`` and the relations that use them."""
    gone = {s.key for s in overlapping(ann.spans, start, end)}
    if not gone:
        return None
    return ann.model_copy(update={
        "spans": [s for s in ann.spans if s.key not in gone],
        "relations": [r for r in ann.relations if r.head not in gone and r.child not in gone],
    })


def confirm_spans(ann: Annotation, start: int, end: int) -> Annotation | None:
    """Accept the suggestions overlapping ``start``-``end`` as they are."""
    keys = {s.key for s in overlapping(ann.spans, start, end) if s.state == "suggested"}
    if not keys:
        return None
    spans = [s.model_copy(update={"state": "confirmed"}) if s.key in keys else s
             for s in ann.spans]
    return ann.model_copy(update={"spans": spans})


def add_relation(ann: Annotation, head: Span, child: Span, label: str) -> Annotation | None:
    relation = Relation(head=head.key, child=child.key, label=label)
    if relation.key in {r.key for r in ann.relations}:
        return None
    return ann.model_copy(update={"relations": [*ann.relations, relation]})


def remove_relation(ann: Annotation, relation: Relation) -> Annotation | None:
    kept = [r for r in ann.relations if r.key != relation.key]
    if len(kept) == len(ann.relations):
        return None
    return ann.model_copy(update={"relations": kept})


def reverse_relation(ann: Annotation, relation: Relation) -> Annotation | None:
    flipped = Relation(head=relation.child, child=relation.head, label=relation.label)
    if flipped.key in {r.key for r in ann.relations}:
        return remove_relation(ann, relation)
    relations = [flipped if r.key == relation.key else r for r in ann.relations]
    return ann.model_copy(update={"relations": relations})
