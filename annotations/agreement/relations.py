"""Relation agreement between two annotators on one document.

Modes, as in the evaluation of extractors (Taillé et al. 2020):

- ``strict``: the same relation label, and the same head and child spans with the
  same entity labels;
- ``boundaries``: the same relation label and the same head and child offsets,
  entity labels ignored;
- ``restricted``: ``strict``, counted only over relations whose head and child spans
  (with their labels) both annotators marked: how far the two agree on relations
  once they agree on the entities.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..evaluation import RelationTuple, SpanTuple

RELATION_AGREEMENT_MODES: tuple[str, ...] = ("strict", "boundaries", "restricted")

_Strict = tuple[SpanTuple, SpanTuple, str]


def _strict_keys(spans: Sequence[SpanTuple], relations: Sequence[RelationTuple]
                 ) -> set[_Strict]:
    label_at = {(s, e): label for s, e, label in spans}
    return {((*head, label_at[head]), (*child, label_at[child]), label)  # type: ignore[misc]
            for head, child, label in relations}


def count_relations(
    a_spans: Sequence[SpanTuple], a_relations: Sequence[RelationTuple],
    b_spans: Sequence[SpanTuple], b_relations: Sequence[RelationTuple],
) -> tuple[int, ...]:
    """``(agreed, n_a, n_b)`` for strict, boundaries and restricted, in that order."""
    if not a_relations and not b_relations:
        return (0,) * 9
    strict_a = _strict_keys(a_spans, a_relations)
    strict_b = _strict_keys(b_spans, b_relations)
    bounds_a = {(h[:2], c[:2], label) for h, c, label in strict_a}
    bounds_b = {(h[:2], c[:2], label) for h, c, label in strict_b}
    both = set(a_spans) & set(b_spans)
    kept_a = {r for r in strict_a if r[0] in both and r[1] in both}
    kept_b = {r for r in strict_b if r[0] in both and r[1] in both}
    return (len(strict_a & strict_b), len(strict_a), len(strict_b),
            len(bounds_a & bounds_b), len(bounds_a), len(bounds_b),
            len(kept_a & kept_b), len(kept_a), len(kept_b))
