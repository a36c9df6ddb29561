"""The editing session: the one object between the gold store and the screens.

Every editing rule lives here, with no Textual: the screens map keys to calls on
an :class:`EditingSession` and render the :class:`Change` each call returns.
The session owns

* the document order and where to resume;
* the open document's annotation (seeded from an extractor's suggestions when
  nothing is saved yet; nothing is written until the first edit);
* the span index (:class:`~annotations.layer.SpanIndex`, found by bisection);
* the edit rules: labelling a selection, relabelling, fixing a boundary, merging,
  deleting, confirming, relations, document status;
* provenance: a span typed by a person is ``human``/``confirmed``; a suggestion keeps
  its extractor as ``source`` and becomes ``confirmed`` (looked at, kept),
  ``changed`` (relabelled or resized) or ``bulk_confirmed`` (accepted with the
  document without being looked at one by one), or stays ``suggested``;
* undo and redo across documents;
* the label scheme in use: the store's, merged with the config's, kept in memory
  and written with the first edit.

The rules, each tested in ``tests/test_session.py``:

* A span's relations follow it: relabelling or moving its boundaries keeps them, and
  merging spans keeps the relations of all of them.  A relation that no longer fits
  its label's allowed head and child labels is kept, flagged in
  :meth:`EditingSession.relation_problems` and said in the change's notices.
* Deleting a span deletes its relations, and the change says how many.
* In an overlapping layer (``LabelScheme.overlapping``) relations name spans by
  (start, end, label); a label on a new range adds a span beside those it overlaps,
  and the entity a selection came from is the one relabelled or resized.  A flat
  layer is seeded with the outermost of overlapping predictions.
* Accepting a document that still holds unreviewed suggestions raises
  :class:`UnreviewedSuggestions` unless they are confirmed in bulk (asked for, or the
  ``bulk_confirm`` policy).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as _restated
from typing import TypeVar

from .describe import describe, quoted
from .edges import trim_layer, trimmed
from .errors import AnnotationsError
from .history import Edit, EditHistory
from .layer import SpanIndex, SpanRef, changed_run, is_flat, outermost, span_order
from .models import (
    HUMAN,
    Annotation,
    LabelScheme,
    Prediction,
    Relation,
    RelationLabel,
    Selection,
    Span,
    Status,
)
from .names import label_colours, scheme_problems
from .store import DEFAULT_ANNOTATOR, GoldStore

T = TypeVar("T")

# A token is a run of word characters or one other visible character; this keeps
# "Okafor's" as "Okafor", "'", "s" so entity boundaries can fall inside it.
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)

REPEAT = "repeat"
"""``Span.source`` of the other occurrences of a text, offered for review by a person."""


class Tokens:
    """The tokens of a text as ``(start, end)`` offsets, with lookups by offset."""

    def __init__(self, text: str) -> None:
        self.spans = [m.span() for m in _TOKEN.finditer(text)]
        if not self.spans:
            self.spans = [(0, len(text))] if text else [(0, 0)]
        self.starts = [s for s, _ in self.spans]

    def __len__(self) -> int:
        return len(self.spans)

    def at(self, offset: int) -> int:
        """The token holding ``offset``, else the nearest one before it (or the first)."""
        return max(bisect_right(self.starts, offset) - 1, 0)

    def covering(self, start: int, end: int) -> tuple[int, int]:
        """First and last token index overlapping ``start``-``end``."""
        first = self.at(start)
        if self.spans[first][1] <= start and first + 1 < len(self.spans):
            first += 1
        last = max(self.at(max(end - 1, start)), first)
        return first, last

    def range(self, first: int, last: int) -> tuple[int, int]:
        """Character range of tokens ``first``..``last`` (either order)."""
        lo, hi = min(first, last), max(first, last)
        return self.spans[lo][0], self.spans[hi][1]


CONFIRMABLE = ("suggested", "bulk_confirmed")
"""The states of a span that ``c`` confirms: a suggestion not yet looked at one by one."""

SAVE_ERRORS = (AnnotationsError, OSError, ValueError)
"""What an edit the store refuses raises (a screen shows it and keeps what is saved)."""


class SessionError(AnnotationsError):
    """An edit the session cannot make (the reason is for the user)."""


class UnreviewedSuggestions(SessionError):
    """Accepting would turn suggestions nobody looked at into gold."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans
        super().__init__(
            f"{len(spans)} suggestion(s) in this document are unreviewed: confirm them all "
            "to accept, or review them first"
        )


class Offer(str):
    """A notice that offers the next key (``=`` after a relabel): information for the
    status line, where the other notices of a change are warnings."""

    __slots__ = ()


@dataclass(frozen=True)
class Change:
    """What one call changed in the open document, for a screen to render.

    ``removed``/``added`` are the spans that left and entered the layer (a relabel is
    one of each); ``description`` says what the edit did, naming the entities
    (:func:`~annotations.describe.describe`); ``notices`` are sentences for the user
    (relations that no longer fit: warnings; an :class:`Offer` of the next key is
    information).  ``reopened`` is set when an undo or redo went to
    another document: the screen then shows the whole document again.
    """

    doc_id: str
    description: str
    annotation: Annotation
    removed: tuple[Span, ...] = ()
    added: tuple[Span, ...] = ()
    relations_removed: tuple[Relation, ...] = ()
    relations_added: tuple[Relation, ...] = ()
    status_before: Status | None = None
    status_after: Status | None = None
    notices: tuple[str, ...] = ()
    reopened: bool = False
    # How many spans of the layer's order lie before and after the changed run (the
    # same before and after the change): a view over the layer redraws only between.
    run: tuple[int, int] | None = None

    @property
    def status_changed(self) -> bool:
        return self.status_before != self.status_after


@dataclass(frozen=True)
class Found:
    """A match of a find: its offsets, which match it is of how many, and whether the
    search wrapped to the start of the text to reach it."""

    start: int
    end: int
    index: int
    count: int
    wrapped: bool


