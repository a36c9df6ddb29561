"""The help screen: every key of the annotator, as the keymap currently sets it."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


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
