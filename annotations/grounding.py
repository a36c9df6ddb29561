"""Spans given as strings (what LLMs return) placed on the document text.

An extractor may answer ``{"text": "Taliban", "label": "ORG"}`` without offsets.  Each
string is first stripped of surrounding whitespace (``" Paris "`` and ``"Paris\\n"`` are
"Paris"; how many were stripped is counted as ``stripped``); an empty string is
ungrounded.  It is then looked for in the document, in this order:

1. **exact**: the string as given, never inside a longer word ("Iran" is not found
   in "Iranian");
2. **case**: the same string ignoring case and accents ("muller" finds "Müller",
   "Zurich" finds "Zürich" whether the text is composed (NFC) or decomposed (NFD),
   "Strasse" finds "Straße"): both sides are folded (case-folded, NFKD, combining marks
   removed), and every folded character remembers the characters of the document it
   came from, so a match is mapped back to offsets into the document as it is;
3. **fuzzy**: the best-matching window of the folded text (rapidfuzz
   ``partial_ratio``), widened to word boundaries, kept only when the string and the
   *whole* window are alike (``fuzz.ratio`` of the two at least ``threshold``, 0-100,
   default :data:`FUZZY_THRESHOLD`), so a string much longer or shorter than the window
   is never placed ("Paris Saint-Germain Football Club" is not found in "Paris");
   strings shorter than :data:`MIN_FUZZY_LENGTH` characters are never matched fuzzily.

Each step is tried for every string of the answer before the next (an exact match is
never taken by another string's fuzzy one), longer strings first: a whole mention
takes its place before a part of it, so with "Angela Merkel" and "Merkel" in the answer,
"Merkel" takes a free occurrence, not the one inside "Angela Merkel".

A string found several times is placed by the **policy**: ``first`` (the first
occurrence not already taken: the second "Taliban" of an answer takes the second
occurrence in the text), ``all`` (every occurrence; the same string and label
repeated in the answer is placed once, and every repeat counts as placed), or
``nearest`` (the occurrence nearest the item's ``hint`` offset; the first without a
hint).  A fuzzy match gives one place.  A string that cannot be found, or only where
other spans already are (a flat layer never overlaps), is **ungrounded**: it becomes no
span (so never a suggestion to annotate), but it is never dropped silently.  The counts
travel with the prediction (``Prediction.meta["grounding"]``: ``spans`` strings given,
placed ``exact``/``case``/``fuzzy``, ``ungrounded`` (not found or empty),
``overlapping``, ``stripped``, and up to :data:`MAX_EXAMPLES` ungrounded strings by text
and label), and ``reader evaluate`` shows the grounding rate of each extractor and, by
default, scores every ungrounded string as a false positive: spurious in every scheme,
under its label where the examples name it, and a relation on it as a spurious relation
(``annotations.evaluation.documents.ungrounded_of``; ``--ungrounded ignore`` leaves them
out of the scores, still reported).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .store import GoldStore

Policy = Literal["first", "all", "nearest"]
POLICIES: tuple[str, ...] = ("first", "all", "nearest")
FUZZY_THRESHOLD = 85.0
MIN_FUZZY_LENGTH = 4
MAX_EXAMPLES = 20
HOW = ("exact", "case", "fuzzy")
COUNTS = (*HOW, "ungrounded", "overlapping", "stripped")


@dataclass(frozen=True)
class StringSpan:
    """A span given by its text (and label), optionally with a hint offset."""

    text: str
    label: str
    hint: int | None = None


@dataclass
class Grounding:
    """Where the strings of one answer were placed, and what could not be placed."""

    spans: list[tuple[int, int, str]] = field(default_factory=list)
    placed: list[list[tuple[int, int]]] = field(default_factory=list)  # per item, in order
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    ungrounded: list[dict[str, str]] = field(default_factory=list)
    policy: str = "first"
    threshold: float = FUZZY_THRESHOLD

    def to_meta(self) -> dict[str, Any]:
        """What is stored in ``Prediction.meta["grounding"]`` (plain JSON)."""
        return {"spans": len(self.placed), **self.counts, "policy": self.policy,
                "threshold": self.threshold, "examples": self.ungrounded[:MAX_EXAMPLES]}


def _fold_char(c: str) -> str:
    if c.isascii():
        return c.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", c).casefold())
    return "".join(x for x in decomposed if not unicodedata.combining(x))


@dataclass(frozen=True)
class Folded:
    """A text case-folded and without accents, each folded character mapped to the
    characters of the original it came from (``starts[i]:ends[i]``)."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The offsets in the original text of the folded range ``start:end``."""
        return self.starts[start], self.ends[end - 1]


