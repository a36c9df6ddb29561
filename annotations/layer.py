"""One layer of spans over a text: its checks, and the index that finds spans by offset.

The one copy of the layer rules that every writer shares (the store on every save,
the editing session, the importers through the models): spans inside the text,
apart in a flat layer (spaCy's ``doc.ents``) or free to nest and overlap in an
overlapping one (spaCy's ``doc.spans``, Prodigy's and brat's spans), never the same
(start, end, label) twice, and relations between the layer's own spans.
:class:`SpanIndex` is the one way to find a span by offset (by bisection over the
spans sorted by (start, end, label)), and :func:`common_run` the one way to tell
which run of a long span list an edit changed (:func:`keeps_run` checks a run an edit
says it kept).

A relation names each of its spans by a *span reference*: ``(start, end, label)``,
or ``(start, end)`` where the offsets alone name one span (always in a flat layer;
in an overlapping layer only while no other span has the same offsets).  Stores
written before overlapping layers hold ``(start, end)`` only, and stay valid.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:
    from .models import Relation, Span

SpanRef: TypeAlias = tuple[int, int] | tuple[int, int, str]
"""How a relation names a span: ``(start, end)`` or ``(start, end, label)``."""
SpanLike = TypeVar("SpanLike")


def span_order(span: Span) -> tuple[int, int, str]:
    """The order of a layer's spans: by (start, end, label).  In a flat layer no two
    spans share offsets, so this is the (start, end) order."""
    return (span.start, span.end, span.label)


def _shown(ref: Sequence[Any]) -> str:
    return f"{ref[0]}-{ref[1]}" + (f" ({ref[2]})" if len(ref) > 2 else "")


def check_layer(
    text: str | None,
    spans: Sequence[Span],
    relations: Sequence[Relation],
    overlapping: bool = False,
) -> None:
    """Check one NER layer: spans inside the text, apart unless ``overlapping``, never
    the same (start, end, label) twice, and relations between its spans, each end
    naming exactly one of them.

    Raises ``ValueError`` with a reason a person can act on.
    """
    check_bounds(text, [(s.start, s.end, s.label) for s in spans],
                 [(r.head, r.child, r.label) for r in relations], overlapping)


Link: TypeAlias = tuple[Sequence[Any], Sequence[Any], str]
"""A relation as plain values: ``(head, child, label)``, each end a span reference."""


def check_bounds(text: str | None, bounds: list[tuple[int, int, str]], links: Sequence[Link],
                 overlapping: bool = False) -> None:
    """:func:`check_layer` of a layer given as plain tuples: each span's
    ``(start, end, label)`` (in any order) and each relation's ``(head, child, label)``,
    as a stored record holds them (the store checks records this way, without models)."""
    # Called on every whole save with the whole layer: kept to plain tuple work, since a
    # long article has thousands of spans.
    bounds = sorted(bounds)
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
        if (b_start, b_end, b_label) == (a_start, a_end, a_label):
            raise ValueError(f"span {a_start}-{a_end} ({a_label}) is given twice")
        if a_start < b_end and not overlapping:
            raise ValueError(
                f"spans {b_start}-{b_end} ({b_label}) and {a_start}-{a_end} ({a_label}) overlap"
                " (the layer is flat: its label scheme does not allow overlapping spans)"
            )
    if not links:
        return
    labelled = set(bounds)
    offsets = Counter((start, end) for start, end, _ in bounds)
    seen: set[tuple[Any, Any, str]] = set()
    for head, child, rel_label in links:
        resolved = []
        for end_name, given in (("head", head), ("child", child)):
            ref: tuple[Any, ...] = tuple(given)
            count = offsets.get(ref[:2], 0)
            if (ref not in labelled) if len(ref) == 3 else not count:
                raise ValueError(
                    f"relation {rel_label}: {end_name} {_shown(ref)} is not one of the spans"
                )
            if len(ref) == 2 and count > 1:
                shared = ", ".join(b[2] for b in bounds if b[:2] == ref)
                raise ValueError(
                    f"relation {rel_label}: {end_name} {_shown(ref)} names {count} spans "
                    f"({shared}); name it by (start, end, label)"
                )
            resolved.append(ref if len(ref) == 3 else
                            next(b for b in _at_offsets(bounds, ref)))
        if resolved[0] == resolved[1]:
            raise ValueError(
                f"relation {rel_label} links span {_shown(resolved[0])} to itself"
            )
        key = (resolved[0], resolved[1], rel_label)
        if key in seen:
            raise ValueError(
                f"relation {rel_label} {_shown(resolved[0])} -> "
                f"{_shown(resolved[1])} is given twice"
            )
        seen.add(key)


def _at_offsets(bounds: list[tuple[int, int, str]], ref: tuple[Any, ...]
                ) -> Iterable[tuple[int, int, str]]:
    index = bisect_left(bounds, ref)
    while index < len(bounds) and bounds[index][:2] == ref:
        yield bounds[index]
        index += 1


def resolve_refs(spans: Sequence[Span], relations: Sequence[Relation]
                 ) -> list[tuple[Span, Span, str]]:
    """Each relation as (head span, child span, label), for a layer that
    :func:`check_layer` accepted."""
    by_ref = ref_index((span.ref, span) for span in spans)
    return [(by_ref[tuple(r.head)], by_ref[tuple(r.child)], r.label) for r in relations]


def ref_index(refs: Iterable[tuple[tuple[int, int, str], SpanLike]]
              ) -> dict[tuple[Any, ...], SpanLike]:
    """What each span reference names, from each span's ``(start, end, label)`` and what
    the reference should find: a ``(start, end)`` reference names the first span given
    at those offsets (the only one, in a layer that :func:`check_layer` accepted)."""
    by_ref: dict[tuple[Any, ...], SpanLike] = {}
    for ref, span in refs:
        by_ref[ref] = span
        by_ref.setdefault(ref[:2], span)
    return by_ref


def outermost(spans: Iterable[SpanLike]) -> tuple[list[SpanLike], list[SpanLike]]:
    """A flat layer of ``spans``: the outermost ones, leftmost first (the longer of two
    starting together, then the first label); and the spans left out.  What a format
    or a view that holds flat layers only shows of an overlapping one.  ``spans`` are
    :class:`Span` models or ``(start, end, label, ...)`` tuples."""
    kept: list[SpanLike] = []
    dropped: list[SpanLike] = []
    bounds = [(_bounds(s), s) for s in spans]
    bounds.sort(key=lambda pair: (pair[0][0], -pair[0][1], pair[0][2]))
    reach = -1
    for (start, end, _), span in bounds:
        if start < reach:
            dropped.append(span)
        else:
            kept.append(span)
            reach = end
    return kept, dropped


def lanes(spans: Iterable[Span]) -> dict[tuple[int, int, str], int]:
    """A lane (0, 1, ...) for each span, by ``(start, end, label)``, so that spans in one
    lane never overlap: what stacked underlines need.  First fit in the order of
    :func:`outermost` (by start, the longer first): an outer span takes a lower lane than
    the spans nested in it, and the number of lanes is the most spans over one
    character (the fewest possible).  A flat layer is all lane 0."""
    lane_ends: list[int] = []
    out: dict[tuple[int, int, str], int] = {}
    for span in sorted(spans, key=lambda s: (s.start, -s.end, s.label)):
        for lane, end in enumerate(lane_ends):
            if end <= span.start:
                lane_ends[lane] = span.end
                break
        else:
            lane = len(lane_ends)
            lane_ends.append(span.end)
        out[(span.start, span.end, span.label)] = lane
    return out


def _stack_rank(span: Span) -> tuple[int, int, str]:
    return span.start, -span.end, span.label


def stacked(spans: Iterable[Span]) -> set[SpanRef]:
    """The spans of an overlapping layer that a view draws stacked on others, by
    ``(start, end, label)``: each span that starts inside a span before it (by start, the
    longer first, then by label) — nested in it, crossing its end, or at the same offsets
    with a later label.  The others are drawn as in a flat layer.  Whether a span is
    stacked depends only on the spans holding its start (see
    :meth:`SpanIndex.is_stacked`), so an edit changes it only for spans starting inside
    the edited ones."""
    found: set[SpanRef] = set()
    reach = -1
    for span in sorted(spans, key=_stack_rank):
        if span.start < reach:
            found.add(span.ref)
        reach = max(reach, span.end)
    return found


def crossing(spans: Iterable[Span]) -> set[SpanRef]:
    """The stacked spans (:func:`stacked`) that cross the end of a span before them:
    they start inside it and end after it.  Their edges cannot nest with the others',
    so a view marks them apart.  Like stacking, it depends only on the spans holding a
    span's start (:meth:`SpanIndex.crosses`)."""
    index = SpanIndex(spans, overlapping=True)
    return {span.ref for span in index.spans if index.crosses(span)}


