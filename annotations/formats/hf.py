"""Hugging Face ``datasets``: a folder written by ``Dataset.save_to_disk`` that
``datasets.load_from_disk`` reads, one row per document and layer.

Columns::

    id                 the document id
    text               the document's text (the offsets below index it)
    tokens             spaCy's tokens, cut at span edges and at whitespace (as in the
                       CoNLL export), without whitespace tokens
    ner_tags           IOB2 tags of ``tokens``, a ClassLabel sequence (O, B-LABEL,
                       I-LABEL for each label of the scheme), ready for token
                       classification
    spans              every span exactly: {start, end, label, source, state} with
                       character offsets (code points) into ``text``
    relations          {head, child, label}: ``head`` and ``child`` index ``spans``
    spans_not_in_tags  how many spans the tags cannot carry: IOB tags cannot nest,
                       so in an overlapping layer the tags hold the outermost spans
                       (as ``reader export --flat-only`` writes CoNLL) and this
                       counts the nested and overlapping ones left out; ``spans``
                       has them all
    meta               the document's meta as a JSON string
    annotator, extractor, status   the layer's (null when it has none)

``datasets`` is an optional dependency: ``pip install "reader-annotator[hf]"``.

Import reads such folders, and any other dataset saved to disk with ``tokens`` and
``ner_tags`` (a ClassLabel sequence, or tag strings; IOB2 or IOB1): then the text is
the tokens joined by spaces and it lands on the stored document with the same
characters, as CoNLL does.  A ``DatasetDict`` (splits) is read split by split.

What it loses: nothing this store holds, for folders it wrote (status, annotator,
meta and span provenance have their columns).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FormatError, InputError
from ..layer import outermost
from ..output import output_target
from .base import (
    ExportItem,
    ExportResult,
    ImportRecord,
    Payload,
    RawRelation,
    RawSpan,
    WriteContext,
    batched,
    counted_payloads,
    ordered_map,
)
from .conll import _TAG, _Doc, _finish, _words_and_tags

if TYPE_CHECKING:
    from datasets import Dataset, Features

EXTRA = "hf"
BATCH = 1000
"""Rows turned into one Arrow table at a time (memory stays bounded by a batch)."""


def require_datasets() -> Any:
    """The ``datasets`` module, or a clear error naming the extra that brings it."""
    try:
        import datasets
    except ImportError:
        raise FormatError(
            "the Hugging Face format needs the datasets library, an optional extra: "
            f'pip install "reader-annotator[{EXTRA}]" (or pip install datasets)') from None
    return datasets


def features(tag_names: list[str]) -> Features:
    datasets = require_datasets()
    string, int32 = datasets.Value("string"), datasets.Value("int32")
    return datasets.Features({
        "id": string,
        "text": string,
        "tokens": datasets.List(string),
        "ner_tags": datasets.List(datasets.ClassLabel(names=tag_names)),
        "spans": datasets.List({"start": int32, "end": int32, "label": string,
                                "source": string, "state": string}),
        "relations": datasets.List({"head": int32, "child": int32, "label": string}),
        "spans_not_in_tags": int32,
        "meta": string,
        "annotator": string,
        "extractor": string,
        "status": string,
    })


def tag_names_of(labels: Iterable[str]) -> list[str]:
    names = ["O"]
    for label in labels:
        names += [f"B-{label}", f"I-{label}"]
    return names


def rows_of(payloads: list[Payload]) -> list[dict[str, Any]]:
    """One row per document and layer, its tags as strings (what a worker runs)."""
    from ..models import document_id

    rows = []
    for payload in payloads:
        text, meta, spans, relations, status, annotator, extractor = payload
        kept, dropped = outermost(spans)
        flat: Payload = (text, meta, kept, [], status, annotator, extractor)
        tokens, tags = [], []
        for pair in _words_and_tags(flat):
            if pair is not None:
                tokens.append(pair[0])
                tags.append(pair[1])
        index = {(s[0], s[1], s[2]): i for i, s in enumerate(spans)}
        rows.append({
            "id": document_id(text),
            "text": text,
            "tokens": tokens,
            "ner_tags": tags,
            "spans": [{"start": s, "end": e, "label": label, "source": source, "state": state}
                      for s, e, label, source, state in spans],
            "relations": [{"head": index[(hs, he, hl)], "child": index[(cs, ce, cl)],
                           "label": label} for hs, he, hl, cs, ce, cl, label in relations],
            "spans_not_in_tags": len(dropped),
            "meta": json.dumps(meta, ensure_ascii=False),
            "annotator": annotator,
            "extractor": extractor,
            "status": status,
        })
    return rows


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    """Batches of rows become Arrow files in a staging folder inside ``out`` as they
    come (so memory stays that of a batch), are read back memory-mapped, and saved as
    one dataset; then each file is moved over its target (:func:`_move_into`)."""
    datasets = require_datasets()
    result = ExportResult()
    names = tag_names_of(context.scheme.entity_names)
    codes = {name: i for i, name in enumerate(names)}
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".hf-export-", dir=out))
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        parts: list[Dataset] = []
        rows = ordered_map(rows_of, counted_payloads(items, result), workers=context.workers)
        for number, batch in enumerate(batched(rows, BATCH)):
            for row in batch:
                for tag in row["ner_tags"]:
                    if tag not in codes:  # a label the scheme does not list
                        codes[tag] = len(names)
                        names.append(tag)
                row["ner_tags"] = [codes[tag] for tag in row["ner_tags"]]
            columns = {key: [row[key] for row in batch] for key in batch[0]}
            part = staging / f"part-{number}"
            datasets.Dataset.from_dict(columns, features=features(names)).save_to_disk(
                str(part))
            parts.append(datasets.load_from_disk(str(part)))
        final = features(names)
        # Earlier parts knew fewer tag names; their codes stay valid in the longer list.
        parts = [part if part.features == final else part.cast(final) for part in parts]
        dataset = (datasets.concatenate_datasets(parts) if parts
                   else datasets.Dataset.from_dict({key: [] for key in final}, features=final))
        dataset.save_to_disk(str(staging / "dataset"))
        result.files = _move_into(staging / "dataset", out)
        return result
    finally:
        if bars:
            datasets.enable_progress_bars()
        shutil.rmtree(staging, ignore_errors=True)


def _move_into(saved: Path, out: Path) -> int:
    """The files ``save_to_disk`` wrote in ``saved``, each moved over its target in
    ``out`` through the one output check (the store's files, symlinks, folders); files
    of an earlier dataset in ``out`` that this one does not have are removed, so that
    ``load_from_disk`` reads this one."""
    written = sorted(p.name for p in saved.iterdir())
    for name in written:
        os.replace(saved / name, output_target(out / name))
    for old in out.glob("data-*.arrow"):
        if old.name not in written:
            old.unlink()
    return len(written)


def looks_like(path: Path) -> bool:
    """True if ``path`` is a folder ``save_to_disk`` wrote (a Dataset or DatasetDict)."""
    return path.is_dir() and ((path / "state.json").is_file()
                              or (path / "dataset_dict.json").is_file())


def read(path: Path) -> Iterator[ImportRecord | InputError]:
    try:
        datasets = require_datasets()
    except FormatError as err:
        yield InputError(path, str(err))
        return
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as err:  # noqa: BLE001 - datasets raises many kinds on a bad folder
        yield InputError(path, f"not a dataset saved with save_to_disk ({type(err).__name__}: "
                         f"{err})")
        return
    splits = (list(loaded.items()) if isinstance(loaded, datasets.DatasetDict)
              else [(None, loaded)])
    for split, dataset in splits:
        yield from _read_split(path, split, dataset)


def _read_split(path: Path, split: str | None, dataset: Dataset
                ) -> Iterator[ImportRecord | InputError]:
    columns = set(dataset.column_names)
    exact = {"text", "spans"} <= columns
    if not exact and not {"tokens", "ner_tags"} <= columns:
        yield InputError(path, "the dataset has neither text and spans nor tokens and "
                         f"ner_tags (columns: {', '.join(sorted(columns))})", record=split)
        return
    tag_names = None
    if not exact:
        feature = dataset.features["ner_tags"]
        inner = getattr(feature, "feature", None)
        tag_names = getattr(inner, "names", None)
    for index, row in enumerate(dataset):
        where = f"{split}[{index}]" if split else f"row {index}"
        try:
            if exact:
                yield _exact_record(path, where, row)
            else:
                yield from _tagged_records(path, where, index, row, tag_names)
        except (ValueError, TypeError, KeyError) as err:
            yield InputError(path, str(err), record=where)


def _exact_record(path: Path, where: str, row: dict[str, Any]) -> ImportRecord:
    text = row["text"]
    if not isinstance(text, str):
        raise ValueError(f'"text" must be a string, not {type(text).__name__}')
    meta: Any = row.get("meta") or "{}"
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError as err:
            raise ValueError(f'"meta" is not JSON ({err})') from None
    if not isinstance(meta, dict):
        raise ValueError(f'"meta" must be a JSON object, not {type(meta).__name__}')
    record = ImportRecord(path=path, line=None, record=where, text=text, meta=meta)
    if "status" in row:
        status = row["status"]
        if status not in (None, "accept", "reject", "ignore"):
            raise ValueError(f"status {status!r:.40} is not one of accept, reject, ignore")
        record.status, record.has_status = status, True
    annotator = row.get("annotator")
    record.annotator = annotator if isinstance(annotator, str) and annotator else None
    refs = []
    for number, span in enumerate(row["spans"] or []):
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str)
                and label):
            raise ValueError(f"spans[{number}]: expected integer start and end and a label")
        source, state = span.get("source"), span.get("state")
        record.spans.append(RawSpan(start, end, label,
                                    source=source if isinstance(source, str) else None,
                                    state=state if isinstance(state, str) else None,
                                    where=f"spans[{number}]"))
        refs.append((start, end, label))
    for number, relation in enumerate(row.get("relations") or []):
        ends = []
        for key in ("head", "child"):
            value = relation.get(key)
            if not isinstance(value, int) or not 0 <= value < len(refs):
                raise ValueError(f"relations[{number}]: {key} {value!r:.40} is not the index "
                                 f"of one of the {len(refs)} spans (relation to a missing span)")
            ends.append(refs[value])
        label = relation.get("label")
        if not isinstance(label, str) or not label:
            raise ValueError(f"relations[{number}]: missing label")
        record.relations.append(RawRelation(ends[0], ends[1], label,
                                            where=f"relations[{number}]"))
    return record


def _tagged_records(path: Path, where: str, index: int, row: dict[str, Any],
                    tag_names: list[str] | None) -> Iterator[ImportRecord | InputError]:
    """A row of tokens and IOB tags, read as CoNLL reads a document."""
    tokens, tags = row["tokens"], row["ner_tags"]
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} tokens but {len(tags)} ner_tags")
    words = []
    for token, tag in zip(tokens, tags, strict=True):
        if isinstance(tag, int) and tag_names is not None:
            if not 0 <= tag < len(tag_names):
                raise ValueError(f"tag {tag} is not one of the {len(tag_names)} tag names")
            tag = tag_names[tag]
        if not isinstance(tag, str) or not isinstance(token, str) or not token.strip():
            raise ValueError(f"token {token!r:.40} with tag {tag!r:.40}: expected a token "
                             "and a tag name")
        if tag != "O" and not _TAG.match(tag):
            raise ValueError(f"token {token!r:.40}: ill-formed tag {tag!r:.40} (expected O, "
                             "B-LABEL or I-LABEL)")
        words.append((token.replace(" ", "_"), tag, index))
    doc = _Doc(line=index, sentences=[words])
    for item in _finish(path, doc, index + 1):
        if isinstance(item, ImportRecord):
            item.line, item.record = None, where
            for span in item.spans:
                span.line = None
            item.meta = {"title": item.meta.get("title", ""), "source": f"{path}#{where}"}
        yield item
