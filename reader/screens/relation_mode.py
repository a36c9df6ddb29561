"""Relation mode: from a head entity, a letter (or two) on every entity on screen picks
the child, as vimium picks a link.

Pure state, no widget: the annotate screen starts it with the head and the entities on
screen, feeds it the letters typed, and draws :attr:`RelationMode.hints`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from annotations.models import Span

HINT_LETTERS = "asdfghjklqwertyuiopzxcvbnm"


def hint_codes(count: int) -> list[str]:
    """``count`` hint codes: single letters while they last, else two letters each (as
    vimium does), so every entity on screen gets one."""
    if count <= len(HINT_LETTERS):
        return list(HINT_LETTERS[:count])
    return [a + b for a in HINT_LETTERS for b in HINT_LETTERS][:count]


@dataclass
class RelationMode:
    """A relation being drawn from ``head``: the hint code of each entity on screen."""

    head: Span
    targets: dict[str, Span] = field(default_factory=dict)
    typed: str = ""  # the first letter of a two-letter code, while one is typed

    @classmethod
    def start(cls, head: Span, on_screen: Sequence[Span]) -> RelationMode:
        others = [span for span in on_screen if span.key != head.key]
        return cls(head, dict(zip(hint_codes(len(others)), others, strict=True)))

    @property
    def hints(self) -> dict[object, str]:
        """The letters to draw, by the ``(start, end, label)`` of the entity they pick
        (its name in the article view: spans starting together each get their own)."""
        return {span.ref: code for code, span in self.targets.items()}

    def type(self, letter: str) -> Span | None:
        """The entity ``letter`` completes a code of; None while a code is half typed.

        Raises ``KeyError`` (naming what was typed) when no code starts so."""
        typed = self.typed + letter
        if typed in self.targets:
            self.typed = ""
            return self.targets[typed]
        if any(code.startswith(typed) for code in self.targets):
            self.typed = typed
            return None
        self.typed = ""
        raise KeyError(typed)
