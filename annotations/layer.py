"""One layer of spans over a text: its checks, and the index that finds spans by offset.

The one copy of the layer rules that every writer shares (the store on every save,
the editing session, the importers through the models): spans inside the text and
apart, relations between the layer's own spans.  :class:`SpanIndex` is the one
way to find a span by offset (by bisection over the spans sorted by start), and
:func:`common_run` the one way to tell which run of a long span list an edit changed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Relation, Span


def check_layer(
    text: str | None,
    spans: Sequence[Span],
    relations: Sequence[Relation],
) -> None:
    """Check one NER layer: spans inside the text, no overlaps, relations between its spans.

    Raises ``ValueError`` with a reason a person can act on.
    """
    # Called on every whole save with the whole layer: kept to plain tuple work, since a
    # long article has thousands of spans.
    bounds = sorted([(s.start, s.end, s.label) for s in spans])
    if text is not None and bounds:
        longest = max(end for _, end, _ in bounds)
        if longest > len(text):
            start, end, label = next(b for b in bounds if b[1] > len(text))
            raise ValueError(
                f"span {start}-{end} ({label}) ends outside the text (length {len(text)})"
            )
    for (b_start, b_end, b_label), (a_start, a_end, a_label) in zip(
        bounds, bounds[1:], strict=False
    ):
        if a_start < b_end:
            raise ValueError(
                f"spans {b_start}-{b_end} ({b_label}) and {a_start}-{a_end} ({a_label}) overlap"
            )
    if not relations:
        return
    keys = {(start, end) for start, end, _ in bounds}
    seen: set[tuple[tuple[int, int], tuple[int, int], str]] = set()
    for rel in relations:
        for end_name, ref in (("head", rel.head), ("child", rel.child)):
            if tuple(ref) not in keys:
                raise ValueError(
                    f"relation {rel.label}: {end_name} {ref[0]}-{ref[1]} is not one of the spans"
                )
        if rel.head == rel.child:
            raise ValueError(
                f"relation {rel.label} links span {rel.head[0]}-{rel.head[1]} to itself"
            )
        if rel.key in seen:
            raise ValueError(
                f"relation {rel.label} {rel.head[0]}-{rel.head[1]} -> "
                f"{rel.child[0]}-{rel.child[1]} is given twice"
            )
        seen.add(rel.key)


def common_run(a: Sequence[Any], b: Sequence[Any], limit: int, *, from_end: bool) -> int:
    """How many items ``a`` and ``b`` share at their start (or end), up to ``limit``.

    Galloping slice comparisons: list equality is a C loop that short-cuts on
    identity, and edits reuse the unchanged (frozen) spans, so finding the changed run
    of a 10,000-span list costs a handful of comparisons.
    """
    run, step = 0, 1
    while step:
        size = min(step, limit - run)
        if size <= 0:
            break
        if from_end:
            same = a[len(a) - run - size : len(a) - run] == b[len(b) - run - size : len(b) - run]
        else:
            same = a[run : run + size] == b[run : run + size]
        if same:
            run += size
            step *= 2
        else:
            step //= 2
    return run


def changed_run(old: Sequence[Any], new: Sequence[Any]) -> tuple[int, int]:
    """The common prefix and suffix lengths of two lists: what lies between them changed."""
    limit = min(len(old), len(new))
    prefix = common_run(old, new, limit, from_end=False)
    suffix = common_run(old, new, limit - prefix, from_end=True)
    return prefix, suffix


def _key(span: Span) -> tuple[int, int]:
    return (span.start, span.end)


class SpanIndex:
    """The spans of one layer sorted by (start, end), found by offset with bisection.

    Spans of a flat layer never overlap, so the span holding an offset is the last one
    starting at or before it.  The index is updated in place by :meth:`replace`, the
    cost of which depends on the change, not on the number of spans.
    """

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        self.spans: list[Span] = sorted(spans, key=_key)
        self.starts: list[int] = [s.start for s in self.spans]

    def __len__(self) -> int:
        return len(self.spans)

    def position(self, key: tuple[int, int]) -> int | None:
        """The index of the span at exactly ``key``, or None."""
        index = bisect_left(self.spans, key, key=_key)
        if index < len(self.spans) and _key(self.spans[index]) == key:
            return index
        return None

    def get(self, key: tuple[int, int]) -> Span | None:
        index = self.position(key)
        return None if index is None else self.spans[index]

    def at(self, offset: int) -> Span | None:
        """The span holding ``offset``, if any."""
        index = bisect_right(self.starts, offset) - 1
        if index >= 0 and offset < self.spans[index].end:
            return self.spans[index]
        return None

    def overlapping(self, start: int, end: int) -> list[Span]:
        """Spans overlapping ``start``-``end``, in order."""
        index = bisect_right(self.starts, start) - 1
        # Step back over spans that start before ``start`` and may still reach into it.
        while index > 0 and self.spans[index - 1].end > start:
            index -= 1
        index = max(index, 0)
        found = []
        while index < len(self.spans) and self.spans[index].start < end:
            if self.spans[index].end > start:
                found.append(self.spans[index])
            index += 1
        return found

    def after(self, offset: int) -> Span | None:
        """The first span starting after ``offset``."""
        index = bisect_right(self.starts, offset)
        return self.spans[index] if index < len(self.spans) else None

    def before(self, offset: int) -> Span | None:
        """The last span ending at or before ``offset``."""
        index = bisect_left(self.starts, offset) - 1
        while index >= 0 and self.spans[index].end > offset:
            index -= 1
        return self.spans[index] if index >= 0 else None

    def replace(self, removed: Iterable[Span], added: Iterable[Span]) -> None:
        """Take ``removed`` out and put ``added`` in, keeping the order."""
        for span in removed:
            index = self.position(_key(span))
            if index is not None:
                del self.spans[index]
                del self.starts[index]
        for span in added:
            index = bisect_left(self.spans, _key(span), key=_key)
            self.spans.insert(index, span)
            self.starts.insert(index, span.start)

