"""The annotator: a Textual app over a :class:`~annotations.store.GoldStore`.

Build it with :func:`make_app` (the CLI and the tests both do).  The app never
writes files: every edit is one ``store.save_annotation`` call, made at once, and
recorded as a before/after snapshot in an :class:`~annotations.history.EditHistory`
for undo and redo across the documents of the session.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Key
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Static
from textual.worker import get_current_worker

from annotations.errors import AnnotationsError
from annotations.extractors import load_extractor
from annotations.history import Edit, EditHistory
from annotations.models import Annotation, LabelScheme, Prediction, Span
from annotations.store import DEFAULT_ANNOTATOR, GoldStore, common_run

from . import editing
from .article_view import ArticleView, DisplaySpan, display_text
from .config import AnnotatorConfig
from .help_screen import HelpScreen
from .palette import AnnotatorCommands
from .pickers import DocumentPicker, FindScreen, LabelPicker, RelationPicker
from .side_panel import EntityList, RelationList, SidePanel

HINT_LETTERS = "asdfghjklqwertyuiopzxcvbnm"
PREDICT_BATCH = 16


class Extractor(Protocol):
    """What the app needs of an extractor (``SpacyExtractor`` has it)."""

    @property
    def id(self) -> str: ...

    @property
    def labels(self) -> list[str]: ...

    def predict(self, items: Any, batch_size: int = ...) -> Any: ...


def _bind(key: str, action: str, description: str, tooltip: str, binding_id: str,
          show: bool = True) -> Binding:
    return Binding(key, action, description, show=show, tooltip=tooltip, id=binding_id)


# Seconds of quiet after which the footer shows which keys can act (see _refresh_bindings).
FOOTER_REFRESH_DELAY = 0.25

LABEL_BINDINGS = [
    _bind(key, f"label_key('{key}')", f"Label {key}",
          f"Give the selection (or the entity under the cursor) the label with key {key}",
          f"label-{key}", show=False)
    for key in "1234567890"
]

ANNOTATE_BINDINGS: list[Binding] = [
    _bind("left", "move(-1)", "Token left", "Move the cursor one token left", "cursor-left",
          False),
    _bind("right", "move(1)", "Token right", "Move the cursor one token right", "cursor-right",
          False),
    _bind("up", "move_line(-1)", "Line up", "Move the cursor one line up", "cursor-up", False),
    _bind("down", "move_line(1)", "Line down", "Move the cursor one line down", "cursor-down",
          False),
    _bind("pageup", "move_page(-1)", "Page up", "Move the cursor one page up", "page-up", False),
    _bind("pagedown", "move_page(1)", "Page down", "Move the cursor one page down", "page-down",
          False),
    _bind("home,ctrl+home", "move_edge(-1)", "Start", "Go to the start of the article",
          "article-start", False),
    _bind("end,ctrl+end", "move_edge(1)", "End", "Go to the end of the article", "article-end",
          False),
    _bind("shift+right", "extend(1)", "Extend", "Extend the selection by one token",
          "select-right", False),
    _bind("shift+left", "extend(-1)", "Shrink", "Shrink the selection by one token (or extend "
          "it left)", "select-left", False),
    _bind("tab", "next_entity(1)", "Next ent", "Select the next entity", "next-entity"),
    _bind("shift+tab", "next_entity(-1)", "Prev ent", "Select the previous entity",
          "previous-entity", False),
    *LABEL_BINDINGS,
    _bind("l", "label_picker", "Label…", "Choose any label by name, or add a new one",
          "label-picker"),
    _bind("d,delete", "delete_entity", "Delete", "Delete the entity under the cursor",
          "delete-entity"),
    _bind("c", "confirm_entity", "Confirm", "Accept the suggestion under the cursor as is",
          "confirm-entity"),
    _bind("r", "relation_start", "Relation", "Start a relation from the entity under the cursor",
          "relation-start"),
    _bind("enter", "relation_child", "Link", "Use the entity under the cursor as the child",
          "relation-child", False),
    _bind("escape", "cancel", "Cancel", "Cancel the relation or clear the selection", "cancel",
          False),
    _bind("e", "relations_panel", "Relations", "Focus the relation list (Delete, v reverses)",
          "relations-panel", False),
    _bind("u,ctrl+z", "undo", "Undo", "Undo the last edit (any document)", "undo"),
    _bind("ctrl+y", "redo", "Redo", "Redo the last undone edit", "redo", False),
    _bind("a", "set_status('accept')", "Accept", "Accept the document as gold and go to the "
          "next open one", "accept-document"),
    _bind("x", "set_status('reject')", "Reject", "Reject the document and go on",
          "reject-document", False),
    _bind("i", "set_status('ignore')", "Ignore", "Ignore the document and go on",
          "ignore-document", False),
    _bind("n", "next_document(1)", "Next doc", "Go to the next document", "next-document"),
    _bind("p", "next_document(-1)", "Prev doc", "Go to the previous document",
          "previous-document", False),
    _bind("g", "goto_document", "Go to", "Jump to a document from a list", "goto-document",
          False),
    _bind("slash", "find", "Find", "Find text in the article", "find"),
    _bind("f3", "find_next", "Find next", "Find the next match of the last search",
          "find-next", False),
    _bind("question_mark,f1", "help", "Help", "Show every key", "help"),
    _bind("q", "app.quit", "Quit", "Quit (every edit is already saved)", "quit"),
]


@dataclass
class ModelStatus(Message):
    """The model worker's progress, shown in the status line."""

    text: str


