"""The annotate screen: the article, the side panel, a status line and the footer.

The screen holds no editing rule: each key is one call on the app's
:class:`~annotations.session.EditingSession`, and the :class:`~annotations.session.Change`
it returns is rendered (only the spans that changed are redrawn).  What the screen
keeps itself is what only a screen has: the cursor, the selection, relation mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Key
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from annotations.layer import SpanRef, stacked
from annotations.models import Annotation, LabelScheme, Span
from annotations.names import label_colours, safe_colour, scheme_problems
from annotations.session import SAVE_ERRORS, Change, EditingSession, UnreviewedSuggestions
from annotations.terminal import visible

from ..bindings import ANNOTATE_BINDINGS, LABEL_BINDINGS
from ..messages import DocumentsPredicted, ModelReady, ModelStatus
from ..widgets.article_view import ArticleView, DisplaySpan
from ..widgets.side_panel import EntityList, RelationList, SidePanel
from .help import HelpScreen
from .pickers import (
    DocumentPicker,
    FindScreen,
    LabelPicker,
    NotesScreen,
    RelationPicker,
    UnreviewedPicker,
)

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from ..app import AnnotatorApp

HINT_LETTERS = "asdfghjklqwertyuiopzxcvbnm"
NARROW = 100  # columns below which the side panel starts hidden


def hint_codes(count: int) -> list[str]:
    """``count`` hint codes: single letters while they last, else two letters each (as
    vimium does), so every entity on screen gets one."""
    if count <= len(HINT_LETTERS):
        return list(HINT_LETTERS[:count])
    return [a + b for a in HINT_LETTERS for b in HINT_LETTERS][:count]
# Seconds of quiet after which the footer shows which keys can act (see _refresh_bindings).
FOOTER_REFRESH_DELAY = 0.25


_LOOKS: dict[tuple[str, str, bool, bool, bool], tuple[str, Style, Style]] = {}
LINKED = "•"  # after the label of an entity that has relations
# Added to the text of a span stacked on others in an overlapping layer (one that starts
# inside another: annotations.layer.stacked), so that its extent shows over theirs.
STACKED_STYLE = Style(underline=True, italic=True)


def span_look(label: str, colour: str, suggested: bool, linked: bool = False,
              stacked: bool = False) -> tuple[str, Style, Style]:
    """Tag text, text style and tag style of a span; shared objects, so hashing is cheap."""
    key = (label, colour, suggested, linked, stacked)
    look = _LOOKS.get(key)
    if look is None:
        mark = LINKED if linked else ""
        if suggested:
            look = (f" {label}?{mark}", Style(color=colour, underline=True, bold=True),
                    Style(color=colour, italic=True))
        else:
            look = (f" {label}{mark}", Style(color="#ffffff", bgcolor=colour),
                    Style(color="#000000", bgcolor=colour, bold=True))
        if stacked:
            look = (look[0], look[1] + STACKED_STYLE, look[2])
        _LOOKS[key] = look
    return look


def display_span(span: Span, colours: dict[str, str], linked: bool = False,
                 stacked: bool = False) -> DisplaySpan:
    """How the annotator paints a span: confirmed ones filled, suggestions underlined, a
    dot after the label of one that has relations, and a span stacked on others in an
    overlapping layer underlined in italics."""
    tag, style, tag_style = span_look(visible(span.label),
                                      colours.get(span.label, "#7f7f7f"),
                                      span.state == "suggested", linked, stacked)
    return DisplaySpan(span.start, span.end, tag, style, tag_style, span.state)


def linked_keys(annotation: Annotation) -> set[SpanRef]:
    """The ends of the annotation's relations, as the relations name them."""
    return {key for rel in annotation.relations for key in (rel.head, rel.child)}


def is_linked(span: Span, linked: set[SpanRef]) -> bool:
    return span.key in linked or span.ref in linked


def display_spans(annotation: Annotation, scheme: LabelScheme) -> list[DisplaySpan]:
    colours = label_colours(scheme)
    linked = linked_keys(annotation)
    on_others = stacked(annotation.spans) if scheme.overlapping else set()
    return [display_span(span, colours, is_linked(span, linked), span.ref in on_others)
            for span in annotation.spans]


