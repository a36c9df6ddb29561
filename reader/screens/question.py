"""A yes/no question before an edit that reaches beyond the open document.

:class:`Question` states what would happen (with its count) and returns True (``y`` or
Enter) or False (``n`` or Escape) through ``dismiss``.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class Question(ModalScreen[bool]):
    """``title`` (a question that states the count) and ``hint`` (what undo does)."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="question-yes"),
        Binding("n,escape", "answer(False)", "No", id="question-no"),
    ]
    DEFAULT_CSS = """
    Question { align: center middle; }
    Question > Vertical {
        width: 64; height: auto; max-height: 80%;
        border: thick $accent; background: $panel; padding: 0 1;
    }
    Question .title { text-style: bold; width: 100%; }
    Question .hint { color: $text-muted; width: 100%; }
    """

    def __init__(self, title: str, hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title", markup=False)
            if self.hint:
                yield Label(self.hint, classes="hint", markup=False)
            yield Label("y / Enter: yes · n / Escape: no", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
