"""``SessionScreen``: what the annotate, review and adjudicate screens share.

Each of them maps keys to calls on an editing session and shows the
:class:`~annotations.session.Change` a call returns.  The base holds the glue they
would otherwise each copy:

* :meth:`SessionScreen.run_edit`: call the session, show the change
  (:meth:`show_change`, the screen's own), announce what it did, and handle a save the
  store refuses (the one place that does: the screen keeps showing what is stored);
* help drawn from the live keymap (:attr:`ReaderApp.keymap`), so a remapped key shows
  as the user set it;
* the explanation of a dimmed key (one that cannot act now) instead of silence;
* the footer (:class:`~reader.screens.key_footer.KeyFooter`): the screen's ``FOOTER``
  keys in priority order, refreshed once the keys pause, and only when what can act
  changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding
from textual.events import Key
from textual.screen import Screen
from textual.timer import Timer

from annotations.models import Span
from annotations.session import (
    SAVE_ERRORS,
    Change,
    EditingSession,
    Offer,
    SessionError,
    UnreviewedSuggestions,
)
from annotations.terminal import visible

from .help import HelpRow, HelpScreen, help_rows
from .key_footer import KeyFooter
from .status_line import StatusLine

if TYPE_CHECKING:
    from ..app import ReaderApp

# Seconds of quiet after which the footer shows which keys can act (see refresh_footer).
FOOTER_REFRESH_DELAY = 0.25

__all__ = ["HelpRow", "SessionScreen", "parse_action"]


def parse_action(action: str) -> tuple[str, tuple[object, ...]]:
    """``"next_document(-1)"`` → ``("next_document", (-1,))``: the integer arguments a
    binding passes (what :meth:`Screen.check_action` is asked with)."""
    name, _, args = action.partition("(")
    parameters = tuple(int(a) for a in args.rstrip(")").split(",")
                       if a.strip().lstrip("-").isdigit())
    return name, parameters


class SessionScreen(Screen[None]):
    """A screen over an editing session (see the module docstring)."""

    # Every key of the screen, in the order help lists them (the subclass sets it).
    KEYS: ClassVar[Sequence[Binding]] = ()
    # Keys the footer shows dimmed do not run their action; what they say instead.
    DIMMED_REASONS: ClassVar[dict[str, str]] = {}
    # The footer's keys by binding id, most wanted first (empty: the KEYS with show=True).
    FOOTER: ClassVar[Sequence[str]] = ()

    def __init__(self, session: EditingSession) -> None:
        super().__init__()
        self.session = session
        self._footer_state: tuple[object, ...] = ()
        self._footer_timer: Timer | None = None
        self._status_line: StatusLine | None = None

    @property
    def keymap(self) -> dict[str, str]:
        """The keys the user set by binding id (the config file's ``[keymap]``)."""
        app: ReaderApp = self.app  # type: ignore[assignment]
        return getattr(app, "keymap", {})

    def keys_of(self, binding: Binding) -> str:
        """The keys that run ``binding`` now, as Textual names them (comma-separated)."""
        return self.keymap.get(binding.id or "", binding.key)

    # -- edits -----------------------------------------------------------------------

    def run_edit(self, edit: Callable[..., Change | None], *args: object,
                 nothing: str | None = "Nothing to change here", announce: bool = True
                 ) -> Change | None:
        """Call a session edit, show its change and say what it did; a refused save is
        an error notice, and the screen keeps showing what the store holds.  ``nothing``
        is said when the edit had nothing to do (None: quietly)."""
        try:
            change = edit(*args)
        except UnreviewedSuggestions as unreviewed:  # a question, not a refusal
            self.ask_about_unreviewed(unreviewed.spans)
            return None
        except SessionError as err:  # a rule refused the edit: nothing was to be saved
            self.app.bell()
            self.notify(visible(str(err)), severity="warning", timeout=5, markup=False)
            return None
        except SAVE_ERRORS as err:
            self.notify(f"not saved: {visible(str(err))}", severity="error", timeout=10,
                        markup=False)
            return None
        if change is None:
            if nothing is not None:
                self.say(nothing)
            return None
        self.show_change(change)
        if announce:
            self.notify(visible(change.description), timeout=3, markup=False)
        for notice in change.notices:
            # An offer of the next key joins the account in the status line; a warning
            # is a toast (which costs a layout of the screen, and another as it goes).
            self.notify(visible(notice), timeout=5, markup=False,
                        severity="information" if isinstance(notice, Offer) else "warning")
        self.refresh_footer()
        return change

    def ask_about_unreviewed(self, spans: list[Span]) -> None:
        """Accepting was refused: suggestions nobody looked at are left (the annotate
        screen asks whether to confirm them in bulk)."""
        self.notify(f"{len(spans)} suggestion(s) are unreviewed", severity="warning")

    def show_change(self, change: Change) -> None:
        """Show what ``change`` did (each screen its own way)."""
        raise NotImplementedError

    def say(self, message: str) -> None:
        """A key that can do nothing here: a bell and a short notice saying why."""
        self.app.bell()
        self.notify(message, timeout=2, markup=False)

    def open_document(self, index: int) -> None:
        """Show document ``index`` of the session (each screen its own way)."""
        raise NotImplementedError

    # -- what every screen does the same way ---------------------------------------------

    NOTHING_TO_UNDO: ClassVar[str] = "Nothing to undo"

    def action_undo(self) -> None:
        self.run_edit(self.session.undo, nothing=self.NOTHING_TO_UNDO)

    def action_redo(self) -> None:
        self.run_edit(self.session.redo, nothing="Nothing to redo")

    def action_next_document(self, step: int) -> None:
        target = self.session.index + step
        if 0 <= target < len(self.session):
            self.open_document(target)
        else:
            self.say("This is the last document" if step > 0 else "This is the first document")

    def action_set_status(self, status: str) -> None:
        """Give the open document a status, then go on to the next open document."""
        self.go_on(self.run_edit(self.session.set_status, status,
                                 nothing=f"This document is already {status}ed"), status)

    def go_on(self, change: Change | None, status: str) -> None:
        """After a status edit: on to the next document without one (unless the edit was
        refused, or is waiting for an answer)."""
        if change is None and self.session.status_of(self.session.doc_id) != status:
            return
        following = self.session.next_open()
        if following is not None:
            self.open_document(following)
        else:
            accepted, total = self.session.progress()
            self.notify(f"No open document left ({accepted}/{total} accepted)", timeout=4)

    # -- help ------------------------------------------------------------------------

    def help_rows(self) -> list[HelpRow]:
        """(keys, name, what it does, id) of every key, with the keys the user set."""
        return help_rows(self.KEYS, self.keys_of)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.help_rows()))

    # -- dimmed keys -------------------------------------------------------------------

    def on_key(self, event: Key) -> None:
        line = self.status_line
        if line is not None:
            line.next_key()
        self.explain_dimmed_key(event)

    @property
    def status_line(self) -> StatusLine | None:
        """The screen's status line (where its notices are shown), if it has one."""
        if self._status_line is None:
            found = self.query(StatusLine)
            self._status_line = found.first() if found else None
        return self._status_line

    def explain_dimmed_key(self, event: Key) -> None:
        """A key whose binding is dimmed (it cannot act now) says why, instead of nothing.

        The screen sees the key before Textual looks up the bindings, which skips a
        dimmed one silently."""
        for binding in self.KEYS:
            reason = self.DIMMED_REASONS.get(binding.id or "")
            if reason is None or event.key not in self.keys_of(binding).split(","):
                continue
            if self.check_action(*parse_action(binding.action)) is None:
                event.stop()
                event.prevent_default()
                self.say(reason)
            return

    # -- the footer --------------------------------------------------------------------

    def footer_bindings(self) -> list[Binding]:
        """The bindings of the footer, in the order it shows them as far as they fit."""
        if not self.FOOTER:
            return [b for b in self.KEYS if b.show]
        by_id = {b.id: b for b in self.KEYS}
        return [by_id[i] for i in self.FOOTER if i in by_id]

    def can_run(self, binding: Binding) -> bool:
        """Whether ``binding`` can act now (the footer dims it otherwise)."""
        name, parameters = parse_action(binding.action)
        if name.startswith("app."):
            return bool(self.app.check_action(name[4:], parameters))
        return bool(self.check_action(name, parameters))

    def footer_state(self) -> tuple[object, ...]:
        """What :meth:`check_action` answers depends on (the subclass says)."""
        return (self.session.doc_id, self.session.index, self.session.can_undo,
                self.session.can_redo)

    def refresh_footer(self) -> None:
        # Only when what check_action answers changes, and not on the key's path: a short
        # timer, restarted by every change, updates the footer once the keys pause (an
        # edit then an undo would otherwise pay for it twice).  Textual asks check_action
        # again when a key is pressed, so a key is refused at once even while the footer
        # still shows it as it was.
        state = self.footer_state()
        if state != self._footer_state:
            self._footer_state = state
            if self._footer_timer is not None:
                self._footer_timer.stop()
            self._footer_timer = self.set_timer(FOOTER_REFRESH_DELAY, self._update_footer)

    def _update_footer(self) -> None:
        self._footer_timer = None
        for footer in self.query(KeyFooter):
            footer.update_keys()
