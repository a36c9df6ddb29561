"""spaCy ``DocBin`` (``.spacy``): training data for ``spacy train``.

Each document becomes a ``Doc`` built from spaCy's tokens, cut at span edges
(``tokens.py``), with every span in ``doc.spans["sc"]`` (the span group spaCy's
``spancat`` trains on, which may nest and overlap) and the flat part in
``doc.ents``: all spans in a flat layer; in an overlapping one, the spans that
overlap no other.  ``spacy train`` reads it directly (``--paths.train gold.spacy``).
Everything spaCy has no slot for is kept in ``doc.user_data["reader_annotator"]``,
which ``DocBin(store_user_data=True)`` serialises with the doc::

    {"doc_id": ..., "meta": {...}, "answer": "accept" | None,
     "annotator": ... | None, "extractor": ... | None,
     "relations": [[head_start, head_end, head_label,
                    child_start, child_end, child_label, label], ...],
     "spans": [[start, end, label, source, state], ...]}

(files written before overlapping layers hold ``[head_start, head_end, child_start,
child_end, label]`` and ``[start, end, source, state]``, and still import.)

(character offsets; a plain dict, so reading it needs no custom extension; msgpack
gives the inner lists back as tuples).

``-o NAME.spacy`` writes one file; a ``DocBin`` is one msgpack blob, so that file
is built in memory.  ``-o FOLDER`` (any other name) writes shards of 1,000
documents (``part-00000.spacy``, ...), so memory stays flat however large the
corpus; ``spacy train`` and this import both take the folder.

Import reads ``.spacy`` files made anywhere: the spans of ``doc.spans["sc"]`` when
the doc has that group, else the entities of ``doc.ents``, and, when present, the
rest from ``user_data``.

What it loses: nothing this store holds, for files it wrote.  An open
annotation comes back open (``answer`` is null).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..articles import title_of
from ..errors import InputError
from ..layer import SpanRef
from ..models import document_id
from ..output import write_atomically
from .base import (
    STATUSES,
    ExportItem,
    ExportResult,
    ImportRecord,
    Payload,
    RawRelation,
    RawSpan,
    WriteContext,
    counted_payloads,
    ordered_map,
)
from .tokens import tokenize

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

USER_DATA_KEY = "reader_annotator"
SPANS_KEY = "sc"
"""The span group holding every span (spaCy's ``spancat`` default ``spans_key``)."""
ATTRS = ["ENT_IOB", "ENT_TYPE"]  # ORTH and SPACY are always stored


@lru_cache(maxsize=1)
def _vocab() -> Vocab:
    import spacy

    return spacy.blank("en").vocab


def doc_of(payload: Payload, vocab: Vocab) -> Doc:
    from spacy.tokens import Doc

    text, meta, spans, relations, status, annotator, extractor = payload
    tokens = tokenize(text, [s[0] for s in spans], [s[1] for s in spans])
    doc = Doc(vocab, words=[text[start:end] for start, end, _ in tokens],
              spaces=[ws for _, _, ws in tokens])
    group = []
    for start, end, label, _, _ in spans:
        ent = doc.char_span(start, end, label=label)
        if ent is None:  # tokenize() guarantees span edges are token edges
            raise AssertionError(f"span {start}-{end} is not on token boundaries")
        group.append(ent)
    doc.spans[SPANS_KEY] = group
    doc.ents = _apart(group)
    doc.user_data[USER_DATA_KEY] = {
        "doc_id": document_id(text),
        "meta": meta,
        "answer": status,
        "annotator": annotator,
        "extractor": extractor,
        "relations": [list(r) for r in relations],
        "spans": [list(s) for s in spans],
    }
    return doc


def _apart(spans: list[Any]) -> list[Any]:
    """The spans (sorted by start) that overlap no other: the flat part of a layer."""
    kept, reach = [], 0  # reach: the furthest end of the spans before this one
    for i, span in enumerate(spans):
        later = spans[i + 1].start_char if i + 1 < len(spans) else None
        if reach <= span.start_char and (later is None or later >= span.end_char):
            kept.append(span)
        reach = max(reach, span.end_char)
    return kept


def docbin_of(payloads: list[Payload]) -> list[bytes]:
    """A serialised DocBin of a batch of documents (what a worker process runs)."""
    from spacy.tokens import DocBin

    vocab = _vocab()
    batch = DocBin(attrs=ATTRS, store_user_data=True)
    for payload in payloads:
        batch.add(doc_of(payload, vocab))
    return [batch.to_bytes()]


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    from spacy.tokens import DocBin

    result = ExportResult()
    if out.suffix == ".spacy":
        merged = DocBin(attrs=ATTRS, store_user_data=True)
        for data in ordered_map(docbin_of, counted_payloads(items, result),
                                workers=context.workers, batch_size=64):
            merged.merge(DocBin(attrs=ATTRS, store_user_data=True).from_bytes(data))
        _save(merged.to_bytes(), out)
        result.files = 1
        return result
    out.mkdir(parents=True, exist_ok=True)
    # One batch is one shard, so a worker builds a whole file and memory stays flat.
    for data in ordered_map(docbin_of, counted_payloads(items, result), workers=context.workers,
                            batch_size=context.shard_size):
        _save(data, out / f"part-{result.files:05d}.spacy")
        result.files += 1
    if not result.files:
        _save(DocBin(attrs=ATTRS, store_user_data=True).to_bytes(), out / "part-00000.spacy")
        result.files = 1
    return result


def _save(data: bytes, path: Path) -> None:
    write_atomically(path, data, sync=False)


def spacy_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.spacy") if p.is_file())
    return [path]


def read(path: Path) -> Iterator[ImportRecord | InputError]:
    from spacy.tokens import DocBin

    files = spacy_files(path)
    if not files:
        yield InputError(path, "no .spacy files in this folder")
    for file in files:
        try:
            bin_ = DocBin().from_disk(file)
            docs = list(bin_.get_docs(_vocab()))
        except Exception as err:  # noqa: BLE001 - spaCy raises many kinds on a bad file
            yield InputError(file, f"not a spaCy DocBin file ({type(err).__name__}: {err})")
            continue
        for index, doc in enumerate(docs):
            try:
                yield record_of(file, index, doc)
            except ValueError as err:
                yield InputError(file, str(err), record=f"doc {index}")


def _list(extra: dict[str, Any], name: str) -> list[Any] | tuple[Any, ...]:
    """``user_data[name]``: a list (msgpack may give a tuple), absent as empty."""
    value = extra.get(name, [])
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"user_data {name} must be a list, not {type(value).__name__}")
    return value


