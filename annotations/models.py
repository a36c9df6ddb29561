"""Pydantic models for the gold dataset: documents, spans, relations, annotations,
predictions and the label scheme.

Offsets are Python ``str`` indices (code points) into ``Document.text``; ``start``
inclusive, ``end`` exclusive.  A span never carries its own text: the text is
always sliced from the document, and any text given on input is checked
against that slice (see :func:`check_layer`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .layer import SpanRef, check_layer, resolve_refs, span_order
from .names import check_colour, check_label, check_name

SCHEMA_VERSION = 1

LENIENT: dict[str, Any] = {"lenient": True}
"""Validation context for what the store already holds: names and colours are not
checked again (a store written before the rules still opens; see ``names``)."""


def _lenient(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("lenient"))

HUMAN = "human"
"""``Span.source`` of a span typed by a person."""

SpanState = Literal["suggested", "confirmed", "changed", "bulk_confirmed"]
SPAN_STATES: tuple[SpanState, ...] = ("suggested", "confirmed", "changed", "bulk_confirmed")
Status = Literal["accept", "reject", "ignore"]


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC (what the store keeps)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF.  Done once, at import, before any offset exists."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def document_id(text: str) -> str:
    """A stable id for a text, so the same article imported twice is one document."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Span(BaseModel):
    """A labelled character range of a document.

    ``source`` is ``"human"`` for a span a person typed, else the id of the
    extractor that suggested it.  ``state`` says what a person did with it:
    ``suggested`` (untouched extractor output: nobody has looked at it),
    ``confirmed`` (a person typed it, or looked at the suggestion and kept it as is),
    ``changed`` (a suggestion a person relabelled or resized) or ``bulk_confirmed``
    (a suggestion accepted with the whole document, without being looked at one by one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    label: str = Field(min_length=1)
    source: str = HUMAN
    state: SpanState = "confirmed"

    @model_validator(mode="after")
    def _end_after_start(self) -> Span:
        if self.end <= self.start:
            raise ValueError(f"span end {self.end} must be greater than start {self.start}")
        return self

    @property
    def key(self) -> tuple[int, int]:
        """The offsets: what names the span in a flat layer."""
        return (self.start, self.end)

    @property
    def ref(self) -> tuple[int, int, str]:
        """``(start, end, label)``: what names the span in any layer."""
        return (self.start, self.end, self.label)

    def text_in(self, text: str) -> str:
        return text[self.start : self.end]


class Relation(BaseModel):
    """A directed, labelled link from the ``head`` span to the ``child`` span.

    Each end names a span of the same layer by ``(start, end, label)``, or by
    ``(start, end)`` where the offsets name one span (always in a flat layer, which is
    what stores written before overlapping layers hold).  In an overlapping layer,
    write ``(start, end, label)`` (see :mod:`annotations.layer`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    head: SpanRef
    child: SpanRef
    label: str = Field(min_length=1)

    @property
    def key(self) -> tuple[SpanRef, SpanRef, str]:
        return (self.head, self.child, self.label)


def named_by(spans: Sequence[Span], relations: Sequence[Relation], labelled: bool
             ) -> list[Relation]:
    """``relations`` (of a layer :func:`check_layer` accepted) naming their spans by
    ``(start, end, label)`` when ``labelled`` (an overlapping layer), else by
    ``(start, end)`` (a flat layer, as stores always did)."""
    out = []
    for head, child, label in resolve_refs(spans, relations):
        out.append(Relation(head=head.ref if labelled else head.key,
                            child=child.ref if labelled else child.key, label=label))
    return out


class Document(BaseModel):
    """One article: its normalised text, a stable id derived from the text, and meta."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str, meta: dict[str, Any] | None = None) -> Document:
        text = normalise_newlines(text)
        return cls(id=document_id(text), text=text, meta=dict(meta or {}))

    @model_validator(mode="after")
    def _id_matches_text(self) -> Document:
        if self.id != document_id(self.text):
            raise ValueError(f"document id {self.id!r} is not the hash of its text")
        if "\r" in self.text:
            raise ValueError("document text must have its line endings normalised to \\n")
        return self

    @property
    def title(self) -> str:
        title = self.meta.get("title")
        if isinstance(title, str) and title.strip():
            return title.strip()
        first = self.text.strip().split("\n", 1)[0]
        return first[:80]


def check_span_text(text: str, start: int, end: int, given: str | None) -> None:
    """Reject a span whose given text differs from the document's slice."""
    if given is not None and text[start:end] != given:
        raise ValueError(
            f"span {start}-{end} text {given!r} differs from the document text "
            f"{text[start:end]!r} at those offsets"
        )


class _Layer(BaseModel):
    """Spans and relations over one document, validated as one NER layer.

    Pass ``context={"text": document_text}`` to ``model_validate`` to also check
    the offsets against the text.  The model holds overlapping spans (a prediction
    may overlap, and so may an annotation in an overlapping layer); whether a layer
    must be flat is the label scheme's to say, and the store checks it on every save
    (``LabelScheme.overlapping``).  Spans are kept sorted by (start, end, label).
    """

    model_config = ConfigDict(extra="forbid")

    doc_id: str
    spans: list[Span] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> _Layer:
        text = (info.context or {}).get("text") if info.context else None
        check_layer(text, self.spans, self.relations, overlapping=True)
        self.spans.sort(key=span_order)
        return self

    def span_at(self, offset: int) -> Span | None:
        """The first span (in order) holding ``offset``."""
        for span in self.spans:
            if span.start <= offset < span.end:
                return span
        return None


Order = Literal["disagreement", "differ-first", "random", "store", "estimate"]
"""The orders of a queue of documents to annotate (see :mod:`annotations.queue`)."""
Stratum = Literal["differ", "agree"]
"""The strata of a queue: documents where the chosen extractors' outputs differ, or agree."""


class Selection(BaseModel):
    """How a document was chosen for annotation (see :mod:`annotations.queue`).

    ``order``: the queue's order (``disagreement``, ``random``, ``store``, ``estimate``);
    ``rank``: the document's place in it when it was accepted (1 = first); ``stratum``:
    whether the chosen ``extractors`` differed on it (``differ``) or agreed (``agree``);
    ``score``: their disagreement score; ``probability``: the probability with which
    the document was drawn, uniformly at random among the documents of its stratum still
    waiting at that point, or None when it was taken by rank (most different first, store
    order), not drawn at random; ``group``: the finer stratum within ``stratum`` that the
    draw was made in, when there was one (``estimate`` order: agreeing documents grouped
    by how many spans the extractors predicted); ``seed``: the seed of the random order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    order: Order
    rank: int = Field(ge=1)
    stratum: Stratum
    score: int = Field(default=0, ge=0)
    probability: float | None = Field(default=None, gt=0.0, le=1.0)
    extractors: list[str] = Field(default_factory=list)
    seed: int | None = None
    group: str | None = Field(default=None, max_length=80)

    @property
    def drawn_at_random(self) -> bool:
        return self.probability is not None


class Annotation(_Layer):
    """A person's annotation of one document (one per document per annotator).

    Only an annotation whose status is ``accept`` is gold.  ``chosen`` says how the
    document was chosen, when a queue chose it (see :class:`Selection`).
    """

    annotator: str = Field(default="default", min_length=1)
    status: Status | None = None
    notes: str = Field(default="", max_length=20_000)
    """The annotator's free-text notes on the document (exported in ``meta.notes``)."""
    created: str = Field(default_factory=utc_now)
    updated: str = Field(default_factory=utc_now)
    chosen: Selection | None = None

    @field_validator("annotator")
    @classmethod
    def _annotator_name(cls, name: str, info: ValidationInfo) -> str:
        return name if _lenient(info) else check_name(name, "annotator name")


class Prediction(_Layer):
    """The output of one extractor (``name@version``) on one document."""

    extractor: str = Field(min_length=1)
    created: str = Field(default_factory=utc_now)
    meta: dict[str, Any] = Field(default_factory=dict)
    """Facts about this output, e.g. ``grounding``: how string-only spans were placed
    on the text (see ``annotations.grounding``)."""

    @field_validator("extractor")
    @classmethod
    def _extractor_name(cls, name: str, info: ValidationInfo) -> str:
        return name if _lenient(info) else check_name(name, "extractor name")


DEFAULT_COLOURS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
    "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
]  # fmt: skip
ENTITY_KEYS = "1234567890"
RELATION_KEYS = "abcdefghijklmnopqrstuvwxyz"
# News annotators reach for these most: in every store each keeps its number key and its
# colour (PERSON 1 blue, ORG 2 orange, GPE 3 green, ... MONEY 0), so muscle memory and
# the eye carry from one store to the next.  Other labels take the keys and colours left
# over, in their scheme's order (brat's annotation.conf order, a config's order).
COMMON_LABELS = ("PERSON", "ORG", "GPE", "LOC", "DATE", "NORP", "FAC", "EVENT", "PRODUCT",
                 "MONEY")
