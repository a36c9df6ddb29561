"""Adjudication: several annotators' versions of a document settled into one gold annotation.

An :class:`Adjudication` is an :class:`~annotations.session.EditingSession` on the
adjudicated annotation (annotator ``gold`` by default) whose documents start, not
from an extractor's suggestions, but from what the annotators agree on:

* a region where the most shared version of the spans is marked by at least
  ``threshold`` of the annotators (1.0: all of them; INCEpTION's auto-merge) goes into
  the gold at once, each span's ``source`` naming who marked it that way;
* a relation every annotator drew the same way between two spans the gold holds
  goes in too.

What is left are the :class:`Item` s to settle: regions where the annotators marked
different spans, and span pairs they linked differently.  Taking an annotator's
version or rejecting an item is one session edit (saved at once, undoable); a span
taken keeps its provenance: its ``source`` is the annotator (or the annotators, with
``+``) whose version it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace as _restated

from .agreement import AlignedGroup, AlignedRelation, align_relations, align_spans
from .agreement.study import Layer, StatusChoice, document_layers
from .gold import ADJUDICATED
from .models import Annotation, Relation, Span, Status
from .session import Change, EditingSession, SessionError
from .store import GoldStore

Decision = tuple[str, str, int, int]
"""An item decided: (document id, ``span`` or ``relation``, start, end)."""


class AdjudicationError(SessionError):
    """Nothing to adjudicate (the reason is for the user)."""


def who(annotators: Sequence[str]) -> str:
    """The ``source`` of a span several annotators marked the same way."""
    return "+".join(annotators)


@dataclass(frozen=True)
class Item:
    """One disagreement to settle: a span region or a linked span pair."""

    start: int
    end: int
    group: AlignedGroup | None = None
    relation: AlignedRelation | None = None

    @property
    def kind(self) -> str:
        return "span" if self.group is not None else "relation"


class Adjudication(EditingSession):
    """The adjudicated annotation of the documents two or more annotators annotated."""

    def __init__(
        self,
        store: GoldStore,
        annotators: Sequence[str] = (),
        *,
        extractors: Sequence[str] = (),
        target: str = ADJUDICATED,
        threshold: float = 1.0,
        statuses: StatusChoice = "all",
    ) -> None:
        if store.labels.overlapping:
            raise AdjudicationError(
                f"{store.path}: its layers may nest and overlap; adjudication compares flat "
                "layers only (as reader agreement does)")
        if not 0 < threshold <= 1:
            raise AdjudicationError(f"the auto-merge threshold must be in (0, 1], not {threshold}")
        names = list(annotators) or [a for a in store.annotators() if a != target]
        names += [e for e in extractors if e not in names]
        if target in names:
            raise AdjudicationError(f"{target!r} is where the adjudication is stored; it cannot "
                                    "also be one of the annotators compared")
        self.names = names
        self.extractors = list(extractors)
        self.threshold = threshold
        self.statuses: StatusChoice = statuses
        self._layers: dict[str, dict[str, Layer]] = {}
        # Items decided in this session, with how many choices (not undone) decided each:
        # a region or pair left empty in the gold looks the same whether nobody has looked
        # at it or the adjudicator chose "nothing".  ``_quiet``: the choices that changed
        # nothing (no undo takes them back).
        self._decided: Counter[Decision] = Counter()
        self._quiet: Counter[Decision] = Counter()
        doc_ids = [d for d in store.document_ids() if len(self.layers_of(store, d)) >= 2]
        if not doc_ids:
            raise AdjudicationError(
                f"{store.path}: no document has annotations by two or more of "
                f"{', '.join(names) or 'the annotators'}; nothing to adjudicate")
        super().__init__(store, annotator=target, doc_ids=doc_ids)

    # -- the annotators' layers ------------------------------------------------------

    def layers_of(self, store: GoldStore, doc_id: str) -> dict[str, Layer]:
        layers = self._layers.get(doc_id)
        if layers is None:
            annotators = [n for n in self.names if n not in self.extractors]
            layers = self._layers[doc_id] = document_layers(
                store, doc_id, annotators, extractors=self.extractors, statuses=self.statuses)
        return layers

    @property
    def layers(self) -> dict[str, Layer]:
        """The open document's layer of each annotator who annotated it."""
        return self.layers_of(self.store, self.doc_id)

    def groups(self) -> list[AlignedGroup]:
        return align_spans({name: layer.spans for name, layer in self.layers.items()})

    def relation_groups(self) -> list[AlignedRelation]:
        return align_relations({name: layer.relations for name, layer in self.layers.items()})

    # -- seeding: what everybody agrees on -----------------------------------------

    def seed(self) -> Annotation:
        spans: list[Span] = []
        for group in self.groups():
            best = group.versions[0]
            if best.spans and group.share() >= self.threshold:
                spans += [Span(start=s, end=e, label=label, source=who(best.annotators),
                               state="confirmed") for s, e, label in best.spans]
        keys = {(s.start, s.end) for s in spans}
        relations = []
        for rel in self.relation_groups():
            labels = set(rel.by_annotator.values())
            if len(labels) == 1 and rel.head in keys and rel.child in keys:
                relations += [Relation(head=rel.head, child=rel.child, label=label)
                              for label in next(iter(labels))]
        spans.sort(key=lambda s: (s.start, s.end))
        self.add_entity_labels(s.label for s in spans)
        self.add_relation_labels(r.label for r in relations)
        return Annotation(doc_id=self.doc_id, annotator=self.annotator, spans=spans,
                          relations=relations)

    # -- what is left to settle ----------------------------------------------------

    def items(self) -> list[Item]:
        """The disagreements of the open document, in text order."""
        items = [Item(g.start, g.end, group=g) for g in self.groups() if not g.agreed]
        for rel in self.relation_groups():
            if not rel.agreed:
                start = min(rel.head[0], rel.child[0])
                end = max(rel.head[1], rel.child[1])
                items.append(Item(start, end, relation=rel))
        items.sort(key=lambda item: (item.start, item.kind != "span", item.end))
        return items

    def gold_spans(self, item: Item) -> list[Span]:
        return self.overlapping(item.start, item.end)

    def gold_labels(self, relation: AlignedRelation) -> tuple[str, ...]:
        return tuple(sorted(r.label for r in self.annotation.relations
                            if (r.head, r.child) == (relation.head, relation.child)))

    def settled_by(self, item: Item) -> list[str]:
        """The annotators whose version the gold now holds for ``item`` (none: unsettled,
        or settled otherwise)."""
        if item.group is not None:
            gold = tuple(sorted((s.start, s.end, s.label) for s in self.gold_spans(item)))
            return [n for n, spans in item.group.by_annotator.items() if spans == gold]
        assert item.relation is not None
        labels = self.gold_labels(item.relation)
        return [n for n, found in item.relation.by_annotator.items() if found == labels]

    def is_settled(self, item: Item) -> bool:
        """Decided in this session, or the gold holds one annotator's (non-empty) version."""
        if self._decided[self._decision(item)] > 0:
            return True
        holds = (self.gold_spans(item) if item.group is not None
                 else self.gold_labels(item.relation) if item.relation is not None else ())
        return bool(holds) and bool(self.settled_by(item))

    def _decision(self, item: Item) -> Decision:
        return (self.doc_id, item.kind, item.start, item.end)

    def open_count(self, items: Sequence[Item] | None = None) -> int:
        """How many of the open document's disagreements are not settled yet."""
        return sum(1 for item in (self.items() if items is None else items)
                   if not self.is_settled(item))

    def set_status(self, status: Status | None, *, confirm_unreviewed: bool = False
                   ) -> Change | None:
        """As :meth:`EditingSession.set_status`; a document whose disagreements are not all
        settled cannot be accepted."""
        if status == "accept":
            still = self.open_count()
            if still:
                raise AdjudicationError(
                    f"{still} disagreement{'s are' if still > 1 else ' is'} still open: "
                    "settle them first (a number key, or x)")
        return super().set_status(status, confirm_unreviewed=confirm_unreviewed)

    def _decide(self, item: Item, change: Change | None) -> Change | None:
        """Count ``item`` as decided (after the edit: a refused one decides nothing).  An
        edit that changed nothing is a decision no undo takes back."""
        self._decided[self._decision(item)] += 1
        if change is None:
            self._quiet[self._decision(item)] += 1
        return change

    def decisions(self) -> set[Decision]:
        """The items decided, read from the record: the choices on the undo stack and
        those that changed nothing (what a new session needs to show the same marks)."""
        done = {edit.tag for edit in self.history.done if edit.tag is not None}
        return {d for d in done if isinstance(d, tuple)} | set(+self._quiet)

    def restore_decisions(self, decisions: set[Decision]) -> None:
        """Take over the items another session decided (see :meth:`decisions`)."""
        self._decided = Counter(decisions)

    def undo(self) -> Change | None:
        """Undo the last choice: it is no longer decided, and the change says which it was."""
        edit = self.history.last_done
        change = super().undo()
        if change is not None and edit is not None and edit.tag is not None:
            self._decided[edit.tag] -= 1  # type: ignore[index]
            choice = edit.description.split(":")[0].removeprefix("took ")
            change = _restated(change, description=f"{change.description} (took back "
                               f"{choice})")
        return change

    def redo(self) -> Change | None:
        edit = self.history.last_undone
        change = super().redo()
        if change is not None and edit is not None and edit.tag is not None:
            self._decided[edit.tag] += 1  # type: ignore[index]
            choice = edit.description.split(":")[0].removeprefix("took ")
            change = _restated(change, description=f"{change.description} (took "
                               f"{choice} again)")
        return change

    def take(self, item: Item, name: str) -> Change | None:
        """Make the gold hold annotator ``name``'s version of ``item``."""
        if name not in self.layers:
            raise AdjudicationError(f"{name} did not annotate this document")
        if item.group is not None:
            version = item.group.by_annotator.get(name, ())
            same = [n for n, spans in item.group.by_annotator.items() if spans == version]
            new = [Span(start=s, end=e, label=label, source=who(same), state="confirmed")
                   for s, e, label in version]
            self.add_entity_labels(s.label for s in new)
            change = self.replace(self.gold_spans(item), new, f"took {name}'s version",
                                  tag=self._decision(item))
        else:
            assert item.relation is not None
            change = self._relations_to(item.relation,
                                        item.relation.by_annotator.get(name, ()),
                                        f"took {name}'s relation", self._decision(item))
        return self._decide(item, change)

    def reject(self, item: Item) -> Change | None:
        """Take nobody's version: no span in the region, or no relation between the pair."""
        if item.group is not None:
            change = self.replace(self.gold_spans(item), [], "took nobody's version",
                                  tag=self._decision(item))
        else:
            assert item.relation is not None
            change = self._relations_to(item.relation, (), "took nobody's relation",
                                        self._decision(item))
        return self._decide(item, change)

    def _relations_to(self, relation: AlignedRelation, labels: Sequence[str],
                      description: str, tag: object) -> Change | None:
        head = self.spans.get(relation.head)
        child = self.spans.get(relation.child)
        if labels and (head is None or child is None):
            raise AdjudicationError("the gold lacks one of the two spans: settle the spans "
                                    "first, then the relation")
        kept = [r for r in self.annotation.relations
                if (r.head, r.child) != (relation.head, relation.child)]
        added = [Relation(head=relation.head, child=relation.child, label=label)
                 for label in labels]
        if sorted(r.key for r in kept + added) == sorted(r.key for r in
                                                         self.annotation.relations):
            return None
        self.add_relation_labels(labels)
        return self.commit(self._with(relations=kept + added), description, tag=tag)