def visit_order(spans: Iterable[Span]) -> list[Span]:
    """``spans`` in the order a reader visits them: by start, a span before the spans
    nested in it (the longer of two starting together first), then by label.  The
    order of Tab and Shift+Tab and of the side panel's entity list; in a flat layer it
    is the stored (start, end, label) order."""
    return sorted(spans, key=_stack_rank)


def holds(outer: Span, inner: Span) -> bool:
    """Whether ``inner`` is nested in ``outer``: inside its extent and after it in
    :func:`visit_order` (of two spans at the same offsets, the later label is inside)."""
    return (outer.start <= inner.start and inner.end <= outer.end
            and _stack_rank(outer) < _stack_rank(inner))


def nesting_depths(ordered: Sequence[Span]) -> list[int]:
    """For spans in :func:`visit_order`, how many of the others hold each one
    (:func:`holds`): an inner span is one deeper than the span holding it; spans that
    only cross are not nested.  By definition, for tests and small lists; the side
    panel counts the holders of the rows it draws only."""
    return [sum(holds(other, span) for other in ordered) for span in ordered]


def _bounds(span: Any) -> tuple[int, int, str]:
    if isinstance(span, tuple):
        return span[0], span[1], span[2]
    return span.start, span.end, span.label


def is_flat(spans: Iterable[Span]) -> bool:
    """Whether no two of ``spans`` overlap (or share offsets)."""
    ordered = sorted((s.start, s.end) for s in spans)
    return all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:], strict=False))


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


