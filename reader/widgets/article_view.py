"""``ArticleView``: a Line-API widget that shows a long article with highlighted spans.

Modelled on toolong's ``LogLines``: the text is wrapped into visual lines when the
width changes (paragraphs kept), only the visible lines are rendered through
:meth:`render_line`, rendered strips are kept in an LRU cache keyed on everything
that affects a line, and a cursor move or an edit refreshes only the lines it
touched.  The widget knows nothing about gold or predictions: callers pass
generic :class:`DisplaySpan` objects, so the annotator and the review screen share it.

Public API
----------
``ArticleView(text="", spans=(), *, name=None, id=None, classes=None)``

``load(text, spans=())``
    Show a new document.  Wraps it at the current width.
``set_spans(spans)``
    Replace the display spans (any order; they may overlap, later ones paint over
    earlier ones).  Only paragraphs whose tags changed are re-wrapped and only
    lines whose spans changed are refreshed.
``update_spans(removed, added)``
    The same for a small change, in time that follows the change rather than the
    number of spans (``removed`` must be spans currently shown).
``cursor: tuple[int, int] | None``
    The highlighted range (``start``, ``end`` offsets), shown reversed; set it with
    ``set_cursor(start, end, scroll=True)``.  Scrolls it into view.
``mark: tuple[int, int] | None``
    A second highlighted range (e.g. the head of a relation being drawn); ``set_mark``.
``related: tuple[tuple[int, int], ...]``
    Ranges underlined in magenta (the other ends of the relations of the entity at the
    cursor); ``set_related``.
``hints: dict[object, str]``
    Hint letters (``[ak]``) drawn after the tag of the span with each ``name``;
    ``set_hints``.  They take cells of their own: they never cover text or a tag.
``show_edges: bool``
    Each tagged span drawn between edge marks, ``⟦`` before its first character and
    ``⟧`` before its tag (``⟦University of ⟦Dushanbe⟧GPE⟧ORG``), so that which tag
    belongs to which extent reads without colour; a span's ``edges`` says which marks
    (``⟨`` ``⟩`` for one crossing the end of another); ``set_show_edges``.
``visible_range() -> (start, end)``
    The document offsets on screen.
``offset_at(x, y) -> int | None``
    The document offset under a widget-relative cell (``None`` past the text).
``line_of(offset) -> int``
    The visual line that holds ``offset``.

Messages (bubble): ``ArticleView.Clicked(offset)`` on a mouse click and
``ArticleView.Dragged(anchor, offset)`` while a button is held and moved.

Offsets are ``str`` indices into the text.  Text is data: it is never parsed as
markup; control characters (ANSI ESC included), DEL, C1 controls and bidi
overrides are drawn as visible one-cell symbols (``␛`` for ESC) in the
``escape`` style, so one code point still maps to one displayed code point and
offsets never shift.  Cell widths come from ``rich.cells`` so CJK and emoji align.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from annotations.terminal import unsafe_positions, visible

_CHUNK = re.compile(r"([^ \n]+) *| +")

ESCAPE_STYLE = Style(color="black", bgcolor="yellow", bold=True)
CURSOR_STYLE = Style(reverse=True, bold=True)
MARK_STYLE = Style(underline=True, bold=True, color="bright_white", bgcolor="magenta")
HINT_STYLE = Style(color="black", bgcolor="bright_yellow", bold=True)
RELATED_STYLE = Style(underline=True, bold=True, color="bright_magenta")
# Edge marks, one cell each (East Asian width "narrow"): nesting spans, and spans that
# cross the end of another (whose marks could not nest with the others').
NESTING_EDGES, CROSSING_EDGES = "⟦⟧", "⟨⟩"


def opening_order(spans: Iterable[DisplaySpan]) -> list[DisplaySpan]:
    """Spans starting at one offset, in the order their edge marks open: the longer
    first, so that it closes last."""
    return sorted(spans, key=lambda s: (-s.end, s.tag))


def closing_order(spans: Iterable[DisplaySpan]) -> list[DisplaySpan]:
    """Spans ending at one offset, in the order their tags are drawn: the inner first
    (the later start), the reverse of :func:`opening_order`, so that edge marks nest
    and each tag sits next to its own closing mark."""
    return sorted(spans, key=lambda s: (s.start, s.tag), reverse=True)


def tag_text(span: DisplaySpan, edges: bool, hint: str | None = None) -> str:
    """What is drawn after ``span``'s text: its closing edge mark (in the place of the
    tag's leading space, so the width stays), its tag, and its hint, if any."""
    tag = span.tag
    if edges and tag:
        tag = span.edges[1] + tag.removeprefix(" ")
    return tag + (f"[{hint}]" if hint else "")


