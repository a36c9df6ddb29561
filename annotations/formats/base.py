"""What every format reads into and writes from.

A reader turns a file into :class:`ImportRecord` objects (or :class:`InputError`
for a line or record it cannot read); the importer in ``transfer.py`` checks
them against their text and the label scheme and stores them.  A writer takes
:class:`ExportItem` objects (a document plus one layer of spans and relations)
and writes them one at a time, so memory does not grow with the corpus.
"""

from __future__ import annotations

import gc
import hashlib
import mmap
import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import cycle
from pathlib import Path
from typing import Any, TypeVar

from ..errors import FormatError, InputError
from ..layer import SpanRef, ref_index
from ..models import LENIENT, Document, LabelScheme, Relation, Span, Status
from ..names import label_problem, name_problem
from ..output import replacing

STATUSES: tuple[str, ...] = ("accept", "reject", "ignore")


@dataclass
class RawSpan:
    """A span as a file gives it: offsets into the record's text, not yet checked."""

    start: int
    end: int
    label: str
    text: str | None = None
    source: str | None = None
    state: str | None = None
    line: int | None = None
    where: str | None = None
    """Which part of the record, e.g. ``spans[3]`` or ``T4``, for error messages."""


@dataclass
class RawString:
    """A span given as ``{"text", "label"}`` without offsets (optionally a ``hint`` offset)."""

    text: str
    label: str
    hint: int | None = None
    line: int | None = None
    where: str | None = None


@dataclass
class RawRelation:
    """A relation as a file gives it: each end ``(start, end)`` or ``(start, end, label)``."""

    head: SpanRef
    child: SpanRef
    label: str
    line: int | None = None
    where: str | None = None


@dataclass
class ImportRecord:
    """One document's text and annotation layer as read from a file."""

    path: Path
    line: int | None
    record: str | None
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    spans: list[RawSpan] = field(default_factory=list)
    relations: list[RawRelation] = field(default_factory=list)
    status: Status | None = None
    has_status: bool = False
    """False when the format or the record says nothing about the status."""
    annotator: str | None = None
    extractor: str | None = None
    """The extractor a record's layer comes from, when the file says so (Label Studio's
    ``predictions[].model_version``): a gold import stores such a record as that
    extractor's prediction, beside the annotations of the same file."""
    strings: list[RawString] = field(default_factory=list)
    """Spans given by their text alone (what LLMs return); placed on the text with
    ``annotations.grounding`` when imported as predictions."""
    loose_whitespace: bool = False
    """True when ``text`` was rebuilt from tokens (CoNLL): the importer then finds
    the stored document whose text has the same non-whitespace characters."""
    warnings: list[InputError] = field(default_factory=list)

    def error(self, reason: str, line: int | None = None, where: str | None = None
              ) -> InputError:
        record = where if where is not None else self.record
        return InputError(self.path, reason, line=line if line is not None else self.line,
                          record=record)


Payload = tuple[str, dict[str, Any], list[tuple[int, int, str, str, str]],
                list[tuple[int, int, str, int, int, str, str]], "Status | None", "str | None",
                "str | None"]
"""An export item as plain data (text, meta, spans sorted by (start, end, label),
relations as (head start, head end, head label, child start, child end, child label,
label), status, annotator, extractor), cheap to send to a worker process."""


SpanTuple = tuple[int, int, str, str, str]
"""A span as a payload holds it: (start, end, label, source, state)."""