@dataclass
class ModelReady(Message):
    extractor: Any


@dataclass
class DocumentsPredicted(Message):
    doc_ids: list[str]


_LOOKS: dict[tuple[str, str, bool], tuple[str, Style, Style]] = {}


def span_look(label: str, colour: str, suggested: bool) -> tuple[str, Style, Style]:
    """Tag text, text style and tag style of a span; shared objects, so hashing is cheap."""
    key = (label, colour, suggested)
    look = _LOOKS.get(key)
    if look is None:
        if suggested:
            look = (f" {label}?", Style(color=colour, underline=True, bold=True),
                    Style(color=colour, italic=True))
        else:
            look = (f" {label}", Style(color="#ffffff", bgcolor=colour),
                    Style(color="#000000", bgcolor=colour, bold=True))
        _LOOKS[key] = look
    return look


def display_spans(annotation: Annotation, scheme: LabelScheme) -> list[DisplaySpan]:
    """How the annotator paints spans: confirmed ones filled, suggestions underlined."""
    colours = {label.name: label.colour for label in scheme.entities}
    spans = []
    for span in annotation.spans:
        suggested = span.state == "suggested"
        tag, style, tag_style = span_look(span.label, colours.get(span.label, "#7f7f7f"),
                                          suggested)
        spans.append(DisplaySpan(span.start, span.end, tag, style, tag_style, span.state))
    return spans


