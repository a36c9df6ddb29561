"""The help screen: every key of the annotator, as the keymap currently sets it."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from annotations.models import LabelScheme
from annotations.terminal import visible

from ..bindings import ANNOTATE_BINDINGS, LABEL_BINDINGS
from ..widgets.side_panel import RelationList


def key_label(keys: str) -> str:
    """``"u,ctrl+z"`` → ``"u / ctrl+z"`` with Textual's long key names shortened."""
    names = {"question_mark": "?", "slash": "/", "full_stop": ".", "space": "space"}
    return " / ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    """A table of (keys, name, what it does) rows; any of Escape, q, ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help-close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; max-width: 120; height: 90%; border: thick $accent; background: $panel;
        padding: 0 1;
    }
    """

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        title = Text("Keys (remap by id in the config file's [keymap] table) · Escape closes")
        table = Table(title=title, expand=True,
                      box=None, header_style="bold", title_style="bold")
        table.add_column("Keys", style="bold cyan", max_width=14, overflow="fold")
        table.add_column("Action", max_width=14)
        table.add_column("What it does", ratio=1, min_width=24)
        table.add_column("id", style="dim", max_width=20, overflow="fold")
        for keys, name, tooltip, binding_id in self.rows:
            table.add_row(Text(key_label(keys)), Text(name), Text(tooltip), Text(binding_id))
        with VerticalScroll():
            yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)


def annotate_help_rows(keys_of: Callable[[Binding], str], scheme: LabelScheme
                       ) -> list[tuple[str, str, str, str]]:
    """The annotator's help: every key with the keys ``keys_of`` says are in force, the
    ten label keys as one row naming the labels, and the relation list's keys."""
    rows = []
    for binding in ANNOTATE_BINDINGS:
        if binding in LABEL_BINDINGS:
            if binding is LABEL_BINDINGS[0]:
                # Ten rows of "Label N" say less than one row naming the labels.
                names = ", ".join(f"{lab.key} {visible(lab.name)}"
                                  for lab in scheme.entities if lab.key)
                keys = ",".join(keys_of(b) for b in LABEL_BINDINGS)
                rows.append((keys, "Label", "Label the selection, or relabel the entity "
                             f"under the cursor: {names}", "label-1 … label-0"))
            continue
        rows.append((keys_of(binding), binding.description, binding.tooltip,
                     binding.id or ""))
    rows += [(keys_of(b), b.description, b.tooltip, b.id or "")
             for b in RelationList.BINDINGS if isinstance(b, Binding)]
    rows.append(("ctrl+p", "Commands", "Command palette: every action by name", "-"))
    return rows