COMMON_KEYS = dict(zip(COMMON_LABELS, ENTITY_KEYS, strict=True))
COMMON_COLOURS = dict(zip(COMMON_LABELS, DEFAULT_COLOURS[:len(COMMON_LABELS)], strict=True))


class EntityLabel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    key: str | None = None
    colour: str = "#7f7f7f"

    @field_validator("name")
    @classmethod
    def _no_spaces(cls, name: str, info: ValidationInfo) -> str:
        return name if _lenient(info) else check_label(name, "entity label")

    @field_validator("colour")
    @classmethod
    def _a_colour(cls, colour: str, info: ValidationInfo) -> str:
        return colour if _lenient(info) else check_colour(colour, "label colour")


class RelationLabel(BaseModel):
    """A relation label; empty ``heads``/``children`` means any entity label fits.

    ``symmetric``: the relation has no direction (``sibling_of``, ``met``): A -> B and
    B -> A are the same relation, and scoring and agreement ignore direction for it
    (see :func:`relation_identity`).

    ``transitive``: A -> B and B -> C imply A -> C (brat's ``<REL-TYPE>:transitive``,
    as in ``symmetric-transitive``); kept so that the scheme goes back to brat as it
    came, not used in scoring or agreement.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    key: str | None = None
    heads: list[str] = Field(default_factory=list)
    children: list[str] = Field(default_factory=list)
    symmetric: bool = False
    transitive: bool = False

    @field_validator("name")
    @classmethod
    def _relation_name(cls, name: str, info: ValidationInfo) -> str:
        return name if _lenient(info) else check_label(name, "relation label")

    @field_validator("heads", "children")
    @classmethod
    def _label_names(cls, names: list[str], info: ValidationInfo) -> list[str]:
        if not _lenient(info):
            for name in names:
                check_label(name, "entity label")
        return names

    def allows(self, head_label: str, child_label: str) -> bool:
        return (not self.heads or head_label in self.heads) and (
            not self.children or child_label in self.children
        )


T = TypeVar("T")


def relation_identity(head: T, child: T, label: str, symmetric: Collection[str] = ()
                      ) -> tuple[T, T, str]:
    """What makes two relations the same: ``(head, child, label)``, with the two ends in
    a fixed order when ``label`` is one of the ``symmetric`` labels (direction ignored).

    ``head`` and ``child`` are whatever identifies an end (``(start, end)`` offsets,
    ``(start, end, label)`` span references, or ``((start, end), entity_label)`` when
    entity labels count); scoring and agreement
    compare these identities, so both ignore direction for symmetric labels.
    """
    if label in symmetric and child < head:  # type: ignore[operator]
        return child, head, label
    return head, child, label


class LabelScheme(BaseModel):
    """Entity and relation labels with their keys and colours.

    ``overlapping``: whether the store's annotation layers may hold nested and
    overlapping spans (spaCy's ``doc.spans``, Prodigy's spans, brat).  False (the
    default, and what stores written before the flag read as) keeps every layer flat
    (spaCy's ``doc.ents``): no two spans overlap, and adding a span over another
    replaces it.  Either way the same (start, end, label) twice is an error, and
    identical offsets with two labels are two spans only in an overlapping layer.
    Predictions may always overlap (they are scored, not edited).
    """

    model_config = ConfigDict(extra="forbid")

    entities: list[EntityLabel] = Field(default_factory=list)
    relations: list[RelationLabel] = Field(default_factory=list)
    overlapping: bool = False

    @model_validator(mode="after")
    def _unique(self) -> LabelScheme:
        for kind, labels in (("entity", self.entities), ("relation", self.relations)):
            names = [label.name for label in labels]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{kind} label(s) defined twice: {', '.join(dupes)}")
            keys = [label.key for label in labels if label.key]
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise ValueError(f"{kind} key(s) used twice: {', '.join(dupes)}")
        return self

    @property
    def entity_names(self) -> list[str]:
        return [label.name for label in self.entities]

    @property
    def relation_names(self) -> list[str]:
        return [label.name for label in self.relations]

    @property
    def symmetric_relations(self) -> frozenset[str]:
        """Names of the relation labels declared symmetric."""
        return frozenset(label.name for label in self.relations if label.symmetric)

    def entity(self, name: str) -> EntityLabel | None:
        return next((label for label in self.entities if label.name == name), None)

    def relation(self, name: str) -> RelationLabel | None:
        return next((label for label in self.relations if label.name == name), None)

    def with_entities(self, names: Iterable[str]) -> LabelScheme:
        """A copy with any new entity labels added, in the order given.

        A common news label (:data:`COMMON_LABELS`) takes its own key and colour unless
        the scheme already gave them away; every other label takes the first key and
        colour left over, keys that the new common labels claim excepted.  Labels the
        scheme has keep theirs."""
        entities = [label.model_copy() for label in self.entities]
        known = {label.name for label in entities}
        new = [name for name in dict.fromkeys(names) if name not in known]
        used_keys = {label.key for label in entities if label.key}
        used_colours = {label.colour.lower() for label in entities}
        claimed = {COMMON_KEYS[name] for name in new if name in COMMON_KEYS} - used_keys
        claimed_colours = {COMMON_COLOURS[name] for name in new if name in COMMON_COLOURS}
        # Colours no common label owns first, so a label looks the same in every store.
        owned = set(COMMON_COLOURS.values())
        spare_colours = [c for c in sorted(DEFAULT_COLOURS, key=lambda c: c in owned)
                         if c not in used_colours and c not in claimed_colours]
        for name in new:
            key: str | None = COMMON_KEYS.get(name)
            if key is None or key in used_keys:
                key = next((k for k in ENTITY_KEYS if k not in used_keys and k not in claimed),
                           None)
            if key:
                used_keys.add(key)
            colour = COMMON_COLOURS.get(name)
            if colour is None or colour in used_colours:
                colour = (spare_colours.pop(0) if spare_colours
                          else DEFAULT_COLOURS[len(entities) % len(DEFAULT_COLOURS)])
            used_colours.add(colour)
            entities.append(EntityLabel(name=name, key=key, colour=colour))
        return LabelScheme(entities=entities, relations=[r.model_copy() for r in self.relations],
                           overlapping=self.overlapping)

    def with_relations(self, names: Iterable[str]) -> LabelScheme:
        """A copy with any new relation labels (allowing any entity labels) added."""
        relations = [label.model_copy() for label in self.relations]
        known = {label.name for label in relations}
        used_keys = {label.key for label in relations if label.key}
        for name in names:
            if name in known:
                continue
            key = next((k for k in RELATION_KEYS if k not in used_keys), None)
            if key:
                used_keys.add(key)
            relations.append(RelationLabel(name=name, key=key))
            known.add(name)
        return LabelScheme(entities=[e.model_copy() for e in self.entities], relations=relations,
                           overlapping=self.overlapping)

    def check_labels(
        self, spans: Iterable[Span], relations: Iterable[Relation] = ()
    ) -> None:
        """Reject entity or relation labels that the scheme does not know."""
        entity_names = set(self.entity_names)
        for span in spans:
            if span.label not in entity_names:
                raise ValueError(
                    f"unknown entity label {span.label!r} at {span.start}-{span.end} "
                    f"(known: {', '.join(sorted(entity_names)) or 'none'})"
                )
        relation_names = set(self.relation_names)
        for rel in relations:
            if rel.label not in relation_names:
                raise ValueError(
                    f"unknown relation label {rel.label!r} "
                    f"(known: {', '.join(sorted(relation_names)) or 'none'})"
                )
