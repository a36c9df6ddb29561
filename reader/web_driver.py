"""Textual's web driver as ``reader serve``'s sessions run it: the app starts focused.

Textual's :class:`~textual.drivers.web_driver.WebDriver` starts every app blurred (it
posts ``AppBlur`` as it starts) and waits for the page to say "focus", which
textual-serve's page sends when its terminal takes the focus.  ``reader serve``'s page
(:func:`reader.web.terminal_page`) gives the terminal the focus as it loads, before its
websocket is open, so that message is never sent: the app stayed blurred until the
annotator's first key, which then refocused it, restyling every widget and redrawing
the whole screen before the key's own change was drawn (the first label key after an
open took several times a later one).  :class:`SessionDriver` starts the app focused
instead; the page's later "blur" and "focus" messages (another tab, another window)
reach the app as before.

The server names it in the session's ``TEXTUAL_DRIVER`` (Textual's setting for the
driver class, where textual-serve names the stock web driver): ``reader.web.SESSION_DRIVER``.
"""

from __future__ import annotations

from textual import events
from textual.drivers.web_driver import WebDriver


class SessionDriver(WebDriver):
    """The web driver, with the app focused once started (as the page's terminal is)."""

    def start_application_mode(self) -> None:
        super().start_application_mode()
        # After the AppBlur the stock driver queues as it starts (a callback queued
        # after it runs after it).
        self._app.call_later(self._app.post_message, events.AppFocus())
