"""The side panel: the document's entities and relations.

Choosing an entity moves the article cursor to it; in the relation list,
Delete removes the highlighted relation and ``v`` reverses its direction.  The
panel only posts messages; the screen makes the edits.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from annotations.models import Annotation, LabelScheme, Relation

STATE_MARK = {"suggested": "?", "confirmed": " ", "changed": "~"}


def _short(text: str, width: int = 28) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


class RelationList(OptionList):
    """Relations of the document; Delete removes, ``v`` reverses the highlighted one."""

    BINDINGS = [
        Binding("d,delete,backspace", "delete_relation", "Delete relation",
                tooltip="Delete the highlighted relation", id="relation-delete"),
        Binding("v", "reverse_relation", "Reverse",
                tooltip="Swap head and child of the highlighted relation", id="relation-reverse"),
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

    def action_leave(self) -> None:
        self.screen.focus_next("ArticleView")


class SidePanel(Vertical):
    DEFAULT_CSS = """
    SidePanel { width: 40; border-left: vkey $primary; padding: 0 0 0 1; }
    SidePanel > Label { text-style: bold; color: $accent; }
    SidePanel #entities { height: 2fr; }
    SidePanel #relations { height: 1fr; }
    SidePanel OptionList { border: none; padding: 0; background: $surface; }
    """

    class EntityChosen(Message):
        def __init__(self, start: int, end: int) -> None:
            super().__init__()
            self.start = start
            self.end = end

    def compose(self) -> ComposeResult:
        yield Label("Entities", id="entities-title")
        yield OptionList(id="entities")
        yield Label("Relations", id="relations-title")
        yield RelationList(id="relations")

    def show(self, annotation: Annotation, text: str, scheme: LabelScheme) -> None:
        """Fill the lists from ``annotation`` (keeping the highlighted rows)."""
        colours = {label.name: label.colour for label in scheme.entities}
        entities = self.query_one("#entities", OptionList)
        kept = entities.highlighted
        options = []
        for span in annotation.spans:
            row = Text(STATE_MARK.get(span.state, " "), "bold yellow")
            row.append(f"{span.label:<9}"[:9], f"bold {colours.get(span.label, '')}")
            row.append(" ")
            row.append(_short(span.text_in(text)))
            options.append(Option(row, id=f"{span.start}:{span.end}"))
        entities.set_options(options)
        if kept is not None and options:
            entities.highlighted = min(kept, len(options) - 1)
        self.query_one("#entities-title", Label).update(
            f"Entities ({len(annotation.spans)})  ? = suggestion")
        relations = self.query_one(RelationList)
        kept = relations.highlighted
        relations.relations = list(annotation.relations)
        rows = []
        for rel in annotation.relations:
            row = Text(_short(text[rel.head[0]:rel.head[1]], 14), "bold")
            row.append(f" {rel.label} ", "reverse")
            row.append(" ")
            row.append(_short(text[rel.child[0]:rel.child[1]], 14), "bold")
            rows.append(Option(row))
        relations.set_options(rows)
        if kept is not None and rows:
            relations.highlighted = min(kept, len(rows) - 1)
        self.query_one("#relations-title", Label).update(
            f"Relations ({len(annotation.relations)})")

    @on(OptionList.OptionSelected, "#entities")
    def _entity_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        start, end = (int(x) for x in (event.option.id or "0:0").split(":"))
        self.post_message(self.EntityChosen(start, end))
