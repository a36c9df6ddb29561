"""The adjudication screen: several annotators' versions settled into the gold.

The article shows the adjudicated gold (filled, in its labels' colours: what all
annotators agree on is there from the start) and every region still in dispute
(underlined in red, tagged ``⚑``; ``✓`` once settled).  Below the article, one lane
per annotator shows that annotator's version of the disagreement under the cursor,
with the key that takes it.  Each key is one call on the app's
:class:`~annotations.adjudication.Adjudication` session: saved at once, undoable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import BindingType
from textual.widgets import Header, Static

from annotations.adjudication import Adjudication, Item
from annotations.session import Change
from annotations.terminal import visible

from ..bindings import ADJUDICATE_BINDINGS, ADJUDICATE_FOOTER
from ..widgets.article_view import ArticleView, DisplaySpan
from .key_footer import KeyFooter
from .session_screen import SessionScreen
from .status_line import StatusLine

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from ..app import AdjudicateApp

OPEN_STYLE = Style(color="#ff5f5f", underline=True, bold=True)
OPEN_TAG = Style(color="#ff5f5f", bold=True)
SETTLED_TAG = Style(color="#5fd75f", bold=True)


def adjudication_spans(session: Adjudication, items: list[Item]) -> list[DisplaySpan]:
    """The gold spans in their labels' colours, and every disputed region: ``⚑`` while
    open, ``✓`` once settled."""
    colours = session.colours
    shown = []
    for span in session.annotation.spans:
        colour = colours.get(span.label, "#7f7f7f")
        shown.append(DisplaySpan(span.start, span.end, f" {visible(span.label)}",
                                 Style(color="#ffffff", bgcolor=colour),
                                 Style(color="#000000", bgcolor=colour, bold=True), "gold"))
    for item in items:
        if item.kind != "span":
            continue
        settled = session.is_settled(item)
        shown.append(DisplaySpan(item.start, item.end, " ✓" if settled else " ⚑",
                                 Style() if settled else OPEN_STYLE,
                                 SETTLED_TAG if settled else OPEN_TAG,
                                 "settled" if settled else "open"))
    return shown


def adjudication_title(session: Adjudication, items: list[Item]) -> str:
    """Where the document is, its status and how many of its disagreements are open."""
    return (f"{session.index + 1}/{len(session)} · {session.status_of(session.doc_id)} · "
            f"{session.open_count(items)} of {len(items)} disagreements open · into "
            f"{visible(session.annotator)}")


class AdjudicateScreen(SessionScreen):
    """Disagreement by disagreement: number keys take an annotator's version."""

    BINDINGS: ClassVar[list[BindingType]] = list(ADJUDICATE_BINDINGS)
    KEYS = ADJUDICATE_BINDINGS
    FOOTER = ADJUDICATE_FOOTER
    DIMMED_REASONS: ClassVar[dict[str, str]] = {
        "adjudicate-undo": "Nothing to undo", "adjudicate-redo": "Nothing to redo"}
    DEFAULT_CSS = """
    AdjudicateScreen #legend { height: 1; background: $panel; padding: 0 1; }
    AdjudicateScreen ArticleView { height: 1fr; }
    AdjudicateScreen #lanes { height: auto; max-height: 10; background: $boost;
                              padding: 0 1; border-top: hkey $primary; }
    AdjudicateScreen #status { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, app_state: AdjudicateApp) -> None:
        super().__init__(app_state.session)
        self.session: Adjudication = app_state.session
        self.items: list[Item] = []
        self.current: int | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⚖")
        yield Static(id="legend")
        yield ArticleView(id="article")
        yield Static(id="lanes")
        yield StatusLine(id="status")
        yield KeyFooter()

    @property
    def view(self) -> ArticleView:
        return self.query_one(ArticleView)

    @property
    def item(self) -> Item | None:
        return self.items[self.current] if self.current is not None else None

    def on_mount(self) -> None:
        self.open_document(self.session.resume_index())
        self.view.focus()

    # -- documents ------------------------------------------------------------------

    def open_document(self, index: int) -> None:
        self.session.open(index)
        self.items = self.session.items()
        unsettled = [i for i, item in enumerate(self.items) if not self.session.is_settled(item)]
        first = unsettled or list(range(len(self.items)))
        self.current = first[0] if first else None
        self.view.load(self.session.text, self._display())
        self._show()

    def _display(self) -> list[DisplaySpan]:
        return adjudication_spans(self.session, self.items)

    def _show(self) -> None:
        session = self.session
        names = list(session.layers)
        legend = Text(no_wrap=True, overflow="ellipsis")
        for number, name in enumerate(names, start=1):
            legend.append(f"{number}", "bold reverse")
            legend.append(f" {visible(name)}  ")
        legend.append("x", "bold reverse")
        legend.append(" nobody's")
        self.query_one("#legend", Static).update(legend)
        open_items = session.open_count(self.items)
        self.app.title = adjudication_title(session, self.items)
        self.app.sub_title = visible(session.title)
        item = self.item
        if item is not None:
            self.view.set_cursor(item.start, item.end)
        else:
            self.view.cursor = None
            self.view.refresh()
        self._show_lanes(names)
        self._show_status(open_items)
        self.refresh_footer()

    def _show_lanes(self, names: list[str]) -> None:
        item, text = self.item, self.session.text
        lanes = Text()
        if item is None:
            lanes.append("The annotators agree on everything in this document: "
                         "a accepts it, ] goes on", "bold green")
        else:
            settled = (set(self.session.settled_by(item)) if self.session.is_settled(item)
                       else set())
            for number, name in enumerate(names, start=1):
                if number > 1:
                    lanes.append("\n")
                lanes.append(f" {number} ", "bold reverse" if name in settled else "bold")
                lanes.append(f" {visible(name):<12.12} ", "bold" if name in settled else "")
                if item.group is not None:
                    spans = item.group.by_annotator.get(name, ())
                    lanes.append(", ".join(f"{visible(label)} {visible(text[s:e])!r}"
                                           for s, e, label in spans) or "(nothing marked)")
                else:
                    assert item.relation is not None
                    labels = item.relation.by_annotator.get(name, ())
                    lanes.append(", ".join(visible(label) for label in labels)
                                 or "(no relation)")
                if name in settled:
                    lanes.append("  ✓ in the gold", "green")
        self.query_one("#lanes", Static).update(lanes)

    def _show_status(self, open_items: int) -> None:
        item, text = self.item, self.session.text
        status = Text(no_wrap=True, overflow="ellipsis")
        if item is not None and self.current is not None:
            status.append(f"{self.current + 1}/{len(self.items)} ", "dim")
            if item.group is not None:
                status.append(f"spans at {item.start}-{item.end}", "bold")
                gold = self.session.gold_spans(item)
                status.append("  gold: " + (", ".join(
                    f"{visible(s.label)} {visible(text[s.start:s.end])!r}" for s in gold)
                    or "—"))
            else:
                assert item.relation is not None
                (hs, he), (cs, ce) = item.relation.head, item.relation.child
                status.append(f"relation {visible(text[hs:he])!r} → {visible(text[cs:ce])!r}",
                              "bold")
                labels = self.session.gold_labels(item.relation)
                status.append("  gold: " + (", ".join(visible(x) for x in labels) or "—"))
        status.append(f"   {open_items} open", "bold yellow" if open_items else "dim")
        self.query_one("#status", Static).update(status)

    # -- navigation -------------------------------------------------------------------

    def action_next_item(self, step: int) -> None:
        if not self.items:
            self.notify("No disagreement in this document", timeout=2)
            return
        here = self.current if self.current is not None else -1
        target = here + step
        if not 0 <= target < len(self.items):
            self.notify("No more disagreements this way; ] and [ change document",
                        timeout=2)
            return
        self.current = target
        self._show()

    # -- choices ----------------------------------------------------------------------

    def _run(self, edit: object, *args: object, nothing: str) -> Change | None:
        return self.run_edit(edit, *args, nothing=nothing)  # type: ignore[arg-type]

    def show_change(self, change: Change) -> None:
        """Every mark, the lanes and the open count again: a choice or its undo can
        settle or unsettle any item of the document."""
        if change.reopened:
            self.open_document(self.session.index)
        else:
            self._redraw()

    def _redraw(self) -> None:
        self.view.set_spans(self._display())
        self._show()

    def action_take(self, number: int) -> None:
        item, names = self.item, list(self.session.layers)
        if item is None:
            self.notify("No disagreement here", timeout=2)
            return
        if number > len(names):
            self.notify(f"There are {len(names)} annotators here", timeout=2)
            return
        if self._run(self.session.take, item, names[number - 1],
                     nothing="The gold already holds that version") is not None:
            self._advance()

    def _advance(self) -> None:
        """On to the next open disagreement after this one, if there is one."""
        here = self.current if self.current is not None else -1
        following = [i for i, item in enumerate(self.items)
                     if i > here and not self.session.is_settled(item)]
        if following:
            self.current = following[0]
            self._show()

    def action_reject(self) -> None:
        item = self.item
        if item is None:
            self.notify("No disagreement here", timeout=2)
            return
        self._run(self.session.reject, item, nothing="Nobody's version: the gold holds "
                  "nothing here")
        self._redraw()  # an empty region rejected changes nothing, but is settled now
        self._advance()