def _key(span: Span) -> tuple[int, int, str]:
    """A span's place in the layer's order, and its identity: (start, end, label)."""
    return span_order(span)


@dataclass(frozen=True)
class Seeding:
    """What seeding a document changed of its extractor's output, so that the screen can
    say so (what a person reviews is then not silently less than what was predicted):
    spans trimmed of whitespace at their edges, spans left out as whitespace only (or as
    the same as another once trimmed), and in a flat layer the spans overlapping an
    outer one left out; with the relations that went with the spans left out."""

    extractor: str = ""
    trimmed: int = 0
    dropped: int = 0
    overlapping: int = 0
    relations: int = 0

    def describe(self) -> str:
        """One line for the person reviewing (the counts first, for a narrow screen), or
        "" when nothing changed."""
        parts = [what % count for count, what in (
            (self.trimmed, "%d suggestion(s) trimmed of edge whitespace"),
            (self.dropped, "%d left out as blank or a duplicate"),
            (self.overlapping, "%d overlapping suggestion(s) left out (flat layer)"),
        ) if count]
        if not parts:
            return ""
        with_relations = f", with {self.relations} relation(s)" if self.relations else ""
        return "; ".join(parts) + with_relations + f" ({self.extractor})"


def seed_annotation(
    doc_id: str, annotator: str, predictions: dict[str, Prediction], prefer: str | None = None,
    *, text: str, overlapping: bool = False,
) -> tuple[Annotation, Seeding]:
    """A new annotation holding one extractor's spans and relations as suggestions, and
    what seeding changed of them (:class:`Seeding`).

    The extractor is ``prefer`` when it predicted this document, else the last by name.
    Whitespace at the edges of a predicted span is trimmed (``annotations.edges``; a span
    of whitespace only is dropped, with its relations), so it never becomes gold unseen.
    In a flat layer (``overlapping`` False) only the outermost of overlapping predicted
    spans are offered, and the relations of the others are left out.
    """
    chosen = predictions.get(prefer) if prefer else None
    if chosen is None and predictions:
        chosen = predictions[sorted(predictions)[-1]]
    spans: list[Span] = []
    relations: list[Relation] = []
    seeding = Seeding()
    if chosen is not None:
        spans = [s if s.state == "suggested" and s.source == chosen.extractor
                 else s.model_copy(update={"state": "suggested", "source": chosen.extractor})
                 for s in sorted(chosen.spans, key=_key)]
        relations = list(chosen.relations)
        trim = trim_layer(text, spans, relations)
        spans, relations = trim.spans, trim.relations
        left_out: list[Span] = []
        if not overlapping and not is_flat(spans):
            spans, left_out = outermost(spans)
            spans.sort(key=_key)
            gone = {ref for span in left_out for ref in (span.key, span.ref)}
            relations = [r for r in relations if r.head not in gone and r.child not in gone]
        seeding = Seeding(chosen.extractor, trim.trimmed, trim.dropped, len(left_out),
                          len(chosen.relations) - len(relations))
    return Annotation(doc_id=doc_id, annotator=annotator, spans=spans,
                      relations=relations), seeding


def _edited(span: Span, **update: object) -> Span:
    """``span`` with ``update`` applied, as a person's change: a suggestion becomes
    ``changed`` (its extractor kept as the source), a person's span stays ``confirmed``."""
    state = "confirmed" if span.source == HUMAN else "changed"
    return span.model_copy(update={**update, "state": state})


@dataclass
class _Relations:
    """Relations rewritten by an edit: which moved, which were dropped and why."""

    kept: list[Relation] = field(default_factory=list)
    dropped: list[Relation] = field(default_factory=list)


def _carry(relations: Sequence[Relation], moved: dict[SpanRef, SpanRef | None]) -> _Relations:
    """Relations after spans moved (``moved[old] = new``) or went (``moved[old] = None``).

    A relation follows its spans; one whose span went, or that would now link a span
    to itself (two merged spans), or that is now the same as another, is dropped.
    """
    out = _Relations()
    seen: set[tuple[SpanRef, SpanRef, str]] = set()
    for rel in relations:
        head = moved.get(rel.head, rel.head)
        child = moved.get(rel.child, rel.child)
        if head is None or child is None or head == child:
            out.dropped.append(rel)
            continue
        new = rel if (head, child) == (rel.head, rel.child) else Relation(
            head=head, child=child, label=rel.label)
        if new.key in seen:
            out.dropped.append(rel)
            continue
        seen.add(new.key)
        out.kept.append(new)
    return out


def _plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else words or word + 's'}"


