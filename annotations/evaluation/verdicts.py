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
    """Split one document's gold and predicted spans into verdict groups, in text order
    (an outer group before the groups nested in it).

    A prediction with a gold span's offsets and label is a ``correct`` group of its own,
    and one with a gold span's offsets only a ``label`` group (each span paired once);
    what is left groups by overlap.  In flat layers such pairs are groups by overlap
    already; in nested ones this keeps a span that matches exactly out of the group of
    the spans nested in or around it, whose verdict it would otherwise share."""
    gold_spans, pred_spans = sorted(gold), sorted(pred)
    gold_paired = [False] * len(gold_spans)
    pred_paired = [False] * len(pred_spans)
    groups: list[SpanGroup] = []
    for width in (3, 2):  # the same span, then the same offsets
        waiting: dict[tuple[object, ...], list[int]] = {}
        for j in reversed(range(len(pred_spans))):  # popped from the end: in order
            if not pred_paired[j]:
                waiting.setdefault(pred_spans[j][:width], []).append(j)
        for i, span in enumerate(gold_spans):
            match = waiting.get(span[:width]) if not gold_paired[i] else None
            if match:
                j = match.pop()
                gold_paired[i] = pred_paired[j] = True
                verdict: Verdict = "correct" if span == pred_spans[j] else "label"
                groups.append(SpanGroup(verdict, (span,), (pred_spans[j],)))
    items = sorted([(*span, 0) for span, paired in zip(gold_spans, gold_paired, strict=True)
                    if not paired]
                   + [(*span, 1) for span, paired in zip(pred_spans, pred_paired, strict=True)
                      if not paired])
    for members in overlapping_runs(items):
        g = tuple((s, e, label) for s, e, label, side in members if side == 0)
        p = tuple((s, e, label) for s, e, label, side in members if side == 1)
        if g and p:
            groups.append(SpanGroup("boundary", g, p))
        else:
            # Spans of one side that overlap each other but nothing on the other side
            # are separate misses (or spurious predictions): one group each.
            groups += [SpanGroup("missed", (span,), ()) for span in g]
            groups += [SpanGroup("spurious", (), (span,)) for span in p]
    groups.sort(key=lambda group: (group.start, -group.end))
    return groups
