"""Reading raw articles (``.txt``, ``.md``, JSONL of ``{"text", "meta"}``) into documents.

Every problem is reported with the file, the line and the reason; the caller
decides whether anything is stored (``reader import`` stores nothing if any
input is bad).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import srsly

from .errors import InputError
from .models import Document, normalise_newlines

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
ARTICLE_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES


@dataclass
class ReadResult:
    """Documents read, errors met, and files skipped while walking folders."""

    documents: list[Document] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    annotated: dict[Path, int] = field(default_factory=dict)
    """JSONL files whose records carry annotations (spans, entities, ...), with how many
    records do: imported as plain articles those annotations only land in meta."""


ANNOTATION_KEYS = ("spans", "entities", "label", "relations", "tokens")


def expand_paths(paths: Iterable[str | Path], suffixes: set[str] = ARTICLE_SUFFIXES
                 ) -> tuple[list[Path], list[Path], list[InputError]]:
    """Files named directly, plus folders walked recursively in sorted order.

    Returns (files, skipped files of other types inside folders, errors).
    """
    files: list[Path] = []
    skipped: list[Path] = []
    errors: list[InputError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                (files if child.suffix.lower() in suffixes else skipped).append(child)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            errors.append(InputError(path, "not a regular file or folder"))
        else:
            errors.append(InputError(path, "no such file or folder"))
    return files, skipped, errors


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 text of a file, or an InputError that says why not."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(path, f"binary file (a NUL byte at offset {nul}), not text",
                         line=data[:nul].count(b"\n") + 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            path, f"not UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "convert it, e.g. with iconv -f LATIN1 -t UTF-8", line=line
        ) from None
    return text


def title_of(text: str, path: Path) -> str:
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return path.stem


def read_text_file(path: Path) -> Document:
    text = normalise_newlines(decode_text(path, path.read_bytes()))
    if not text.strip():
        raise InputError(path, "empty file (no text)")
    return Document.from_text(text, {"title": title_of(text, path), "source": str(path)})


def read_jsonl_articles(path: Path) -> Iterator[Document | InputError]:
    """One document per line of ``{"text": ..., "meta": {...}}``; other keys go into meta."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                yield jsonl_article(path, number, raw)
            except InputError as err:
                yield err


def jsonl_article(path: Path, number: int, raw: bytes) -> Document:
    if b"\x00" in raw:
        raise InputError(path, "binary data (NUL byte), not JSON text", line=number)
    try:
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as err:
        raise InputError(path, f"not UTF-8 (byte offset {err.start} in the line)",
                         line=number) from None
    if not line.strip():
        raise _Blank()
    try:
        record = srsly.json_loads(line)
    except ValueError as err:
        raise InputError(path, f"invalid JSON ({err})", line=number) from None
    if not isinstance(record, dict):
        raise InputError(path, f"expected a JSON object, got {type(record).__name__}",
                         line=number)
    try:
        # JSON may escape an unpaired surrogate (\ud800) that no UTF-8 file can hold;
        # caught here, it would otherwise fail later when the store writes the text.
        srsly.json_dumps(record).encode("utf-8")
    except UnicodeEncodeError as err:
        raise InputError(path, f"unpaired surrogate {err.object[err.start]!r} in the record; "
                         "not valid Unicode text", line=number) from None
    text = record.get("text")
    if not isinstance(text, str):
        reason = "no \"text\" field" if text is None else "\"text\" is not a string"
        raise InputError(path, reason, line=number)
    if not text.strip():
        raise InputError(path, "empty \"text\"", line=number)
    meta: dict[str, Any] = {}
    given_meta = record.get("meta", {})
    if not isinstance(given_meta, dict):
        raise InputError(path, "\"meta\" is not an object", line=number)
    meta.update({k: v for k, v in record.items() if k not in ("text", "meta")})
    meta.update(given_meta)
    meta.setdefault("source", f"{path}:{number}")
    text = normalise_newlines(text)
    meta.setdefault("title", title_of(text, path))
    return Document.from_text(text, meta)


class _Blank(InputError):
    def __init__(self) -> None:
        super().__init__(None, "blank line")


def read_articles(paths: Iterable[str | Path]) -> ReadResult:
    """Read every article under ``paths``; collect every error rather than stop at the first."""
    files, skipped, errors = expand_paths(paths)
    result = ReadResult(errors=errors, skipped=skipped)
    for path in files:
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            for item in read_jsonl_articles(path):
                if isinstance(item, _Blank):
                    continue
                if isinstance(item, InputError):
                    result.errors.append(item)
                else:
                    result.documents.append(item)
                    if any(key in item.meta for key in ANNOTATION_KEYS):
                        result.annotated[path] = result.annotated.get(path, 0) + 1
        elif suffix in TEXT_SUFFIXES or suffix == "":
            try:
                result.documents.append(read_text_file(path))
            except InputError as err:
                result.errors.append(err)
            except OSError as err:
                result.errors.append(InputError(path, f"cannot read: {err.strerror}"))
        else:
            result.errors.append(InputError(
                path, f"unknown file type {suffix!r}; articles are .txt, .md or .jsonl"
            ))
    return result
