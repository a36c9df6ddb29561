"""How much of the gold an extractor seeded: gold spans that are its own suggestions,
left unreviewed or confirmed unchanged, inflate its score by anchoring."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import EvalDocument

SEEDED_WARNING_SHARE = 0.5
"""``reader evaluate`` warns when at least this share of the gold spans are the scored
extractor's own suggestions that nobody changed (unreviewed, or confirmed as they were)."""


@dataclass(frozen=True)
class SeededGold:
    """How much of the gold an extractor suggested itself (``Span.source`` is its name).

    ``unreviewed``: its suggestions still in state ``suggested``; ``confirmed``: its
    suggestions a person accepted unchanged; ``changed``: its suggestions a person
    relabelled or resized (these are not counted as its own).  A score on gold that is
    largely the extractor's own unchanged output is inflated by anchoring.
    """

    gold_spans: int
    unreviewed: int
    confirmed: int
    changed: int
    known: bool = True  # False when the gold spans' provenance was not given

    @property
    def unchanged(self) -> int:
        return self.unreviewed + self.confirmed

    @property
    def share(self) -> float:
        return self.unchanged / self.gold_spans if self.gold_spans else 0.0

    @property
    def inflated(self) -> bool:
        return self.known and self.gold_spans > 0 and self.share >= SEEDED_WARNING_SHARE

    def warning(self, extractor: str) -> str | None:
        """The warning sentence when the share reaches :data:`SEEDED_WARNING_SHARE`."""
        if not self.inflated:
            return None
        return (f"{self.unchanged} of {self.gold_spans} gold spans ({self.share:.0%}) are "
                f"{extractor}'s own suggestions left unchanged ({self.unreviewed} never "
                f"reviewed, {self.confirmed} confirmed as suggested); its scores are inflated "
                f"by anchoring (warning at {SEEDED_WARNING_SHARE:.0%} or more). Annotate with "
                "`reader annotate --blind` or review the suggestions for an independent gold.")

    def to_json(self) -> dict[str, Any]:
        return {"gold_spans": self.gold_spans, "unreviewed": self.unreviewed,
                "confirmed_unchanged": self.confirmed, "changed": self.changed,
                "share_unchanged": self.share, "warning_share": SEEDED_WARNING_SHARE,
                "inflated": self.inflated, "known": self.known}


@dataclass
class SeededCount:
    """:class:`SeededGold` gathered one document at a time."""

    extractor: str
    states: Counter[str] = field(default_factory=Counter)
    gold_spans: int = 0
    known: bool = True

    def add(self, doc: EvalDocument) -> None:
        self.gold_spans += len(doc.gold)
        if len(doc.gold_provenance) != len(doc.gold):
            self.known = self.known and not doc.gold
            return
        extractor = self.extractor
        self.states.update(state for source, state in doc.gold_provenance
                           if source == extractor)

    def result(self) -> SeededGold:
        states = self.states
        return SeededGold(self.gold_spans, states["suggested"], states["confirmed"],
                          states["changed"], self.known)


def seeded_gold(extractor: str, docs: Sequence[EvalDocument]) -> SeededGold:
    """Count the gold spans of ``docs`` that ``extractor`` suggested, by what became of them."""
    count = SeededCount(extractor)
    for doc in docs:
        count.add(doc)
    return count.result()
