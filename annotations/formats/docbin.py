"""spaCy ``DocBin`` (``.spacy``): training data for ``spacy train``.

Each document becomes a ``Doc`` built from spaCy's tokens, cut at span edges
(``tokens.py``), with the spans as ``doc.ents``.  ``spacy train`` reads it
directly (``--paths.train gold.spacy``).  Everything spaCy has no slot for is
kept in ``doc.user_data["reader_annotator"]``, which ``DocBin(store_user_data=True)``
serialises with the doc::

    {"doc_id": ..., "meta": {...}, "answer": "accept" | None,
     "annotator": ... | None, "extractor": ... | None,
     "relations": [[head_start, head_end, child_start, child_end, label], ...],
     "spans": [[start, end, source, state], ...]}

(character offsets; a plain dict, so reading it needs no custom extension; msgpack
gives the inner lists back as tuples).

``-o NAME.spacy`` writes one file; a ``DocBin`` is one msgpack blob, so that file
is built in memory.  ``-o FOLDER`` (any other name) writes shards of 1,000
documents (``part-00000.spacy``, ...), so memory stays flat however large the
corpus; ``spacy train`` and this import both take the folder.

Import reads ``.spacy`` files made anywhere: entities from ``doc.ents`` and,
when present, the rest from ``user_data``.

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
from .base import (
    STATUSES,
    ExportItem,
    ExportResult,
    ImportRecord,
    RawRelation,
    RawSpan,
    WriteContext,
)
from .tokens import tokenize

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

USER_DATA_KEY = "reader_annotator"
ATTRS = ["ENT_IOB", "ENT_TYPE"]  # ORTH and SPACY are always stored


@lru_cache(maxsize=1)
def _vocab() -> Vocab:
    import spacy

    return spacy.blank("en").vocab


def to_doc(item: ExportItem, vocab: Vocab) -> Doc:
    from spacy.tokens import Doc

    text = item.document.text
    spans = sorted(item.spans, key=lambda s: s.key)
    tokens = tokenize(text, [s.start for s in spans], [s.end for s in spans])
    doc = Doc(vocab, words=[text[start:end] for start, end, _ in tokens],
              spaces=[ws for _, _, ws in tokens])
    ents = []
    for span in spans:
        ent = doc.char_span(span.start, span.end, label=span.label)
        if ent is None:  # tokenize() guarantees span edges are token edges
            raise AssertionError(f"span {span.start}-{span.end} is not on token boundaries")
        ents.append(ent)
    doc.ents = ents
    doc.user_data[USER_DATA_KEY] = {
        "doc_id": item.document.id,
        "meta": item.document.meta,
        "answer": item.status,
        "annotator": item.annotator,
        "extractor": item.extractor,
        "relations": [[*r.head, *r.child, r.label] for r in item.relations],
        "spans": [[s.start, s.end, s.source, s.state] for s in spans],
    }
    return doc


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    from spacy.tokens import DocBin

    result = ExportResult()
    vocab = _vocab()
    single_file = out.suffix == ".spacy"
    if not single_file:
        out.mkdir(parents=True, exist_ok=True)
    shard = DocBin(attrs=ATTRS, store_user_data=True)
    for item in items:
        shard.add(to_doc(item, vocab))
        result.written += 1
        if not single_file and len(shard) >= context.shard_size:
            _save(shard, out / f"part-{result.files:05d}.spacy")
            result.files += 1
            shard = DocBin(attrs=ATTRS, store_user_data=True)
    if single_file:
        _save(shard, out)
        result.files = 1
    elif len(shard) or not result.files:
        _save(shard, out / f"part-{result.files:05d}.spacy")
        result.files += 1
    return result


def _save(shard: Any, path: Path) -> None:
    from .base import atomic_output

    with atomic_output(path, "wb") as fh:
        fh.write(shard.to_bytes())


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
    provenance = {(s[0], s[1]): (s[2], s[3]) for s in extra.get("spans", [])
                  if isinstance(s, (list, tuple)) and len(s) == 4}
    for number, ent in enumerate(doc.ents):
        source, state = provenance.get((ent.start_char, ent.end_char), (None, None))
        record.spans.append(RawSpan(ent.start_char, ent.end_char, ent.label_, source=source,
                                    state=state, where=f"ents[{number}]"))
    for number, raw in enumerate(extra.get("relations", [])):
        # msgpack may give back tuples for the lists written.
        if (not isinstance(raw, (list, tuple)) or len(raw) != 5
                or not all(isinstance(v, int) for v in raw[:4]) or not isinstance(raw[4], str)):
            raise ValueError(f"user_data relations[{number}]: expected "
                             "[head_start, head_end, child_start, child_end, label]")
        record.relations.append(RawRelation((raw[0], raw[1]), (raw[2], raw[3]), raw[4],
                                            where=f"relations[{number}]"))
    return record
