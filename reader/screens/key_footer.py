"""The footer of the session screens: the keys that matter, in the screen's priority order,
as a person types them, as many as fit whole.

Textual's ``Footer`` lists the shown bindings in the order the screen declares them, cuts
the last one mid-word at the edge, names keys as Textual does (``less_than_sign``),
composes one widget per key again whenever the bindings change (20-70 ms here), and
composes them a moment after the screen, so that in the browser the footer row stayed
blank until the first key.  :class:`KeyFooter` is one row drawn as one strip from the
live keymap: each screen names its footer keys by binding id (``FOOTER``), a key that
cannot act now is dimmed, a key that does not fit whole is left out, and a click on a
key presses it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.keys import key_to_character

from ..widgets.one_row import OneRow

if TYPE_CHECKING:
    from .session_screen import SessionScreen

# Keys whose Textual name is not what a person types, and how they are written.
KEY_NAMES = {
    "left": "←", "right": "→", "up": "↑", "down": "↓", "pageup": "PgUp",
    "pagedown": "PgDn", "home": "Home", "end": "End", "tab": "Tab", "enter": "Enter",
    "escape": "Esc", "delete": "Del", "backspace": "Backspace", "space": "Space",
    "insert": "Ins", "slash": "/", "backslash": "\\",
}
MODIFIERS = {"ctrl": "Ctrl", "shift": "Shift", "alt": "Alt", "meta": "Meta", "super": "Super"}


def key_name(key: str) -> str:
    """One Textual key as a person types it: ``less_than_sign`` → ``<``, ``shift+right``
    → ``Shift+→``, ``ctrl+z`` → ``Ctrl+Z``, ``f1`` → ``F1``; ``C`` stays ``C``."""
    *modifiers, base = key.strip().split("+")
    if base in KEY_NAMES:
        name = KEY_NAMES[base]
    elif len(base) > 1 and base[0] == "f" and base[1:].isdigit():
        name = base.upper()
    elif len(base) == 1:
        name = base.upper() if modifiers else base
    else:
        character = key_to_character(base)
        name = character if character is not None and character.isprintable() \
            else base.replace("_", " ")
    return "+".join([*(MODIFIERS.get(m, m.title()) for m in modifiers), name])


def keys_label(keys: str, separator: str = " / ") -> str:
    """``"u,ctrl+z"`` → ``"u / Ctrl+Z"``: every key of a binding as a person types it."""
    return separator.join(key_name(k) for k in keys.split(",") if k.strip())


class KeyFooter(OneRow):
    """One row of ``key description`` pairs for the screen's ``FOOTER`` binding ids."""

    DEFAULT_CSS = """
    KeyFooter { dock: bottom; height: 1; background: $footer-background;
                color: $footer-description-foreground; }
    KeyFooter > .key-footer--key { color: $footer-key-foreground; text-style: bold; }
    KeyFooter > .key-footer--dimmed { text-style: dim; }
    """
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--dimmed"}
    GAP = 2  # cells between two keys

    def __init__(self) -> None:
        super().__init__()
        # (first key, its label, description, can act now) of each key in the footer.
        self.entries: list[tuple[str, str, str, bool]] = []
        self._places: list[tuple[int, int, str]] = []  # (from x, to x, key) of those shown

    @property
    def session_screen(self) -> SessionScreen:
        return self.screen  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, lambda _screen: self.update_keys())
        self.update_keys()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def update_keys(self) -> None:
        """Ask the screen again which keys it shows and which of them can act."""
        screen = self.session_screen
        entries = footer_entries(screen.footer_bindings(), screen.keys_of, screen.can_run)
        if entries != self.entries:
            self.entries = entries
            self.changed()

    def row(self, width: int) -> Text:
        """The footer ``width`` cells wide: each key whole, in order, while they fit."""
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        dimmed = self.get_component_rich_style("key-footer--dimmed", partial=True)
        text = Text(no_wrap=True, end="")
        places: list[tuple[int, int, str]] = []
        for key, label, description, active in self.entries:
            piece = cell_len(label) + 1 + cell_len(description)
            start = text.cell_len + (self.GAP if places else 1)
            if start + piece > width:
                break
            text.append(" " * (start - text.cell_len))
            text.append(label, key_style if active else key_style + dimmed)
            text.append(" " + description, None if active else dimmed)
            places.append((start, start + piece, key))
        self._places = places
        return text

    def render(self) -> Text:
        return self.row(self.size.width or 1000)

    def on_click(self, event: events.Click) -> None:
        """A click on a key presses it (a dimmed key then says why it cannot act)."""
        for start, end, key in self._places:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return


def footer_entries(bindings: Sequence[Binding], keys_of: Callable[[Binding], str],
                   can_run: Callable[[Binding], bool]) -> list[tuple[str, str, str, bool]]:
    """(first key, its label, description, can act) of each binding, in the order given:
    the first of the keys the keymap sets now is the one shown and pressed."""
    entries = []
    for binding in bindings:
        first = keys_of(binding).split(",")[0].strip()
        entries.append((first, key_name(first), binding.description, can_run(binding)))
    return entries
