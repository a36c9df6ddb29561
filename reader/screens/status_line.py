"""The annotator's lines of words: the header, the label legend, the status line's
account of the selection (pure functions), and the status line itself
(:class:`StatusLine`), which also shows the last notice.

Every edit announces itself.  A Textual toast per key mounts two widgets and lays the
screen out again (and, at a typing pace, a stack of them lays out again and again); the
notice of a key is shown in the status line instead, drawn as one strip with what is
selected, and only warnings and errors still come as toasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.visual import VisualType
from textual.widgets import Static

from annotations.describe import shown
from annotations.models import LabelScheme, Span
from annotations.names import safe_colour
from annotations.session import EditingSession
from annotations.terminal import visible

from ..widgets.one_row import OneRow


def header_title(session: EditingSession) -> str:
    """Where the document is, its status, the progress, why a queue put the document here
    (``reader annotate --order``) and the extractors shown.  What a user needs comes
    first, so that a narrow header cuts only what follows."""
    accepted, total = session.progress()
    reason = session.reason_of(session.doc_id)  # a queue's: why this document is next
    return (f"{session.index + 1}/{len(session)} · {session.status_of(session.doc_id)} · "
            f"{accepted}/{total} accepted · "
            + (f"next because {visible(reason)} · " if reason else "")
            + f"{visible(', '.join(session.sources())) or 'no suggestions'}")


def legend(scheme: LabelScheme) -> Text:
    """The label keys in their labels' colours; how many labels have no key."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for label in scheme.entities:
        if label.key:
            text.append(f"{label.key}", "bold reverse")
            text.append(f" {visible(label.name)} ", Style(color=safe_colour(label.colour),
                                                          bold=True))
    hidden = [label.name for label in scheme.entities if not label.key]
    if hidden:
        text.append(f" l +{len(hidden)}", "dim")
    return text


def describe_selection(status: Text, session: EditingSession, token_range: tuple[int, int],
                       under: list[Span], is_range: bool) -> Span | None:
    """Append to ``status`` what a label key would act on: a range (and the entities it
    is over), or the entity selected with its state and relations, or the cursor's
    offsets.  Returns the entity described, if one is."""
    text = session.text
    start, end = token_range
    if is_range and not (len(under) == 1 and under[0].key == (start, end)):
        status.append("selection ", "bold")
        status.append(f"{shown(text[start:end])!r} {start}-{end}")
        if under:
            status.append(f"  over {len(under)} entit{'y' if len(under) == 1 else 'ies'}",
                          "dim")
        return None
    if not under:
        status.append(f"{start}-{end}", "dim")
        return None
    span = under[0]
    status.append(visible(span.label), "bold")
    status.append(f" {shown(span.text_in(text))!r} {span.start}-{span.end}")
    state = span.state if span.source == "human" else f"{span.state} ({visible(span.source)})"
    status.append(f"  {state}", "dim")
    problems = session.relation_problems()
    for rel in session.relations_of(span):
        # The entity's relations, both ways, so they are visible where one reads.
        other = session.other_end(rel, span)
        arrow = "→" if rel.head in (span.key, span.ref) else "←"
        status.append(f"  {arrow} {visible(rel.label)} ",
                      "bold red" if rel.key in problems else "bold magenta")
        status.append(repr(shown(text[other[0]:other[1]])))
    return span


@dataclass(frozen=True)
class Notice:
    """One notice as it was said (the app keeps the latest in ``ReaderApp.notices``)."""

    message: str
    severity: SeverityLevel = "information"


NOTICE_STYLES: dict[str, Style] = {
    "information": Style(bold=True, color="green"),
    "warning": Style(bold=True, color="yellow"),
    "error": Style(bold=True, color="white", bgcolor="red"),
}


def status_row(account: Text, notice: Text | None, width: int) -> Text:
    """The status line ``width`` cells wide: the screen's account of the selection on the
    left and the notice, if any, on the right.  The notice never hides the start of the
    account (at least a third of the row, or all of it when shorter); what does not fit
    ends in an ellipsis."""
    row = account.copy()
    row.no_wrap, row.overflow, row.end = True, "ellipsis", ""
    if notice is None or width <= 0:
        row.truncate(max(width, 0), overflow="ellipsis")
        return row
    kept = min(account.cell_len, max(16, width // 3))
    room = width - kept - 2
    shown = notice.copy()
    if room < 4:  # too narrow for both: the account only
        row.truncate(width, overflow="ellipsis")
        return row
    shown.truncate(room, overflow="ellipsis")
    row.truncate(width - shown.cell_len - 2, overflow="ellipsis")
    row.append(" " * (width - row.cell_len - shown.cell_len))
    row.append_text(shown)
    return row


class StatusLine(OneRow, Static):
    """One row: what a key would act on (the screen's account, set with :meth:`update`)
    and the last notice (:meth:`show_notice`) for its timeout.

    A :class:`~textual.widgets.Static` for the screens that query ``#status`` as one,
    but drawn through the line API: the row is one strip, built once per change."""

    DEFAULT_CSS = "StatusLine { height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id, markup=False)
        self.account = Text()
        self.notice: Text | None = None
        self._expires = 0.0
        self._joining = False  # a notice now joins the last one (the same key said both)
        self._earlier = False  # the notice shown was said by a key before the last one
        self._timer: Timer | None = None

    def update(self, content: VisualType = "", *, layout: bool = False) -> None:
        """Show ``content`` as the account of the selection (one row: no layout).  A key
        that changes the account without a notice of its own takes away an earlier key's
        notice: the account says what the next key acts on, and at 80 columns a notice
        leaves it a third of the row."""
        text = content if isinstance(content, Text) else Text(str(content))
        if text != self.account:
            self.account = text
            if self._earlier:
                self.notice, self._earlier = None, False
            self.changed()

    def show_notice(self, message: str, severity: SeverityLevel = "information",
                    timeout: float = 3.0) -> None:
        """Show ``message`` (plain text) at the right of the row for ``timeout`` seconds;
        the notices of one key are shown together (see :meth:`next_key`)."""
        said = Text(" ".join(message.split("\n")), NOTICE_STYLES[severity])
        if self._joining and self.notice is not None:
            said = Text.assemble(self.notice, " · ", said)
        self.notice = said
        self._joining = True
        self._earlier = False
        self._expires = max(self._expires, monotonic() + timeout)
        if self._timer is None:  # one timer at a time, not one per key
            self._timer = self.set_timer(timeout, self._expire)
        self.changed()

    def next_key(self) -> None:
        """A key was pressed: its first notice replaces those of the keys before, and
        so does a new account of the selection (see :meth:`update`)."""
        self._joining = False
        self._earlier = self.notice is not None

    def _expire(self) -> None:
        self._timer = None
        left = self._expires - monotonic()
        if left > 0.05:  # a later notice came: it stays its own time
            self._timer = self.set_timer(left, self._expire)
            return
        self.notice = None
        self._expires = 0.0
        self.changed()

    def render(self) -> Text:
        width = self.content_size.width
        return status_row(self.account, self.notice,
                          width if width > 0 else self.account.cell_len + 2 +
                          (cell_len(self.notice.plain) if self.notice else 0))

    def row(self, width: int) -> Text:
        return status_row(self.account, self.notice, width)
