"""Interchange formats: Prodigy JSONL (the default), doccano JSONL, brat standoff,
CoNLL IOB2, spaCy DocBin, Label Studio JSON, INCEpTION's UIMA CAS XMI and Hugging
Face datasets, for gold annotations and predictions alike.

``FORMATS`` is the registry: each :class:`InterchangeFormat` has a reader (a file
or folder to :class:`~annotations.formats.base.ImportRecord` objects) and a
writer (export items to a file or folder), and says in ``loses`` what the format
cannot carry.  ``transfer.py`` holds the import and export drivers the CLI calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import srsly

from ..errors import InputError
from . import brat, conll, docbin, doccano, hf, inception, labelstudio, prodigy
from .base import ExportItem, ExportResult, ImportRecord, WriteContext


@dataclass(frozen=True)
class InterchangeFormat:
    name: str
    summary: str
    loses: str
    writes_folder: bool
    """True if the export is a folder (brat); spaCy writes a folder unless -o ends in .spacy."""
    read: Callable[[Path], Iterator[ImportRecord | InputError]]
    write: Callable[[Iterable[ExportItem], Path, WriteContext], ExportResult]


FORMATS: dict[str, InterchangeFormat] = {
    f.name: f
    for f in (
        InterchangeFormat(
            "prodigy", "Prodigy task JSONL (text, tokens, spans, relations, answer)",
            "open status (comes back as the import's default)", False,
            prodigy.read, prodigy.write),
        InterchangeFormat(
            "doccano", "doccano JSONL (relation shape; sequence-labelling shape on import)",
            "span source/state; open status", False, doccano.read, doccano.write),
        InterchangeFormat(
            "brat", "brat standoff folder (NAME.txt + NAME.ann, annotation.conf)",
            "meta, status, annotator, span source/state", True, brat.read, brat.write),
        InterchangeFormat(
            "conll", "CoNLL IOB2 (TOKEN TAG, -DOCSTART- between documents)",
            "relations, meta, status, annotator, span source/state, whitespace of texts not "
            "in the store", False, conll.read, conll.write),
        InterchangeFormat(
            "spacy", "spaCy DocBin (.spacy file, or a folder of shards)",
            "nothing (relations and the rest in doc.user_data)", False,
            docbin.read, docbin.write),
        InterchangeFormat(
            "label-studio", "Label Studio JSON tasks (annotations and predictions; the "
            "labeling config beside it)",
            "open status (comes back as the import's default)", False,
            labelstudio.read, labelstudio.write),
        InterchangeFormat(
            "hf", "Hugging Face datasets folder (save_to_disk: tokens, IOB2 ner_tags, exact "
            "spans and relations; needs the hf extra)",
            "nothing (nested spans are in spans, not in ner_tags)", True, hf.read, hf.write),
        InterchangeFormat(
            "inception", "INCEpTION / WebAnno UIMA CAS XMI (a folder of NAME.zip with "
            "NAME.xmi and TypeSystem.xml: NamedEntity spans, custom.EntityRelation)",
            "characters XML 1.0 cannot hold (control characters; written as U+FFFD)", True,
            inception.read, inception.write),
    )
}
ALIASES = {"docbin": "spacy", "iob": "conll", "iob2": "conll", "jsonl": "prodigy",
           "labelstudio": "label-studio", "ls": "label-studio", "huggingface": "hf",
           "datasets": "hf", "xmi": "inception", "webanno": "inception", "uima": "inception"}

CONLL_SUFFIXES = {".conll", ".iob", ".iob2", ".bio", ".conll03", ".conllx"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}


def get_format(name: str) -> InterchangeFormat:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in FORMATS:
        raise ValueError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return FORMATS[key]


def detect_format(path: Path) -> InterchangeFormat:
    """The format of ``path`` from its extension, and for JSONL its first record.

    Raises :class:`InputError` saying why it cannot tell.
    """
    if path.is_dir():
        if hf.looks_like(path):
            return FORMATS["hf"]
        if next(path.rglob("*.ann"), None) is not None:
            return FORMATS["brat"]
        if next(path.rglob("*.spacy"), None) is not None:
            return FORMATS["spacy"]
        if inception.looks_like(path):
            return FORMATS["inception"]
        raise InputError(path, "a folder with no .ann (brat), .spacy, .zip/.xmi (inception) or "
                               "save_to_disk (hf) files; "
                               "give --format")
    if not path.exists():
        raise InputError(path, "no such file or folder")
    suffix = path.suffix.lower()
    if suffix in CONLL_SUFFIXES:
        return FORMATS["conll"]
    if suffix == ".spacy":
        return FORMATS["spacy"]
    if suffix in (".zip", ".xmi"):
        return FORMATS["inception"]
    if suffix == ".ann" or (suffix == ".txt" and path.with_suffix(".ann").is_file()):
        return FORMATS["brat"]
    if suffix == ".json" and labelstudio.looks_like(path):
        return FORMATS["label-studio"]
    if suffix in JSONL_SUFFIXES:
        return _jsonl_flavour(path)
    raise InputError(path, f"cannot tell the format from the extension {suffix!r}; "
                           f"give --format ({', '.join(FORMATS)})")


def _jsonl_flavour(path: Path) -> InterchangeFormat:
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                first = srsly.json_loads(raw.decode("utf-8-sig"))
            except (ValueError, UnicodeDecodeError) as err:
                raise InputError(path, f"invalid JSON ({err})", line=number) from None
            if isinstance(first, dict) and ("entities" in first or "label" in first):
                return FORMATS["doccano"]
            return FORMATS["prodigy"]
    raise InputError(path, "empty file")


__all__ = ["ALIASES", "FORMATS", "InterchangeFormat", "detect_format", "get_format"]