def record_of(path: Path, index: int, doc: Doc) -> ImportRecord:
    text = doc.text
    extra = doc.user_data.get(USER_DATA_KEY)
    extra = extra if isinstance(extra, dict) else {}
    meta = extra.get("meta")
    if not isinstance(meta, dict):
        meta = {"title": title_of(text.replace("\r", "\n"), path), "source": f"{path}#{index}"}
    record = ImportRecord(path=path, line=None, record=f"doc {index}", text=text, meta=meta)
    if USER_DATA_KEY in doc.user_data:
        answer = extra.get("answer")
        if answer is not None and answer not in STATUSES:
            raise ValueError(f"answer {answer!r} is not one of {', '.join(STATUSES)}")
        record.status = answer
        record.has_status = True
        annotator = extra.get("annotator")
        record.annotator = annotator if isinstance(annotator, str) and annotator else None
    # [start, end, label, source, state]; [start, end, source, state] in older files.
    provenance: dict[tuple[Any, ...], tuple[str, str]] = {}
    for s in _list(extra, "spans"):
        if (isinstance(s, (list, tuple)) and len(s) in (4, 5)
                and all(type(v) is int for v in s[:2])
                and all(isinstance(v, str) for v in s[2:])):
            provenance[tuple(s[:-2])] = (s[-2], s[-1])
    if SPANS_KEY in doc.spans:
        found, name = list(doc.spans[SPANS_KEY]), f"spans[{SPANS_KEY!r}]"
    else:
        found, name = list(doc.ents), "ents"
    for number, ent in enumerate(found):
        source, state = provenance.get((ent.start_char, ent.end_char, ent.label_),
                                       provenance.get((ent.start_char, ent.end_char),
                                                      (None, None)))
        record.spans.append(RawSpan(ent.start_char, ent.end_char, ent.label_, source=source,
                                    state=state, where=f"{name}[{number}]"))
    for number, raw in enumerate(_list(extra, "relations")):
        # msgpack may give back tuples for the lists written.
        if (isinstance(raw, (list, tuple)) and len(raw) == 7
                and all(type(v) is int for v in (*raw[:2], *raw[3:5]))
                and all(isinstance(v, str) for v in (raw[2], raw[5], raw[6]))):
            head: SpanRef = (raw[0], raw[1], raw[2])
            child: SpanRef = (raw[3], raw[4], raw[5])
            label = raw[6]
        elif (isinstance(raw, (list, tuple)) and len(raw) == 5
                and all(type(v) is int for v in raw[:4]) and isinstance(raw[4], str)):
            head, child, label = (raw[0], raw[1]), (raw[2], raw[3]), raw[4]
        else:
            raise ValueError(f"user_data relations[{number}]: expected [head_start, head_end, "
                             "head_label, child_start, child_end, child_label, label]")
        record.relations.append(RawRelation(head, child, label, where=f"relations[{number}]"))
    return record