class ExportItem:
    """One document and one layer over it: an annotation, or an extractor's prediction.

    Made from models, or by :meth:`of_records` from the store's records as they are
    (records :mod:`annotations.storage.shape` has found to have the models' shape).
    Most writers read only the :meth:`payload`, which is then built from the records
    without a model; ``document``, ``spans`` and ``relations`` are built when a writer
    asks for them."""

    __slots__ = ("_document", "_spans", "_relations", "_records", "_payload", "_status",
                 "_annotator", "_extractor")

    def __init__(self, document: Document, spans: list[Span], relations: list[Relation],
                 status: Status | None = None, annotator: str | None = None,
                 extractor: str | None = None) -> None:
        self._document: Document | None = document
        self._spans = spans
        self._relations = relations
        self._records: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None = None
        self._payload: Payload | None = None
        self._status, self._annotator, self._extractor = status, annotator, extractor

    @classmethod
    def of_records(cls, document: dict[str, Any], layer: dict[str, Any], *,
                   meta: dict[str, Any], status: Status | None = None,
                   annotator: str | None = None, extractor: str | None = None
                   ) -> ExportItem:
        """The item of a stored ``document`` record and ``layer`` record (an annotation
        or a prediction), both of the shape their models accept, shown with ``meta``."""
        item = cls.__new__(cls)
        item._document = None
        item._spans, item._relations = [], []
        item._records = (document, layer, meta)
        item._payload = None
        item._status, item._annotator, item._extractor = status, annotator, extractor
        return item

    # Read-only, as the payload is built once.
    @property
    def status(self) -> Status | None:
        return self._status

    @property
    def annotator(self) -> str | None:
        return self._annotator

    @property
    def extractor(self) -> str | None:
        return self._extractor

    @property
    def document(self) -> Document:
        if self._document is None:
            self._from_records()
        assert self._document is not None
        return self._document

    @property
    def spans(self) -> list[Span]:
        if self._document is None:
            self._from_records()
        return self._spans

    @property
    def relations(self) -> list[Relation]:
        if self._document is None:
            self._from_records()
        return self._relations

    def _from_records(self) -> None:
        assert self._records is not None
        document, layer, meta = self._records
        self._document = Document.model_validate({**document, "meta": meta}, context=LENIENT)
        self._spans = [Span.model_validate(s, context=LENIENT) for s in layer.get("spans", [])]
        self._relations = [Relation.model_validate(r, context=LENIENT)
                           for r in layer.get("relations", [])]

    def check(self) -> ExportItem:
        """This item, or a :class:`FormatError` naming the record and the first name in
        it that an output format could not hold (a label with a newline or a tab would
        write extra lines into brat's .ann or CoNLL).  The store checks names on the
        way in; a store from an older version or edited by hand may still hold one."""
        _, _, spans, relations, *_ = self.payload()
        labels = {s[2] for s in spans}.union(r[6] for r in relations)
        if not (any(map(_label_problem, labels))
                or any(name and name_problem(name) for name in (self.annotator,
                                                                self.extractor))):
            return self  # the usual case, checked once per distinct label
        problems = [f"{who} {name!r:.60} {problem}" for who, name, problem in (
            ("annotator", self.annotator, self.annotator and name_problem(self.annotator)),
            ("extractor", self.extractor, self.extractor and name_problem(self.extractor)),
            *((f"span {s.start}-{s.end}: label", s.label, label_problem(s.label))
              for s in self.spans),
            *(("relation label", r.label, label_problem(r.label)) for r in self.relations),
        ) if problem]
        if problems:
            layer = (f"extractor {self.extractor!r:.60}" if self.extractor else
                     f"annotator {self.annotator!r:.60}")
            raise FormatError(
                f"document {self.document.id} ({layer}): {problems[0]}; nothing was "
                "exported (the store holds a name the current rules refuse: fix it there, "
                "e.g. with reader annotate, or leave this layer out)")
        return self

    def payload(self) -> Payload:
        if self._payload is not None:
            return self._payload
        if self._records is not None:
            document, layer, meta = self._records
            text = document["text"]
            spans: list[SpanTuple] = [
                (s["start"], s["end"], s["label"], s.get("source", _SOURCE),
                 s.get("state", _STATE)) for s in layer.get("spans", [])]
            links: list[tuple[Any, Any, str]] = [
                (r["head"], r["child"], r["label"]) for r in layer.get("relations", [])]
        else:
            assert self._document is not None
            text, meta = self._document.text, self._document.meta
            spans = [(s.start, s.end, s.label, s.source, s.state) for s in self._spans]
            links = [(r.head, r.child, r.label) for r in self._relations]
        # (start, end, label) is unique in a layer, so sorting the tuples is sorting by
        # span_order, without a key call per span.
        spans.sort()
        relations = []
        if links:
            by_ref = ref_index((s[:3], s[:3]) for s in spans)
            relations = [(*by_ref[tuple(head)], *by_ref[tuple(child)], label)
                         for head, child, label in links]
        self._payload = (text, meta, spans, relations, self.status, self.annotator,
                         self.extractor)
        return self._payload


