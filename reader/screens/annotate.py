"""The annotate screen: the article, the side panel, a status line and the footer.

Wiring only.  The article widget (:class:`~reader.widgets.annotated_article.AnnotatedArticle`)
owns the cursor and the selection and their keys; each edit key here is one call on the
app's :class:`~annotations.session.EditingSession` through
:meth:`~reader.screens.session_screen.SessionScreen.run_edit`, and the
:class:`~annotations.session.Change` it returns is painted by the
:class:`~reader.screens.span_painter.SpanPainter` (only the spans that changed are
redrawn).  Relation mode is :mod:`reader.screens.relation_mode` (its keys
:mod:`~reader.screens.relation_keys`), find :mod:`~reader.screens.find_keys`.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.widgets import Header, Static

from annotations.models import Annotation, LabelScheme, Span
from annotations.session import Change
from annotations.terminal import visible

from ..bindings import ANNOTATE_BINDINGS, ANNOTATE_FOOTER, ANNOTATE_SCREEN_BINDINGS
from ..messages import DocumentsPredicted, ModelReady, ModelStatus
from ..widgets.annotated_article import AnnotatedArticle
from ..widgets.side_panel import EntityList, RelationList, SidePanel
from .find_keys import FindKeys
from .help import annotate_help_rows
from .key_footer import KeyFooter
from .pickers import (
    DocumentPicker,
    LabelPicker,
    NotesScreen,
    UnreviewedPicker,
)
from .session_screen import HelpRow
from .span_painter import SpanPainter
from .status_line import StatusLine, describe_selection, header_title, legend

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from ..app import AnnotatorApp

NARROW = 100  # columns below which the side panel starts hidden


class AnnotateScreen(FindKeys):
    """Keys to session calls; changes to the view."""

    BINDINGS: ClassVar[list[BindingType]] = [*ANNOTATE_SCREEN_BINDINGS]
    KEYS = ANNOTATE_BINDINGS
    FOOTER = ANNOTATE_FOOTER
    NOTHING_TO_UNDO = "Nothing to undo (edits of earlier sessions stay as saved)"
    DIMMED_REASONS: ClassVar[dict[str, str]] = {
        "undo": "Nothing to undo (edits of earlier sessions stay as saved)",
        "redo": "Nothing to redo",
        "next-document": "This is the last document",
        "previous-document": "This is the first document",
        "find-next": "Nothing to find again: press / first",
    }
    DEFAULT_CSS = """
    AnnotateScreen #legend { height: 1; background: $panel; padding: 0 1; }
    AnnotateScreen #status { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    AnnotateScreen #main { height: 1fr; }
    AnnotateScreen AnnotatedArticle { width: 1fr; }
    """

    def __init__(self, app_state: AnnotatorApp) -> None:
        super().__init__(app_state.session)
        self.state = app_state
        self.painter = SpanPainter(self.session)
        self.model_text = ""
        self.mode_text = ""
        self._status_shown: Text | None = None
        self._legend_scheme: LabelScheme | None = None
        self._panel_chosen = False  # the user showed or hid the side panel with a key

    # -- layout --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="✎")
        yield Static(id="legend")
        with Horizontal(id="main"):
            yield AnnotatedArticle(id="article")
            yield SidePanel()
        yield StatusLine(id="status")
        yield KeyFooter()

    @property
    def view(self) -> AnnotatedArticle:
        """The article (the name the review and adjudicate screens use for theirs)."""
        return self.article

    # Widgets composed with the screen and living as long as it does, asked on every key:
    # looked up once.
    @cached_property
    def side_panel(self) -> SidePanel:
        return self.query_one(SidePanel)

    @property
    def doc_id(self) -> str:
        return self.session.doc_id

    @property
    def text(self) -> str:
        return self.session.text

    @property
    def annotation(self) -> Annotation:
        return self.session.annotation

    def selection(self) -> tuple[int, int]:
        """The character range of the cursor token, or of the selected tokens."""
        return self.article.token_range()

    def spans_under_cursor(self) -> list[Span]:
        return self.article.entities()

    def on_mount(self) -> None:
        problems = self.session.name_problems()
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
        self.article.focus()

    def _show_legend(self) -> None:
        self._legend_scheme = self.session.scheme
        self.query_one("#legend", Static).update(legend(self.session.scheme), layout=False)

    # -- documents and changes -------------------------------------------------

    def open_document(self, index: int) -> None:
        self.session.open(index)
        self._load_view()
        self._say_seeding()
        self.state.settle_memory()
        self.refresh_footer()

    def _say_seeding(self) -> None:
        """Say what seeding changed of the extractor's suggestions, if anything."""
        said = self.session.seeding.describe()
        if said:
            self.notify(visible(said), timeout=6, markup=False)

    def _load_view(self, cursor_at: int = 0) -> None:
        """Show the open document whole: text, every span, the side panel."""
        self._end_relation_mode()
        session = self.session
        self.article.show_document(self.text, self.painter.paint_all(), session.tokens,
                                   session.spans)
        self._show_document()
        self.article.place_cursor(cursor_at)

    def show_change(self, change: Change) -> None:
        """Show what ``change`` did: the changed spans, the panel, the header; the
        selection re-derived from what the session now holds."""
        if self.session.scheme is not self._legend_scheme:
            self._show_legend()
        if change.reopened:
            self._load_view(min((s.start for s in change.added + change.removed), default=0))
            return
        removed, added = self.painter.paint_change(change)
        self.article.update_spans(removed, added)
        self.article.index = self.session.spans  # new suggestions come with a new index
        self._show_document(status=False, run=change.run)
        self.article.follow(change.removed, change.added)

    def _show_document(self, status: bool = True, run: tuple[int, int] | None = None
                       ) -> None:
        session = self.session
        title = header_title(session)
        sub_title = visible(session.title)
        # Setting an unchanged title still repaints the header: compare first.
        if self.app.title != title:
            self.app.title = title
        if self.app.sub_title != sub_title:
            self.app.sub_title = sub_title
        self.side_panel.show(self.annotation, self.text, session.colours,
                             session.relation_problems(), run)
        if status:
            self._show_status()

    # -- the selection -----------------------------------------------------------

    @on(AnnotatedArticle.SelectionChanged)
    def _selection_changed(self, message: AnnotatedArticle.SelectionChanged) -> None:
        message.stop()  # the screen is where it ends: no hop to the app
        # The other ends of the selected entity's relations, underlined where one reads.
        entity = self.article.entity_at_cursor() if not self.article.is_range else None
        related: list[tuple[int, int]] = []
        if entity is not None and self.annotation.relations:
            related = [(other[0], other[1]) for other in (
                self.session.other_end(rel, entity)
                for rel in self.session.relations_of(entity))]
        self.article.set_related(related)
        self._show_status()
        self.refresh_footer()

    def _show_status(self) -> None:
        status = Text(no_wrap=True, overflow="ellipsis")
        if self.doc_id and not self.mode_text:
            # First, so that a narrow screen still shows what is left to review.
            unreviewed = self.session.unreviewed_count
            status.append(f"{unreviewed} unreviewed", "bold yellow" if unreviewed else "dim")
            status.append(" · ", "dim")
        if self.mode_text:
            status.append(self.mode_text, "bold yellow")
        elif self.doc_id:
            self._describe_selection(status)
        if self.model_text:
            status.append(f"   {self.model_text}", "italic cyan")
        if status != self._status_shown:
            # Only a changed status line is redrawn: it costs a repaint per key otherwise.
            self._status_shown = status
            line = self.status_line
            if line is not None:
                line.update(status, layout=False)

    def _describe_selection(self, status: Text) -> None:
        span = describe_selection(status, self.session, self.article.token_range(),
                                  self.article.entities(), self.article.is_range)
        if span is not None:
            self.side_panel.entity_list.show_span(self.session.spans.position(span.ref))

    # -- edits ---------------------------------------------------------------

    def apply_label(self, name: str) -> None:
        selection = self.article.selection
        change = self.run_edit(self.session.label, selection.start, selection.end, name,
                               selection.origin)
        if change is not None:
            made = [s for s in change.added if s.ref == (selection.start, selection.end, name)]
            # The entity just labelled is the selection now (show_change followed a
            # relabelled entity there already: not selected, drawn and said twice).
            if made and not (self.article.is_range and self.article.origin is made[0]):
                self.article.select_entity(made[0])

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
        entity = self.article.entity_selected()
        if entity is not None:  # only that one, not the spans it nests in
            self.run_edit(self.session.delete_span, entity)
            return
        selection = self.article.selection
        self.run_edit(self.session.delete, selection.start, selection.end,
                      nothing="No entity here to delete")

    def action_confirm_entity(self) -> None:
        """Confirm what is selected, then go on to the next unreviewed suggestion."""
        selection = self.article.selection
        entity = None if self.article.is_range else selection.origin
        self.run_edit(self.session.confirm_selection, selection.start, selection.end, entity,
                      nothing=None)
        following = self.session.next_unreviewed(selection.start)
        if following is None:
            self.notify("No unreviewed suggestion left in this document", timeout=2)
        else:
            self.article.select_entity(following)

    def action_confirm_label(self) -> None:
        under = self.article.entities()
        if not under:
            self.say("Put the cursor on an entity: C confirms every suggestion of its label")
            return
        label = under[0].label
        self.run_edit(self.session.confirm_label, label,
                      nothing=f"No unreviewed {visible(label)} suggestion left")

    def action_repeat_relabel(self) -> None:
        self.run_edit(self.session.repeat_relabel,
                      nothing="No relabel to repeat: relabel an entity first, then = gives "
                      "its other unreviewed suggestions the same label")

    def action_occurrences(self) -> None:
        under = self.article.entities()
        if not under:
            self.say("Put the cursor on an entity: o offers its text's other occurrences")
            return
        change = self.run_edit(self.session.label_occurrences, under[0],
                               nothing="No other occurrence of this text to offer")
        if change is not None and change.added:
            self.article.select_entity(change.added[0])

    # -- the side panel ------------------------------------------------------------

    def action_toggle_panel(self) -> None:
        panel = self.side_panel
        panel.display = not panel.display
        self._panel_chosen = True

    def on_resize(self, event: events.Resize) -> None:
        # Below 100 columns the article needs the room; b shows the panel again.
        if not self._panel_chosen:
            self.side_panel.display = event.size.width >= NARROW

    def action_relations_panel(self) -> None:
        relations = self.query_one(RelationList)
        if relations.highlighted is None and relations.option_count:
            relations.highlighted = 0
        relations.focus()

    @on(EntityList.Chosen)
    def _entity_chosen(self, event: EntityList.Chosen) -> None:
        self.article.select_entity(event.span)
        self.article.focus()

    def action_cancel(self) -> None:
        if self.relation is not None:
            self._end_relation_mode()
        elif self.article.is_range:
            self.article.select_tokens(None, self.article.cur)

    # -- mouse ---------------------------------------------------------------

    @on(AnnotatedArticle.Clicked)
    def _clicked(self, event: AnnotatedArticle.Clicked) -> None:
        span = self.session.span_at(event.offset)
        if self.relation is not None and span is not None:
            self.choose_child(span)
        elif span is not None:
            self.article.select_entity(span)
        else:
            self.article.place_cursor(event.offset, scroll=False)

    @on(AnnotatedArticle.Dragged)
    def _dragged(self, event: AnnotatedArticle.Dragged) -> None:
        tokens = self.session.tokens
        self.article.select_tokens(tokens.at(event.anchor), tokens.at(event.offset),
                                   scroll=False)

    # -- document status and navigation -------------------------------------

    def ask_about_unreviewed(self, spans: list[Span]) -> None:
        labels = sorted({visible(s.label) for s in spans})

        def chosen(choice: str | None) -> None:
            if choice == "confirm":
                self.go_on(self.run_edit(lambda: self.session.set_status(
                    "accept", confirm_unreviewed=True)), "accept")
            elif choice == "review":
                self.article.select_entity(spans[0])

        self.app.push_screen(UnreviewedPicker(len(spans), labels), chosen)

    def action_edit_notes(self) -> None:
        def chosen(notes: str | None) -> None:
            if notes is not None:
                self.run_edit(self.session.set_notes, notes, nothing="The notes are unchanged")

        self.app.push_screen(NotesScreen(self.annotation.notes), chosen)

    def action_goto_document(self) -> None:
        session = self.session
        rows = [(doc_id, visible(title), status)
                for doc_id, title, status in session.document_rows()]

        def chosen(doc_id: str | None) -> None:
            if doc_id:
                self.open_document(session.doc_ids.index(doc_id))

        self.app.push_screen(DocumentPicker(rows, session.index), chosen)

    # -- help and the keys that can act ---------------------------------------------

    def help_rows(self) -> list[HelpRow]:
        return annotate_help_rows(self.keys_of, self.session.scheme)

    def footer_state(self) -> tuple[object, ...]:
        return (*super().footer_state(), self.relation is not None, bool(self.last_find))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.doc_id:
            return action in {"help", "quit"} or None
        if action == "undo":
            return self.session.can_undo or None
        if action == "redo":
            return self.session.can_redo or None
        if action == "relation_child":
            return self.relation is not None or None
        if action == "next_document":
            step = int(parameters[0]) if parameters else 1  # type: ignore[call-overload]
            return 0 <= self.session.index + step < len(self.session) or None
        return super().check_action(action, parameters)

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
                self.show_change(change)
                self._say_seeding()
