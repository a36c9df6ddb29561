"""The annotate screen's relation keys: drawing a relation by hint letters, and the
relation list's delete, reverse and relabel.

The layer between :class:`~reader.screens.session_screen.SessionScreen` and
:class:`~reader.screens.annotate.AnnotateScreen`, kept apart so that the screen class
holds only its own wiring; the state of a relation being drawn is the pure
:class:`~reader.screens.relation_mode.RelationMode`.
"""

from __future__ import annotations

from functools import cached_property

from textual.events import Key

from annotations.models import Relation, Span
from annotations.terminal import visible

from ..widgets.annotated_article import AnnotatedArticle
from ..widgets.side_panel import RelationList
from .pickers import RelationPicker
from .relation_mode import RelationMode
from .session_screen import SessionScreen


class RelationKeys(SessionScreen):
    """Relation mode and the relation list's keys, for the annotate screen."""

    relation: RelationMode | None = None  # the relation being drawn, if one is
    mode_text = ""  # what the status line says instead of the selection, in a mode

    @cached_property
    def article(self) -> AnnotatedArticle:
        # Asked a score of times per key: the widget is looked up once (it is composed
        # with the screen and lives as long as it does).
        return self.query_one(AnnotatedArticle)

    def _show_status(self) -> None:
        raise NotImplementedError

    def action_relation_start(self) -> None:
        under = self.article.entities()
        if not under:
            self.say("Put the cursor on an entity to start a relation from it")
            return
        head = under[0]
        self.relation = RelationMode.start(head, self.session.overlapping(
            *self.article.visible_range()))
        self.article.set_mark(head.key)
        self.article.set_hints(self.relation.hints)
        self.mode_text = (f"Esc cancels · relation from {visible(head.label)} "
                          f"{visible(head.text_in(self.session.text))!r}: press an entity's "
                          "letter, or Tab to it and Enter")
        self._show_status()
        self.refresh_footer()

    def _end_relation_mode(self) -> None:
        if self.relation is None:
            return
        self.relation = None
        self.article.set_mark(None)
        self.article.set_hints({})
        self.mode_text = ""
        self._show_status()
        self.refresh_footer()

    def on_key(self, event: Key) -> None:
        if self.relation is None:
            self.explain_dimmed_key(event)
            return
        if not (event.character and event.character.isalpha() and event.character.islower()):
            return
        event.stop()
        event.prevent_default()
        try:
            child = self.relation.type(event.character)
        except KeyError as typed:
            self.say(f"No entity on screen has the hint {typed.args[0]}")
            return
        if child is not None:
            self.choose_child(child)

    def action_relation_child(self) -> None:
        under = self.article.entities()
        if under:
            self.choose_child(under[0])

    def choose_child(self, child: Span) -> None:
        if self.relation is None or child.key == self.relation.head.key:
            return
        head = self.relation.head
        self._end_relation_mode()
        self._pick_relation_label(head, child, None)

    def _pick_relation_label(self, head: Span, child: Span, relabel: Relation | None) -> None:
        """Ask for a relation label that fits; add the relation (or relabel ``relabel``)."""
        allowed = [r for r in self.session.fitting_relation_labels(head, child)
                   if relabel is None or r.name != relabel.label]

        def chosen(label: str | None) -> None:
            if label and relabel is None:
                self.run_edit(self.session.add_relation, head, child, label)
            elif label:
                self.run_edit(self.session.relabel_relation, relabel, label)

        self.app.push_screen(RelationPicker(
            (visible(head.text_in(self.session.text)), visible(head.label)),
            (visible(child.text_in(self.session.text)), visible(child.label)), allowed), chosen)

    def on_relation_list_delete(self, event: RelationList.Delete) -> None:
        self.run_edit(self.session.remove_relation, event.relation)

    def on_relation_list_reverse(self, event: RelationList.Reverse) -> None:
        self.run_edit(self.session.reverse_relation, event.relation)

    def on_relation_list_relabel(self, event: RelationList.Relabel) -> None:
        head = self.session.spans.get(event.relation.head)
        child = self.session.spans.get(event.relation.child)
        if head is not None and child is not None:
            self._pick_relation_label(head, child, event.relation)