# What a stored span without these fields holds (the model's defaults).
_SOURCE: str = Span.model_fields["source"].default
_STATE: str = Span.model_fields["state"].default


@lru_cache(maxsize=4096)
def _label_problem(label: str) -> str | None:
    """:func:`label_problem`, remembered: an export asks it of the same few labels
    millions of times."""
    return label_problem(label)


@dataclass
class ExportResult:
    written: int = 0
    files: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class WriteContext:
    """What a writer may need besides the items: the label scheme (brat's annotation.conf)."""

    scheme: LabelScheme = field(default_factory=LabelScheme)
    shard_size: int = 1000
    workers: int = 1
    """Processes that tokenise and serialise in parallel (Prodigy, CoNLL, spaCy writers)."""
    flat_only: bool = False
    """For a format that holds flat layers only (CoNLL): write an overlapping layer's
    outermost spans and name each span left out in a warning, instead of refusing."""
    token_edges: Callable[[str], tuple[frozenset[int], frozenset[int]]] | None = None
    """For CoNLL: a document id's span starts and ends over every layer the store holds
    for it, so that every export of the document has the same tokens."""


def check_scheme(scheme: LabelScheme) -> LabelScheme:
    """``scheme``, or a :class:`FormatError` naming its first label that an output
    format could not hold (brat's annotation.conf lists them one per line)."""
    for what, labels in (("entity label", scheme.entities),
                         ("relation label", scheme.relations)):
        for label in labels:
            problem = label_problem(label.name)
            if problem:
                raise FormatError(f"the store's label scheme: {what} {label.name!r:.60} "
                                  f"{problem}; nothing was exported")
    return scheme


def signed_hash32(*parts: str) -> int:
    """A stable signed 32-bit hash, the range Prodigy's ``_input_hash`` uses."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def field_error(name: str, value: object, expected: str) -> str:
    if value is None:
        return f'missing field "{name}"'
    return f'"{name}" must be {expected}, not {type(value).__name__} {value!r:.40}'


def get_int(obj: dict[str, Any], name: str) -> int:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(field_error(name, value, "an integer"))
    return value


def get_str(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(field_error(name, value, "a non-empty string"))
    return value


def parse_status(value: object) -> Status:
    if value not in STATUSES:
        raise ValueError(f"answer {value!r} is not one of {', '.join(STATUSES)}")
    return value  # type: ignore[return-value]


def iter_lines(path: Path) -> Iterator[tuple[int, str | InputError]]:
    """Numbered lines of a UTF-8 file, read one at a time; split on ``\\n`` only, so
    U+2028 and other characters ``str.splitlines`` breaks on stay inside a line.
    A line that is not UTF-8 comes as an :class:`InputError` in place of its text."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                yield number, InputError(
                    path, f"not UTF-8 (byte offset {err.start} in the line)", line=number)
                continue
            yield number, line.rstrip("\n").removesuffix("\r")


def iter_json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """The JSON object on each non-blank line, with its line number (``srsly.json_loads``)."""
    import srsly

    for number, line in iter_lines(path):
        if isinstance(line, InputError):
            yield number, line
            continue
        if not line.strip():
            continue
        try:
            value = srsly.json_loads(line)
        except ValueError as err:
            yield number, InputError(path, f"invalid JSON ({err})", line=number)
            continue
        if not isinstance(value, dict):
            yield number, InputError(
                path, f"expected a JSON object, got {type(value).__name__}", line=number)
            continue
        yield number, value


def read_json_records(
    path: Path, parse: Callable[[Path, int, dict[str, Any]], ImportRecord]
) -> Iterator[ImportRecord | InputError]:
    """``parse`` applied to each JSONL object; its ``ValueError`` becomes an error naming
    the file and line."""
    for number, obj in iter_json_objects(path):
        if isinstance(obj, InputError):
            yield obj
            continue
        try:
            yield parse(path, number, obj)
        except ValueError as err:
            yield InputError(path, str(err), line=number)


