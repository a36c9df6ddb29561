"""The side panel: the document's entities and relations.

Choosing an entity moves the article cursor to it; in the relation list,
Delete removes the highlighted relation and ``v`` reverses its direction.  The
panel only posts messages; the screen makes the edits.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from annotations.describe import shown
from annotations.layer import SpanRef, changed_run, holds, visit_order
from annotations.models import Annotation, Relation, Span
from annotations.terminal import visible

STATE_MARK = {"suggested": "?", "confirmed": " ", "changed": "~", "bulk_confirmed": "·"}


def _short(text: str, width: int = 28) -> str:
    """One line of article text, control characters made visible, cut to ``width``."""
    text = visible(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def entity_row(span: Span, text: str, depth: int, colour: str, base: Style) -> list[Segment]:
    """One row of the entity list: the state mark, then, indented two cells for each
    span holding this one (at most four levels deep), the label and the text."""
    return [
        Segment(STATE_MARK.get(span.state, " "), base + Style(color="yellow", bold=True)),
        *([Segment("  " * min(depth, 4), base)] if depth else []),
        Segment(f"{visible(span.label):<9}"[:9], base + Style.parse(f"bold {colour}")),
        Segment(" " + _short(shown(span.text_in(text))), base),
    ]


class RelationList(OptionList):
    """Relations of the document; Delete removes, ``v`` reverses, ``l`` relabels the
    highlighted one (the screen makes the edit)."""

    BINDINGS = [
        Binding("d,delete,backspace", "delete_relation", "Delete relation",
                tooltip="Delete the highlighted relation", id="relation-delete"),
        Binding("v", "reverse_relation", "Reverse",
                tooltip="Swap head and child of the highlighted relation", id="relation-reverse"),
        Binding("l", "relabel_relation", "Relabel",
                tooltip="Give the highlighted relation another label", id="relation-relabel"),
        Binding("escape", "leave", "Back to article", id="relation-leave"),
    ]

    class Delete(Message):
        def __init__(self, relation: Relation) -> None:
            super().__init__()
            self.relation = relation

    class Reverse(Message):
        def __init__(self, relation: Relation) -> None:
            super().__init__()
            self.relation = relation

    class Relabel(Message):
        def __init__(self, relation: Relation) -> None:
            super().__init__()
            self.relation = relation

    relations: list[Relation] = []

    def _highlighted_relation(self) -> Relation | None:
        if self.highlighted is None or not 0 <= self.highlighted < len(self.relations):
            return None
        return self.relations[self.highlighted]

    def action_delete_relation(self) -> None:
        relation = self._highlighted_relation()
        if relation is not None:
            self.post_message(self.Delete(relation))

    def action_reverse_relation(self) -> None:
        relation = self._highlighted_relation()
        if relation is not None:
            self.post_message(self.Reverse(relation))

    def action_relabel_relation(self) -> None:
        relation = self._highlighted_relation()
        if relation is not None:
            self.post_message(self.Relabel(relation))

    def action_leave(self) -> None:
        self.screen.focus_next("ArticleView")




class EntityList(ScrollView, can_focus=True, inherit_bindings=False):
    """The entity rows as a Line-API list: only visible rows are rendered, so
    replacing the rows after an edit costs little even with thousands of entities."""

    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False, id="entities-up"),
        Binding("down", "move(1)", "Down", show=False, id="entities-down"),
        Binding("enter", "choose", "Go to entity", id="entities-choose"),
        Binding("escape", "leave", "Back to article", id="entities-leave"),
    ]
    DEFAULT_CSS = "EntityList { background: $surface; }"

    class Chosen(Message):
        """An entity chosen in the list (``span``, at ``start``-``end``)."""

        def __init__(self, span: Span) -> None:
            super().__init__()
            self.span = span
            self.start = span.start
            self.end = span.end

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual keyword
        super().__init__(id=id)
        self.rows: list[Span] = []
        self.text = ""
        self.colours: dict[str, str] = {}
        self.highlighted = 0  # a row on screen (rows are drawn in visit order)
        self._longest = 0  # at least the length of the longest span: how far holders reach
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(500)

    def set_rows(self, spans: list[Span], text: str, colours: dict[str, str],
                 run: tuple[int, int] | None = None) -> None:
        """Show ``spans``; rows are formatted only when they are drawn, and after an edit
        only the visible rows from the first changed one are redrawn.  ``run``: how many
        rows before and after the change are the same (the change says), when known."""
        old = self.rows
        same_page = text is self.text and colours == self.colours
        # The session's own list, not a copy: an annotation's span list is never changed
        # in place (an edit makes a new one), and a copy of a long layer costs on every key.
        self.rows, self.text, self.colours = spans, text, colours
        self.highlighted = min(self.highlighted, max(len(spans) - 1, 0))
        if len(spans) != len(old):
            self._set_row_count(len(spans))
        if not same_page:
            self._longest = max((s.end - s.start for s in spans), default=0)
            self.refresh()
            return
        prefix, suffix = run if run is not None and sum(run) <= min(len(old), len(spans)) \
            else changed_run(old, self.rows)
        # Never lowered on an edit: still a bound, and the cost follows the change.
        self._longest = max((s.end - s.start for s in self.rows[prefix:len(self.rows) - suffix]),
                            default=self._longest)
        last = (len(self.rows) - suffix) if len(self.rows) == len(old) else len(self.rows)
        top = int(self.scroll_offset.y)
        first, stop = max(prefix, top), min(max(last, prefix + 1),
                                            top + self.scrollable_content_region.height)
        if first < stop:
            self.refresh_lines(first, stop - first)

    def _set_row_count(self, count: int) -> None:
        """Make the list ``count`` rows long without laying out the whole screen.

        Setting ``virtual_size`` lays out every widget (it is a layout reactive), so an
        add or a delete redrew the whole screen and sent a full-screen frame to the
        browser: about 4 ms of CPU a key at 120x40. Only the scrollbar depends on the
        length, and Textual's own ``show_vertical_scrollbar`` reactive still lays out
        when the scrollbar appears or goes; otherwise it is updated in place (the step
        Textual itself takes when a size changes without a layout, ``Widget._size_updated``).
        """
        size = Size(self.size.width, count)
        if not self.is_mounted or not self.container_size:
            self.virtual_size = size
            return
        self.set_reactive(Widget.virtual_size, size)
        self._scroll_update(size)

    # Rows are the spans in visit order (annotations.layer.visit_order: an outer span
    # before the spans nested in it), each indented by its depth.  That order differs
    # from the stored one (``rows``) only among spans starting together, so a row is
    # found from its group of such spans, and only the rows drawn are ordered.

    def _group(self, index: int) -> tuple[int, list[Span]]:
        """Where the spans starting with ``rows[index]`` begin, and them in visit order."""
        rows = self.rows
        start = rows[index].start
        lo = index
        while lo and rows[lo - 1].start == start:
            lo -= 1
        hi = index + 1
        while hi < len(rows) and rows[hi].start == start:
            hi += 1
        return lo, visit_order(rows[lo:hi])

    def shown_at(self, row: int) -> Span:
        """The span drawn at ``row``."""
        lo, group = self._group(row)
        return group[row - lo]

    def row_of(self, index: int) -> int:
        """The row where ``rows[index]`` (the session's order) is drawn."""
        lo, group = self._group(index)
        return lo + group.index(self.rows[index])

    def depth(self, span: Span) -> int:
        """How many spans hold ``span`` (annotations.layer.holds): its indentation."""
        rows = self.rows
        first = bisect_left(rows, span.start - self._longest, key=lambda s: s.start)
        last = bisect_left(rows, span.start + 1, key=lambda s: s.start)
        return sum(holds(other, span) for other in rows[first:last])

    def render_line(self, y: int) -> Strip:
        index = y + int(self.scroll_offset.y)
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not 0 <= index < len(self.rows):
            return Strip.blank(width, base)
        span = self.shown_at(index)
        depth = self.depth(span)
        selected = index == self.highlighted
        key = (span, depth, width, selected, self.has_focus, base,
               self.colours.get(span.label, ""))
        strip = self._cache.get(key)
        if strip is None:
            strip = Strip(entity_row(span, self.text, depth, self.colours.get(span.label, ""),
                                     base)).adjust_cell_length(width, base)
            if selected:
                strip = strip.apply_style(Style(reverse=True) if self.has_focus
                                          else Style(bgcolor="grey23"))
            self._cache[key] = strip
        return strip

    def show_span(self, index: int | None) -> None:
        """Highlight the row of the entity at the article's cursor (``None``: keep)."""
        if index is None or not 0 <= index < len(self.rows):
            return
        index = self.row_of(index)
        if index == self.highlighted:
            return
        old, self.highlighted = self.highlighted, index
        self.refresh_line(old)
        self.refresh_line(index)
        self.scroll_to_region_line(index)

    def action_move(self, step: int) -> None:
        if not self.rows:
            return
        old = self.highlighted
        self.highlighted = max(0, min(old + step, len(self.rows) - 1))
        self.refresh_line(old)
        self.refresh_line(self.highlighted)
        self.scroll_to_region_line(self.highlighted)

    def scroll_to_region_line(self, index: int) -> None:
        """Keep row ``index`` visible; a row out of sight comes to the middle, so that
        walking the entities scrolls the list once a half page, not on every step
        (each scroll repaints the whole list)."""
        top = int(self.scroll_offset.y)
        height = self.scrollable_content_region.height
        if not top <= index < top + height:
            self.scroll_to(y=max(index - height // 2, 0), animate=False, immediate=True)

    def action_choose(self) -> None:
        if self.rows:
            self.post_message(self.Chosen(self.shown_at(self.highlighted)))

    def action_leave(self) -> None:
        self.screen.focus_next("ArticleView")

    def on_click(self, event: events.Click) -> None:
        index = event.y + int(self.scroll_offset.y)
        if 0 <= index < len(self.rows):
            old, self.highlighted = self.highlighted, index
            self.refresh_line(old)
            self.refresh_line(index)
            self.action_choose()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class SidePanel(Vertical):
    DEFAULT_CSS = """
    SidePanel { width: 32%; max-width: 42; border-left: vkey $primary; padding: 0 0 0 1; }
    SidePanel > Label { text-style: bold; color: $accent; }
    SidePanel #entities { height: 2fr; }
    SidePanel #relations { height: 1fr; }
    SidePanel OptionList { border: none; padding: 0; background: $surface; }
    SidePanel EntityList { border: none; padding: 0; }
    """

    def __init__(self, *children: Widget, **options: Any) -> None:
        super().__init__(*children, **options)
        # What the titles and the relation rows were drawn from: an edit that changes
        # neither (a relabel, a boundary fix) redraws neither.
        self._titles: dict[str, str] = {}
        self._relations_drawn: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Label("Entities", id="entities-title")
        yield EntityList(id="entities")
        yield Label("Relations", id="relations-title")
        yield RelationList(id="relations")

    @cached_property
    def entity_list(self) -> EntityList:
        """The entity list (composed with the panel: looked up once, not on every edit)."""
        return self.query_one(EntityList)

    def show(self, annotation: Annotation, text: str, colours: dict[str, str],
             problems: Mapping[tuple[SpanRef, SpanRef, str], str] = {},  # noqa: B006
             run: tuple[int, int] | None = None) -> None:
        """Fill the lists from ``annotation``, each entity in its label's colour in
        ``colours`` (keeping the highlighted rows); relations in ``problems`` (their
        labels no longer fit) are marked.  ``run``: see :meth:`EntityList.set_rows`."""
        self.entity_list.set_rows(annotation.spans, text, colours, run)
        self._set_title("entities-title",
                        f"Entities ({len(annotation.spans)}) ?new ~chg ·bulk")
        invalid = f", {len(problems)} not fitting" if problems else ""
        self._set_title("relations-title", f"Relations ({len(annotation.relations)}{invalid})")
        drawn = (text, tuple(annotation.relations), frozenset(problems))
        if drawn == self._relations_drawn:
            return
        self._relations_drawn = drawn
        relations = self.query_one(RelationList)
        kept = relations.highlighted
        relations.relations = list(annotation.relations)
        rows = []
        for rel in annotation.relations:
            row = Text("⚠ " if rel.key in problems else "", "bold red")
            row.append(_short(text[rel.head[0]:rel.head[1]], 14), "bold")
            row.append(f" {visible(rel.label)} ", "reverse red" if rel.key in problems
                       else "reverse")
            row.append(" ")
            row.append(_short(text[rel.child[0]:rel.child[1]], 14), "bold")
            rows.append(Option(row))
        relations.set_options(rows)
        if kept is not None and rows:
            relations.highlighted = min(kept, len(rows) - 1)

    def _set_title(self, title_id: str, title: str) -> None:
        if self._titles.get(title_id) != title:
            self._titles[title_id] = title
            self.query_one(f"#{title_id}", Label).update(title, layout=False)