def fold_mapped(text: str) -> Folded:
    """``text`` folded (see :class:`Folded`).  A character that folds to nothing (a
    combining mark of decomposed text) belongs to the character before it."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, c in enumerate(text):
        piece = _fold_char(c)
        if not piece:
            if ends:
                ends[-1] = i + 1
            continue
        for x in piece:
            out.append(x)
            starts.append(i)
            ends.append(i + 1)
    return Folded("".join(out), tuple(starts), tuple(ends))


def fold(text: str) -> str:
    """Case-folded, NFKD, without combining marks ("Zürich" and "ZU\\u0308RICH" are both
    "zurich", "Straße" is "strasse")."""
    return "".join(map(_fold_char, text))


def _occurrences(text: str, needle: str) -> list[tuple[int, int]]:
    pattern = re.compile(re.escape(needle))
    out: list[tuple[int, int]] = []
    pos = 0
    while True:
        match = pattern.search(text, pos)
        if match is None or match.end() == match.start():
            return out
        start, end = match.start(), match.end()
        inside_word = (start > 0 and text[start - 1].isalnum() and text[start].isalnum()) or (
            end < len(text) and text[end - 1].isalnum() and text[end].isalnum())
        if not inside_word:  # "Iran" is not found inside "Iranian"
            out.append((start, end))
        pos = start + 1  # overlapping occurrences too ("aa" in "aaa")


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _fuzzy(text: str, needle: str, threshold: float) -> tuple[int, int] | None:
    """Best window of (folded) ``text`` for (folded) ``needle``, or None when the window,
    widened to whole words, is not alike the whole of ``needle`` (``fuzz.ratio``)."""
    from rapidfuzz import fuzz

    if len(needle) < MIN_FUZZY_LENGTH or not text:
        return None
    found = fuzz.partial_ratio_alignment(needle, text, score_cutoff=threshold)
    if found is None:
        return None
    # A window inside a word is a match only if the whole word is ("Iran" is not
    # "Iranian"; "Talibanz" is "Talibans"), and a window much shorter or longer than
    # the string is none (rapidfuzz aligns the shorter of the two inside the longer).
    start, end = _word_bounds(text, found.dest_start, found.dest_end)
    if end <= start or fuzz.ratio(needle, text[start:end]) < threshold:
        return None
    return start, end


def align_strings(
    text: str, items: Sequence[StringSpan], *, policy: str = "first",
    threshold: float = FUZZY_THRESHOLD, taken: Iterable[tuple[int, int]] = (),
) -> Grounding:
    """Place every string of ``items`` on ``text`` (see the module docstring), never on
    the ``(start, end)`` ranges in ``taken`` (spans the answer gave with offsets)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown alignment policy {policy!r}; choose one of "
                         f"{', '.join(POLICIES)}")
    result = Grounding(policy=policy, threshold=threshold)
    occupied = list(taken)
    folded = fold_mapped(text)
    needles = [item.text.strip() for item in items]
    result.counts["stripped"] = sum(n != item.text and bool(n)
                                    for n, item in zip(needles, items, strict=True))
    placed: list[list[tuple[int, int]] | None] = [None] * len(items)
    how_found: list[str] = [""] * len(items)
    overlapping = [False] * len(items)
    shared: dict[tuple[str, str], int] = {}  # under "all": (string, label) -> first item
    # Longer strings first (a whole mention before a part of it); repeats keep their order.
    order = sorted((i for i, n in enumerate(needles) if n), key=lambda i: -len(needles[i]))

    def free(start: int, end: int) -> bool:
        return all(end <= s or e <= start for s, e in occupied)

    for how in HOW:
        for i in order:
            if placed[i] is not None:
                continue
            needle, item = needles[i], items[i]
            first = shared.setdefault((needle, item.label), i) if policy == "all" else i
            if first != i:  # a repeat under "all": placed where the first is, if it is
                placed[i], how_found[i] = placed[first], how_found[first]
                overlapping[i] = overlapping[first]
                continue
            if how == "exact":
                candidates = _occurrences(text, needle)
            else:
                folded_needle = fold(needle)
                if how == "case":
                    found = _occurrences(folded.text, folded_needle)
                else:
                    window = _fuzzy(folded.text, folded_needle, threshold)
                    found = [window] if window else []
                candidates = [folded.original(s, e) for s, e in found]
            if not candidates:
                continue
            open_ = [c for c in candidates if free(*c)]
            if not open_:
                overlapping[i] = True
                continue
            if policy == "all":
                chosen: list[tuple[int, int]] = []
                for c in open_:
                    if free(*c):
                        chosen.append(c)
                        occupied.append(c)
            else:
                hint = item.hint
                if policy == "nearest" and hint is not None:
                    choice = min(open_, key=lambda c: (abs(c[0] - hint), c[0]))
                else:
                    choice = open_[0]
                chosen = [choice]
                occupied.append(choice)
            placed[i], how_found[i] = chosen, how
            result.spans.extend((s, e, item.label) for s, e in chosen)
    for i, item in enumerate(items):
        where = placed[i] or []
        result.placed.append(list(where))
        if where:
            result.counts[how_found[i]] += 1
            continue
        reason = "overlapping" if overlapping[i] else "ungrounded"
        result.counts[reason] += 1
        result.ungrounded.append({
            "text": item.text, "label": item.label,
            "reason": "only where other spans are" if overlapping[i]
            else "not found in the text" if needles[i] else "empty string"})
    result.spans.sort()
    return result


def grounding_summary(
    store: GoldStore, extractor: str, doc_ids: Iterable[str],
) -> dict[str, Any] | None:
    """The grounding counts of ``extractor``'s stored predictions on ``doc_ids`` added up;
    ``None`` when none of them was given as strings."""
    total: dict[str, int] = dict.fromkeys(("spans", *COUNTS), 0)
    examples: list[dict[str, str]] = []
    seen = False
    for doc_id in doc_ids:
        record = store.prediction_record(doc_id, extractor)
        meta = (record or {}).get("meta") or {}
        grounding = meta.get("grounding") if isinstance(meta, dict) else None
        if not isinstance(grounding, dict):
            continue
        seen = True
        for key in total:
            value = grounding.get(key, 0)
            total[key] += value if isinstance(value, int) else 0
        if len(examples) < MAX_EXAMPLES:
            examples.extend(e for e in grounding.get("examples", []) if isinstance(e, dict))
    if not seen:
        return None
    grounded = total["exact"] + total["case"] + total["fuzzy"]
    not_found = total["ungrounded"] + total["overlapping"]
    return {**total, "grounded": grounded, "ungrounded": not_found,
            "not_found": total["ungrounded"], "overlapping": total["overlapping"],
            "rate": grounded / total["spans"] if total["spans"] else 1.0,
            "examples": examples[:MAX_EXAMPLES]}