@dataclass(frozen=True)
class DisplaySpan:
    """A range to paint: ``style`` over the text, ``tag`` (e.g. the label) drawn after it.

    ``kind`` is free for callers (``"suggested"``, ``"missed"``, ...); the view only
    uses it as part of the cache key.
    """

    start: int
    end: int
    tag: str = ""
    style: Style = Style()
    tag_style: Style | None = None
    kind: str = ""
    name: object = None  # the caller's name for the span (hints are given by it)
    edges: str = NESTING_EDGES  # its opening and closing edge marks, when they are shown


def display_text(text: str) -> str:
    """``text`` with every unsafe code point replaced by a visible one of the same length
    (newlines kept: article text wraps on them)."""
    return visible(text, keep_newlines=True)


class ArticleView(ScrollView, can_focus=True, inherit_bindings=False):
    """A scrollable, soft-wrapped article with spans, a cursor, a mark and hint letters."""

    # No keys of its own (not even ScrollView's scrolling keys, hence
    # inherit_bindings=False): the screen that uses the view decides what every key does.
    DEFAULT_CSS = """
    ArticleView {
        background: $surface;
        color: $foreground;
        padding: 0 1;
        scrollbar-gutter: stable;
    }
    """

    class Clicked(Message):
        def __init__(self, view: ArticleView, offset: int) -> None:
            super().__init__()
            self.view = view
            self.offset = offset

    class Dragged(Message):
        def __init__(self, view: ArticleView, anchor: int, offset: int) -> None:
            super().__init__()
            self.view = view
            self.anchor = anchor
            self.offset = offset

    def __init__(
        self,
        text: str = "",
        spans: Iterable[DisplaySpan] = (),
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own keyword
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(2000)
        self.cursor: tuple[int, int] | None = None
        self.mark: tuple[int, int] | None = None
        self.related: tuple[tuple[int, int], ...] = ()
        self.hints: dict[object, str] = {}
        self.show_edges = False
        self._wrap_width = 0
        self._drag_anchor: int | None = None
        self.load(text, spans)

    # -- document and spans ------------------------------------------------------

    def load(self, text: str, spans: Iterable[DisplaySpan] = ()) -> None:
        self.text = text
        self._display = display_text(text)
        self._escaped = unsafe_positions(text, keep_newlines=True)
        self._para_starts: list[int] = []
        start = 0
        while True:
            self._para_starts.append(start)
            newline = text.find("\n", start)
            if newline < 0:
                break
            start = newline + 1
        self.cursor = None
        self.mark = None
        self.hints = {}
        self._index_spans(spans)
        self._cache.clear()
        self._wrap_all()
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def _para_end(self, index: int) -> int:
        """End offset of paragraph ``index`` (its newline excluded)."""
        if index + 1 < len(self._para_starts):
            return self._para_starts[index + 1] - 1
        return len(self.text)

    def _tag_at(self, span: DisplaySpan) -> int:
        """Where ``span``'s tag is drawn: after its last visible character, so a span
        that ends in spaces or newlines ("Dushanbe" and two newlines) still shows its label."""
        end = span.end
        while end > span.start + 1 and self.text[end - 1].isspace():
            end -= 1
        return end

    def _index_spans(self, spans: Iterable[DisplaySpan]) -> None:
        self.spans: list[DisplaySpan] = sorted(spans, key=lambda s: (s.start, s.end))
        self._span_starts = [s.start for s in self.spans]
        self._max_span = max((s.end - s.start for s in self.spans), default=0)
        self._tag_width: dict[int, int] = {}  # cells drawn after the character before
        self._tag_ends: list[int] = []
        self._lead_width: dict[int, int] = {}  # cells drawn before the character at
        self._lead_starts: list[int] = []
        for span in self.spans:
            self._count_cells(span, 1)

    def _count_cells(self, span: DisplaySpan, sign: int) -> None:
        """Add (``sign`` 1) or take away (-1) the cells ``span`` draws besides its text:
        its tag (with its hint) and, with edge marks shown, its opening mark."""
        if not span.tag and span.name not in self.hints:
            return
        places = [(self._tag_width, self._tag_ends, self._tag_at(span),
                   cell_len(tag_text(span, self.show_edges, self.hints.get(span.name))))]
        if self.show_edges and span.tag:
            places.append((self._lead_width, self._lead_starts, span.start,
                           cell_len(span.edges[0])))
        for widths, points, at, cells in places:
            width = widths.get(at, 0) + sign * cells
            if width:
                if at not in widths:
                    points.insert(bisect_left(points, at), at)
                widths[at] = width
            elif at in widths:
                del widths[at]
                points.pop(bisect_left(points, at))

    def set_spans(self, spans: Iterable[DisplaySpan]) -> None:
        """Replace the spans; re-wrap only paragraphs whose tags changed."""
        old = set(self.spans)
        self._index_spans(spans)
        changed = old.symmetric_difference(self.spans)
        if changed:
            self._spans_changed(changed)

    def update_spans(self, removed: Iterable[DisplaySpan], added: Iterable[DisplaySpan]) -> None:
        """Remove and add some spans: the cost follows the change, not the article."""
        changed: list[DisplaySpan] = []
        for span in removed:
            index = bisect_left(self._span_starts, span.start)
            while index < len(self.spans) and self.spans[index].start == span.start:
                if self.spans[index] == span:
                    del self.spans[index]
                    del self._span_starts[index]
                    changed.append(span)
                    self._count_cells(span, -1)
                    break
                index += 1
        for span in added:
            index = bisect_right(self._span_starts, span.start)
            self.spans.insert(index, span)
            self._span_starts.insert(index, span.start)
            # A stale (too large) maximum only widens the lookup window a little.
            self._max_span = max(self._max_span, span.end - span.start)
            self._count_cells(span, 1)
            changed.append(span)
        if changed:
            self._spans_changed(changed)

    def _spans_changed(self, changed: Iterable[DisplaySpan]) -> None:
        changed = list(changed)
        paragraphs = {self._paragraph_of(s.end - 1 if s.end > s.start else s.start)
                      for s in changed if s.tag or s.name in self.hints}
        if self.show_edges:
            paragraphs |= {self._paragraph_of(s.start) for s in changed if s.tag}
        lines_before = len(self._lines)
        rewrapped: list[int] = []
        spliced = True  # every re-wrapped paragraph kept its number of lines
        for index in sorted(paragraphs):
            lines = self._wrap_paragraph(index, self._wrap_width)
            old = self._para_lines[index]
            if lines != old:
                self._para_lines[index] = lines
                rewrapped.append(index)
                spliced = spliced and self._splice_lines(old, lines)
        if rewrapped and not spliced:
            self._flatten()
        if len(self._lines) != lines_before:
            self.refresh()
            return
        moved: list[int] = []
        for index in rewrapped:
            # Words moved between the paragraph's lines: all of them are redrawn.
            first = self.line_of(self._para_starts[index])
            moved.extend(range(first, first + len(self._para_lines[index])))
        self._refresh_ranges([(span.start, span.end) for span in changed], moved)

    # -- wrapping ---------------------------------------------------------------

    def _content_width(self) -> int:
        width = self.scrollable_content_region.width if self.is_mounted else 0
        return max(width, 8) if width else 80

    def _wrap_all(self) -> None:
        width = self._content_width()
        self._wrap_width = width
        self._para_lines = [self._wrap_paragraph(i, width) for i in range(len(self._para_starts))]
        self._flatten()

    def _flatten(self) -> None:
        self._lines: list[tuple[int, int]] = [
            line for lines in self._para_lines for line in lines
        ]
        self._line_starts = [start for start, _ in self._lines]
        self.virtual_size = Size(self._wrap_width, len(self._lines))

    def _splice_lines(self, old: list[tuple[int, int]], new: list[tuple[int, int]]) -> bool:
        """Put a re-wrapped paragraph's ``new`` lines in place of its ``old`` ones when
        there are as many (the common case: a tag grew or shrank a little), without
        rebuilding the list of every line of the article; False when it cannot."""
        if len(old) != len(new) or not old:
            return False
        first = bisect_left(self._line_starts, old[0][0])
        if self._lines[first:first + len(old)] != old:
            return False
        self._lines[first:first + len(old)] = new
        self._line_starts[first:first + len(old)] = [start for start, _ in new]
        return True

    def _paragraph_of(self, offset: int) -> int:
        return max(bisect_right(self._para_starts, offset) - 1, 0)

    def _wrap_paragraph(self, index: int, width: int) -> list[tuple[int, int]]:
        """Visual lines ``(start, end)`` of one paragraph: greedy word wrap by cells."""
        start = self._para_starts[index]
        end = self._para_end(index)
        if start == end:
            return [(start, start)]
        display = self._display
        ascii_only = display[start:end].isascii()
        lines: list[tuple[int, int]] = []
        line_start = start
        used = 0
        # The tag ends inside this paragraph, walked with the chunks (no search per word).
        tag_ends = self._tag_ends[bisect_right(self._tag_ends, start):
                                  bisect_right(self._tag_ends, end)]
        tag_width = self._tag_width
        next_tag = 0
        # The same for the opening edge marks, each counted with the word it opens.
        leads = self._lead_starts[bisect_left(self._lead_starts, start):
                                  bisect_left(self._lead_starts, end)]
        lead_width = self._lead_width
        next_lead = 0
        for match in _CHUNK.finditer(display, start, end):
            chunk_start, chunk_end = match.span()
            word_end = match.end(1)
            if word_end < 0:
                word_end = chunk_start  # a run of spaces at the start of the paragraph
            word_cells = (word_end - chunk_start if ascii_only
                          else cell_len(display[chunk_start:word_end]))
            while next_tag < len(tag_ends) and tag_ends[next_tag] <= word_end:
                # A tag whose span ends in the spaces after a word is not counted; the
                # line is cropped to the width in that rare case.
                if tag_ends[next_tag] > chunk_start:
                    word_cells += tag_width[tag_ends[next_tag]]
                next_tag += 1
            while next_lead < len(leads) and leads[next_lead] < chunk_end:
                word_cells += lead_width[leads[next_lead]]
                next_lead += 1
            if used and used + word_cells > width:
                lines.append((line_start, chunk_start))
                line_start, used = chunk_start, 0
            if word_cells > width:
                # A word wider than the line is broken by cells.
                pos = chunk_start
                while pos < word_end:
                    cells = used
                    cut = pos
                    while cut < word_end:
                        size = cell_len(display[cut])
                        if cells + size > width and cut > pos:
                            break
                        cells += size
                        cut += 1
                    if cut < word_end:
                        lines.append((line_start, cut))
                        line_start, used, pos = cut, 0, cut
                    else:
                        used, pos = cells, cut
                used += word_cells - cell_len(display[chunk_start:word_end])
            else:
                used += word_cells
            used += chunk_end - word_end
        lines.append((line_start, end))
        return lines

    def _on_resize(self, event: events.Resize) -> None:
        width = self._content_width()
        if width != self._wrap_width:
            anchor = self.cursor[0] if self.cursor else self._top_offset()
            self._cache.clear()
            self._wrap_all()
            self.refresh()
            if self.cursor:
                self.call_after_refresh(self._scroll_to_offset, anchor, True)
            else:
                self.call_after_refresh(self._scroll_to_offset, anchor, False, True)

    def _top_offset(self) -> int:
        top = int(self.scroll_offset.y)
        return self._lines[top][0] if 0 <= top < len(self._lines) else 0

    # -- geometry ---------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def line_of(self, offset: int) -> int:
        """The visual line holding ``offset`` (the last line at the end of the text)."""
        line = bisect_right(self._line_starts, offset) - 1
        return min(max(line, 0), len(self._lines) - 1)

    def lines_of(self, start: int, end: int) -> range:
        first = self.line_of(start)
        last = self.line_of(max(end - 1, start))
        return range(first, last + 1)

    def visible_range(self) -> tuple[int, int]:
        top = int(self.scroll_offset.y)
        bottom = min(top + self.scrollable_content_region.height, len(self._lines)) - 1
        if bottom < top:
            return (0, 0)
        return (self._lines[top][0], self._lines[bottom][1])

    def _cells(self, line: int) -> list[tuple[int, int]]:
        """``(offset, first cell)`` of each code point of a line, tags counted."""
        start, end = self._lines[line]
        cells: list[tuple[int, int]] = []
        x = 0
        display = self._display
        leads = self._lead_width
        for offset in range(start, end):
            if offset in leads:
                x += leads[offset]
            cells.append((offset, x))
            x += cell_len(display[offset])
            if offset + 1 in self._tag_width:
                x += self._tag_width[offset + 1]
        cells.append((end, x))
        return cells

    def column_of(self, offset: int) -> int:
        """The cell column of ``offset`` within its visual line."""
        line = self.line_of(offset)
        for position, cell in self._cells(line):
            if position >= offset:
                return cell
        return 0

    def offset_at_column(self, line: int, column: int) -> int:
        """The offset on visual ``line`` at cell ``column`` (or the line's last one)."""
        cells = self._cells(line)
        chosen = cells[0][0]
        for offset, cell in cells[:-1]:
            if cell <= column:
                chosen = offset
            else:
                break
        return chosen

    def offset_at(self, x: int, y: int) -> int | None:
        """The document offset under the widget-relative cell ``(x, y)``."""
        line = y + int(self.scroll_offset.y)
        if not 0 <= line < len(self._lines):
            return None
        return self.offset_at_column(line, x - self.styles.padding.left)

    # -- cursor, mark and hints --------------------------------------------------

    def _refresh_range(self, start: int, end: int) -> None:
        """Redraw the lines of ``start``-``end`` that are on screen (a line scrolled into
        view is drawn then anyway: a scroll redraws the whole view)."""
        self._refresh_ranges([(start, end)])

    def _refresh_ranges(self, ranges: Iterable[tuple[int, int]],
                        lines: Iterable[int] = ()) -> None:
        """Redraw the lines on screen of these offset ranges and these visual ``lines``,
        each line once (one refresh per run of lines: a refresh costs more than a line)."""
        if not self._lines:
            return
        top = int(self.scroll_offset.y)
        bottom = top + self.size.height
        wanted = {line for line in lines if top <= line < bottom}
        for start, end in ranges:
            span = self.lines_of(start, end)
            wanted.update(range(max(span.start, top), min(span.stop, bottom)))
        ordered = sorted(wanted)
        first = 0
        for index, line in enumerate(ordered):
            if index + 1 == len(ordered) or ordered[index + 1] != line + 1:
                self.refresh_lines(ordered[first], index - first + 1)
                first = index + 1

    def set_cursor(self, start: int, end: int, scroll: bool = True) -> None:
        old = self.cursor
        self.cursor = (start, end)
        if old != self.cursor:  # the lines of an unchanged cursor are drawn as they are
            self._refresh_ranges([self.cursor] if old is None else [old, self.cursor])
        if scroll:
            self._scroll_to_offset(start)
            if end > start:
                self._scroll_to_offset(end - 1)

    def set_related(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Underline these ranges (the other ends of the relations of the entity at the
        cursor); only the lines they leave and enter are redrawn."""
        new = tuple(sorted(ranges))
        if new == self.related:
            return
        old, self.related = self.related, new
        for rng in {*old, *new}:
            self._refresh_range(*rng)

    def set_mark(self, mark: tuple[int, int] | None) -> None:
        old, self.mark = self.mark, mark
        for rng in (old, mark):
            if rng is not None:
                self._refresh_range(*rng)

    def set_hints(self, hints: dict[object, str]) -> None:
        """Hint letters by span name, drawn after the span's tag in cells of their own
        (never over the text or a tag); only the paragraphs of the spans that gain or
        lose a hint are re-wrapped."""
        hinted = {*self.hints, *hints}
        spans = [span for span in self.spans if span.name in hinted]
        for span in spans:
            self._count_cells(span, -1)
        self.hints = dict(hints)
        for span in spans:
            self._count_cells(span, 1)
        self._spans_changed(spans)
        self.refresh()

    def set_show_edges(self, show: bool) -> None:
        """Show or hide the edge marks of the spans (``⟦`` ... ``⟧``); re-wraps the text."""
        if show == self.show_edges:
            return
        self.show_edges = show
        self._index_spans(self.spans)
        self._cache.clear()
        self._wrap_all()
        self.refresh()
        if self.cursor is not None:
            self.call_after_refresh(self._scroll_to_offset, self.cursor[0])

    def _scroll_to_offset(self, offset: int, keep_visible: bool = True, top: bool = False) -> None:
        if not self._lines:
            return
        line = self.line_of(offset)
        height = max(self.scrollable_content_region.height, 1)
        y = int(self.scroll_offset.y)
        if top:
            target = line
        elif y <= line < y + height:
            return
        else:
            # Out of sight: to the middle, so a cursor walking on scrolls the view once a
            # half page (a scroll repaints every line), not on every step.
            target = max(line - height // 2, 0)
        self.scroll_to(y=target, animate=False, immediate=True)

    # -- rendering ----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        line = y + int(self.scroll_offset.y)
        width = self.scrollable_content_region.width
        if not 0 <= line < len(self._lines):
            return Strip.blank(width, self.rich_style)
        return self._render_visual_line(line, width)

    def _spans_on(self, start: int, end: int) -> tuple[DisplaySpan, ...]:
        starts = self._span_starts
        lo = bisect_left(starts, start - self._max_span)
        stop = max(end, start + 1)
        hi = bisect_left(starts, stop)
        return tuple(s for s in self.spans[lo:hi] if s.end > start and s.start < stop)

    @staticmethod
    def _clip(rng: tuple[int, int] | None, start: int, end: int) -> tuple[int, int] | None:
        if rng is None:
            return None
        lo, hi = max(rng[0], start), min(rng[1], end)
        return (lo, hi) if lo < hi else None

    def _render_visual_line(self, line: int, width: int) -> Strip:
        start, end = self._lines[line]
        spans = self._spans_on(start, end)
        cursor = self._clip(self.cursor, start, end)
        mark = self._clip(self.mark, start, end)
        related = tuple(r for r in (self._clip(rng, start, end) for rng in self.related) if r)
        hints = tuple((s.name, self.hints[s.name]) for s in spans if s.name in self.hints)
        # The spans inside the cursor: their marks and tags light up with it (not those
        # of an outer span that ends or starts with the selected one).
        whole = self.cursor
        picked = frozenset(s for s in spans if whole is not None and whole[0] < whole[1]
                           and whole[0] <= s.start and s.end <= whole[1])
        base = self.rich_style
        key = (start, end, width, spans, cursor, mark, related, hints, base, self.show_edges,
               picked)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        strip = self._build_strip(start, end, spans, cursor, mark, dict(hints), base, width,
                                  related, picked)
        self._cache[key] = strip
        return strip

    def _build_strip(
        self,
        start: int,
        end: int,
        spans: Sequence[DisplaySpan],
        cursor: tuple[int, int] | None,
        mark: tuple[int, int] | None,
        hints: dict[object, str],
        base: Style,
        width: int,
        related: tuple[tuple[int, int], ...] = (),
        picked: frozenset[DisplaySpan] = frozenset(),
    ) -> Strip:
        # Cut the line wherever the style can change, then paint each piece.
        cuts = {start, end}
        for span in spans:
            cuts.update(p for p in (span.start, span.end) if start < p < end)
            if span.tag:
                at = self._tag_at(span)
                if start < at < end:
                    cuts.add(at)
        for rng in (cursor, mark, *related):
            if rng:
                cuts.update(rng)
        lo = bisect_left(self._escaped, start)
        hi = bisect_left(self._escaped, end)
        for offset in self._escaped[lo:hi]:
            cuts.update((offset, offset + 1))
        points = sorted(p for p in cuts if start <= p <= end)
        tags_at: dict[int, list[DisplaySpan]] = {}
        leads_at: dict[int, list[DisplaySpan]] = {}
        for span in spans:
            if span.tag or span.name in hints:
                at = self._tag_at(span)
                if start < at <= end:
                    tags_at.setdefault(at, []).append(span)
            if self.show_edges and span.tag and start <= span.start < end:
                leads_at.setdefault(span.start, []).append(span)
        escaped = set(self._escaped[lo:hi])
        display = self._display
        segments: list[Segment] = []

        for a, b in zip(points, points[1:], strict=False):
            style = base
            for span in spans:
                if span.start <= a < span.end:
                    style = style + span.style
            if a in escaped:
                style = style + ESCAPE_STYLE
            if any(r[0] <= a < r[1] for r in related):
                style = style + RELATED_STYLE
            if mark and mark[0] <= a < mark[1]:
                style = style + MARK_STYLE
            if cursor and cursor[0] <= a < cursor[1]:
                style = style + CURSOR_STYLE
            for span in opening_order(leads_at.get(a, ())):
                lead_style = base + (span.tag_style or span.style)
                if span in picked:
                    lead_style = lead_style + CURSOR_STYLE
                segments.append(Segment(span.edges[0], lead_style))
            piece = display[a:b]
            if piece:
                segments.append(Segment(piece, style))
            for span in closing_order(tags_at.get(b, ())):
                tag_style = base + (span.tag_style or span.style)
                if span in picked:
                    tag_style = tag_style + CURSOR_STYLE
                segments.append(Segment(tag_text(span, self.show_edges), tag_style))
                hint = hints.get(span.name)
                if hint:
                    # Cells of its own after the tag: the text and the tag stay readable.
                    segments.append(Segment(f"[{hint}]", base + HINT_STYLE))
        strip = Strip(segments)
        return strip.adjust_cell_length(width, base)

    # -- mouse ----------------------------------------------------------------------

    def on_mouse_down(self, event: events.MouseDown) -> None:
        offset = self.offset_at(event.x, event.y)
        if offset is None:
            return
        self._drag_anchor = offset
        self.capture_mouse()
        self.focus()
        self.post_message(self.Clicked(self, offset))

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag_anchor is None or not event.button:
            return
        offset = self.offset_at(event.x, event.y)
        if offset is not None and offset != self._drag_anchor:
            self.post_message(self.Dragged(self, self._drag_anchor, offset))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._drag_anchor = None
        self.release_mouse()
