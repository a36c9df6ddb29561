"""The help screen: every key of a screen as the keymap sets it now, as a person types it.

One table, built from the live keymap (a key the user remapped in the config file's
``[keymap]`` shows as remapped).  It fits 80x24 in two screens: each row one line, keys
that go together (left and right, next and previous) share a row, and at 110 columns
and more the table adds each key's short name and binding id (what ``[keymap]`` names).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console, ConsoleOptions, RenderResult
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
from .key_footer import keys_label

# (keys, name, what it does, binding id): keys as Textual names them, comma-separated
# within a binding; the keys of the bindings of a shared row are separated by spaces.
HelpRow = tuple[str, str, str, str]

# Bindings that share one row of help, by the id of the first: (their ids, name, what).
HELP_GROUPS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "cursor-left": (("cursor-left", "cursor-right"), "Token ← →",
                    "Move the cursor one token left / right"),
    "cursor-up": (("cursor-up", "cursor-down"), "Line ↑ ↓", "Move the cursor one line up / down"),
    "page-up": (("page-up", "page-down"), "Page", "Scroll one page up / down"),
    "article-start": (("article-start", "article-end"), "Start, end",
                      "Go to the start / end of the article"),
    "select-right": (("select-right", "select-left"), "End +1, -1",
                     "Grow / shrink the selection's end by a token"),
    "select-start-left": (("select-start-left", "select-start-right"), "Start -1, +1",
                          "Grow / shrink the selection's start by a token"),
    "next-entity": (("next-entity", "previous-entity"), "Next, prev ent",
                    "Select the next / previous entity"),
    "next-document": (("next-document", "previous-document"), "Next, prev doc",
                      "Go to the next / previous document"),
    "find": (("find", "find-next"), "Find, again",
             "Find text in the article / the next match again"),
    "adjudicate-take-1": (tuple(f"adjudicate-take-{n}" for n in range(1, 10)), "Take n",
                          "Take annotator n's version of this region into the gold"),
    "adjudicate-next-document": (("adjudicate-next-document",
                                  "adjudicate-previous-document"), "Next, prev doc",
                                 "Go to the next / previous document"),
    "review-next-document": (("review-next-document", "review-previous-document"),
                             "Next, prev doc",
                             "Go to the next / previous document (lower F1 first)"),
}
# Columns the help needs before it shows each key's short name and id.
WIDE = 106


def keys_text(keys: str) -> str:
    """The keys of a help row as a person types them: ``"u,ctrl+z"`` → ``"u/Ctrl+Z"``,
    ``"left right"`` (two bindings of a shared row) → ``"← →"``."""
    return " ".join(keys_label(binding, "/") for binding in keys.split(" "))


def help_rows(bindings: Sequence[Binding], keys_of: Callable[[Binding], str],
              label_names: str = "") -> list[HelpRow]:
    """One row per binding, or per group of :data:`HELP_GROUPS`, in the bindings' order,
    with the keys ``keys_of`` says are in force; the ten label keys share a row naming
    the labels (``label_names``)."""
    by_id = {b.id: b for b in bindings}
    done: set[str | None] = set()
    rows: list[HelpRow] = []
    for binding in bindings:
        if binding.id in done:
            continue
        if binding in LABEL_BINDINGS:
            done.update(b.id for b in LABEL_BINDINGS)
            rows.append((" ".join(keys_of(b) for b in LABEL_BINDINGS), "Label",
                         "Label the selection, or relabel the entity: " + label_names,
                         f"{LABEL_BINDINGS[0].id} … {LABEL_BINDINGS[-1].id}"))
            continue
        ids, name, what = HELP_GROUPS.get(binding.id or "", ((binding.id or "",),
                                                            binding.description,
                                                            binding.tooltip or
                                                            binding.description))
        members = [by_id[i] for i in ids if i in by_id] or [binding]
        done.update(b.id for b in members)
        rows.append((" ".join(keys_of(b) for b in members), name, what,
                     " ".join(b.id or "" for b in members)))
    return rows


class HelpTable:
    """The help rows as a table as wide as it is given: keys and what they do, and at
    :data:`WIDE` columns also each key's name and binding id."""

    def __init__(self, rows: list[HelpRow]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.max_width >= WIDE
        title = ("Keys · Escape closes · remap a key by its id in the config file's "
                 "[keymap]" if wide else "Keys · Escape closes · ↓ PgDn scroll · ids "
                 f"at {WIDE}+ columns")
        table = Table(title=Text(title), title_style="bold", expand=True, box=None,
                      header_style="bold", padding=(0, 1, 0, 0), pad_edge=False)
        table.add_column("Keys", style="bold cyan", width=19, overflow="fold")
        if wide:
            table.add_column("Name", width=14, overflow="ellipsis", no_wrap=True)
        table.add_column("What it does", ratio=1)
        if wide:
            table.add_column("id", style="dim", width=24, overflow="fold")
        for keys, name, what, binding_id in self.rows:
            cells = [Text(keys_text(keys)), *([Text(name)] if wide else []), Text(what),
                     *([Text(binding_id)] if wide else [])]
            table.add_row(*cells)
        yield table


class HelpScreen(ModalScreen[None]):
    """The help table; any of Escape, q, ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help-close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; max-width: 132; height: 100%; max-height: 48; border: thick $accent;
        background: $panel; padding: 0 1;
    }
    """

    def __init__(self, rows: list[HelpRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HelpTable(self.rows))

    def action_close(self) -> None:
        self.dismiss(None)


def annotate_help_rows(keys_of: Callable[[Binding], str], scheme: LabelScheme
                       ) -> list[HelpRow]:
    """The annotator's help: its keys, the relation list's, and the command palette."""
    names = ", ".join(f"{lab.key} {visible(lab.name)}" for lab in scheme.entities if lab.key)
    rows = help_rows(ANNOTATE_BINDINGS, keys_of, names)
    rows += help_rows([b for b in RelationList.BINDINGS if isinstance(b, Binding)], keys_of)
    rows.append(("ctrl+p", "Commands", "Command palette: every action by name", "-"))
    return rows
