"""``AnnotatedArticle``: the article view that owns the cursor and the selection.

The habit of toolong's ``LogLines``: the widget that shows the text owns its cursor
and its movement keys, and posts a message up (to its screen) when what is selected
changes.  The
screen never keeps a copy of the selection; it asks :attr:`AnnotatedArticle.selection`
when a key acts, and sets a new one (:meth:`select_entity`, :meth:`select_range`,
:meth:`follow`) after every edit, find, document switch and undo.

A :class:`Selection` is a plain value: the range a label key labels and the entity
it started from, if any (Tab, a click, the entity list, the cursor inside an entity,
``f``).  A selection that did not start from an entity (a find, arrows, Shift+arrows
from a bare token) has no origin, so a label key on it never edits an existing span:
the session adds a span (overlapping layer) or merges the spans it covers (flat).

The widget reads the open document's tokens and span index (the session's, handed
down with :meth:`show_document`); it edits nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual.binding import BindingType
from textual.message import Message

from annotations.layer import SpanIndex
from annotations.models import Span
from annotations.session import Tokens

from ..bindings import ARTICLE_BINDINGS
from .article_view import ArticleView, DisplaySpan


@dataclass(frozen=True)
class Selection:
    """What a label key acts on: ``start``-``end``, and the entity it started from."""

    start: int
    end: int
    origin: Span | None = None

    @property
    def is_entity(self) -> bool:
        """The selection is exactly the entity it started from."""
        return self.origin is not None and self.origin.key == (self.start, self.end)


class AnnotatedArticle(ArticleView):
    """An :class:`ArticleView` with a token cursor, a selection and the keys that move them."""

    BINDINGS: ClassVar[list[BindingType]] = list(ARTICLE_BINDINGS)

    class SelectionChanged(Message):
        """The cursor or the selection moved (``selection`` is the new one)."""

        def __init__(self, article: AnnotatedArticle, selection: Selection) -> None:
            super().__init__()
            self.article = article
            self.selection = selection

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's keyword
        super().__init__(id=id)
        self.tokens = Tokens("")
        self.index = SpanIndex()
        self.cur = 0  # the cursor token
        self.range_anchor: int | None = None  # the other end of a selected token range
        self.origin: Span | None = None  # the entity a token range started from
        self._pick: tuple[int, int] = (-1, 0)  # (cursor offset, which nested span)
        # Edge marks: shown in an overlapping layer unless the user said otherwise.
        self.edges_chosen: bool | None = None

    # -- what is selected ----------------------------------------------------------

    def show_document(self, text: str, spans: Iterable[DisplaySpan], tokens: Tokens,
                      index: SpanIndex) -> None:
        """Show a new document with the cursor on its first token, nothing selected."""
        self.tokens, self.index = tokens, index
        self.show_edges = (index.allows_overlap if self.edges_chosen is None
                           else self.edges_chosen)
        self.load(text, spans)
        self.cur, self.range_anchor, self.origin, self._pick = 0, None, None, (-1, 0)

    def token_range(self) -> tuple[int, int]:
        """The character range of the cursor token, or of the selected tokens."""
        if self.range_anchor is None:
            return self.tokens.spans[self.cur]
        return self.tokens.range(self.range_anchor, self.cur)

    def entity_at_cursor(self) -> Span | None:
        """The entity at the cursor token: with nested spans the innermost, or the one
        ``f`` has cycled to."""
        start = self.token_range()[0]
        spans = self.index.all_at(start)
        if not spans:
            return None
        if self._pick[0] != start:
            self._pick = (start, 0)
        return spans[self._pick[1] % len(spans)]

    @property
    def selection(self) -> Selection:
        """A token range (with the entity it started from), else the entity at the
        cursor, else the cursor token."""
        if self.range_anchor is None:
            entity = self.entity_at_cursor()
            if entity is not None:
                return Selection(entity.start, entity.end, entity)
            return Selection(*self.tokens.spans[self.cur])
        return Selection(*self.tokens.range(self.range_anchor, self.cur), self.origin)

    @property
    def is_range(self) -> bool:
        return self.range_anchor is not None

    def entity_selected(self) -> Span | None:
        """The one entity the selection is, if it is one: the entity at the cursor, or
        the entity Tab, a click or the list selected (not the spans nested in it)."""
        if self.range_anchor is None:
            return self.entity_at_cursor()
        selection = self.selection
        if selection.is_entity and selection.origin is not None:
            return self.index.get(selection.origin.ref)
        return None

    def entities(self) -> list[Span]:
        """The entities the selection acts on: the one at the cursor, the one selected
        (Tab, a click in the list: not the spans nested in it), or every entity a token
        range overlaps."""
        entity = self.entity_selected()
        if entity is not None or self.range_anchor is None:
            return [entity] if entity else []
        return self.index.overlapping(*self.token_range())

    # -- setting it ------------------------------------------------------------------

    def select_tokens(self, anchor: int | None, cur: int, origin: Span | None = None,
                      scroll: bool = True) -> None:
        """Select tokens ``anchor``..``cur`` (only the cursor token: ``anchor`` None);
        ``origin`` is the entity the range starts from, if any."""
        self.range_anchor, self.cur = anchor, cur
        self.origin = origin if anchor is not None else None
        self._paint(scroll)

    def select_range(self, start: int, end: int, origin: Span | None = None,
                     scroll: bool = True) -> None:
        """Select the tokens covering ``start``-``end`` (a find, a label just typed)."""
        first, last = self.tokens.covering(start, end)
        self.select_tokens(first, last, origin, scroll)

    def select_entity(self, span: Span) -> None:
        self.select_range(span.start, span.end, span)

    def place_cursor(self, offset: int, scroll: bool = True) -> None:
        """The cursor on the token at ``offset``, nothing selected."""
        self.select_tokens(None, self.tokens.at(offset), scroll=scroll)

    def follow(self, removed: Iterable[Span], added: Iterable[Span]) -> None:
        """Re-derive the selection after an edit: an origin the edit replaced by one span
        follows it there; an origin the edit took away leaves a plain range."""
        origin = self.origin
        if origin is None:
            self._paint(scroll=False)
            return
        removed, added = list(removed), list(added)
        current = self.index.get(origin.ref)  # the entity as it is now (its state may differ)
        if current is None:
            origin = added[0] if (len(added) == 1 and origin in removed) else None
        else:
            origin = current
        if origin is not None:
            self.select_entity(origin)
        else:
            self.select_tokens(self.range_anchor, self.cur)

    def _paint(self, scroll: bool) -> None:
        """Show the selection (a cursor inside an entity lights up the entity) and say so."""
        selection = self.selection
        start, end = (selection.start, selection.end) if self.range_anchor is None else \
            self.token_range()
        self.set_cursor(start, end, scroll=scroll)
        # Straight to the screen rather than bubbling up through the containers: between
        # the hops the screen goes idle and draws, and the status line it then updates
        # costs a second drawing of the whole screen for the same key.
        self.screen.post_message(self.SelectionChanged(self, selection))

    def _refuse(self, message: str) -> None:
        self.app.bell()
        self.notify(message, timeout=2, markup=False)

    # -- the keys ----------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        tokens = self.tokens
        base = self.cur
        if self.range_anchor is not None:
            ends = (self.range_anchor, self.cur)
            base = max(ends) if step > 0 else min(ends)
        elif not self.index.allows_overlap:
            # From inside an entity a step leaves the entity rather than its current token
            # (with nested spans a step is a token, so the spans inside can be reached).
            span = self.index.at(tokens.spans[self.cur][0])
            if span is not None:
                first, last = tokens.covering(span.start, span.end)
                base = last if step > 0 else first
        self.select_tokens(None, max(0, min(base + step, len(tokens) - 1)))

    def _selected_tokens(self) -> tuple[int, int]:
        """First and last token of the selection, else of the entity at the cursor,
        else the cursor token."""
        if self.range_anchor is not None:
            first, last = sorted((self.range_anchor, self.cur))
            return first, last
        span = self.index.at(self.tokens.spans[self.cur][0])
        if span is not None:
            return self.tokens.covering(span.start, span.end)
        return self.cur, self.cur

    def action_edge(self, edge: str, step: int) -> None:
        """Move one edge of the selection by a token: the end (Shift+arrows) or the start
        (Alt+arrows, < and >).  A selection never gets shorter than one token; one that
        started from an entity keeps it (a label key then resizes that entity)."""
        origin = self.origin if self.range_anchor is not None else self.entity_at_cursor()
        first, last = self._selected_tokens()
        if edge == "end":
            last += step
        else:
            first += step
        if last < first:
            self._refuse("The selection is one token: grow it with Shift+→ or Alt+←")
            return
        if first < 0 or last >= len(self.tokens):
            self._refuse("The selection is at the edge of the article")
            return
        self.select_tokens(first, last, origin)

    def _move_lines(self, lines: int, page: bool = False) -> None:
        start = self.tokens.spans[self.cur][0]
        line = self.line_of(start)
        target = max(0, min(line + lines, self.line_count - 1))
        if page:
            # The text moves a page and the cursor keeps its place on the screen, from the
            # first press (a cursor at the top would otherwise first walk down the page).
            self.scroll_to(y=self.scroll_y + (target - line), animate=False, immediate=True)
        self.select_tokens(None, self.tokens.at(self.offset_at_column(target,
                                                                      self.column_of(start))))

    def action_move_line(self, step: int) -> None:
        self._move_lines(step)

    def action_move_page(self, step: int) -> None:
        self._move_lines(step * max(self.scrollable_content_region.height - 1, 1), page=True)

    def action_move_edge(self, step: int) -> None:
        self.select_tokens(None, 0 if step < 0 else len(self.tokens) - 1)

    def action_next_entity(self, step: int) -> None:
        """Tab and Shift+Tab: the next or previous entity, outer before inner (see
        annotations.layer.visit_order), from the entity selected, else the cursor."""
        current = self.selection.origin
        if current is not None:
            current = self.index.get(current.ref)
        target = self.index.step(self.token_range()[0], step, current)
        if target is None:
            self._refuse("No more entities this way")
            return
        self.select_entity(target)

    def action_toggle_edges(self) -> None:
        """Show or hide the marks at the edges of the spans (``⟦`` ... ``⟧``): on by
        default where spans nest, so that which label belongs to which extent reads
        without colour."""
        self.edges_chosen = not self.show_edges
        self.set_show_edges(self.edges_chosen)

    def action_cycle_spans(self) -> None:
        """Nested spans: the next of the entities at the cursor, innermost first."""
        start = self.token_range()[0]
        spans = self.index.all_at(start) if self.index.allows_overlap else []
        if len(spans) < 2:
            self._refuse("Only one entity here: f cycles through nested ones")
            return
        self._pick = (start, (self._pick[1] + 1) % len(spans) if self._pick[0] == start else 1)
        self.select_tokens(None, self.tokens.at(start))
