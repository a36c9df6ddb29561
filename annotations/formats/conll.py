"""CoNLL IOB2: one token and its tag per line, a blank line between sentences, and a
``-DOCSTART- -X- O O`` line (then a blank line) before each document, as in CoNLL-2003:
the separator ``spacy convert -c ner`` splits documents on.  Import reads it and the
shorter ``-DOCSTART- O`` this tool wrote before.

Export writes two columns, ``TOKEN TAG``, with IOB2 tags (``B-LABEL`` starts an
entity, ``I-LABEL`` continues it, ``O`` is outside), the shape ``spacy convert``
and seqeval read.  Tokens are spaCy's, cut at span edges (``tokens.py``) and at
any whitespace inside them; a blank line marks a line break in the text unless an
entity runs across it.  The span edges that cut a document's tokens are those of
*every layer the store holds for it* (each annotator's annotation, whatever its
status, and each extractor's prediction), not only the layer written: so the gold
export and an extractor's export of one document have the same tokens, line for
line, as conlleval and seqeval need to pair them ("EpoR" "." in both, never "EpoR."
in one).  A layer added to the store later may cut the tokens of a later export
further.

Import reads the last column as the tag and the first as the token, so
four-column CoNLL-2003 files work too.  It accepts IOB2 and IOB1 (where ``I-``
also starts an entity that does not continue one of the same label, and ``B-``
only separates two adjacent entities of one label); any other tag (``E-``/``S-``
of BIOES, a bare label, ``B-`` with no label) is reported with its line.

A CoNLL file does not hold the text, only its tokens.  Import therefore looks
for the stored document whose text has exactly these non-whitespace characters
(so a file exported from this store comes back onto its documents with exact
offsets); failing that, a gold import creates a document whose text is the
tokens joined by spaces, one sentence per line.

IOB tags cannot nest, so a layer with overlapping spans is refused (naming the
document and two spans that overlap); with ``flat_only`` (``reader export
--flat-only``) it is written with its outermost spans (leftmost first, the longer
of two starting together) and every span left out is named in a warning.

What it loses: relations, meta, status, annotator, a span's source and state,
the exact whitespace of texts not in the store, whitespace at the very start
or end of a span (an entity is the tokens it covers), and nested or overlapping
spans (see above).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..articles import title_of
from ..errors import FormatError, InputError
from ..layer import outermost
from .base import (
    ExportItem,
    ExportResult,
    ImportRecord,
    Payload,
    RawSpan,
    WriteContext,
    iter_lines,
    ordered_map,
    replacing,
)
from .tokens import tokenize, word_runs

if TYPE_CHECKING:
    from ..store import GoldStore

Edges = tuple[frozenset[int], frozenset[int]]
"""Span starts and span ends that cut a document's tokens."""
NO_EDGES: Edges = (frozenset(), frozenset())

DOCSTART = "-DOCSTART-"
DOCSTART_LINE = "-DOCSTART- -X- O O"
_TAG = re.compile(r"^([BI])-(\S+)$")


def layer_edges(store: GoldStore) -> Callable[[str], Edges]:
    """For a document id, the span starts and ends of every layer ``store`` holds for
    it (annotations of any annotator and status, predictions of every extractor): the
    cuts every CoNLL export of the document shares.  Read once, on the first call, and
    kept as one small array per document (a set per document would cost several times
    the memory on a large store)."""
    table: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    loaded = False

    def load() -> None:
        extractors = store.extractors()
        groups = groupby(store.annotation_records(), key=itemgetter("doc_id"))
        current = next(groups, None)  # records come in document order
        for doc_id in store.document_ids():
            records: list[dict[str, Any]] = []
            if current is not None and current[0] == doc_id:
                records.extend(current[1])
                current = next(groups, None)
            records.extend(r for r in (store.prediction_record(doc_id, name)
                                       for name in extractors) if r)
            spans = [span for record in records for span in record.get("spans") or ()]
            if spans:
                table[doc_id] = (np.unique([s["start"] for s in spans]),
                                 np.unique([s["end"] for s in spans]))

    def edges(doc_id: str) -> Edges:
        nonlocal loaded
        if not loaded:
            load()
            loaded = True
        found = table.get(doc_id)
        if found is None:
            return NO_EDGES
        return frozenset(found[0].tolist()), frozenset(found[1].tolist())

    return edges


def words_and_tags(item: ExportItem, edges: Edges = NO_EDGES
                   ) -> Iterator[tuple[str, str] | None]:
    """``(token, tag)`` for each token of one document (cut also at ``edges``, the span
    edges of the document's other layers); ``None`` for a sentence break."""
    return _words_and_tags(item.payload(), edges)


def _words_and_tags(payload: Payload, edges: Edges = NO_EDGES
                    ) -> Iterator[tuple[str, str] | None]:
    text, spans = payload[0], payload[2]
    tokens = tokenize(text, edges[0].union(s[0] for s in spans),
                      edges[1].union(s[1] for s in spans))
    index = 0
    previous_end: int | None = None
    for start, end in word_runs(text, tokens):
        while index < len(spans) and spans[index][1] <= start:
            index += 1
        inside = index < len(spans) and spans[index][0] <= start
        continues = inside and previous_end is not None and spans[index][0] < previous_end
        if previous_end is not None and not continues and "\n" in text[previous_end:start]:
            yield None
        if inside:
            tag = ("I-" if continues else "B-") + spans[index][2]
        else:
            tag = "O"
        yield text[start:end], tag
        previous_end = end


