"""Spans given as strings (what LLMs return) placed on the document text.

An extractor may answer ``{"text": "Taliban", "label": "ORG"}`` without offsets.  Each
such string is looked for in the document, in this order:

1. **exact**: the string as given, never inside a longer word ("Iran" is not found
   in "Iranian");
2. **case**: the same string ignoring case and accents ("muller" finds "Müller"):
   both sides are folded one character at a time (lower case, diacritics removed),
   a character whose folding is not one character kept as it is, so offsets into the
   folded text are offsets into the document;
3. **fuzzy**: the best-matching window of the folded text (rapidfuzz
   ``partial_ratio``), widened to word boundaries, kept when its score reaches
   ``threshold`` (0-100, default :data:`FUZZY_THRESHOLD`); strings shorter than
   :data:`MIN_FUZZY_LENGTH` characters are never matched fuzzily (too easy to find).

A string found several times is placed by the **policy**: ``first`` (the first
occurrence not already taken: the second "Taliban" of an answer takes the second
occurrence in the text), ``all`` (every occurrence), or ``nearest`` (the occurrence
nearest the item's ``hint`` offset; the first without a hint).  A fuzzy match gives
one place.  A string that cannot be found, or only where other spans already are
(a flat layer never overlaps), is **ungrounded**: counted and reported, never dropped
silently.  The counts travel with the prediction (``Prediction.meta["grounding"]``)
and ``reader evaluate`` shows the grounding rate of each extractor.
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
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        (*HOW, "ungrounded", "overlapping"), 0))
    ungrounded: list[dict[str, str]] = field(default_factory=list)
    policy: str = "first"
    threshold: float = FUZZY_THRESHOLD

    def to_meta(self) -> dict[str, Any]:
        """What is stored in ``Prediction.meta["grounding"]`` (plain JSON)."""
        return {"spans": len(self.placed), **self.counts, "policy": self.policy,
                "threshold": self.threshold, "examples": self.ungrounded[:MAX_EXAMPLES]}


def _fold_char(c: str) -> str:
    lower = c.lower()
    if len(lower) != 1:
        return c
    base = [x for x in unicodedata.normalize("NFD", lower) if not unicodedata.combining(x)]
    return base[0] if len(base) == 1 else lower


def fold(text: str) -> str:
    """Lower case without diacritics, one character for one (offsets are preserved)."""
    if text.isascii():
        return text.lower()
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
    """Best window of (folded) ``text`` for (folded) ``needle``, or None below threshold."""
    from rapidfuzz import fuzz

    if len(needle.strip()) < MIN_FUZZY_LENGTH or not text:
        return None
    found = fuzz.partial_ratio_alignment(needle, text, score_cutoff=threshold)
    if found is None:
        return None
    start, end = found.dest_start, found.dest_end
    wide = _word_bounds(text, start, end)
    if wide != (start, end):
        # A window inside a word is a match only if the whole word is ("Iran" is not
        # "Iranian"; "Talibanz" is "Talibans").
        if fuzz.ratio(needle, text[wide[0]:wide[1]]) < threshold:
            return None
        start, end = wide
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


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
    taken = list(taken)
    folded = fold(text)

    def free(start: int, end: int) -> bool:
        return all(end <= s or e <= start for s, e in taken)

    for item in items:
        placed: list[tuple[int, int]] = []
        how = ""
        overlapping = False
        for how in HOW:
            if how == "fuzzy":
                found = _fuzzy(folded, fold(item.text), threshold)
                candidates = [found] if found else []
            elif how == "case":
                candidates = _occurrences(folded, fold(item.text))
            else:
                candidates = _occurrences(text, item.text)
            if not candidates:
                continue
            open_ = [c for c in candidates if free(*c)]
            if not open_:
                overlapping = True
                continue
            if policy == "all":
                placed = []
                for start, end in open_:
                    if free(start, end):
                        placed.append((start, end))
                        taken.append((start, end))
            else:
                if policy == "nearest" and item.hint is not None:
                    hint = item.hint
                    choice = min(open_, key=lambda c: (abs(c[0] - hint), c[0]))
                else:
                    choice = open_[0]
                placed = [choice]
                taken.append(choice)
            break
        result.placed.append(placed)
        if placed:
            result.counts[how] += 1
            result.spans.extend((s, e, item.label) for s, e in placed)
        else:
            reason = "overlapping" if overlapping else "ungrounded"
            result.counts[reason] += 1
            result.ungrounded.append({"text": item.text, "label": item.label,
                                      "reason": "only where other spans are" if overlapping
                                      else "not found in the text"})
    result.spans.sort()
    return result


def grounding_summary(
    store: GoldStore, extractor: str, doc_ids: Iterable[str],
) -> dict[str, Any] | None:
    """The grounding counts of ``extractor``'s stored predictions on ``doc_ids`` added up;
    ``None`` when none of them was given as strings."""
    total: dict[str, int] = dict.fromkeys(("spans", *HOW, "ungrounded", "overlapping"), 0)
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