class EditingSession:
    """Edits of one annotator's annotations in a store, one document at a time.

    Building a session writes nothing; the first edit of a document saves it (and the
    label scheme, if the session added to it).  Every edit method returns a
    :class:`Change`, or None when there is nothing to change; a save the store refuses
    raises (an :class:`~annotations.errors.AnnotationsError` or ``OSError``) and leaves
    the session as it was.
    """

    def __init__(
        self,
        store: GoldStore,
        *,
        annotator: str = DEFAULT_ANNOTATOR,
        scheme: LabelScheme | None = None,
        doc_ids: Sequence[str] | None = None,
        prefer_extractor: str | None = None,
        blind: bool = False,
        bulk_confirm: bool = False,
        history: EditHistory | None = None,
        chosen: Mapping[str, Selection] | None = None,
        reasons: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        # How a queue chose each document (recorded when it is accepted), and why it is
        # where it is in the order (for the screen's header); see annotations.queue.
        self.chosen: Mapping[str, Selection] = chosen or {}
        self.reasons: Mapping[str, str] = reasons or {}
        self.annotator = annotator
        self.scheme = scheme if scheme is not None else store.labels
        # The scheme as the store holds it, to tell cheaply whether an edit must write it.
        self._stored_scheme: LabelScheme | None = None if scheme is not None else self.scheme
        self._colours: tuple[LabelScheme, dict[str, str]] | None = None
        self.doc_ids: list[str] = list(doc_ids) if doc_ids is not None else store.document_ids()
        self.prefer_extractor = prefer_extractor
        self.blind = blind
        self.bulk_confirm = bulk_confirm
        self.history = history if history is not None else EditHistory()
        self.index = -1
        self.doc_id = ""
        self.text = ""
        self.title = ""
        self.tokens = Tokens("")
        self.annotation = Annotation(doc_id="-", annotator=annotator)
        self.spans = SpanIndex()
        self.saved = False
        # Kept in step with every change, so that a screen asks rather than counts.
        self._sources: Counter[str] = Counter()
        self._unreviewed = 0
        self._suggested: Counter[tuple[str, str]] = Counter()
        # What seeding the open document changed of its extractor's suggestions (nothing
        # when the document was opened as stored).
        self.seeding = Seeding()
        self._accepted: set[str] | None = None  # the accepted documents, once asked
        # The last relabel: (document, text, old label, new label), for repeat_relabel.
        self._relabel: tuple[str, str, str, str] | None = None

    # -- the layer ---------------------------------------------------------------

    @property
    def allows_overlap(self) -> bool:
        """Whether spans may nest and overlap (the label scheme says; flat by default)."""
        return self.scheme.overlapping

    def ref(self, span: Span) -> SpanRef:
        """How a relation names ``span``: (start, end) in a flat layer, (start, end, label)
        in an overlapping one."""
        return span.ref if self.allows_overlap else span.key

    def _index(self, spans: Iterable[Span]) -> SpanIndex:
        return SpanIndex(spans, overlapping=self.allows_overlap)

    # -- the label scheme ------------------------------------------------------

    def add_entity_labels(self, names: Iterable[str]) -> bool:
        """Add entity labels to the scheme in use (written with the next edit)."""
        names = [n for n in names if n not in self.scheme.entity_names]
        if not names:
            return False
        self.scheme = self.scheme.with_entities(names)
        return True

    def add_relation_labels(self, names: Iterable[str]) -> bool:
        names = [n for n in names if n not in self.scheme.relation_names]
        if not names:
            return False
        self.scheme = self.scheme.with_relations(names)
        return True

    @property
    def colours(self) -> dict[str, str]:
        """Each entity label's colour; a stored colour that is not one shows as grey."""
        if self._colours is None or self._colours[0] is not self.scheme:
            self._colours = (self.scheme, label_colours(self.scheme))
        return self._colours[1]

    # -- documents -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.doc_ids)

    def stored(self, doc_id: str) -> Annotation | None:
        return self.store.annotation(doc_id, self.annotator)

    def status_of(self, doc_id: str) -> str:
        """``accept``, ``reject``, ``ignore``, ``open`` (saved, no status) or ``new``."""
        if doc_id == self.doc_id:
            return self.annotation.status or ("open" if self.saved else "new")
        # The store answers without building (or parsing) the annotation: asked of every
        # document when a session resumes, it keeps a large store's open fast.
        return self.store.annotation_status(doc_id, self.annotator) or "new"

    def resume_index(self, start: str | int | None = None) -> int:
        """Where to open: ``start`` (an index or a document id) if given, else the first
        document not yet done, else the first not accepted, else the first."""
        if not self.doc_ids:
            return 0
        if isinstance(start, int):
            return max(0, min(start, len(self.doc_ids) - 1))
        if isinstance(start, str) and start in self.doc_ids:
            return self.doc_ids.index(start)
        statuses = [self.status_of(d) for d in self.doc_ids]
        for done in ({"accept", "reject", "ignore"}, {"accept"}):
            for index, status in enumerate(statuses):
                if status not in done:
                    return index
        return 0

    def next_open(self) -> int | None:
        """The next document (wrapping) that has no status yet."""
        count = len(self.doc_ids)
        for step in range(1, count):
            index = (self.index + step) % count
            if self.status_of(self.doc_ids[index]) in ("open", "new"):
                return index
        return None

    def reason_of(self, doc_id: str) -> str | None:
        """Why ``doc_id`` is where it is in the order (a queue's reason), if a queue
        ordered the documents."""
        return self.reasons.get(doc_id)

    def progress(self) -> tuple[int, int]:
        """(accepted, total) documents: read from the store once, then kept in step with
        this session's status changes."""
        if self._accepted is None:
            self._accepted = {d for d in self.doc_ids if self.status_of(d) == "accept"}
        return len(self._accepted), len(self.doc_ids)

    def documents_to_predict(self, extractor: str) -> list[str]:
        """The documents ``extractor`` has not predicted yet, the open one first."""
        todo = [d for d in self.store.document_ids()
                if not self.store.has_prediction(d, extractor)]
        todo.sort(key=lambda d: d != self.doc_id)
        return todo

    def document_text(self, doc_id: str) -> str:
        return self.store.text(doc_id)

    def put_predictions(self, predictions: Sequence[Prediction]) -> None:
        """Store an extractor's predictions (a model running beside the session); an open
        document with nothing saved yet starts from them with :meth:`reseed`."""
        self.store.put_predictions(list(predictions))

    def document_rows(self) -> list[tuple[str, str, str]]:
        """(id, title, status) of every document, in the session's order."""
        return [(doc_id, self.store.document(doc_id).title, self.status_of(doc_id))
                for doc_id in self.doc_ids]

    def name_problems(self) -> list[str]:
        """The names and colours in the store that the naming rules refuse."""
        return scheme_problems(self.scheme, extractors=self.store.extractors(),
                               annotators=self.store.annotators())

    def open(self, index: int) -> Annotation:
        """Make document ``index`` the open one; nothing is written."""
        if not self.doc_ids:
            raise SessionError("the store holds no documents")
        self.index = max(0, min(index, len(self.doc_ids) - 1))
        self.doc_id = self.doc_ids[self.index]
        document = self.store.document(self.doc_id)
        self.text = document.text
        self.title = document.title
        self.tokens = Tokens(self.text)
        stored = self.stored(self.doc_id)
        self.saved = stored is not None
        self.seeding = Seeding()
        annotation = stored if stored is not None else self.seed()
        self._show(annotation)
        return annotation

    def open_id(self, doc_id: str) -> Annotation:
        return self.open(self.doc_ids.index(doc_id))

    def seed(self) -> Annotation:
        """The annotation a document starts from: the preferred extractor's suggestions,
        or nothing in a blind session."""
        predictions = {} if self.blind else self.store.predictions(self.doc_id)
        seeded, self.seeding = seed_annotation(
            self.doc_id, self.annotator, predictions, self.prefer_extractor, text=self.text,
            overlapping=self.allows_overlap)
        self.add_entity_labels(s.label for s in seeded.spans)
        self.add_relation_labels(r.label for r in seeded.relations)
        return seeded

    def reseed(self) -> Change | None:
        """New predictions arrived: an unsaved document starts from them instead."""
        if self.saved or not self.doc_id:
            return None
        before = self.annotation
        after = self.seed()
        if after.spans == before.spans and after.relations == before.relations:
            return None
        self._show(after)
        return self._change(before, after, "suggestions arrived")

    def _show(self, annotation: Annotation) -> None:
        self.annotation = annotation
        self.spans = self._index(annotation.spans)
        self._sources = Counter(s.source for s in annotation.spans)
        self._unreviewed = sum(1 for s in annotation.spans if s.state == "suggested")
        # The unreviewed suggestions by (text, label): how many a repeat of a relabel
        # would change, known without searching a long article's text on every relabel.
        self._suggested = Counter((s.text_in(self.text), s.label)
                                  for s in annotation.spans if s.state == "suggested")

    def _count(self, removed: Sequence[Span], added: Sequence[Span]) -> None:
        for span in removed:
            self._sources[span.source] -= 1
            if span.state == "suggested":
                self._unreviewed -= 1
                self._suggested[(span.text_in(self.text), span.label)] -= 1
        for span in added:
            self._sources[span.source] += 1
            if span.state == "suggested":
                self._unreviewed += 1
                self._suggested[(span.text_in(self.text), span.label)] += 1
        self._sources = +self._sources  # sources with no span left go

    @property
    def unreviewed_count(self) -> int:
        """How many suggestions in the open document nobody has looked at."""
        return self._unreviewed

    def sources(self) -> list[str]:
        """The extractors (and ``repeat``) whose spans the open document holds, by name."""
        return sorted(source for source in self._sources if source != HUMAN)

    # -- lookups ---------------------------------------------------------------

    def span_at(self, offset: int) -> Span | None:
        return self.spans.at(offset)

    def overlapping(self, start: int, end: int) -> list[Span]:
        return self.spans.overlapping(start, end)

    def next_unreviewed(self, offset: int) -> Span | None:
        """The first unreviewed suggestion starting after ``offset``, wrapping around."""
        unreviewed = self.unreviewed()
        return next((s for s in unreviewed if s.start > offset),
                    unreviewed[0] if unreviewed else None)

    def occurrences(self, start: int, end: int) -> list[tuple[int, int]]:
        """Other places where the text ``start``-``end`` occurs, on token boundaries."""
        needle = self.text[start:end]
        if not needle.strip():
            return []
        starts, ends = set(self.tokens.starts), {e for _, e in self.tokens.spans}
        found, at = [], self.text.find(needle)
        while at >= 0:
            if at != start and at in starts and at + len(needle) in ends:
                found.append((at, at + len(needle)))
            at = self.text.find(needle, at + 1)
        return found

    def find(self, query: str, start: int) -> Found | None:
        """The next match of ``query`` (case-insensitive) at or after ``start``, wrapping
        to the start of the text; None when it is not in the text."""
        haystack, needle = self.text.lower(), query.lower()
        matches = []
        at = haystack.find(needle) if needle else -1
        while at >= 0:
            matches.append(at)
            at = haystack.find(needle, at + 1)
        if not matches:
            return None
        index = next((i for i, m in enumerate(matches) if m >= start), None)
        wrapped = index is None
        index = 0 if index is None else index
        return Found(matches[index], matches[index] + len(needle), index, len(matches), wrapped)

    def relations_of(self, span: Span) -> list[Relation]:
        names = (span.key, span.ref)
        return [r for r in self.annotation.relations if r.head in names or r.child in names]

    def other_end(self, relation: Relation, span: Span) -> SpanRef:
        """The end of ``relation`` that is not ``span``."""
        return relation.child if relation.head in (span.key, span.ref) else relation.head

    def unreviewed(self) -> list[Span]:
        """Suggestions in the open document that nobody has looked at."""
        return [s for s in self.annotation.spans if s.state == "suggested"]

    def relation_problems(self, annotation: Annotation | None = None
                          ) -> dict[tuple[SpanRef, SpanRef, str], str]:
        """Relations whose label does not allow their spans' labels, with the reason."""
        annotation = annotation or self.annotation
        if not annotation.relations:
            return {}
        index = self.spans if annotation is self.annotation else self._index(annotation.spans)
        problems = {}
        for rel in annotation.relations:
            label = self.scheme.relation(rel.label)
            head, child = index.get(rel.head), index.get(rel.child)
            if label is None or head is None or child is None:
                continue
            if not label.allows(head.label, child.label):
                wanted = (f"{'/'.join(label.heads) or 'any'} → "
                          f"{'/'.join(label.children) or 'any'}")
                problems[rel.key] = (f"{rel.label} needs {wanted}, has {head.label} → "
                                     f"{child.label}")
        return problems

    def fitting_relation_labels(self, head: Span, child: Span) -> list[RelationLabel]:
        """The relation labels whose allowed head and child labels fit these two spans."""
        return [r for r in self.scheme.relations if r.allows(head.label, child.label)]

    # -- saving ----------------------------------------------------------------

    def _save(self, annotation: Annotation, run: tuple[int, int] | None = None) -> Annotation:
        """Save ``annotation`` (``run``: the spans it keeps of the open one, see
        :meth:`commit`)."""
        if self.scheme is not self._stored_scheme:
            if self.scheme != self.store.labels:
                self.store.set_labels(self.scheme)
            self._stored_scheme = self.scheme
        return self.store.save_annotation(annotation, run=run)

    def _change(self, before: Annotation, after: Annotation, description: str | None,
                notices: Iterable[str] = (), reopened: bool = False,
                run: tuple[int, int] | None = None) -> Change:
        prefix, suffix = run if run is not None else changed_run(before.spans, after.spans)
        removed = tuple(before.spans[prefix:len(before.spans) - suffix])
        added = tuple(after.spans[prefix:len(after.spans) - suffix])
        rel_before, rel_after = set(before.relations), set(after.relations)
        gone_rel = tuple(r for r in before.relations if r not in rel_after)
        new_rel = tuple(r for r in after.relations if r not in rel_before)
        what = describe(self.text, removed, added, gone_rel, new_rel)
        description = (what or "nothing changed") if description is None else (
            f"{description}: {what}" if what else description)
        problems = self.relation_problems(after)
        notes = list(notices)
        if problems and (added or new_rel):
            touched: set[SpanRef] = {ref for s in added for ref in (s.key, s.ref)}
            touched |= {k for r in new_rel for k in (r.head, r.child)}
            for rel in after.relations:
                reason = problems.get(rel.key)
                if reason and (rel.head in touched or rel.child in touched):
                    notes.append(f"relation no longer fits its labels: {reason}")
        return Change(self.doc_id, description, after, removed, added, gone_rel, new_rel,
                      before.status, after.status, tuple(notes), reopened, (prefix, suffix))

    def commit(self, new: Annotation, description: str | None = None,
               notices: Iterable[str] = (), tag: object = None,
               run: tuple[int, int] | None = None) -> Change:
        """Save ``new`` as the open document's annotation at once, for undo too.

        The change says what it did (``description: what changed``, or only what
        changed); ``tag`` goes into the history with it (see :class:`Edit`).  ``run``:
        how many spans at the start and at the end of the open annotation's list ``new``
        keeps, when the edit knows (the store checks it, and the change and the span
        index use it, so that a long layer is not compared span by span again)."""
        before = self.annotation
        if new.spans is before.spans:
            run = (len(before.spans), 0)
        saved = self._save(new, run)
        self.saved = True
        run = self._apply(saved, run if saved.spans is new.spans else None)
        change = self._change(before, saved, description, notices, run=run)
        self.history.record(Edit(self.doc_id, change.description, before, saved, tag, run))
        return change

    def _apply(self, saved: Annotation, run: tuple[int, int] | None = None
               ) -> tuple[int, int]:
        """Make ``saved`` the open annotation; the common prefix and suffix of the two
        span lists (what lies between them changed): ``run`` when the caller knows it."""
        prefix, suffix = run if run is not None else changed_run(self.annotation.spans,
                                                                 saved.spans)
        old = self.annotation.spans
        removed = old[prefix:len(old) - suffix]
        added = saved.spans[prefix:len(saved.spans) - suffix]
        self.spans.replace(removed, added)
        self._count(removed, added)
        if self._accepted is not None:
            (self._accepted.add if saved.status == "accept" else self._accepted.discard)(
                self.doc_id)
        self.annotation = saved
        return prefix, suffix

    def _with(self, spans: list[Span] | None = None, relations: list[Relation] | None = None,
              **update: object) -> Annotation:
        if spans is not None:
            update["spans"] = spans
        if relations is not None:
            update["relations"] = relations
        return self.annotation.model_copy(update=update)

    # -- span edits --------------------------------------------------------------

    def _replaced(self, gone: Sequence[Span], new: Sequence[Span]
                  ) -> tuple[list[Span], tuple[int, int] | None]:
        """The open layer with ``gone`` taken out and ``new`` put in, in order, and how
        many spans at its start and end it keeps (see :meth:`commit`; None: unknown)."""
        spans = list(self.annotation.spans)
        size = len(spans)
        kept: tuple[int, int] | None = (size, size)  # spans before and after the edit
        if gone:
            first = self.spans.position(gone[0].ref)
            last = self.spans.position(gone[-1].ref)
            if first is not None and last is not None and last - first + 1 == len(gone):
                spans[first:last + 1] = []
                kept = (first, size - last - 1)
            else:
                keys = {_key(s) for s in gone}
                spans = [s for s in spans if _key(s) not in keys]
                kept = None
        for span in new:
            insort(spans, span, key=_key)
        if kept is None:
            return spans, None
        # Nothing before the first span put in or taken out moved, nor after the last.
        places = [bisect_left(spans, _key(span), key=_key) for span in new]
        prefix = min(kept[0], *places) if places else kept[0]
        suffix = min(kept[1], *(len(spans) - 1 - p for p in places)) if places else kept[1]
        return spans, (prefix, suffix)

    def replace(self, gone: Sequence[Span], new: Sequence[Span],
                description: str | None = None, tag: object = None) -> Change | None:
        """Put ``new`` spans in place of ``gone`` ones, relations following.

        The relations of the ``gone`` spans move to the new span when there is one new
        span (a boundary fix, a relabel, a merge); with several new spans, or none, they
        are deleted, and the change says how many.
        """
        gone = sorted(gone, key=_key)
        if gone == sorted(new, key=_key):
            return None
        target = self.ref(new[0]) if len(new) == 1 else None
        moved: dict[SpanRef, SpanRef | None] = {}
        for span in gone:
            moved[span.key] = moved[span.ref] = target
        carried = _carry(self.annotation.relations, moved)
        notices = []
        if carried.dropped and target is not None:  # with the spans: the description says
            notices.append(f"deleted {_plural(len(carried.dropped), 'relation')} "
                           "(they would link a span to itself)")
        spans, run = self._replaced(gone, new)
        return self.commit(self._with(spans, carried.kept), description, notices, tag, run)

    def label(self, start: int, end: int, label: str, origin: Span | None = None
              ) -> Change | None:
        """Give ``start``-``end`` the label ``label``.

        The span at exactly that range is relabelled (a suggestion given its own label
        is confirmed); else the spans it overlaps are replaced by one span (a boundary
        fix of one span, or a merge of several), their relations following it; else a
        new span is typed.  After a relabel, :meth:`repeat_relabel` makes the same
        change to the other unreviewed suggestions with the same text and label, and the
        change's notices say how many there are.
        """
        change = self._label(start, end, label, origin)
        if change is None:
            return None
        before = {s.ref: s for s in change.removed}
        new = [s for s in change.added if s.ref not in before]
        old = [s for s in change.removed if s.ref not in {n.ref for n in change.added}]
        if len(new) == len(old) == 1 and new[0].key == old[0].key:
            self._relabel = (self.doc_id, new[0].text_in(self.text), old[0].label, label)
            count = self._repeatable_count()
            if count:
                change = _restated(change, notices=(*change.notices, Offer(
                    f"= relabels the {_plural(count, 'other unreviewed suggestion')} "
                    f"{old[0].label} {new[0].text_in(self.text)!r} as {label} too")))
        return change

    def _repeatable_count(self) -> int:
        """How many unreviewed suggestions the last relabel would change too (what
        :meth:`_repeatable` finds, counted without searching the text)."""
        if self._relabel is None or self._relabel[0] != self.doc_id:
            return 0
        return self._suggested[self._relabel[1:3]]

    def _repeatable(self) -> list[Span]:
        """The unreviewed suggestions the last relabel would change too."""
        if self._relabel is None or self._relabel[0] != self.doc_id:
            return []
        return self._matching(*self._relabel[1:3])

    def _matching(self, needle: str, old: str) -> list[Span]:
        """The unreviewed suggestions of the open document on ``needle`` labelled ``old``."""
        # Where the text occurs (found in C), then the spans at exactly those offsets:
        # a walk over every span would cost a few ms per relabel in a long article.
        found = []
        at = self.text.find(needle)
        while at >= 0:
            found += [s for s in self.spans.all_with_offsets(at, at + len(needle))
                      if s.label == old and s.state == "suggested"]
            at = self.text.find(needle, at + 1)
        return found

    def repeat_relabel(self) -> Change | None:
        """``=``: give every other unreviewed suggestion with the text and the old label of
        the last relabel its new label (one edit, one undo step; each is ``changed``, its
        relations following it)."""
        todo = self._repeatable()
        if not todo or self._relabel is None:
            return None
        return self._relabel_spans(todo, self._relabel[3])

    def _relabel_spans(self, todo: list[Span], label: str, description: str | None = None
                       ) -> Change:
        """Give ``todo`` (spans of the open document) ``label``, as one edit."""
        pairs = [(span, _edited(span, label=label)) for span in todo]
        moved: dict[SpanRef, SpanRef | None] = {}
        for old, new in pairs:
            moved[old.key] = moved[old.ref] = self.ref(new)
        carried = _carry(self.annotation.relations, moved)
        spans, run = self._replaced(todo, [new for _, new in pairs])
        return self.commit(self._with(spans, carried.kept), description, run=run)

    @property
    def repeatable_relabel(self) -> tuple[str, str, str] | None:
        """The last relabel that can be repeated: ``(text, old label, new label)``."""
        return None if self._relabel is None else self._relabel[1:]

    def _in_open_documents(self, needle: str, visit: Callable[[], T | None]) -> list[T]:
        """What ``visit`` returns (None: nothing) in each of the session's open documents
        (no status: not accepted, rejected or ignored) whose text holds ``needle``, the open
        document included, each opened in turn; the document that was open is open again
        afterwards, whatever ``visit`` raised."""
        indices = [index for index, doc_id in enumerate(self.doc_ids)
                   if self.status_of(doc_id) in ("open", "new")
                   and needle in (self.text if doc_id == self.doc_id
                                  else self.store.text(doc_id))]
        here = self.index
        found = []
        try:
            for index in indices:
                self.open(index)
                if (result := visit()) is not None:
                    found.append(result)
        finally:
            self.open(here)
        return found

    def relabel_everywhere_plan(self) -> list[tuple[str, int]]:
        """What :meth:`repeat_relabel_everywhere` would change: ``(document, suggestions)``
        for every open document of the session holding unreviewed suggestions with the
        last relabel's text and old label (the open document included).  Nothing is
        written; the open document stays open."""
        if self._relabel is None:
            return []
        _, needle, old, _ = self._relabel

        def count() -> tuple[str, int] | None:
            found = len(self._matching(needle, old))
            return (self.doc_id, found) if found else None

        return self._in_open_documents(needle, count)

    def repeat_relabel_everywhere(self) -> list[Change]:
        """The command palette's store-wide ``=``: the last relabel's change (text, old
        label → new label) made to the unreviewed suggestions of every open document of
        the session, one edit per document (so undo takes it back one document at a
        time); each is ``changed``, its relations following it.  The document that was
        open is open again afterwards.  Returns the changes, one per document."""
        if self._relabel is None:
            return []
        _, needle, old, label = self._relabel

        def relabel() -> Change | None:
            todo = self._matching(needle, old)
            return self._relabel_spans(todo, label, f"{old} → {label} in every open document"
                                       ) if todo else None

        return self._in_open_documents(needle, relabel)

    def _label(self, start: int, end: int, label: str, origin: Span | None) -> Change | None:
        if end <= start:
            return None
        self.add_entity_labels([label])
        if self.allows_overlap:
            return self._label_overlapping(start, end, label, origin)
        same = self.spans.get((start, end))
        if same is not None:
            if same.label == label:
                return self.confirm(start, end) if same.state == "suggested" else None
            return self.replace([same], [_edited(same, label=label)])
        under = self.spans.overlapping(start, end)
        if not under:
            span = Span(start=start, end=end, label=label, source=HUMAN, state="confirmed")
            return self.replace([], [span])
        sources = {s.source for s in under}
        if len(under) == 1 or (len(sources) == 1 and HUMAN not in sources):
            # A boundary fix (or a merge of one extractor's suggestions) stays that
            # extractor's span, changed by a person.
            new = _edited(under[0], start=start, end=end, label=label)
        else:
            new = Span(start=start, end=end, label=label, source=HUMAN, state="confirmed")
        return self.replace(under, [new])

    def label_occurrences(self, span: Span) -> Change | None:
        """Offer every other occurrence of ``span``'s text with its label, as suggestions
        (source ``repeat``) to confirm one key each.  An occurrence an extractor suggested
        with another label (unreviewed suggestions at exactly that place, none with this
        label) is offered too, in their place, their relations following it: the model's
        repeated mistake is one key per occurrence to put right.  Places that overlap
        anything else (a reviewed entity, a suggestion of other extent) are left alone,
        and the change says how many."""
        places = self.occurrences(span.start, span.end)
        free: list[tuple[int, int]] = []
        covered: list[Span] = []  # the suggestions with another label that give way
        already = 0  # places that hold this label already
        for s, e in places:
            under = self.spans.overlapping(s, e)
            if not under:
                free.append((s, e))
            elif self.spans.get((s, e, span.label)) is not None:
                already += 1
            elif all(u.state == "suggested" and u.key == (s, e) for u in under):
                free.append((s, e))
                covered += under
        if not free:
            return None
        new = [Span(start=s, end=e, label=span.label, source=REPEAT, state="suggested")
               for s, e in free]
        shown = quoted(self.text, span.start, span.end)
        notices = [f"{_plural(len(free), 'other occurrence')} of {shown} to review "
                   "(c confirms, d deletes)"]
        if covered:
            labels = ", ".join(sorted({u.label for u in covered}))
            notices.append(f"{len(covered)} of them suggested as {labels} before: offered as "
                           f"{span.label} instead")
        if len(free) + already < len(places):
            notices.append(f"{len(places) - len(free) - already} left alone: they overlap a "
                           "reviewed entity or a span of other extent")
        moved: dict[SpanRef, SpanRef | None] = {}
        for old in covered:
            moved[old.key] = moved[old.ref] = self.ref(
                Span(start=old.start, end=old.end, label=span.label))
        carried = _carry(self.annotation.relations, moved)
        spans, run = self._replaced(sorted(covered, key=_key), new)
        return self.commit(self._with(spans, carried.kept), "other occurrences", notices,
                           run=run)

    def _label_overlapping(self, start: int, end: int, label: str, origin: Span | None
                           ) -> Change | None:
        """In an overlapping layer: the span ``origin`` (the entity a selection came from)
        is relabelled or resized, relations following; a range that did not come from an
        entity (``origin`` None) never edits an existing span: it becomes a new span
        beside the ones it overlaps (or confirms the suggestion already there with that
        label)."""
        if origin is not None and self.spans.get(origin.ref) is None:
            raise SessionError(f"the {origin.label} span at {origin.start}-{origin.end} is "
                               "no longer in the document")
        there = self.spans.get((start, end, label))
        if origin is None or origin.ref == (start, end, label):
            if there is not None:
                return self.confirm_spans([there])
            span = Span(start=start, end=end, label=label, source=HUMAN, state="confirmed")
            return self.replace([], [span])
        if there is not None:
            raise SessionError(f"a {label} span is already at {start}-{end}")
        return self.replace([origin], [_edited(origin, start=start, end=end, label=label)])

    def delete_span(self, span: Span) -> Change | None:
        """Delete ``span`` (only it, whatever it overlaps) and its relations."""
        if self.spans.get(span.ref) is None:
            return None
        return self.replace([span], [])

    def set_boundaries(self, span: Span, start: int, end: int) -> Change | None:
        """Move ``span``'s edges to ``start``-``end`` (its label and relations kept); in a
        flat layer the spans the new range overlaps are merged into it."""
        if end <= start or (start, end) == span.key:
            return None
        under = [] if self.allows_overlap else [
            s for s in self.spans.overlapping(start, end) if _key(s) != _key(span)]
        return self.replace([span, *under], [_edited(span, start=start, end=end)])

    def delete(self, start: int, end: int) -> Change | None:
        """Delete the spans overlapping ``start``-``end`` and their relations."""
        gone = self.spans.overlapping(start, end)
        if not gone:
            return None
        return self.replace(gone, [])

    def confirm(self, start: int, end: int) -> Change | None:
        """Confirm, as they are, the suggestions overlapping ``start``-``end``."""
        return self.confirm_spans(self.spans.overlapping(start, end))

    def confirm_label(self, label: str) -> Change | None:
        """Confirm every unreviewed suggestion of one label in the open document."""
        todo = [s for s in self.unreviewed() if s.label == label]
        return self._confirm(todo)

    def confirm_spans(self, spans: Iterable[Span], description: str | None = None
                      ) -> Change | None:
        """Confirm these spans as they are (a suggestion looked at and kept); those that
        are not :data:`CONFIRMABLE` are left as they are."""
        return self._confirm([s for s in spans if s.state in CONFIRMABLE], description)

    def confirm_selection(self, start: int, end: int, entity: Span | None) -> Change | None:
        """``c``: confirm ``entity`` (the one the selection is), else the suggestions the
        range overlaps."""
        if entity is not None:
            return self.confirm_spans([entity])
        return self.confirm(start, end)

    def _confirm(self, todo: list[Span], description: str | None = None) -> Change | None:
        if not todo:
            return None
        keys = {_key(s) for s in todo}
        spans = [s.model_copy(update={"state": "confirmed"}) if _key(s) in keys else s
                 for s in self.annotation.spans]
        places = [p for p in (self.spans.position(s.ref) for s in todo) if p is not None]
        run = (min(places), len(spans) - 1 - max(places)) if len(places) == len(todo) \
            else None
        return self.commit(self._with(spans), description, run=run)

    def take_prediction(self, gold: Sequence[Span], predicted: Sequence[tuple[int, int, str]],
                        extractor: str) -> Change | None:
        """Review: make the gold at a place what ``extractor`` predicted there, each span
        the extractor's, confirmed by a person (relations follow as in :meth:`replace`);
        edge whitespace is trimmed as on seeding, and a span of whitespace only left out."""
        new = [Span(start=edges[0], end=edges[1], label=label, source=extractor,
                    state="confirmed")
               for s, e, label in predicted
               if (edges := trimmed(self.text, s, e)) is not None]
        self.add_entity_labels(s.label for s in new)
        return self.replace(gold, new, f"took {extractor}'s prediction")

    # -- relation edits ----------------------------------------------------------

    def add_relation(self, head: Span, child: Span, label: str) -> Change | None:
        if _key(head) == _key(child):
            raise SessionError("a relation links two different entities")
        self.add_relation_labels([label])
        relation = Relation(head=self.ref(head), child=self.ref(child), label=label)
        if relation.key in {r.key for r in self.annotation.relations}:
            return None
        return self.commit(self._with(relations=[*self.annotation.relations, relation]))

    def remove_relation(self, relation: Relation) -> Change | None:
        kept = [r for r in self.annotation.relations if r.key != relation.key]
        if len(kept) == len(self.annotation.relations):
            return None
        return self.commit(self._with(relations=kept))

    def reverse_relation(self, relation: Relation) -> Change | None:
        flipped = Relation(head=relation.child, child=relation.head, label=relation.label)
        if flipped.key in {r.key for r in self.annotation.relations}:
            return self.remove_relation(relation)
        relations = [flipped if r.key == relation.key else r for r in self.annotation.relations]
        return self.commit(self._with(relations=relations))

    def relabel_relation(self, relation: Relation, label: str) -> Change | None:
        if label == relation.label:
            return None
        self.add_relation_labels([label])
        new = Relation(head=relation.head, child=relation.child, label=label)
        if new.key in {r.key for r in self.annotation.relations}:
            return self.remove_relation(relation)
        relations = [new if r.key == relation.key else r for r in self.annotation.relations]
        return self.commit(self._with(relations=relations))

    def set_notes(self, notes: str) -> Change | None:
        """The annotator's notes on the open document (saved with its annotation)."""
        notes = notes.strip()
        if notes == self.annotation.notes:
            return None
        return self.commit(self._with(notes=notes), "notes changed")

    # -- document status ---------------------------------------------------------

    def set_status(self, status: Status | None, *, confirm_unreviewed: bool = False
                   ) -> Change | None:
        """Give the open document a status.

        Accepting with unreviewed suggestions raises :class:`UnreviewedSuggestions`,
        unless ``confirm_unreviewed`` (or the session's ``bulk_confirm`` policy) says to
        record them as confirmed in bulk.
        """
        if status == self.annotation.status and self.saved:
            return None
        spans = None
        notices = []
        unreviewed = self.unreviewed() if status == "accept" else []
        if unreviewed:
            if not (confirm_unreviewed or self.bulk_confirm):
                raise UnreviewedSuggestions(unreviewed)
            spans = [s.model_copy(update={"state": "bulk_confirmed"})
                     if s.state == "suggested" else s for s in self.annotation.spans]
            notices.append(f"{_plural(len(unreviewed), 'suggestion')} confirmed in bulk")
        chosen = self.annotation.chosen
        if status == "accept" and chosen is None:
            chosen = self.chosen.get(self.doc_id)
        new = self._with(spans, status=status, chosen=chosen)
        done = {"accept": "accepted", "reject": "rejected", "ignore": "ignored"}
        return self.commit(new, f"document {self.index + 1} {done.get(status or '', 'reopened')}",
                           notices)

    # -- undo and redo ---------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo

    def undo(self) -> Change | None:
        return self._replay(self.history.undo, lambda edit: edit.before, "undo")

    def redo(self) -> Change | None:
        return self._replay(self.history.redo, lambda edit: edit.after, "redo")

    def _replay(self, take: Callable[[], Edit | None], side: Callable[[Edit], Annotation],
                verb: str) -> Change | None:
        edit = take()
        if edit is None:
            return None
        self._relabel = None  # an undone relabel is not one to repeat
        reopened = edit.doc_id != self.doc_id
        if reopened:
            self.open_id(edit.doc_id)
        before = self.annotation
        target = side(edit)
        # The edit's run holds while the open spans are the very list of its other side
        # (span lists are never changed in place).
        other = edit.after if verb == "undo" else edit.before
        run = edit.run if before.spans is other.spans else None
        try:
            saved = self._save(target, run)
        except BaseException:
            # Not saved: the edit goes back where it was.
            (self.history.redo if verb == "undo" else self.history.undo)()
            raise
        self.saved = True
        run = self._apply(saved, run if saved.spans is target.spans else None)
        change = self._change(before, saved, verb, reopened=reopened, run=run)
        if change.description == verb:  # nothing a span or relation shows: say which edit
            change = _restated(change, description=f"{verb}: {edit.description}")
        return change
