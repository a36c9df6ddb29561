"""What an edit changed, in words that name the entities: the session's change notices.

``describe`` reads the spans and relations an edit took out and put in (as
:class:`~annotations.session.Change` holds them) and says what happened:
"'Tajikistan' NORP → GPE", "added EVENT 'CSTO summit in Dushanbe'", "deleted ORG
'CSTO' and 1 relation", "confirmed 46 GPE", "added relation located_in 'CSTO' →
'Dushanbe'".  Span text is quoted as :func:`shown` draws it (control characters and edge
whitespace visible); whoever shows a notice still escapes it for its medium.
"""

from __future__ import annotations

from collections.abc import Sequence

from .layer import SpanRef
from .models import Relation, Span
from .terminal import visible

QUOTE_AT_MOST = 40  # characters of a span's text quoted in a notice


_EDGE_SPACE = "\u2423"  # ␣
_LINE_BREAKS = str.maketrans({"\u2028": "\u2424", "\u2029": "\u2424"})  # ␤


def shown(part: str) -> str:
    """A span's text as every screen shows it (the status line, the side panel, the
    notices): control characters as pictures (a newline as ␊, a tab as ␉; see
    :func:`~annotations.terminal.visible`), Unicode line breaks as ␤ and whitespace at
    either edge as ␣, so that "Dushanbe\\n\\n" reads 'Dushanbe␊␊', never 'Dushanbe'.
    One character for each (offsets still line up)."""
    out = visible(part).translate(_LINE_BREAKS)
    if not out.strip():
        return _EDGE_SPACE * len(out)
    lead = len(out) - len(out.lstrip())
    trail = len(out) - len(out.rstrip())
    if lead or trail:
        out = _EDGE_SPACE * lead + out[lead:len(out) - trail] + _EDGE_SPACE * trail
    return out


def quoted(text: str, start: int, end: int) -> str:
    """The text of ``start``-``end`` in quotes (as :func:`shown`), shortened in the
    middle when long."""
    part = shown(text[start:end])
    if len(part) > QUOTE_AT_MOST:
        half = QUOTE_AT_MOST // 2 - 1
        part = f"{part[:half]}…{part[-half:]}"
    return repr(part)


def _plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else words or word + 's'}"


def _some(text: str, spans: Sequence[Span]) -> str:
    """One span by label and text; several by count and label (when they share one)."""
    if len(spans) == 1:
        return f"{spans[0].label} {quoted(text, spans[0].start, spans[0].end)}"
    labels = {s.label for s in spans}
    if len(labels) == 1:
        return f"{len(spans)} {labels.pop()}"
    return _plural(len(spans), "entity", "entities")


def _spans(text: str, removed: Sequence[Span], added: Sequence[Span]) -> str:
    # ``removed`` and ``added`` may hold spans the edit left as they were (a changed run
    # of the layer holds every span between the first and the last one changed).
    before = {s.ref: s for s in removed}
    new_keys = {s.ref for s in added}
    restated = [s for s in added if s.ref in before and before[s.ref] != s]  # new state
    gone = [s for s in removed if s.ref not in new_keys]
    new = [s for s in added if s.ref not in before]
    if not gone and not new:
        if not restated:
            return ""
        states = {s.state for s in restated}
        verb = ("confirmed" if states <= {"confirmed", "bulk_confirmed"} else
                "unconfirmed" if states == {"suggested"} else "marked")
        return f"{verb} {_some(text, restated)}"
    if len(gone) == 1 and len(new) == 1:
        old, now = gone[0], new[0]
        if old.key == now.key:
            return f"{quoted(text, old.start, old.end)} {old.label} → {now.label}"
        if old.label == now.label:
            return (f"{old.label} {quoted(text, old.start, old.end)} → "
                    f"{quoted(text, now.start, now.end)}")
        return (f"{old.label} {quoted(text, old.start, old.end)} → {now.label} "
                f"{quoted(text, now.start, now.end)}")
    if len(gone) == len(new) > 1 and [s.key for s in gone] == [s.key for s in new]:
        labels = ({s.label for s in gone}, {s.label for s in new})
        texts = {text[s.start:s.end] for s in gone}
        if len(labels[0]) == len(labels[1]) == 1:
            what = (quoted(text, gone[0].start, gone[0].end) if len(texts) == 1
                    else _plural(len(gone), "entity", "entities"))
            return (f"{what} {labels[0].pop()} → {labels[1].pop()}"
                    + (f" ({len(gone)} times)" if len(texts) == 1 else ""))
    if gone and len(new) == 1:
        return f"merged {_plural(len(gone), 'entity', 'entities')} into {_some(text, new)}"
    if gone and new:
        return f"replaced {_some(text, gone)} with {_some(text, new)}"
    if new:
        return f"added {_some(text, new)}"
    return f"deleted {_some(text, gone)}"


def _end(text: str, ref: SpanRef) -> str:
    return quoted(text, ref[0], ref[1])


def _relation(text: str, rel: Relation) -> str:
    return f"{rel.label} {_end(text, rel.head)} → {_end(text, rel.child)}"


def _relations(text: str, removed: Sequence[Relation], added: Sequence[Relation]) -> str:
    if len(removed) == 1 and len(added) == 1:
        old, new = removed[0], added[0]
        if (old.head, old.child) == (new.child, new.head) and old.label == new.label:
            return f"reversed relation: {_relation(text, new)}"
        if (old.head, old.child) == (new.head, new.child):
            return f"relation {_end(text, old.head)} → {_end(text, old.child)}: " \
                   f"{old.label} → {new.label}"
    parts = []
    if added:
        parts.append("added relation " + "; ".join(_relation(text, r) for r in added)
                     if len(added) < 3 else f"added {_plural(len(added), 'relation')}")
    if removed:
        parts.append("deleted relation " + "; ".join(_relation(text, r) for r in removed)
                     if len(removed) < 3 else f"deleted {_plural(len(removed), 'relation')}")
    return ", ".join(parts)


def describe(text: str, removed: Sequence[Span], added: Sequence[Span],
             relations_removed: Sequence[Relation] = (),
             relations_added: Sequence[Relation] = ()) -> str:
    """What the edit did, naming the entities (empty when no span or relation changed)."""
    spans = _spans(text, removed, added)
    if not spans:
        return _relations(text, relations_removed, relations_added)
    # Relations that follow a moved span are not news; those that went or came with it are.
    dropped = len(relations_removed) - len(relations_added)
    if dropped > 0:
        spans += f" and {_plural(dropped, 'relation')}"
    elif dropped < 0:
        spans += f" with {_plural(-dropped, 'relation')}"
    return spans