class AnnotateScreen(Screen[None]):
    """Keys to session calls; changes to the view."""

    BINDINGS: ClassVar[list[BindingType]] = [*ANNOTATE_BINDINGS]
    DEFAULT_CSS = """
    AnnotateScreen #legend { height: 1; background: $panel; padding: 0 1; }
    AnnotateScreen #status { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    AnnotateScreen #main { height: 1fr; }
    AnnotateScreen ArticleView { width: 1fr; }
    """

    def __init__(self, app_state: AnnotatorApp) -> None:
        super().__init__()
        self.state = app_state
        self.session: EditingSession = app_state.session
        self.cur = 0
        self.selection_anchor: int | None = None
        self.relation_head: Span | None = None
        self.hint_spans: dict[str, Span] = {}
        self.last_find = ""
        self.model_text = ""
        self.mode_text = ""
        self._status_shown: Text | None = None
        self._bindings_shown: tuple[object, ...] = ()
        self._bindings_timer: Timer | None = None
        # The look of each shown span by its offsets, and how many spans each source has
        # (for the header), kept in step with the changes the session returns.
        self._shown: dict[tuple[int, int, str], DisplaySpan] = {}
        # In an overlapping layer, the spans drawn stacked on others (by their ref).
        self._stacked: set[SpanRef] = set()
        self._source_counts: dict[str, int] = {}
        self._unreviewed = 0
        # (accepted, total) documents: counted when a document opens or changes status,
        # not per key (it reads every document's status).
        self._progress = (0, 0)
        self._panel_chosen = False  # the user showed or hid the side panel with a key
        self._hint_prefix = ""
        self._pick: tuple[int, int] = (-1, 0)  # (cursor offset, which nested span)
        # The entity a selection started from (Tab, a click, the entity list): in an
        # overlapping layer a label key fixes that entity rather than adding a span.
        self._origin: Span | None = None

    # -- layout --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="✎")
        yield Static(id="legend")
        with Horizontal(id="main"):
            yield ArticleView(id="article")
            yield SidePanel()
        yield Static(id="status")
        yield Footer(compact=True)

    @property
    def view(self) -> ArticleView:
        return self.query_one(ArticleView)

    @property
    def doc_id(self) -> str:
        return self.session.doc_id

    @property
    def text(self) -> str:
        return self.session.text

    @property
    def annotation(self) -> Annotation:
        return self.session.annotation

    def on_mount(self) -> None:
        store = self.session.store
        problems = scheme_problems(self.session.scheme, extractors=store.extractors(),
                                   annotators=store.annotators())
        if problems:
            # Such names are shown escaped and such colours grey; the store still opens.
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            self.notify("The store holds names or colours the rules refuse: "
                        + "; ".join(visible(p) for p in problems[:3]) + more,
                        severity="warning", timeout=12, markup=False)
        self._show_legend()
        if len(self.session):
            self.open_document(self.state.start_index)
        else:
            self.mode_text = "The store holds no documents; import some with `reader import`."
            self._show_status()
        self.view.focus()

    def _show_legend(self) -> None:
        legend = Text(no_wrap=True, overflow="ellipsis")
        for label in self.session.scheme.entities:
            if label.key:
                legend.append(f"{label.key}", "bold reverse")
                legend.append(f" {visible(label.name)} ",
                              Style(color=safe_colour(label.colour), bold=True))
        hidden = [label.name for label in self.session.scheme.entities if not label.key]
        if hidden:
            legend.append(f" l +{len(hidden)}", "dim")
        self.query_one("#legend", Static).update(legend, layout=False)

    # -- documents -----------------------------------------------------------

    def open_document(self, index: int) -> None:
        self.session.open(index)
        self._load_view()
        self.state.settle_memory()
        self.cur, self.selection_anchor = 0, None
        self._show_cursor()
        self._refresh_bindings()

    def _load_view(self) -> None:
        """Show the open document whole: text, every span, the side panel."""
        self.relation_head = None
        self.hint_spans = {}
        colours = self.session.colours
        self._shown = {}
        self._source_counts = {}
        self._unreviewed = 0
        self._progress = self.session.progress()
        linked = linked_keys(self.annotation)
        self._stacked = (stacked(self.annotation.spans) if self.session.allows_overlap
                         else set())
        for span in self.annotation.spans:
            self._shown[span.ref] = display_span(span, colours, is_linked(span, linked),
                                                 span.ref in self._stacked)
            self._source_counts[span.source] = self._source_counts.get(span.source, 0) + 1
            self._unreviewed += span.state == "suggested"
        self.view.load(self.text, self._shown.values())
        self._show_document()

    def render_change(self, change: Change | None, *, notify: bool = False,
                      cursor: bool = True) -> None:
        """Show what ``change`` did: the changed spans, the panel, the header, notices."""
        if change is None:
            return
        if change.reopened:
            self._load_view()
            self._select_tokens(None, self.session.tokens.at(
                min((s.start for s in change.added + change.removed), default=0)))
        else:
            colours = self.session.colours
            counts = self._source_counts
            linked = linked_keys(self.annotation) if (
                self.annotation.relations or change.relations_removed) else set()
            # Spans that gained or lost their last relation get their tag redrawn.
            touched = {key for rel in change.relations_added + change.relations_removed
                       for key in (rel.head, rel.child)}
            touched -= {ref for span in change.added + change.removed
                        for ref in (span.key, span.ref)}
            restyled = [span for span in (self.session.spans.get(key) for key in touched)
                        if span is not None]
            restyled += self._restack(change)
            removed = []
            restyled = list({span.ref: span for span in restyled}.values())
            for span in restyled:
                removed.append(self._shown.pop(span.ref))
            for span in change.removed:
                removed.append(self._shown.pop(span.ref))
                self._unreviewed -= span.state == "suggested"
                counts[span.source] -= 1
                if not counts[span.source]:
                    del counts[span.source]
            added = []
            on_others = self._stacked
            for span in restyled:
                added.append(display_span(span, colours, is_linked(span, linked),
                                          span.ref in on_others))
                self._shown[span.ref] = added[-1]
            for span in change.added:
                shown = self._shown[span.ref] = display_span(
                    span, colours, is_linked(span, linked), span.ref in on_others)
                self._unreviewed += span.state == "suggested"
                counts[span.source] = counts.get(span.source, 0) + 1
                added.append(shown)
            self.view.update_spans(removed, added)
            if change.status_changed:
                self._progress = self.session.progress()
            # The status line once per key: by the cursor, or by the caller that moves it.
            self._show_document(status=False)
            if cursor:
                self._show_cursor(scroll=False)
        for notice in change.notices:
            self.notify(visible(notice), severity="warning", timeout=5)
        if notify:
            self.notify(visible(change.description), timeout=2)
        self._refresh_bindings()

    def _restack(self, change: Change) -> list[Span]:
        """Bring ``self._stacked`` up to date after ``change``; the spans, not among those
        it added, that became stacked or stopped being so (they start inside an edited
        span: see annotations.layer.stacked)."""
        if not self.session.allows_overlap:
            return []
        index = self.session.spans
        for span in change.removed:
            self._stacked.discard(span.ref)
        for span in change.added:
            if index.is_stacked(span):
                self._stacked.add(span.ref)
            else:
                self._stacked.discard(span.ref)
        new = {span.ref for span in change.added}
        flipped = []
        for edited in (*change.removed, *change.added):
            for span in index.starting_in(edited.start, edited.end):
                if span.ref in new:
                    continue
                now = index.is_stacked(span)
                if now != (span.ref in self._stacked):
                    (self._stacked.add if now else self._stacked.discard)(span.ref)
                    flipped.append(span)
        return flipped

    def _show_document(self, status: bool = True) -> None:
        session = self.session
        state = session.status_of(self.doc_id)
        extractors = sorted(source for source in self._source_counts if source != "human")
        accepted, total = self._progress
        # What a user needs comes first, so that a narrow header cuts only the article's
        # title (shown after it, with its control characters made visible).
        title = (f"{session.index + 1}/{len(session)} · {state} · {accepted}/{total} accepted"
                 f" · {visible(', '.join(extractors)) or 'no suggestions'}")
        sub_title = visible(session.title)
        # Setting an unchanged title still repaints the header: compare first.
        if self.app.title != title:
            self.app.title = title
        if self.app.sub_title != sub_title:
            self.app.sub_title = sub_title
        self.query_one(SidePanel).show(self.annotation, self.text, session.colours,
                                       session.relation_problems())
        if status:
            self._show_status()

    # -- the cursor ----------------------------------------------------------

    def selection(self) -> tuple[int, int]:
        """The character range of the cursor token, or of the selected tokens."""
        tokens = self.session.tokens
        if self.selection_anchor is None:
            return tokens.spans[self.cur]
        return tokens.range(self.selection_anchor, self.cur)

    def _entity_at_cursor(self) -> Span | None:
        """The entity at the cursor token: with nested spans, the innermost, or the one
        ``f`` has cycled to."""
        start = self.selection()[0]
        if not self.session.allows_overlap:
            return self.session.span_at(start)
        spans = self.session.spans.all_at(start)
        if not spans:
            return None
        if self._pick[0] != start:
            self._pick = (start, 0)
        return spans[self._pick[1] % len(spans)]

    def spans_under_cursor(self) -> list[Span]:
        start, end = self.selection()
        if self.selection_anchor is None:
            span = self._entity_at_cursor()
            return [span] if span else []
        return self.session.overlapping(start, end)

    def action_cycle_spans(self) -> None:
        """Nested spans: the next of the entities at the cursor, innermost first."""
        start = self.selection()[0]
        spans = self.session.spans.all_at(start) if self.session.allows_overlap else []
        if len(spans) < 2:
            self.say("Only one entity here: f cycles through nested ones")
            return
        self._pick = (start, (self._pick[1] + 1) % len(spans) if self._pick[0] == start else 1)
        span = spans[self._pick[1]]
        self.selection_anchor = None
        self._origin = span
        self._show_cursor()
        self._refresh_bindings()

    def _show_cursor(self, scroll: bool = True) -> None:
        start, end = self.selection()
        under = self._entity_at_cursor() if end > start else None
        if self.selection_anchor is None and under is not None:
            # A cursor inside an entity lights up the whole entity: that is what acts.
            start, end = under.start, under.end
        self.view.set_cursor(start, end, scroll=scroll)
        # The other ends of that entity's relations, underlined where one reads.
        related: list[tuple[int, int]] = []
        if under is not None and self.annotation.relations:
            related = [(other[0], other[1]) for other in (
                self.session.other_end(rel, under) for rel in self.session.relations_of(under))]
        self.view.set_related(related)
        self._show_status()

    def _show_status(self) -> None:
        status = Text(no_wrap=True, overflow="ellipsis")
        if self.doc_id and not self.mode_text:
            # First, so that a narrow screen still shows what is left to review.
            status.append(f"{self._unreviewed} unreviewed",
                          "bold yellow" if self._unreviewed else "dim")
            status.append(" · ", "dim")
        if self.mode_text:
            status.append(self.mode_text, "bold yellow")
        elif self.doc_id:
            under = self.spans_under_cursor()
            start, end = self.selection()
            if self.selection_anchor is not None and not (
                    len(under) == 1 and under[0].key == (start, end)):
                # A selection that is not exactly an entity: what a label key would label.
                status.append("selection ", "bold")
                status.append(f"{visible(self.text[start:end])!r} {start}-{end}")
                if under:
                    status.append(f"  over {len(under)} entit{'y' if len(under) == 1 else 'ies'}"
                                  , "dim")
            elif under:
                span = under[0]
                status.append(visible(span.label), "bold")
                status.append(f" {visible(span.text_in(self.text))!r} "
                              f"{span.start}-{span.end}")
                state = (span.state if span.source == "human"
                         else f"{span.state} ({visible(span.source)})")
                status.append(f"  {state}", "dim")
                problems = self.session.relation_problems()
                for rel in self.session.relations_of(span):
                    # The entity's relations, both ways, so they are visible where one reads.
                    other = self.session.other_end(rel, span)
                    arrow = "→" if rel.head in (span.key, span.ref) else "←"
                    style = "bold red" if rel.key in problems else "bold magenta"
                    status.append(f"  {arrow} {visible(rel.label)} ", style)
                    status.append(repr(visible(self.text[other[0]:other[1]])))
                position = self.session.spans.position(span.ref)
                self.query_one(EntityList).show_span(position)
            else:
                start, end = self.selection()
                status.append(f"{start}-{end}", "dim")
        if self.model_text:
            status.append(f"   {self.model_text}", "italic cyan")
        if status != self._status_shown:
            # Only a changed status line is redrawn: it costs a repaint per key otherwise.
            self._status_shown = status
            self.query_one("#status", Static).update(status, layout=False)

    def _select_tokens(self, anchor: int | None, cur: int, scroll: bool = True) -> None:
        if anchor is None:
            self._origin = None
        self.selection_anchor, self.cur = anchor, cur
        self._show_cursor(scroll)
        self._refresh_bindings()

    def _select_span(self, start: int, end: int) -> None:
        first, last = self.session.tokens.covering(start, end)
        self._select_tokens(first, last)

    def action_move(self, step: int) -> None:
        tokens = self.session.tokens
        base = self.cur
        if self.selection_anchor is not None:
            ends = (self.selection_anchor, self.cur)
            base = max(ends) if step > 0 else min(ends)
        elif not self.session.allows_overlap:
            # From inside an entity, a step leaves the entity rather than its current token
            # (with nested spans, a step is a token, so the spans inside can be reached).
            span = self.session.span_at(tokens.spans[self.cur][0])
            if span is not None:
                first, last = tokens.covering(span.start, span.end)
                base = last if step > 0 else first
        self._select_tokens(None, max(0, min(base + step, len(tokens) - 1)))

    def _selected_tokens(self) -> tuple[int, int]:
        """First and last token of the selection, else of the entity under the cursor,
        else the cursor token."""
        tokens = self.session.tokens
        if self.selection_anchor is not None:
            first, last = sorted((self.selection_anchor, self.cur))
            return first, last
        span = self.session.span_at(tokens.spans[self.cur][0])
        if span is not None:
            return tokens.covering(span.start, span.end)
        return self.cur, self.cur

    def action_edge(self, edge: str, step: int) -> None:
        """Move one edge of the selection by a token: the end (Shift+arrows) or the start
        (Alt+arrows, < and >).  A selection never gets shorter than one token."""
        first, last = self._selected_tokens()
        if edge == "end":
            last += step
        else:
            first += step
        if last < first:
            self.say("The selection is one token: grow it with Shift+→ or Alt+←")
            return
        count = len(self.session.tokens)
        if first < 0 or last >= count:
            self.say("The selection is at the edge of the article")
            return
        self._select_tokens(first, last)

    def _move_lines(self, lines: int, page: bool = False) -> None:
        view = self.view
        tokens = self.session.tokens
        start = tokens.spans[self.cur][0]
        line = view.line_of(start)
        target = max(0, min(line + lines, view.line_count - 1))
        if page:
            # The text moves a page and the cursor keeps its place on the screen, from the
            # first press (a cursor at the top would otherwise first walk down the page).
            view.scroll_to(y=view.scroll_y + (target - line), animate=False, immediate=True)
        offset = view.offset_at_column(target, view.column_of(start))
        self._select_tokens(None, tokens.at(offset))

    def action_move_line(self, step: int) -> None:
        self._move_lines(step)

    def action_move_page(self, step: int) -> None:
        self._move_lines(step * max(self.view.scrollable_content_region.height - 1, 1),
                         page=True)

    def action_move_edge(self, step: int) -> None:
        self._select_tokens(None, 0 if step < 0 else len(self.session.tokens) - 1)

    def action_next_entity(self, step: int) -> None:
        start, end = self.selection()
        target = self.session.next_span(start, step)
        if target is None:
            self.say("No more entities this way")
            return
        self._select_span(target.start, target.end)
        self._origin = target

    # -- edits ---------------------------------------------------------------

    def run_edit(self, edit: object, *args: object, notify: bool = False,
                 nothing: str = "Nothing to change here", cursor: bool = True
                 ) -> Change | None:
        """Call a session edit and render its change; a refused save is a notice, and
        the screen keeps showing what the store holds.  ``nothing`` is said when the
        edit had nothing to do."""
        assert callable(edit)
        scheme = self.session.scheme
        try:
            change = edit(*args)
        except SAVE_ERRORS as err:
            self.notify(f"not saved: {visible(str(err))}", severity="error", timeout=10)
            return None
        if self.session.scheme is not scheme:
            self._show_legend()
        if change is None:
            self.say(nothing)
        self.render_change(change, notify=notify, cursor=cursor)
        return change

    def say(self, message: str) -> None:
        """A key that can do nothing here: a bell and a short notice saying why."""
        self.app.bell()
        self.notify(message, timeout=2, markup=False)

    def _label_range(self) -> tuple[int, int]:
        if self.selection_anchor is None:
            under = self.spans_under_cursor()
            if under:
                return under[0].start, under[0].end
        return self.selection()

    def apply_label(self, name: str) -> None:
        start, end = self._label_range()
        origin = self._origin if self.selection_anchor is not None else (
            self._entity_at_cursor())
        change = self.run_edit(self.session.label, start, end, name, origin, cursor=False)
        self._select_span(start, end)
        if change is not None and len(change.added) == 1:
            self._origin = change.added[0]

    def action_label_key(self, key: str) -> None:
        label = next((lab for lab in self.session.scheme.entities if lab.key == key), None)
        if label is None:
            self.notify(f"No label has key {key}; press l to choose one by name",
                        severity="warning")
            return
        self.apply_label(label.name)

    def action_label_picker(self) -> None:
        def chosen(name: str | None) -> None:
            if name:
                self.apply_label(name)

        self.app.push_screen(LabelPicker(self.session.scheme.entities), chosen)

    def action_delete_entity(self) -> None:
        if self.selection_anchor is None:
            under = self._entity_at_cursor()
            if under is not None:  # only that one, not the spans it nests in
                self.run_edit(self.session.delete_span, under)
                return
        start, end = self._label_range()
        self.run_edit(self.session.delete, start, end, nothing="No entity here to delete")

    def action_confirm_entity(self) -> None:
        """Confirm what is under the cursor, then go on to the next unreviewed suggestion."""
        start, end = self._label_range()
        under = self._entity_at_cursor() if self.selection_anchor is None else None
        if under is not None:
            if under.state in ("suggested", "bulk_confirmed"):
                self.run_edit(self.session.confirm_spans, [under], "confirm suggestion")
        elif any(s.state in ("suggested", "bulk_confirmed")
                 for s in self.session.overlapping(start, end)):
            self.run_edit(self.session.confirm, start, end)
        following = self.session.next_unreviewed(start)
        if following is None:
            self.notify("No unreviewed suggestion left in this document", timeout=2)
        else:
            self._select_span(following.start, following.end)

    def action_confirm_label(self) -> None:
        under = self.spans_under_cursor()
        if not under:
            self.say("Put the cursor on an entity: C confirms every suggestion of its label")
            return
        label = under[0].label
        change = self.run_edit(self.session.confirm_label, label,
                               nothing=f"No unreviewed {visible(label)} suggestion left")
        if change is not None:
            self.notify(f"Confirmed {len(change.added)} {visible(label)}", timeout=2,
                        markup=False)

    def action_occurrences(self) -> None:
        under = self.spans_under_cursor()
        if not under:
            self.say("Put the cursor on an entity: o offers its text's other occurrences")
            return
        change = self.run_edit(self.session.label_occurrences, under[0],
                               nothing="No other occurrence of this text to offer")
        if change is not None and change.added:
            first = change.added[0]
            self._select_span(first.start, first.end)

    def action_toggle_panel(self) -> None:
        panel = self.query_one(SidePanel)
        panel.display = not panel.display
        self._panel_chosen = True

    def on_resize(self, event: events.Resize) -> None:
        # Below 100 columns the article needs the room; b shows the panel again.
        if not self._panel_chosen:
            self.query_one(SidePanel).display = event.size.width >= NARROW

    # -- relations -----------------------------------------------------------

    def action_relation_start(self) -> None:
        under = self.spans_under_cursor()
        if not under:
            self.say("Put the cursor on an entity to start a relation from it")
            return
        head = under[0]
        self.relation_head = head
        self.view.set_mark(head.key)
        view_start, view_end = self.view.visible_range()
        on_screen = [s for s in self.session.overlapping(view_start, view_end)
                     if s.key != head.key]
        self.hint_spans = dict(zip(hint_codes(len(on_screen)), on_screen, strict=True))
        self._hint_prefix = ""
        self.view.set_hints({span.start: letter for letter, span in self.hint_spans.items()})
        self.mode_text = (f"Esc cancels · relation from {visible(head.label)} "
                          f"{visible(head.text_in(self.text))!r}: press an entity's "
                          "letter, or Tab to it and Enter")
        self._show_status()
        self._refresh_bindings()

    def _end_relation_mode(self) -> None:
        self.relation_head = None
        self.hint_spans = {}
        self.view.set_mark(None)
        self.view.set_hints({})
        self.mode_text = ""
        self._show_status()
        self._refresh_bindings()

    def on_key(self, event: Key) -> None:
        if self.relation_head is None:
            self._explain_dimmed_key(event)
            return
        if not event.character:
            return
        if not (event.character.isalpha() and event.character.islower()):
            return
        event.stop()
        event.prevent_default()
        typed = self._hint_prefix + event.character
        if typed in self.hint_spans:
            self.choose_child(self.hint_spans[typed])
        elif any(code.startswith(typed) for code in self.hint_spans):
            self._hint_prefix = typed  # the first letter of a two-letter hint
        else:
            self._hint_prefix = ""
            self.say(f"No entity on screen has the hint {typed}")

    def action_relation_child(self) -> None:
        under = self.spans_under_cursor()
        if under:
            self.choose_child(under[0])

    def choose_child(self, child: Span) -> None:
        head = self.relation_head
        if head is None or child.key == head.key:
            return
        self._end_relation_mode()
        allowed = self.session.fitting_relation_labels(head, child)

        def chosen(label: str | None) -> None:
            if label:
                self.run_edit(self.session.add_relation, head, child, label)

        self.app.push_screen(
            RelationPicker((visible(head.text_in(self.text)), visible(head.label)),
                           (visible(child.text_in(self.text)),
                            visible(child.label)), allowed),
            chosen,
        )

    def action_cancel(self) -> None:
        if self.relation_head is not None:
            self._end_relation_mode()
        elif self.selection_anchor is not None:
            self._select_tokens(None, self.cur)

    def action_relations_panel(self) -> None:
        relations = self.query_one(RelationList)
        if relations.highlighted is None and relations.option_count:
            relations.highlighted = 0
        relations.focus()

    # Keys the footer shows dimmed do not run their action; what they would say instead.
    DIMMED_REASONS: ClassVar[dict[str, str]] = {
        "undo": "Nothing to undo (edits of earlier sessions stay as saved)",
        "redo": "Nothing to redo",
        "next-document": "This is the last document",
        "previous-document": "This is the first document",
        "find-next": "Nothing to find again: press / first",
    }

    def _explain_dimmed_key(self, event: Key) -> None:
        """A key whose binding is dimmed (it cannot act now) says why, instead of nothing.

        The screen sees the key before Textual looks up the bindings, which skips a
        dimmed one silently."""
        keymap = self.app._keymap
        for binding in ANNOTATE_BINDINGS:
            reason = self.DIMMED_REASONS.get(binding.id or "")
            if reason is None:
                continue
            keys = keymap.get(binding.id or "", binding.key).split(",")
            if event.key not in keys:
                continue
            action, _, args = binding.action.partition("(")
            parameters = tuple(int(a) for a in args.rstrip(")").split(",") if a.strip()
                               .lstrip("-").isdigit())
            if self.check_action(action, parameters) is None:
                event.stop()
                event.prevent_default()
                self.say(reason)
            return

    @on(RelationList.Delete)
    def _delete_relation(self, event: RelationList.Delete) -> None:
        self.run_edit(self.session.remove_relation, event.relation)

    @on(RelationList.Reverse)
    def _reverse_relation(self, event: RelationList.Reverse) -> None:
        self.run_edit(self.session.reverse_relation, event.relation)

    @on(RelationList.Relabel)
    def _relabel_relation(self, event: RelationList.Relabel) -> None:
        relation = event.relation
        head = self.session.spans.get(relation.head)
        child = self.session.spans.get(relation.child)
        if head is None or child is None:
            return
        allowed = [r for r in self.session.fitting_relation_labels(head, child)
                   if r.name != relation.label]

        def chosen(label: str | None) -> None:
            if label:
                self.run_edit(self.session.relabel_relation, relation, label)

        self.app.push_screen(
            RelationPicker((visible(head.text_in(self.text)), visible(head.label)),
                           (visible(child.text_in(self.text)),
                            visible(child.label)), allowed),
            chosen,
        )

    @on(EntityList.Chosen)
    def _entity_chosen(self, event: EntityList.Chosen) -> None:
        self._select_span(event.start, event.end)
        self.view.focus()

    # -- mouse ---------------------------------------------------------------

    @on(ArticleView.Clicked)
    def _clicked(self, event: ArticleView.Clicked) -> None:
        span = self.session.span_at(event.offset)
        if self.relation_head is not None and span is not None:
            self.choose_child(span)
        elif span is not None:
            self._select_span(span.start, span.end)
            self._origin = span
        else:
            self._select_tokens(None, self.session.tokens.at(event.offset), scroll=False)

    @on(ArticleView.Dragged)
    def _dragged(self, event: ArticleView.Dragged) -> None:
        tokens = self.session.tokens
        self._select_tokens(tokens.at(event.anchor), tokens.at(event.offset), scroll=False)

    # -- undo ----------------------------------------------------------------

    def action_undo(self) -> None:
        self.run_edit(self.session.undo, notify=True,
                      nothing="Nothing to undo (edits of earlier sessions stay as saved)")

    def action_redo(self) -> None:
        self.run_edit(self.session.redo, notify=True, nothing="Nothing to redo")

    # -- document status and navigation -------------------------------------

    def action_set_status(self, status: str) -> None:
        try:
            change = self.session.set_status(status)  # type: ignore[arg-type]
        except UnreviewedSuggestions as unreviewed:
            self._ask_about_unreviewed(unreviewed.spans)
            return
        except SAVE_ERRORS as err:
            self.notify(f"not saved: {visible(str(err))}", severity="error", timeout=10)
            return
        self._after_status(change, status)

    def _after_status(self, change: Change | None, status: str) -> None:
        if change is None:
            self.notify(f"This document is already {status}ed", timeout=2)
        else:
            self.render_change(change)
            self.notify(f"Document {self.session.index + 1} {status}ed", timeout=2)
        nxt = self.session.next_open()
        if nxt is not None:
            self.open_document(nxt)
        else:
            accepted, total = self.session.progress()
            self.notify(f"No open document left ({accepted}/{total} accepted)", timeout=4)

    def _ask_about_unreviewed(self, spans: list[Span]) -> None:
        labels = sorted({visible(s.label) for s in spans})

        def chosen(choice: str | None) -> None:
            if choice == "confirm":
                try:
                    change = self.session.set_status("accept", confirm_unreviewed=True)
                except SAVE_ERRORS as err:
                    self.notify(f"not saved: {visible(str(err))}", severity="error",
                                timeout=10)
                    return
                self._after_status(change, "accept")
            elif choice == "review":
                self._select_span(spans[0].start, spans[0].end)

        self.app.push_screen(UnreviewedPicker(len(spans), labels), chosen)

    def action_next_document(self, step: int) -> None:
        target = self.session.index + step
        if 0 <= target < len(self.session):
            self.open_document(target)
        else:
            self.say("This is the last document" if step > 0 else "This is the first document")

    def action_edit_notes(self) -> None:
        def chosen(notes: str | None) -> None:
            if notes is not None:
                self.run_edit(self.session.set_notes, notes, notify=True,
                              nothing="The notes are unchanged")

        self.app.push_screen(NotesScreen(self.annotation.notes), chosen)

    def action_goto_document(self) -> None:
        session = self.session
        rows = [(doc_id, visible(session.store.document(doc_id).title),
                 session.status_of(doc_id)) for doc_id in session.doc_ids]

        def chosen(doc_id: str | None) -> None:
            if doc_id:
                self.open_document(session.doc_ids.index(doc_id))

        self.app.push_screen(DocumentPicker(rows, session.index), chosen)

    # -- find ----------------------------------------------------------------

    def action_find(self) -> None:
        def chosen(query: str | None) -> None:
            if query:
                self.last_find = query
                self._find(query, self.selection()[0])

        self.app.push_screen(FindScreen(self.last_find), chosen)

    def action_find_next(self) -> None:
        if self.last_find:
            self._find(self.last_find, self.selection()[0] + 1)

    def _find(self, query: str, start: int) -> None:
        """Select the next match at or after ``start`` (case-insensitive), wrapping, and
        say which match it is (``3/7``) and when the search wrapped."""
        haystack = self.text.lower()
        needle = query.lower()
        matches = []
        at = haystack.find(needle)
        while at >= 0:
            matches.append(at)
            at = haystack.find(needle, at + 1)
        if not matches:
            self.notify(f"{visible(query)!r} is not in this article", severity="warning",
                        markup=False)
            return
        index = next((i for i, m in enumerate(matches) if m >= start), None)
        wrapped = index is None
        index = 0 if index is None else index
        found = matches[index]
        self._select_span(found, found + len(needle))
        note = f"{visible(query)!r}: {index + 1}/{len(matches)}"
        if wrapped:
            note += " (wrapped to the start)"
        self.notify(note, timeout=2, markup=False)

    def action_help(self) -> None:
        keymap = self.app._keymap  # the effective keys, after the config file's keymap
        rows = []
        relation_keys = [b for b in RelationList.BINDINGS if isinstance(b, Binding)]
        for binding in [*ANNOTATE_BINDINGS, *relation_keys]:
            binding_id = binding.id or ""
            if binding in LABEL_BINDINGS:
                if binding is LABEL_BINDINGS[0]:
                    # Ten rows of "Label N" say less than one row naming the labels.
                    names = ", ".join(f"{lab.key} {visible(lab.name)}"
                                      for lab in self.session.scheme.entities if lab.key)
                    keys = ",".join(keymap.get(b.id or "", b.key) for b in LABEL_BINDINGS)
                    rows.append((keys, "Label", f"Label the selection, or relabel the entity "
                                 f"under the cursor: {names}", "label-1 … label-0"))
                continue
            keys = keymap.get(binding_id, binding.key)
            rows.append((keys, binding.description, binding.tooltip, binding_id))
        rows.append(("ctrl+p", "Commands", "Command palette: every action by name", "-"))
        self.app.push_screen(HelpScreen(rows))

    # -- which keys can act ----------------------------------------------------

    def _binding_state(self) -> tuple[object, ...]:
        return (self.doc_id, self.session.index, self.session.can_undo,
                self.session.can_redo, self.relation_head is not None, bool(self.last_find))

    def _refresh_bindings(self) -> None:
        # The footer recomposes and the screen lays out again on refresh_bindings
        # (20-70 ms), so it runs only when what check_action answers changes, and not
        # on the key's path: a short timer, restarted by every change, updates the footer
        # once the keys pause (an edit then an undo would otherwise pay for it twice).
        # Textual asks check_action again when a key is pressed, so a key is refused at
        # once even while the footer still shows it as it was.
        state = self._binding_state()
        if state != self._bindings_shown:
            self._bindings_shown = state
            if self._bindings_timer is not None:
                self._bindings_timer.stop()
            self._bindings_timer = self.set_timer(FOOTER_REFRESH_DELAY, self.refresh_bindings)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.doc_id:
            return action in {"help", "quit"} or None
        if action == "undo":
            return self.session.can_undo or None
        if action == "redo":
            return self.session.can_redo or None
        if action == "relation_child":
            return self.relation_head is not None or None
        if action == "next_document":
            step = int(parameters[0]) if parameters else 1  # type: ignore[call-overload]
            return 0 <= self.session.index + step < len(self.session) or None
        if action == "find_next":
            return bool(self.last_find) or None
        return True

    # -- the model -----------------------------------------------------------

    def on_model_status(self, message: ModelStatus) -> None:
        self.model_text = visible(message.text)
        self._show_status()

    def on_model_ready(self, message: ModelReady) -> None:
        self.state.extractor = message.extractor
        self.session.prefer_extractor = message.extractor.id
        if self.session.add_entity_labels(message.extractor.labels):
            self._show_legend()

    def on_documents_predicted(self, message: DocumentsPredicted) -> None:
        if self.doc_id in message.doc_ids:
            change = self.session.reseed()
            if change is not None:
                self._show_legend()
                self.render_change(change)
