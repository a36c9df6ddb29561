"""The span-patch journal op: an edit of a stored annotation journalled as the spans
that changed, so that editing one entity in a long article costs about the same as in
a short one.

A save of an annotation the store saved last time is diffed against that last save
(the common prefix and suffix of the two span lists); the op carries the removed span
keys, the added spans, the status and, if they changed, the relations.  Applying it
is idempotent and order-safe on replay.

Span keys are ``[start, end, label]`` (journals written before overlapping layers
hold ``[start, end]``, which still replay: they name the spans at those offsets).
In a flat layer the changed spans are checked against their two neighbours; in an
overlapping one (``LabelScheme.overlapping``) only for order and duplicates.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from ..layer import changed_run, keeps_run, span_order
from ..models import Annotation, LabelScheme, utc_now
from .tables import Op, Record, RecordTable

# A journal op on this "table" patches one annotation record.
PATCH_TABLE = "annotations.patch"
ANNOTATION_MODELS_KEPT = 8

# The fields of an Annotation record that a patch op sets or keeps.
_PATCHED_FIELDS = {"doc_id", "annotator", "spans", "relations", "status", "notes", "created",
                   "updated", "chosen"}


def _span_key(span: Record) -> tuple[int, int, str]:
    return (span["start"], span["end"], span["label"])


class Patcher:
    """The bases that saves are diffed against, and the records known to be sorted.

    ``models`` holds the models of the last few annotations saved one at a time, by
    record key, each equal to its record and with its spans sorted (and apart when
    ``flat`` holds its key).  ``sorted_records`` holds the keys of annotation records
    whose spans are known to be sorted by (start, end, label), each key once: a patch
    finds its spans in them by bisection.
    """

    def __init__(self) -> None:
        self.models: dict[str, Annotation] = {}
        self.sorted_records: set[str] = set()
        self.flat: set[str] = set()

    def forget(self, key: str) -> None:
        """The record at ``key`` was replaced whole: no base, order unknown."""
        self.models.pop(key, None)
        self.sorted_records.discard(key)
        self.flat.discard(key)

    def base(self, key: str) -> Annotation | None:
        return self.models.get(key)

    def saved_whole(self, key: str, saved: Annotation) -> None:
        """``saved`` was just stored as a whole record at ``key``."""
        spans = saved.spans
        if all(span_order(a) < span_order(b) for a, b in zip(spans, spans[1:], strict=False)):
            self.sorted_records.add(key)
            flat = all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
            self.remember(key, saved, flat=flat)

    def remember(self, key: str, saved: Annotation, *, flat: bool) -> None:
        # Copies of the lists (not of the frozen Spans and Relations in them), so a caller
        # that edits the returned model's lists in place cannot change the base as well.
        self.models.pop(key, None)
        self.models[key] = saved.model_copy(
            update={"spans": list(saved.spans), "relations": list(saved.relations)}
        )
        if flat:
            self.flat.add(key)
        else:
            self.flat.discard(key)
        while len(self.models) > ANNOTATION_MODELS_KEPT:
            del self.models[next(iter(self.models))]

    def op(
        self, key: str, base: Annotation, new: Annotation, text: str, scheme: LabelScheme,
        run: tuple[int, int] | None = None,
    ) -> tuple[Op, Annotation] | None:
        """A patch op turning the record of ``base`` into that of ``new``, and the saved
        model; None when a whole-record save is needed instead.  ``run``: the spans at
        the start and end of ``base``'s list that the caller says ``new`` keeps, checked
        (:func:`~annotations.layer.keeps_run`) and else found again.

        Checks what a whole save checks, but only where the spans changed: the changed
        spans against the text, the scheme and their two neighbours (``base`` is sorted,
        and free of overlaps in a flat layer), and every relation against the new spans
        by bisection.
        """
        overlapping = scheme.overlapping
        if not overlapping and key not in self.flat:
            return None  # a base saved while the scheme allowed overlaps: check it whole
        if set(Annotation.model_fields) != _PATCHED_FIELDS:
            return None  # a field this patch does not carry: save the whole record
        if (new.doc_id, new.annotator) != (base.doc_id, base.annotator):
            return None
        old, spans = base.spans, new.spans
        # The common prefix and suffix: the caller's, checked, else found by galloping
        # comparisons (see layer.common_run).
        prefix, suffix = run if run is not None and keeps_run(old, spans, run) else \
            changed_run(old, spans)
        removed = old[prefix : len(old) - suffix]
        added = spans[prefix : len(spans) - suffix]
        window = ([spans[prefix - 1]] if prefix else []) + list(added)
        if suffix:
            window.append(spans[len(spans) - suffix])
        for a, b in zip(window, window[1:], strict=False):
            if span_order(b) <= span_order(a) or (b.start < a.end and not overlapping):
                return None  # unsorted, twice or overlapping: the whole save says why
        if added and added[-1].end > len(text):
            return None
        names = set(scheme.entity_names)
        if any(s.label not in names for s in added):
            return None
        relations_changed = new.relations != base.relations
        if relations_changed or removed:
            if relations_changed:
                relation_names = set(scheme.relation_names)
                if any(r.label not in relation_names for r in new.relations):
                    return None
            # Each end found by bisection: a (start, end, label) end exactly, a (start, end)
            # end only where one span has those offsets (a second one makes it ambiguous).
            seen: set[tuple[object, object, str]] = set()
            for rel in new.relations:
                resolved = []
                for ref in (rel.head, rel.child):
                    index = bisect_left(spans, tuple(ref), key=span_order)  # type: ignore[arg-type]
                    if index == len(spans) or spans[index].key != tuple(ref[:2]):
                        return None
                    if len(ref) == 3:
                        if spans[index].label != ref[2]:  # type: ignore[misc]
                            return None
                    elif index + 1 < len(spans) and spans[index + 1].key == spans[index].key:
                        return None
                    resolved.append(spans[index].ref)
                identity = (resolved[0], resolved[1], rel.label)
                if resolved[0] == resolved[1] or identity in seen:
                    return None
                seen.add(identity)
        saved = new.model_copy(update={"updated": utc_now(), "created": base.created})
        patch: Record = {
            "remove": [list(s.ref) for s in removed],
            "spans": [s.model_dump(mode="json") for s in added],
            "status": saved.status,
            "updated": saved.updated,
        }
        if relations_changed:
            patch["relations"] = [r.model_dump(mode="json") for r in saved.relations]
        if saved.notes != base.notes:
            patch["notes"] = saved.notes
        if saved.chosen != base.chosen:
            patch["chosen"] = None if saved.chosen is None else saved.chosen.model_dump(mode="json")
        return (PATCH_TABLE, key, patch), saved

    def apply(self, rows: RecordTable, key: str, patch: Record) -> None:
        """Apply a patch op to one annotation record of ``rows``, as a new record (readers
        may hold the old one).

        Idempotent and order-safe on replay: it removes the spans at the ``remove`` keys
        and at the keys of the patch's spans, then puts those spans, so replaying it over
        a record that already has it (a crash mid-checkpoint) ends with the same record.
        """
        record = rows.get(key)
        if record is None:
            return  # deleted by a later op that the replay also holds
        new_spans: list[Record] = patch["spans"]
        gone = {tuple(k) for k in patch["remove"]}
        gone.update(_span_key(s) for s in new_spans)
        if key in self.sorted_records:
            # Sorted by (start, end, label) with no key twice: find each by bisection
            # (a [start, end] key of an older journal: every span at those offsets).
            spans = list(record["spans"])  # a copy: readers may hold the old list
            for span_key in gone:
                index = bisect_left(spans, span_key, key=_span_key)
                while index < len(spans) and _span_key(spans[index])[:len(span_key)] == span_key:
                    del spans[index]
            for span in new_spans:
                insort(spans, span, key=_span_key)
        else:
            # A record from a whole save, which may be in any order: once, the long way.
            spans = [s for s in record["spans"] if _span_key(s) not in gone
                     and _span_key(s)[:2] not in gone] + new_spans
            spans.sort(key=_span_key)
            self.sorted_records.add(key)
        updated = dict(record, spans=spans, status=patch["status"], updated=patch["updated"])
        if "relations" in patch:
            updated["relations"] = patch["relations"]
        if "notes" in patch:
            updated["notes"] = patch["notes"]
        if "chosen" in patch:
            updated["chosen"] = patch["chosen"]
        rows[key] = updated
        self.models.pop(key, None)
