"""Data shown in a terminal: control characters made visible, Rich markup escaped.

Anything that comes from data (article text, labels, names, paths, error messages
quoting a file) may hold ANSI/OSC escape sequences, bidi overrides or Rich markup.
:func:`visible` maps every such code point to a visible one of the same length (so
offsets still line up); :func:`terminal_text` also escapes Rich markup, for strings
that Rich parses (``console.print``, table titles and headers).  Use ``visible`` alone
inside a ``rich.text.Text``, which never parses markup.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.markup import escape

# One displayed code point for each unsafe one, so offsets map 1:1 onto the display:
# C0 controls as the Control Pictures block (U+2400...), DEL as U+2421, C1 controls,
# bidi embeddings/overrides/isolates, marks and the BOM as U+FFFD.
_ESCAPES: dict[int, int] = {c: 0x2400 + c for c in range(0x20)}
_ESCAPES[0x7F] = 0x2421
for _code in [*range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
              0x200E, 0x200F, 0x061C, 0xFEFF, *range(0xD800, 0xE000)]:
    _ESCAPES[_code] = 0xFFFD
_ESCAPES_KEEP_NEWLINES = {c: v for c, v in _ESCAPES.items() if c != 0x0A}
_UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in _ESCAPES) + "]")
_UNSAFE_KEEP_NEWLINES = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in _ESCAPES_KEEP_NEWLINES) + "]")
_UNSAFE_IN_JSON = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in _ESCAPES_KEEP_NEWLINES) + "]")


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every unsafe code point replaced by a visible one (same length);
    ``keep_newlines`` leaves ``\\n`` alone (article text), else it shows as ␊."""
    if not _UNSAFE.search(text):
        return text
    return text.translate(_ESCAPES_KEEP_NEWLINES if keep_newlines else _ESCAPES)


def unsafe_positions(text: str, *, keep_newlines: bool = False) -> list[int]:
    """The offsets in ``text`` that :func:`visible` replaces (to mark them on screen)."""
    pattern = _UNSAFE_KEEP_NEWLINES if keep_newlines else _UNSAFE
    return [match.start() for match in pattern.finditer(text)]


def terminal_json(value: Any) -> str:
    """``value`` as indented JSON that is safe to print: characters JSON would emit raw
    and a terminal would act on (C1 controls, bidi overrides, lone surrogates) are
    written as ``\\uXXXX`` escapes, so the JSON means the same and shows nothing live."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def terminal_text(value: object, *, keep_newlines: bool = False) -> str:
    """Any value from data as a string safe to hand to Rich as markup: control
    characters visible, markup escaped (``keep_newlines``: see :func:`visible`)."""
    return escape(visible(str(value), keep_newlines=keep_newlines))
