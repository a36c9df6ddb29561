"""Modal pickers of the annotator: relation label, entity label, document, find text,
and what to do with unreviewed suggestions on accept.

Each returns its choice through ``dismiss`` (``None`` when cancelled with Escape).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from annotations.models import EntityLabel, RelationLabel
from annotations.names import safe_colour
from annotations.terminal import visible


class _Picker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker-cancel")]
    DEFAULT_CSS = """
    _Picker { align: center middle; }
    _Picker > Vertical {
        width: 64; height: auto; max-height: 80%;
        border: thick $accent; background: $panel; padding: 0 1;
    }
    _Picker OptionList { height: auto; max-height: 20; }
    _Picker .title { text-style: bold; width: 100%; }
    _Picker .hint { color: $text-muted; width: 100%; }
    """

    def action_cancel(self) -> None:
        self.dismiss(None)


class RelationPicker(_Picker):
    """Choose the label of a relation from ``head`` to ``child``: press its key."""

    def __init__(self, head: tuple[str, str], child: tuple[str, str],
                 labels: list[RelationLabel]) -> None:
        super().__init__()
        self.head = head
        self.child = child
        self.labels = labels

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text("Relation  ", style="bold")
            title.append(self.head[0], "bold cyan").append(f" {self.head[1]}", "dim")
            title.append("  →  ").append(self.child[0], "bold cyan")
            title.append(f" {self.child[1]}", "dim")
            yield Label(title, classes="title")
            if not self.labels:
                yield Label("No relation label allows these entity labels (Escape).",
                            classes="hint")
            options = []
            for label in self.labels:
                row = Text()
                row.append(f" {label.key or ' '} ", "reverse bold")
                row.append(f"  {visible(label.name)}")
                allowed = f"{'|'.join(label.heads) or 'any'} → {'|'.join(label.children) or 'any'}"
                row.append(f"   {allowed}", "dim")
                options.append(Option(row, id=label.name))
            yield OptionList(*options)
            yield Label("key or Enter: choose · Escape: cancel", classes="hint")

    def on_key(self, event: Key) -> None:
        for label in self.labels:
            if label.key and event.character == label.key:
                event.stop()
                self.dismiss(label.name)
                return

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class LabelPicker(_Picker):
    """Choose any entity label by name (filter as you type), or type a new one."""

    BINDINGS = [
        Binding("down", "move(1)", "Next", show=False, id="picker-down"),
        Binding("up", "move(-1)", "Previous", show=False, id="picker-up"),
    ]

    def __init__(self, labels: list[EntityLabel]) -> None:
        super().__init__()
        self.labels = labels
        self.new_name: str | None = None  # a new label typed once, to be confirmed

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Entity label", classes="title")
            yield Input(placeholder="filter, or a new label name")
            yield OptionList()
            yield Label("Enter: choose (a new name asks before it adds a label) · "
                        "Escape: cancel", classes="hint", id="label-hint")

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        query = query.strip().upper()
        for label in self.labels:
            if query in label.name.upper():
                row = Text()
                row.append(f" {label.key or ' '} ", "reverse bold")
                row.append(f"  {visible(label.name)}",
                           Style(color=safe_colour(label.colour), bold=True))
                options.add_option(Option(row, id=label.name))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed)
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = (current + step) % options.option_count

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        name = event.value.strip()
        exact = next((lab.name for lab in self.labels if lab.name.upper() == name.upper()), None)
        if exact:
            self.dismiss(exact)
        elif options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)
        elif name and not any(c.isspace() for c in name):
            # A typo must not become a label: a new name is added on a second Enter.
            new = name.upper()
            if self.new_name == new:
                self.dismiss(new)
                return
            self.new_name = new
            hint = Text.assemble(("New label ", "bold yellow"), (new, "bold"),
                                 (": press Enter again to add it, or edit the name", "yellow"))
            self.query_one("#label-hint", Label).update(hint)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class DocumentPicker(_Picker):
    """Jump to a document: its number, title and status."""

    def __init__(self, rows: list[tuple[str, str, str]], current: int) -> None:
        super().__init__()
        self.rows = rows
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Go to document", classes="title")
            options = []
            for number, (doc_id, title, status) in enumerate(self.rows, start=1):
                row = Text(f"{number:>4}  ")
                row.append(f"[{status}] ".ljust(10), "bold")
                row.append(title)
                options.append(Option(row, id=doc_id))
            yield OptionList(*options)

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = self.current

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class FindScreen(_Picker):
    """Ask for the text to find (case-insensitive)."""

    DEFAULT_CSS = """
    FindScreen { align: center bottom; }
    FindScreen > Vertical { width: 100%; height: auto; border: tall $accent; }
    """

    def __init__(self, last: str = "") -> None:
        super().__init__()
        self.last = last

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Input(value=self.last,
                        placeholder="find text (Enter: next match, Escape: cancel)")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value or None)


class NotesScreen(_Picker):
    """The annotator's notes on the document: Enter saves, Escape leaves them as they were."""

    def __init__(self, notes: str) -> None:
        super().__init__()
        self.notes = notes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Notes on this document", classes="title")
            yield Input(value=self.notes, placeholder="free text, saved with the annotation")
            yield Label("Enter: save · Escape: cancel · exported in meta.notes",
                        classes="hint")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class UnreviewedPicker(_Picker):
    """Accepting a document that still holds unreviewed suggestions: what to do.

    Returns ``"confirm"`` (confirm them all, in bulk, and accept), ``"review"`` (go to
    the first unreviewed one) or ``None`` (Escape: do nothing).
    """

    def __init__(self, count: int, labels: list[str]) -> None:
        super().__init__()
        self.count = count
        self.labels = labels

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.count} suggestion(s) in this document are unreviewed",
                        classes="title")
            yield Label("Accepting makes them gold although nobody looked at them: "
                        + ", ".join(self.labels), classes="hint")
            yield OptionList(
                Option(Text.assemble((" c ", "reverse bold"),
                                     f"  Confirm all {self.count} and accept"), id="confirm"),
                Option(Text.assemble((" g ", "reverse bold"),
                                     "  Go to the first unreviewed suggestion"), id="review"),
            )
            yield Label("c / g / Enter: choose · Escape: cancel", classes="hint")

    def on_key(self, event: Key) -> None:
        choice = {"c": "confirm", "g": "review"}.get(event.character or "")
        if choice:
            event.stop()
            self.dismiss(choice)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