def keeps_run(old: Sequence[Any], new: Sequence[Any], run: tuple[int, int]) -> bool:
    """Whether ``old`` and ``new`` share ``run``: its first number of items at their
    start and its second at their end.  What an edit says it kept (see
    :func:`changed_run`), checked with one slice comparison at each end: cheaper than
    finding the run again, and the same C loop that short-cuts on identity."""
    prefix, suffix = run
    if prefix < 0 or suffix < 0 or prefix + suffix > min(len(old), len(new)):
        return False
    return (old[:prefix] == new[:prefix]
            and old[len(old) - suffix:] == new[len(new) - suffix:])


_key = span_order


class SpanIndex:
    """The spans of one layer sorted by (start, end, label), found by offset with bisection.

    Spans of a flat layer never overlap, so the span holding an offset is the last one
    starting at or before it.  With ``overlapping=True`` spans may nest and overlap:
    :meth:`all_at` gives every span holding an offset (innermost first) and :meth:`at`
    the innermost one; the search steps back from the offset at most as far as the
    longest span seen, so it stays short while spans are short.  The index is updated
    in place by :meth:`replace`, the cost of which depends on the change, not on the
    number of spans.

    A *key* is ``(start, end)`` (the first span at those offsets: the only one in a flat
    layer) or ``(start, end, label)`` (exactly that span).
    """

    def __init__(self, spans: Iterable[Span] = (), *, overlapping: bool = False) -> None:
        self.spans: list[Span] = sorted(spans, key=_key)
        self.starts: list[int] = [s.start for s in self.spans]
        self.allows_overlap = overlapping
        # An upper bound on the length of any span held: how far back a span holding an
        # offset can start.  Never lowered on removal (still a bound, and cheap).
        self.longest = max((s.end - s.start for s in self.spans), default=0)

    def __len__(self) -> int:
        return len(self.spans)

    def position(self, key: SpanRef) -> int | None:
        """The index of the span at exactly ``key`` (the first at those offsets for a
        ``(start, end)`` key), or None."""
        # Bisection over the plain int list of starts, then a walk over the spans sharing
        # that start (one in a flat layer; a few where spans nest).
        start, end = key[0], key[1]
        index = bisect_left(self.starts, start)
        spans = self.spans
        while index < len(spans):
            span = spans[index]
            if span.start != start:
                return None
            if span.end == end and (len(key) == 2 or span.label == key[2]):  # type: ignore[misc]
                return index
            index += 1
        return None

    def get(self, key: SpanRef) -> Span | None:
        """The span at ``key``: ``(start, end)`` or ``(start, end, label)``."""
        index = self.position(key)
        return None if index is None else self.spans[index]

    def all_with_offsets(self, start: int, end: int) -> list[Span]:
        """Every span at exactly ``start``-``end`` (one label each), by label."""
        index = bisect_left(self.spans, (start, end), key=_key)  # type: ignore[arg-type]
        found = []
        while index < len(self.spans) and _key(self.spans[index])[:2] == (start, end):
            found.append(self.spans[index])
            index += 1
        return found

    def at(self, offset: int) -> Span | None:
        """The span holding ``offset``, if any (the innermost in an overlapping layer)."""
        if self.allows_overlap:
            held = self.all_at(offset)
            return held[0] if held else None
        index = bisect_right(self.starts, offset) - 1
        if index >= 0 and offset < self.spans[index].end:
            return self.spans[index]
        return None

    def all_at(self, offset: int) -> list[Span]:
        """Every span holding ``offset``, innermost first: shortest first, then the one
        starting later, then by label.  In a flat layer, at most one span."""
        if not self.allows_overlap:
            span = self.at(offset)
            return [] if span is None else [span]
        index = bisect_right(self.starts, offset)
        first = bisect_left(self.starts, offset - self.longest + 1, 0, index)
        held = [s for s in self.spans[first:index] if s.end > offset]
        held.sort(key=lambda s: (s.end - s.start, -s.start, s.label))
        return held

    def is_stacked(self, span: Span) -> bool:
        """Whether ``span`` starts inside a span before it: see :func:`stacked`."""
        rank = _stack_rank(span)
        return any(_stack_rank(other) < rank for other in self.all_at(span.start))

    def crosses(self, span: Span) -> bool:
        """Whether ``span`` starts inside a span before it that ends before it does."""
        rank = _stack_rank(span)
        return any(_stack_rank(other) < rank and other.end < span.end
                   for other in self.all_at(span.start))

    def starting_in(self, start: int, end: int) -> list[Span]:
        """The spans starting at ``start`` or after it and before ``end``, in order."""
        return self.spans[bisect_left(self.starts, start):bisect_left(self.starts, end)]

    def overlapping(self, start: int, end: int) -> list[Span]:
        """Spans overlapping ``start``-``end``, in order."""
        if self.allows_overlap:
            first = bisect_left(self.starts, start - self.longest + 1)
            last = bisect_left(self.starts, end)
            return [s for s in self.spans[first:last] if s.end > start]
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

    def step(self, offset: int, step: int, current: Span | None = None) -> Span | None:
        """The next (``step`` > 0) or previous span in :func:`visit_order` from
        ``current``; with no current span, the first starting after ``offset`` or the
        last starting before it.  Tab and Shift+Tab visit the same spans, outer and
        inner, in opposite orders."""
        starts, spans = self.starts, self.spans
        if current is not None:
            offset = current.start
            rank = _stack_rank(current)
            group = spans[bisect_left(starts, offset):bisect_right(starts, offset)]
            if step > 0:
                later = [s for s in group if _stack_rank(s) > rank]
                if later:
                    return min(later, key=_stack_rank)
            else:
                earlier = [s for s in group if _stack_rank(s) < rank]
                if earlier:
                    return max(earlier, key=_stack_rank)
        if step > 0:
            index = bisect_right(starts, offset)
            if index == len(spans):
                return None
            group = spans[index:bisect_right(starts, starts[index])]
            return min(group, key=_stack_rank)
        index = bisect_left(starts, offset)
        if index == 0:
            return None
        group = spans[bisect_left(starts, starts[index - 1]):index]
        return max(group, key=_stack_rank)

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
            self.longest = max(self.longest, span.end - span.start)