class AnnotateScreen(Screen[None]):
    """The article, the side panel, a status line and the footer."""

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
        self.store = app_state.store
        self.annotator = app_state.annotator
        self.history = app_state.history
        self.doc_ids = self.store.document_ids()
        self.doc_index = 0
        self.doc_id = ""
        self.text = ""
        self.doc_title = ""
        self.tokens = editing.Tokens("")
        self.annotation = Annotation(doc_id="-", annotator=self.annotator)
        self.saved = False
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
        # What the view shows: by span offsets (spans never overlap), the span and its
        # look; the spans in order, their starts (for bisection), and how many spans each
        # source has (for the header), all kept in step by _set_annotation.
        self._shown: dict[tuple[int, int], tuple[Span, DisplaySpan]] = {}
        self._shown_spans: list[Span] = []
        self._starts: list[int] = []
        self._source_counts: dict[str, int] = {}

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

    def on_mount(self) -> None:
        self.scheme = self.store.labels
        self._show_legend()
        if self.doc_ids:
            self.open_document(self.state.start_index)
        else:
            self.mode_text = "The store holds no documents; import some with `reader import`."
            self._show_status()
        self.view.focus()

    def _show_legend(self) -> None:
        legend = Text(no_wrap=True, overflow="ellipsis")
        for label in self.scheme.entities:
            if label.key:
                legend.append(f"{label.key}", "bold reverse")
                legend.append(f" {label.name} ", Style(color=label.colour, bold=True))
        hidden = [label.name for label in self.scheme.entities if not label.key]
        if hidden:
            legend.append(f" l: {len(hidden)} more", "dim")
        self.query_one("#legend", Static).update(legend, layout=False)

    # -- documents -----------------------------------------------------------

    def open_document(self, index: int) -> None:
        index = max(0, min(index, len(self.doc_ids) - 1))
        self.doc_index = index
        self.doc_id = self.doc_ids[index]
        self.text = self.store.text(self.doc_id)
        # Titles come from the article text: control characters are shown, not sent.
        self.doc_title = display_text(self.store.document(self.doc_id).title)
        self.tokens = editing.Tokens(self.text)
        stored = self.store.annotation(self.doc_id, self.annotator)
        self.saved = stored is not None
        self.relation_head = None
        self.hint_spans = {}
        self._shown = {}
        self._set_annotation(stored if stored is not None else self._seed(), load=True)
        # The document's text, spans and tokens live until the next document: freezing
        # them keeps full garbage collections (triggered by per-key allocations) from
        # walking tens of thousands of long-lived objects on every keystroke.  The previous
        # document's objects are unfrozen first so that they can be collected.
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.cur, self.selection_anchor = 0, None
        self._show_cursor()
        self._show_document()
        self._refresh_bindings()

    def _set_annotation(self, annotation: Annotation, load: bool = False) -> None:
        """Make ``annotation`` the one shown; the view gets only the spans that changed,
        or with ``load`` the document and all its spans (wrapped once)."""
        old = self._shown_spans
        spans = annotation.spans
        self.annotation = annotation
        self._shown_spans = list(spans)  # a copy: the diff must not see in-place edits
        if load or not self._shown:
            # Another document: every span is new.
            prefix = suffix = 0
            old, self._shown, self._source_counts, self._starts = [], {}, {}, []
        else:
            # Edits keep the unchanged (frozen) Spans, so the changed run is found by
            # comparing the two lists from both ends, a C loop; only that run is redone.
            limit = min(len(old), len(spans))
            prefix = common_run(old, spans, limit, from_end=False)
            suffix = common_run(old, spans, limit - prefix, from_end=True)
        gone_spans = old[prefix : len(old) - suffix]
        new_spans = spans[prefix : len(spans) - suffix]
        self._starts[prefix : len(old) - suffix] = [s.start for s in new_spans]
        removed = [self._shown.pop(span.key)[1] for span in gone_spans]
        counts = self._source_counts
        for span in gone_spans:
            counts[span.source] -= 1
            if not counts[span.source]:
                del counts[span.source]
        colours = {label.name: label.colour for label in self.scheme.entities}
        added = []
        for span in new_spans:
            tag, style, tag_style = span_look(span.label, colours.get(span.label, "#7f7f7f"),
                                              span.state == "suggested")
            shown = DisplaySpan(span.start, span.end, tag, style, tag_style, span.state)
            self._shown[span.key] = (span, shown)
            counts[span.source] = counts.get(span.source, 0) + 1
            added.append(shown)
        if load:
            self.view.load(self.text, added)
        else:
            self.view.update_spans(removed, added)

    def _span_at(self, offset: int) -> Span | None:
        index = bisect_right(self._starts, offset) - 1
        if index >= 0 and offset < self.annotation.spans[index].end:
            return self.annotation.spans[index]
        return None

    def _overlapping(self, start: int, end: int) -> list[Span]:
        """Spans overlapping ``start``-``end`` (gold spans never overlap each other)."""
        spans = self.annotation.spans
        index = max(bisect_right(self._starts, start) - 1, 0)
        found = []
        while index < len(spans) and spans[index].start < end:
            if spans[index].end > start:
                found.append(spans[index])
            index += 1
        return found

    def _seed(self) -> Annotation:
        preferred = self.state.extractor.id if self.state.extractor is not None else None
        return editing.seed_annotation(
            self.doc_id, self.annotator, self.store.predictions(self.doc_id), preferred
        )

    def _status_of(self, doc_id: str) -> str:
        if doc_id == self.doc_id:
            return self.annotation.status or ("open" if self.saved else "new")
        ann = self.store.annotation(doc_id, self.annotator)
        return (ann.status or "open") if ann else "new"

    def _show_document(self) -> None:
        title = f"{self.doc_index + 1}/{len(self.doc_ids)}  {self.doc_title}"
        extractors = sorted(source for source in self._source_counts if source != "human")
        sub_title = (f"{self._status_of(self.doc_id)} · "
                     f"{', '.join(extractors) or 'no suggestions'}")
        # Setting an unchanged title still repaints the header: compare first.
        if self.app.title != title:
            self.app.title = title
        if self.app.sub_title != sub_title:
            self.app.sub_title = sub_title
        self.query_one(SidePanel).show(self.annotation, self.text, self.scheme)
        self._show_status()

    # -- the cursor ----------------------------------------------------------

    def selection(self) -> tuple[int, int]:
        """The character range of the cursor token, or of the selected tokens."""
        if self.selection_anchor is None:
            return self.tokens.spans[self.cur]
        return self.tokens.range(self.selection_anchor, self.cur)

    def spans_under_cursor(self) -> list[Span]:
        start, end = self.selection()
        if self.selection_anchor is None:
            span = self._span_at(start)
            return [span] if span else []
        return self._overlapping(start, end)

    def _show_cursor(self, scroll: bool = True) -> None:
        start, end = self.selection()
        if self.selection_anchor is None and end > start:
            # A cursor inside an entity lights up the whole entity: that is what acts.
            span = self._span_at(start)
            if span is not None:
                start, end = span.start, span.end
        self.view.set_cursor(start, end, scroll=scroll)
        self._show_status()

    def _show_status(self) -> None:
        status = Text(no_wrap=True, overflow="ellipsis")
        if self.mode_text:
            status.append(self.mode_text, "bold yellow")
        elif self.doc_id:
            under = self.spans_under_cursor()
            if under:
                span = under[0]
                status.append(f"{span.label}", "bold")
                status.append(f" {span.text_in(self.text)!r} {span.start}-{span.end}")
                state = span.state if span.source == "human" else f"{span.state} ({span.source})"
                status.append(f"  {state}", "dim")
                for rel in self.annotation.relations:
                    # The entity's relations, both ways, so they are visible where one reads.
                    if span.key in (rel.head, rel.child):
                        other = rel.child if rel.head == span.key else rel.head
                        arrow = "→" if rel.head == span.key else "←"
                        status.append(f"  {arrow} {rel.label} ", "bold magenta")
                        status.append(repr(display_text(self.text[other[0]:other[1]])))
                self.query_one(EntityList).show_span(bisect_left(self._starts, span.start))
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
        self.selection_anchor, self.cur = anchor, cur
        self._show_cursor(scroll)
        self._refresh_bindings()

    def _select_span(self, start: int, end: int) -> None:
        first, last = self.tokens.covering(start, end)
        self._select_tokens(first, last)

    def action_move(self, step: int) -> None:
        base = self.cur
        if self.selection_anchor is None:
            # From inside an entity, a step leaves the entity rather than its current token.
            span = self._span_at(self.tokens.spans[self.cur][0])
            if span is not None:
                first, last = self.tokens.covering(span.start, span.end)
                base = last if step > 0 else first
        else:
            ends = (self.selection_anchor, self.cur)
            base = max(ends) if step > 0 else min(ends)
        self._select_tokens(None, max(0, min(base + step, len(self.tokens) - 1)))

    def action_extend(self, step: int) -> None:
        anchor = self.cur if self.selection_anchor is None else self.selection_anchor
        cur = max(0, min(self.cur + step, len(self.tokens) - 1))
        self._select_tokens(anchor, cur)

    def _move_lines(self, lines: int) -> None:
        view = self.view
        start = self.tokens.spans[self.cur][0]
        line = view.line_of(start)
        target = max(0, min(line + lines, view.line_count - 1))
        offset = view.offset_at_column(target, view.column_of(start))
        self._select_tokens(None, self.tokens.at(offset))

    def action_move_line(self, step: int) -> None:
        self._move_lines(step)

    def action_move_page(self, step: int) -> None:
        self._move_lines(step * max(self.view.scrollable_content_region.height - 1, 1))

    def action_move_edge(self, step: int) -> None:
        self._select_tokens(None, 0 if step < 0 else len(self.tokens) - 1)

    def action_next_entity(self, step: int) -> None:
        spans = self.annotation.spans
        if not spans:
            return
        start, end = self.selection()
        target: Span | None = None
        if step > 0:
            index = bisect_right(self._starts, start)  # the first span starting after start
            target = spans[index] if index < len(spans) else None
        else:
            index = bisect_left(self._starts, start) - 1
            while index >= 0 and spans[index].end > start:
                index -= 1
            target = spans[index] if index >= 0 else None
        if target is None:
            self.app.bell()
            return
        self._select_span(target.start, target.end)

    # -- edits ---------------------------------------------------------------

    def commit(self, new: Annotation | None, description: str) -> None:
        """Save ``new`` through the store at once and record it for undo."""
        if new is None:
            self.app.bell()
            return
        before = self.annotation
        try:
            saved = self._save(new)
        except (AnnotationsError, OSError) as err:
            # Nothing was applied: the screen keeps showing what the store holds.
            self.notify(f"not saved: {err}", severity="error", timeout=10)
            return
        self.history.record(Edit(self.doc_id, description, before, saved))
        self._after_save(saved)

    def _save(self, annotation: Annotation) -> Annotation:
        try:
            # Labels are added to the scheme before they are used, so the store need not
            # collect them from every span on every save (thousands in a long article).
            return self.store.save_annotation(annotation)
        except ValueError:  # e.g. predictions imported with labels the scheme lacks
            saved = self.store.save_annotation(annotation, add_labels=True)
            self.scheme = self.store.labels
            self._show_legend()
            return saved

    def _after_save(self, saved: Annotation) -> None:
        self.saved = True
        self._set_annotation(saved)
        self._show_cursor(scroll=False)
        self._show_document()
        self._refresh_bindings()

    def _label_range(self) -> tuple[int, int]:
        if self.selection_anchor is None:
            under = self.spans_under_cursor()
            if under:
                return under[0].start, under[0].end
        return self.selection()

    def apply_label(self, name: str) -> None:
        if name not in self.scheme.entity_names:
            self.scheme = self.store.add_entity_labels([name])
            self._show_legend()
        start, end = self._label_range()
        self.commit(editing.assign_label(self.annotation, start, end, name), f"label {name}")
        self._select_span(start, end)

    def action_label_key(self, key: str) -> None:
        label = next((lab for lab in self.scheme.entities if lab.key == key), None)
        if label is None:
            self.notify(f"No label has key {key}; press l to choose one by name",
                        severity="warning")
            return
        self.apply_label(label.name)

    def action_label_picker(self) -> None:
        def chosen(name: str | None) -> None:
            if name:
                self.apply_label(name)

        self.app.push_screen(LabelPicker(self.scheme.entities), chosen)

    def action_delete_entity(self) -> None:
        start, end = self._label_range()
        self.commit(editing.delete_spans(self.annotation, start, end), "delete entity")

    def action_confirm_entity(self) -> None:
        start, end = self._label_range()
        self.commit(editing.confirm_spans(self.annotation, start, end), "confirm suggestion")

    # -- relations -----------------------------------------------------------

    def action_relation_start(self) -> None:
        under = self.spans_under_cursor()
        if not under:
            self.app.bell()
            return
        head = under[0]
        self.relation_head = head
        self.view.set_mark(head.key)
        view_start, view_end = self.view.visible_range()
        visible = [s for s in self.annotation.spans
                   if s.key != head.key and s.end > view_start and s.start < view_end]
        self.hint_spans = dict(zip(HINT_LETTERS, visible, strict=False))
        self.view.set_hints({span.start: letter for letter, span in self.hint_spans.items()})
        self.mode_text = (f"Relation from {head.label} {head.text_in(self.text)!r}: press an "
                          "entity's letter, or Tab to it and Enter; Escape cancels")
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
        if self.relation_head is not None and event.character in self.hint_spans:
            event.stop()
            event.prevent_default()
            self.choose_child(self.hint_spans[event.character])

    def action_relation_child(self) -> None:
        under = self.spans_under_cursor()
        if under:
            self.choose_child(under[0])

    def choose_child(self, child: Span) -> None:
        head = self.relation_head
        if head is None or child.key == head.key:
            return
        self._end_relation_mode()
        allowed = [r for r in self.scheme.relations if r.allows(head.label, child.label)]

        def chosen(label: str | None) -> None:
            if label:
                self.commit(editing.add_relation(self.annotation, head, child, label),
                            f"relation {label}")

        self.app.push_screen(
            RelationPicker((display_text(head.text_in(self.text)), head.label),
                           (display_text(child.text_in(self.text)), child.label), allowed),
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

    @on(RelationList.Delete)
    def _delete_relation(self, event: RelationList.Delete) -> None:
        self.commit(editing.remove_relation(self.annotation, event.relation), "delete relation")

    @on(RelationList.Reverse)
    def _reverse_relation(self, event: RelationList.Reverse) -> None:
        self.commit(editing.reverse_relation(self.annotation, event.relation),
                    "reverse relation")

    @on(EntityList.Chosen)
    def _entity_chosen(self, event: EntityList.Chosen) -> None:
        self._select_span(event.start, event.end)
        self.view.focus()

    # -- mouse ---------------------------------------------------------------

    @on(ArticleView.Clicked)
    def _clicked(self, event: ArticleView.Clicked) -> None:
        span = self._span_at(event.offset)
        if self.relation_head is not None and span is not None:
            self.choose_child(span)
        elif span is not None:
            self._select_span(span.start, span.end)
        else:
            self._select_tokens(None, self.tokens.at(event.offset), scroll=False)

    @on(ArticleView.Dragged)
    def _dragged(self, event: ArticleView.Dragged) -> None:
        self._select_tokens(self.tokens.at(event.anchor), self.tokens.at(event.offset),
                            scroll=False)

    # -- undo ----------------------------------------------------------------

    def _replay(self, edit: Edit, annotation: Annotation) -> None:
        if edit.doc_id != self.doc_id:
            self.open_document(self.doc_ids.index(edit.doc_id))
        try:
            saved = self._save(annotation)
        except (AnnotationsError, OSError) as err:
            self.notify(f"not saved: {err}", severity="error", timeout=10)
            return
        self._after_save(saved)

    def action_undo(self) -> None:
        edit = self.history.undo()
        if edit is not None:
            self._replay(edit, edit.before)

    def action_redo(self) -> None:
        edit = self.history.redo()
        if edit is not None:
            self._replay(edit, edit.after)

    # -- document status and navigation -------------------------------------

    def action_set_status(self, status: str) -> None:
        new = self.annotation.model_copy(update={"status": status})
        self.commit(new, f"{status} document")
        nxt = self._next_open()
        if nxt is not None:
            self.open_document(nxt)

    def _next_open(self) -> int | None:
        count = len(self.doc_ids)
        for step in range(1, count):
            index = (self.doc_index + step) % count
            ann = self.store.annotation(self.doc_ids[index], self.annotator)
            if ann is None or ann.status is None:
                return index
        return None

    def action_next_document(self, step: int) -> None:
        target = self.doc_index + step
        if 0 <= target < len(self.doc_ids):
            self.open_document(target)

    def action_goto_document(self) -> None:
        rows = [(doc_id, display_text(self.store.document(doc_id).title), self._status_of(doc_id))
                for doc_id in self.doc_ids]

        def chosen(doc_id: str | None) -> None:
            if doc_id:
                self.open_document(self.doc_ids.index(doc_id))

        self.app.push_screen(DocumentPicker(rows, self.doc_index), chosen)

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
        haystack = self.text.lower()
        needle = query.lower()
        found = haystack.find(needle, start)
        if found < 0:
            found = haystack.find(needle)
        if found < 0:
            self.notify(f"{query!r} is not in this article", severity="warning")
            return
        self._select_span(found, found + len(needle))

    def action_help(self) -> None:
        keymap = self.app._keymap  # the effective keys, after the config file's keymap
        rows = []
        relation_keys = [b for b in RelationList.BINDINGS if isinstance(b, Binding)]
        for binding in [*ANNOTATE_BINDINGS, *relation_keys]:
            binding_id = binding.id or ""
            if binding in LABEL_BINDINGS:
                if binding is LABEL_BINDINGS[0]:
                    # Ten rows of "Label N" say less than one row naming the labels.
                    names = ", ".join(f"{lab.key} {lab.name}" for lab in self.scheme.entities
                                      if lab.key)
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
        return (self.doc_id, self.doc_index, self.history.can_undo, self.history.can_redo,
                self.relation_head is not None, bool(self.last_find))

    def _refresh_bindings(self) -> None:
        # The footer recomposes and the screen lays out again on refresh_bindings
        # (20-70 ms), so it runs only when what check_action answers changes, and not
        # on the key's path: a short timer, restarted by every change, updates the footer
        # once the keys pause (an edit then an undo would otherwise pay for it twice).
        # Textual asks check_action again when a key is pressed, so a key is refused at
        # once even while the footer still shows it as it was.  For the same reason the
        # entity keys (delete, confirm, relation) are not dimmed per cursor position;
        # the status line says what is under the cursor and the keys ring the bell if
        # nothing is there.
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
            return self.history.can_undo or None
        if action == "redo":
            return self.history.can_redo or None
        if action == "relation_child":
            return self.relation_head is not None or None
        if action == "next_document":
            step = int(parameters[0]) if parameters else 1  # type: ignore[call-overload]
            return 0 <= self.doc_index + step < len(self.doc_ids) or None
        if action == "find_next":
            return bool(self.last_find) or None
        return True

    # -- the model -----------------------------------------------------------

    def on_unmount(self) -> None:
        gc.unfreeze()

    def on_model_status(self, message: ModelStatus) -> None:
        self.model_text = message.text
        self._show_status()

    def on_model_ready(self, message: ModelReady) -> None:
        self.state.extractor = message.extractor
        self.scheme = self.store.add_entity_labels(message.extractor.labels)
        self._show_legend()

    def on_documents_predicted(self, message: DocumentsPredicted) -> None:
        self.scheme = self.store.labels
        self._show_legend()
        if self.doc_id in message.doc_ids and not self.saved:
            self._set_annotation(self._seed())
            self._show_cursor(scroll=False)
            self._show_document()
            self._refresh_bindings()


class AnnotatorApp(App[None]):
    """The annotator over one store; the model loads in a worker thread."""

    TITLE = "reader annotate"
    COMMANDS = App.COMMANDS | {AnnotatorCommands}

    def __init__(
        self,
        store: GoldStore,
        *,
        annotator: str = DEFAULT_ANNOTATOR,
        model: str | None = None,
        load_model: bool = True,
        config: AnnotatorConfig | None = None,
        start: str | int | None = None,
        extractor_loader: Callable[[str | None], Extractor] = load_extractor,
    ) -> None:
        super().__init__()
        self.store = store
        self.annotator = annotator
        self.model = model
        self.config = config or AnnotatorConfig()
        self.extractor: Extractor | None = None
        self.extractor_loader = extractor_loader
        self.history = EditHistory()
        self.load_model = load_model
        self.start_index = self._start_index(start)
        scheme = store.labels
        configured = self.config.apply_labels(scheme)
        if configured != scheme:
            store.set_labels(configured)

    def _start_index(self, start: str | int | None) -> int:
        doc_ids = self.store.document_ids()
        if isinstance(start, int):
            return max(0, min(start, len(doc_ids) - 1))
        if isinstance(start, str) and start in doc_ids:
            return doc_ids.index(start)
        # Resume at the first document that is not done, else the first not accepted.
        for done in ({"accept", "reject", "ignore"}, {"accept"}):
            for index, doc_id in enumerate(doc_ids):
                ann = self.store.annotation(doc_id, self.annotator)
                if ann is None or ann.status not in done:
                    return index
        return 0

    def get_default_screen(self) -> Screen[Any]:
        return AnnotateScreen(self)

    @property
    def annotate_screen(self) -> AnnotateScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, AnnotateScreen)
        return screen

    def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        if self.load_model:
            self._load_model()

    def _post(self, message: Message) -> bool:
        """Post to the annotate screen from the worker; False once the app has gone."""
        try:
            self.call_from_thread(self.annotate_screen.post_message, message)
        except RuntimeError:
            return False
        return True

    @work(thread=True, exclusive=True, group="model")
    def _load_model(self) -> None:
        worker = get_current_worker()
        self._post(ModelStatus(f"loading model {self.model or '(default spaCy)'}…"))
        try:
            extractor = self.extractor_loader(self.model)
        except AnnotationsError as err:
            self._post(ModelStatus(f"model not loaded: {err}"))
            return
        if worker.is_cancelled or not self._post(ModelReady(extractor)):
            return
        current = self.annotate_screen.doc_id
        todo = [d for d in self.store.document_ids()
                if not self.store.has_prediction(d, extractor.id)]
        todo.sort(key=lambda d: d != current)  # the open document first
        done = 0
        for first in range(0, len(todo), PREDICT_BATCH):
            if worker.is_cancelled:
                return
            batch = todo[first:first + PREDICT_BATCH]
            self._post(ModelStatus(f"{extractor.id}: predicting {done}/{len(todo)}…"))
            try:
                predictions: list[Prediction] = list(
                    extractor.predict((d, self.store.text(d)) for d in batch)
                )
                self.store.put_predictions(predictions)
            except AnnotationsError as err:  # e.g. the store closed as the app quit
                self._post(ModelStatus(f"prediction stopped: {err}"))
                return
            done += len(batch)
            self._post(DocumentsPredicted([p.doc_id for p in predictions]))
        self._post(ModelStatus(f"{extractor.id} ready"))


def make_app(store: GoldStore, **options: Any) -> AnnotatorApp:
    """The annotator over ``store`` (see :class:`AnnotatorApp` for the options)."""
    return AnnotatorApp(store, **options)