def blocks_of(payloads: list[tuple[Payload, Edges]]) -> list[str]:
    """The CoNLL text of a batch of documents (what a worker process runs)."""
    blocks = []
    for payload, edges in payloads:
        lines = [DOCSTART_LINE, ""]
        for pair in _words_and_tags(payload, edges):
            lines.append("" if pair is None else f"{pair[0]} {pair[1]}")
        lines.append("")
        blocks.append("\n".join(lines) + "\n")
    return blocks


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    """One CoNLL file; each document's tokens cut at ``context.token_edges`` (the span
    edges of all its layers, :func:`layer_edges`) too, where given."""
    warnings: list[str] = []
    result = ExportResult(files=1)
    pairs = _payloads(_flat_items(items, context.flat_only, warnings), result,
                      context.token_edges)
    with replacing(out) as fh:
        for chunk in ordered_map(blocks_of, pairs, workers=context.workers):
            fh.write(chunk)
    result.warnings += warnings
    return result


def _payloads(items: Iterable[ExportItem], result: ExportResult,
              edges: Callable[[str], Edges] | None) -> Iterator[tuple[Payload, Edges]]:
    for item in items:
        result.written += 1
        yield item.payload(), edges(item.document.id) if edges else NO_EDGES


def _flat_items(items: Iterable[ExportItem], flat_only: bool, warnings: list[str]
                ) -> Iterator[ExportItem]:
    for item in items:
        kept, dropped = outermost(item.spans)
        if dropped and not flat_only:
            span = dropped[0]
            other = next(k for k in kept if k.start < span.end and span.start < k.end)
            raise FormatError(
                f"document {item.document.id}: spans {other.start}-{other.end} ({other.label}) "
                f"and {span.start}-{span.end} ({span.label}) overlap, and CoNLL IOB tags "
                "cannot nest; export to brat, prodigy, doccano or spacy, which keep them, or "
                "write the outermost spans only with --flat-only")
        if dropped:
            shown = ", ".join(f"{s.start}-{s.end} ({s.label})" for s in dropped)
            warnings.append(f"{item.document.id}: {len(dropped)} nested or overlapping "
                            f"span(s) left out of the CoNLL file: {shown}")
            item = ExportItem(item.document, kept, [], item.status, item.annotator,
                              item.extractor)
        yield item


@dataclass
class _Doc:
    line: int
    sentences: list[list[tuple[str, str, int]]] = field(default_factory=lambda: [[]])
    errors: list[InputError] = field(default_factory=list)

    def has_tokens(self) -> bool:
        return any(self.sentences)


def read(path: Path) -> Iterator[ImportRecord | InputError]:
    doc: _Doc | None = None
    number_of_docs = 0
    for number, line in iter_lines(path):
        if isinstance(line, InputError):
            if doc is None:
                doc = _Doc(number)
            doc.errors.append(line)
            continue
        fields = line.split()
        if fields and fields[0] == DOCSTART:
            if doc is not None and (doc.has_tokens() or doc.errors):
                number_of_docs += 1
                yield from _finish(path, doc, number_of_docs)
            doc = _Doc(number)
            continue
        if doc is None:
            doc = _Doc(number)
        if not fields:
            if doc.sentences[-1]:
                doc.sentences.append([])
            continue
        if len(fields) < 2:
            doc.errors.append(InputError(path, f"expected a token and a tag, got {line!r:.60}",
                                         line=number))
            continue
        tag = fields[-1]
        if tag != "O" and not _TAG.match(tag):
            hint = " (BIOES/BILOU tags are not supported; convert to IOB2)" \
                if re.match(r"^[ESLU]-", tag) else ""
            doc.errors.append(InputError(path, f"ill-formed tag {tag!r}: expected O, B-LABEL "
                                         f"or I-LABEL{hint}", line=number))
            continue
        doc.sentences[-1].append((fields[0], tag, number))
    if doc is not None and (doc.has_tokens() or doc.errors):
        number_of_docs += 1
        yield from _finish(path, doc, number_of_docs)
    if not number_of_docs:
        yield InputError(path, "no tokens: an empty CoNLL file (expected TOKEN TAG lines)")


def _finish(path: Path, doc: _Doc, ordinal: int) -> Iterator[ImportRecord | InputError]:
    if doc.errors:
        yield from doc.errors
        return
    parts: list[str] = []
    spans: list[RawSpan] = []
    offset = 0
    for sentence in doc.sentences:
        if not sentence:
            continue
        if parts:
            parts.append("\n")
            offset += 1
        open_span: RawSpan | None = None
        for position, (word, tag, line) in enumerate(sentence):
            if position:
                parts.append(" ")
                offset += 1
            start, end = offset, offset + len(word)
            parts.append(word)
            offset = end
            if tag == "O":
                open_span = None
                continue
            prefix, label = tag[0], tag[2:]
            # I- continues an entity of the same label (IOB1 and IOB2); otherwise
            # it starts one (IOB1).  B- always starts one.
            if prefix == "I" and open_span is not None and open_span.label == label:
                open_span.end = end
            else:
                open_span = RawSpan(start, end, label, line=line, where=f"token {word!r}")
                spans.append(open_span)
    text = "".join(parts)
    yield ImportRecord(
        path=path, line=doc.line, record=f"document {ordinal}", text=text,
        meta={"title": title_of(text, path), "source": f"{path}:{doc.line}"},
        spans=spans, loose_whitespace=True,
    )