def objects_in(obj: dict[str, Any], name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, item)`` for each item of the list ``obj[name]`` (absent: none); a value
    that is not a list, or an item that is not an object, is a ValueError naming it."""
    values = obj.get(name, [])
    if not isinstance(values, list):
        raise ValueError(field_error(name, values, "a list"))
    for index, raw in enumerate(values):
        where = f"{name}[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected an object")
        yield where, raw


def raw_span_of(raw: dict[str, Any], where: str, line: int | None,
                start_key: str = "start", end_key: str = "end") -> RawSpan:
    """The span of a JSON object with integer offsets and a label; errors name ``where``."""
    start, end, label = raw.get(start_key), raw.get(end_key), raw.get("label")
    if type(start) is int and type(end) is int and type(label) is str and label:
        # The common case in one step (an import reads millions of spans); anything
        # else is checked by get_int and get_str below, which say what is wrong.
        return RawSpan(start, end, label, line=line, where=where)
    try:
        return RawSpan(start=get_int(raw, start_key), end=get_int(raw, end_key),
                       label=get_str(raw, "label"), line=line, where=where)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def record_text(obj: dict[str, Any], *names: str) -> str:
    """The record's text under the first of ``names`` present."""
    for name in names:
        if name in obj:
            value = obj[name]
            if not isinstance(value, str):
                raise ValueError(field_error(name, value, "a string"))
            return value
    raise ValueError(f'missing field "{names[0]}"')


In = TypeVar("In")
Out = TypeVar("Out")


def counted_payloads(items: Iterable[ExportItem], result: ExportResult) -> Iterator[Payload]:
    """The payload of each item, counted in ``result.written`` as it is taken."""
    for item in items:
        result.written += 1
        yield item.payload()


class DocumentItems:
    """Export items read from the store a document at a time (by ``read``, given
    document ids, or None for all of ``doc_ids`` in order): iterable like any items,
    and divisible by document, so that worker processes forked from this one read
    their share of the documents themselves, from the store they inherit, rather than
    being sent the items (see :func:`write_text_batches`)."""

    def __init__(self, doc_ids: list[str],
                 read: Callable[[list[str] | None], Iterable[ExportItem]]) -> None:
        self.doc_ids = doc_ids
        self.read = read

    def __iter__(self) -> Iterator[ExportItem]:
        return iter(self.read(None))


_INHERITED: list[_Inherited] = []
"""In a worker forked by :func:`write_text_batches`: what it took over from its parent."""


@dataclass
class _Inherited:
    """What forked workers take over from the process that forks them (inherited with
    its memory, neither copied nor pickled): the items they read their documents from,
    and the memory they hand their output back in, shared with that process."""

    items: DocumentItems
    memory: mmap.mmap


def _inherit(inherited: _Inherited) -> None:
    _INHERITED[:] = [inherited]


HANDOVER_SIZE = 16 << 20
"""Bytes of shared memory for each batch in flight (:func:`write_text_batches`); the
text of a batch past them (a batch of very long documents) goes through the pipe."""


def _render_documents(render: Callable[[list[Payload]], list[str]],
                      tasks: list[tuple[int, list[str]]]
                      ) -> list[tuple[int, int, int, list[bytes]]]:
    """In a worker: the text of a batch of documents (read here, from the inherited
    store) written into its slot of the shared memory; returns how many items were
    written, the slot's offset, the length written there, and any text past the slot."""
    ((slot, doc_ids),) = tasks
    inherited = _INHERITED[0]
    payloads = [item.payload() for item in inherited.items.read(doc_ids)]
    memory = inherited.memory
    start = at = slot * HANDOVER_SIZE
    rest: list[bytes] = []
    for text in render(payloads):
        data = text.encode("utf-8")
        if rest or at + len(data) > start + HANDOVER_SIZE:
            rest.append(data)
        else:
            memory[at:at + len(data)] = data
            at += len(data)
    return [(len(payloads), start, at - start, rest)]


