"""How the annotator paints spans, and which painted spans a change redraws.

Pure: no widget, no app.  :func:`display_spans` paints a whole annotation;
:class:`SpanPainter` keeps the look of every shown span and, for a session
:class:`~annotations.session.Change`, says which looks leave the article and which
enter it (the changed spans, the spans whose relation dot came or went, and in an
overlapping layer the spans that became stacked on others or stopped being so).
Tested without Pilot in ``tests/test_span_painter.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style

from annotations.layer import SpanRef, crossing, stacked
from annotations.models import Annotation, LabelScheme, Span
from annotations.names import label_colours
from annotations.session import Change, EditingSession
from annotations.terminal import visible

from ..widgets.article_view import CROSSING_EDGES, NESTING_EDGES, DisplaySpan

LINKED = "•"  # after the label of an entity that has relations
# Added to the text of a span stacked on others in an overlapping layer (one that starts
# inside another: annotations.layer.stacked), so that its extent shows over theirs.
STACKED_STYLE = Style(underline=True, italic=True)
GREY = "#7f7f7f"

_LOOKS: dict[tuple[str, str, bool, bool, bool], tuple[str, Style, Style]] = {}


def span_look(label: str, colour: str, suggested: bool, linked: bool = False,
              on_others: bool = False) -> tuple[str, Style, Style]:
    """Tag text, text style and tag style of a span; shared objects, so hashing is cheap."""
    key = (label, colour, suggested, linked, on_others)
    look = _LOOKS.get(key)
    if look is None:
        mark = LINKED if linked else ""
        if suggested:
            look = (f" {label}?{mark}", Style(color=colour, underline=True, bold=True),
                    Style(color=colour, italic=True))
        else:
            look = (f" {label}{mark}", Style(color="#ffffff", bgcolor=colour),
                    Style(color="#000000", bgcolor=colour, bold=True))
        if on_others:
            look = (look[0], look[1] + STACKED_STYLE, look[2])
        _LOOKS[key] = look
    return look


def display_span(span: Span, colours: dict[str, str], linked: bool = False,
                 on_others: bool = False, crosses: bool = False) -> DisplaySpan:
    """Confirmed spans filled, suggestions underlined, a dot after the label of one that
    has relations, a span stacked on others underlined in italics, and one crossing the
    end of another between edge marks of its own (``⟨…⟩``, when marks are shown)."""
    tag, style, tag_style = span_look(visible(span.label), colours.get(span.label, GREY),
                                      span.state == "suggested", linked, on_others)
    return DisplaySpan(span.start, span.end, tag, style, tag_style, span.state, span.ref,
                       CROSSING_EDGES if crosses else NESTING_EDGES)


def linked_keys(annotation: Annotation) -> set[SpanRef]:
    """The ends of the annotation's relations, as the relations name them."""
    return {key for rel in annotation.relations for key in (rel.head, rel.child)}


def is_linked(span: Span, linked: set[SpanRef]) -> bool:
    return span.key in linked or span.ref in linked


def display_spans(annotation: Annotation, scheme: LabelScheme) -> list[DisplaySpan]:
    """Every span of ``annotation`` as the annotator paints it."""
    colours = label_colours(scheme)
    linked = linked_keys(annotation)
    on_others = stacked(annotation.spans) if scheme.overlapping else set()
    crosses = crossing(annotation.spans) if scheme.overlapping else set()
    return [display_span(span, colours, is_linked(span, linked), span.ref in on_others,
                         span.ref in crosses)
            for span in annotation.spans]


class SpanPainter:
    """The look of every span shown, kept in step with the session's changes."""

    def __init__(self, session: EditingSession) -> None:
        self.session = session
        self.shown: dict[SpanRef, DisplaySpan] = {}
        self.stacked: set[SpanRef] = set()  # spans drawn stacked on others (overlapping)
        self.crossing: set[SpanRef] = set()  # of those, the ones crossing another's end

    def paint_all(self) -> list[DisplaySpan]:
        """The looks of the open document's spans, from scratch."""
        session = self.session
        annotation = session.annotation
        colours = session.colours
        linked = linked_keys(annotation)
        self.stacked = stacked(annotation.spans) if session.allows_overlap else set()
        self.crossing = crossing(annotation.spans) if session.allows_overlap else set()
        self.shown = {span.ref: display_span(span, colours, is_linked(span, linked),
                                             span.ref in self.stacked,
                                             span.ref in self.crossing)
                      for span in annotation.spans}
        return list(self.shown.values())

    def paint_change(self, change: Change) -> tuple[list[DisplaySpan], list[DisplaySpan]]:
        """The looks that leave the article and those that enter it after ``change``."""
        session = self.session
        annotation = session.annotation
        colours = session.colours
        linked = linked_keys(annotation) if (
            annotation.relations or change.relations_removed) else set()
        # Spans that gained or lost their last relation get their tag redrawn.
        touched = {key for rel in change.relations_added + change.relations_removed
                   for key in (rel.head, rel.child)}
        touched -= {ref for span in change.added + change.removed
                    for ref in (span.key, span.ref)}
        restyled = [span for span in (session.spans.get(key) for key in touched)
                    if span is not None]
        restyled += self._restack(change)
        restyled = list({span.ref: span for span in restyled}.values())
        removed = [self.shown.pop(span.ref) for span in (*restyled, *change.removed)]
        added = []
        for span in (*restyled, *change.added):
            added.append(display_span(span, colours, is_linked(span, linked),
                                      span.ref in self.stacked, span.ref in self.crossing))
            self.shown[span.ref] = added[-1]
        return removed, added

    def _restack(self, change: Change) -> list[Span]:
        """Bring :attr:`stacked` and :attr:`crossing` up to date after ``change``; the
        spans, not among those it added, that became stacked or crossing or stopped
        being so (they start inside an edited span: see annotations.layer.stacked)."""
        if not self.session.allows_overlap:
            return []
        for span in change.removed:
            self.stacked.discard(span.ref)
            self.crossing.discard(span.ref)
        for span in change.added:
            self._place(span)
        new = {span.ref for span in change.added}
        flipped = []
        edited: Iterable[Span] = (*change.removed, *change.added)
        for span_edited in edited:
            for span in self.session.spans.starting_in(span_edited.start, span_edited.end):
                if span.ref not in new and self._place(span):
                    flipped.append(span)
        return flipped

    def _place(self, span: Span) -> bool:
        """Whether ``span`` is stacked and crossing, as the index says now; True if
        either changed."""
        index = self.session.spans
        changed = False
        for found, now in ((self.stacked, index.is_stacked(span)),
                           (self.crossing, index.crosses(span))):
            if now != (span.ref in found):
                (found.add if now else found.discard)(span.ref)
                changed = True
        return changed
