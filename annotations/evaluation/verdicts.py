"""One document's disagreements as groups with a verdict (correct, wrong label, wrong
boundary, spurious, missed): what the review screen and the HTML report show."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from .base import SpanTuple

Verdict = Literal["correct", "label", "boundary", "spurious", "missed"]
VERDICTS: tuple[str, ...] = ("correct", "label", "boundary", "spurious", "missed")


@dataclass(frozen=True)
class SpanGroup:
    """Gold and predicted spans that overlap one another (and nothing else), with a verdict.

    ``correct``: one gold span and one prediction with the same offsets and label;
    ``label``: same offsets, another label; ``boundary``: overlapping with other
    offsets; ``missed``: gold spans no prediction overlaps; ``spurious``: a
    prediction that overlaps no gold span.
    """

    verdict: Verdict
    gold: tuple[SpanTuple, ...]
    pred: tuple[SpanTuple, ...]

    @property
    def start(self) -> int:
        return min(s[0] for s in (*self.gold, *self.pred))

    @property
    def end(self) -> int:
        return max(s[1] for s in (*self.gold, *self.pred))

    @property
    def is_disagreement(self) -> bool:
        return self.verdict != "correct"


_Item = TypeVar("_Item", bound=tuple[Any, ...])


def overlapping_runs(items: Iterable[_Item]) -> Iterator[list[_Item]]:
    """``(start, end, ...)`` tuples sorted by start, in runs that overlap one another
    (directly or through other members of the run), in text order."""
    members: list[_Item] = []
    run_end = -1
    for item in items:
        if members and item[0] >= run_end:
            yield members
            members = []
        members.append(item)
        run_end = item[1] if len(members) == 1 else max(run_end, item[1])
    if members:
        yield members


def compare_spans(gold: Iterable[SpanTuple], pred: Iterable[SpanTuple]) -> list[SpanGroup]:
    """Split one document's gold and predicted spans into verdict groups, in text order."""
    items = sorted([(s, e, label, 0) for s, e, label in gold]
                   + [(s, e, label, 1) for s, e, label in pred])
    groups: list[SpanGroup] = []
    for members in overlapping_runs(items):
        g = tuple((s, e, label) for s, e, label, side in members if side == 0)
        p = tuple((s, e, label) for s, e, label, side in members if side == 1)
        verdict: Verdict
        if not p:
            verdict = "missed"
        elif not g:
            verdict = "spurious"
        elif len(g) == 1 and len(p) == 1 and g[0][:2] == p[0][:2]:
            verdict = "correct" if g[0][2] == p[0][2] else "label"
        else:
            verdict = "boundary"
        if verdict in ("missed", "spurious") and len(members) > 1:
            # Spans of one side that overlap each other but nothing on the other side
            # are still separate misses: one group each.
            for span in (g or p):
                groups.append(SpanGroup(verdict, (span,) if g else (), (span,) if p else ()))
            continue
        groups.append(SpanGroup(verdict, g, p))
    return groups