def write_text_batches(
    items: Iterable[ExportItem], out: Path, context: WriteContext,
    render: Callable[[list[Payload]], list[str]], *, batch_size: int = 32,
) -> ExportResult:
    """One file of the text ``render`` makes of each batch of payloads (in worker
    processes when ``context.workers`` allows, see :func:`ordered_map`), written in
    input order, atomically.

    :class:`DocumentItems` are read in the workers, ``batch_size`` documents a batch,
    and each batch's text comes back through memory shared with them: this process
    only writes it out.  (Reading the records here and sending them, and sending the
    text back through a pipe, copied every byte four more times: at 10,000 documents
    of a Prodigy export, 1 of its 7 s.)"""
    result = ExportResult(files=1)
    with replacing(out, "wb") as fh:
        if not isinstance(items, DocumentItems) or not _forks(context.workers):
            for data in ordered_map(partial(_encoded, render), counted_payloads(items, result),
                                    workers=context.workers, batch_size=batch_size):
                fh.write(data)
            return result
        slots = 2 * context.workers + 1  # ordered_map's batches in flight, and one written
        # Shared with the workers forked after it (an anonymous mapping is MAP_SHARED).
        memory = mmap.mmap(-1, slots * HANDOVER_SIZE)
        view = memoryview(memory)
        tasks = zip(cycle(range(slots)), batched(items.doc_ids, batch_size))
        try:
            with closing(ordered_map(partial(_render_documents, render), tasks,
                                     workers=context.workers, batch_size=1,
                                     inherit=_Inherited(items, memory))) as batches:
                for count, start, length, rest in batches:
                    result.written += count
                    with view[start:start + length] as chunk:
                        fh.write(chunk)
                    for data in rest:
                        fh.write(data)
        finally:
            view.release()
            memory.close()
    return result


def _encoded(render: Callable[[list[Payload]], list[str]], payloads: list[Payload]
             ) -> list[bytes]:
    """The text of a batch, a UTF-8 string of bytes an item: what a worker sends back is
    then copied rather than encoded and decoded again, in both processes.  (One string
    of bytes a batch, 2 MB in a Prodigy export, took three times the system time: each
    is a fresh mapping of memory, its pages faulted in one by one.)"""
    return [text.encode("utf-8") for text in render(payloads)]


def _forks(workers: int) -> bool:
    """Whether :func:`ordered_map` runs work in ``workers`` forked processes.  Forking
    is only safe from a single-threaded process, so from any other, or where fork
    does not exist, the work runs here."""
    return (workers > 1 and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def ordered_map(work: Callable[[list[In]], list[Out]], inputs: Iterable[In], *,
                workers: int = 1, batch_size: int = 32,
                inherit: _Inherited | None = None) -> Generator[Out, None, None]:
    """``work`` over batches of ``inputs``, results in input order.

    With ``workers > 1`` the batches run in worker processes, at most two per
    worker in flight, so memory stays bounded however many inputs there are.
    Workers are forked (they start in milliseconds with the tokenizer already
    loaded, and pages they only read stay shared, ``inherit`` among them); where they
    cannot be (see :func:`_forks`), the work runs here.
    """
    batches = batched(inputs, batch_size)
    if not _forks(workers):
        for batch in batches:
            yield from work(batch)
        return
    from .tokens import _tokenizer

    _tokenizer()  # load once here, so every worker inherits it
    context = multiprocessing.get_context("fork")
    # Freeze what exists now (the whole store, in an export) out of the garbage
    # collector's sight while workers are forked (they start on demand, during
    # the run): otherwise every full collection in a worker walks those inherited
    # objects, which takes time in proportion to the store and copies its pages.
    gc.freeze()
    try:
        # A forked worker runs its initializer on the objects it inherited: ``inherit``
        # is not copied or pickled.
        with ProcessPoolExecutor(
                max_workers=workers, mp_context=context,
                initializer=None if inherit is None else partial(_inherit, inherit)) as pool:
            yield from _run_pool(pool, work, batches, workers)
    finally:
        gc.unfreeze()


def _run_pool(pool: ProcessPoolExecutor, work: Callable[[list[In]], list[Out]],
              batches: Iterator[list[In]], workers: int) -> Iterator[Out]:
    pending: deque[Future[list[Out]]] = deque()
    for batch in batches:
        pending.append(pool.submit(work, batch))
        if len(pending) >= 2 * workers:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()


def batched(items: Iterable[In], size: int) -> Iterator[list[In]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    batch: list[In] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
