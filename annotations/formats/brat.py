"""brat standoff: a folder of ``NAME.txt`` (the text) and ``NAME.ann`` (the annotations).

``T`` lines are entities (``T1<TAB>LABEL START END<TAB>text``), ``R`` lines
relations (``R1<TAB>LABEL Arg1:T1 Arg2:T2``).  Export names each pair after the
document id (plus ``-ANNOTATOR`` for annotators other than ``default``) and writes
an ``annotation.conf`` with the labels, so brat can open the folder at once.

Entities may nest and overlap (``T`` lines are independent, relations name them by
id); import takes the labels an ``annotation.conf`` beside the files declares
(:func:`declared_labels`) when the store has none yet.

A span that crosses a line break cannot be one brat fragment (the ``.ann`` line
would break), so export writes it as fragments split at the line breaks, as brat
itself does, and import joins fragments separated only by line breaks back into
one span.  Any other discontinuous span, events (``E``), attributes (``A``/``M``),
normalisations (``N``), notes (``#``) and equivalences (``*``) are not supported:
import leaves them out and reports each one (file and line) as a warning.

What it loses: meta (import sets title and source from the ``.txt``), status
(import uses its default), annotator, a span's source and state, and line breaks
at the very start or end of a span.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..articles import title_of
from ..errors import InputError
from ..layer import is_flat, resolve_refs, span_order
from ..models import Span
from ..output import write_text
from .base import ExportItem, ExportResult, ImportRecord, RawRelation, RawSpan, WriteContext

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_T_OFFSETS = re.compile(r"^\d+ \d+(;\d+ \d+)*$")


def fragments(text: str, span: Span) -> list[tuple[int, int]]:
    """The pieces of ``span`` between line breaks (brat keeps each piece on one line)."""
    pieces: list[tuple[int, int]] = []
    start = span.start
    while start < span.end:
        cut = text.find("\n", start, span.end)
        stop = span.end if cut < 0 else cut
        if stop > start:
            pieces.append((start, stop))
        start = stop + 1
    return pieces


def file_stem(item: ExportItem) -> str:
    who = item.annotator or item.extractor
    if who is None or who == "default":
        return item.document.id
    return f"{item.document.id}-{_SAFE.sub('_', who)}"


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    out.mkdir(parents=True, exist_ok=True)
    result = ExportResult()
    entity_labels = set(context.scheme.entity_names)
    relation_labels = set(context.scheme.relation_names)
    overlapping = context.scheme.overlapping
    for item in items:
        overlapping = overlapping or not is_flat(item.spans)
        text = item.document.text
        lines: list[str] = []
        ids: dict[tuple[int, int, str], str] = {}
        for span in sorted(item.spans, key=span_order):
            pieces = fragments(text, span)
            if not pieces:
                result.warnings.append(
                    f"{item.document.id}: span {span.start}-{span.end} ({span.label}) is only "
                    "line breaks; brat cannot hold it, left out")
                continue
            ids[span.ref] = tid = f"T{len(ids) + 1}"
            offsets = ";".join(f"{a} {b}" for a, b in pieces)
            shown = " ".join(text[a:b] for a, b in pieces)
            lines.append(f"{tid}\t{span.label} {offsets}\t{shown}")
            entity_labels.add(span.label)
        resolved = resolve_refs(item.spans, item.relations)
        for number, (head, child, label) in enumerate(resolved, start=1):
            if head.ref in ids and child.ref in ids:
                lines.append(f"R{number}\t{label} Arg1:{ids[head.ref]} Arg2:{ids[child.ref]}")
                relation_labels.add(label)
        stem = file_stem(item)
        write_text(out / f"{stem}.txt", text)
        write_text(out / f"{stem}.ann", "".join(line + "\n" for line in lines))
        result.written += 1
        result.files += 2
    conf = ["[entities]", *sorted(entity_labels), "", "[relations]"]
    conf += [f"{name}\tArg1:<ENTITY>, Arg2:<ENTITY>" for name in sorted(relation_labels)]
    if overlapping:
        # brat shows nested and overlapping entities only where the scheme allows them.
        conf.append("<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>")
    conf += ["", "[events]", "", "[attributes]", ""]
    write_text(out / "annotation.conf", "\n".join(conf))
    return result


def declared_labels(path: Path) -> tuple[list[str], list[str], Path] | None:
    """The entity and relation labels the ``annotation.conf`` of a brat folder (or
    beside a ``.ann`` file) declares, in its order, and the file; None without one.

    Names starting with ``!`` (abstract types in brat's hierarchy) or ``<`` (brat's
    ``<OVERLAP>`` rules and macros) are not labels."""
    folder = path if path.is_dir() else path.parent
    conf = folder / "annotation.conf"
    try:
        lines = conf.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    found: dict[str, list[str]] = {"entities": [], "relations": []}
    section = None
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        if section in found:
            name = stripped.split()[0].split(",")[0]
            if name[0] not in "!<" and name not in found[section]:
                found[section].append(name)
    return found["entities"], found["relations"], conf


def ann_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.ann") if p.is_file())
    return [path.with_suffix(".ann")]


def read(path: Path) -> Iterator[ImportRecord | InputError]:
    files = ann_files(path)
    if not files:
        yield InputError(path, "no .ann files (brat standoff) in this folder")
    for ann in files:
        yield from read_pair(ann)


def read_pair(ann: Path) -> Iterator[ImportRecord | InputError]:
    txt = ann.with_suffix(".txt")
    if not txt.is_file():
        yield InputError(ann, f"no text file {txt.name} beside it")
        return
    decoded: list[str] = []
    for source in (txt, ann):
        try:
            decoded.append(source.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as err:
            yield InputError(source, f"not UTF-8 (byte 0x{err.object[err.start]:02x} at "
                             f"offset {err.start})")
            return
        except OSError as err:
            yield InputError(source, f"cannot read: {err.strerror}")
            return
    text, ann_text = decoded
    record = ImportRecord(path=ann, line=None, record=None, text=text,
                          meta={"title": title_of(text.replace("\r", "\n"), txt),
                                "source": str(txt)})
    spans: dict[str, tuple[int, int, str]] = {}
    unsupported: dict[str, str] = {}
    pending: list[tuple[int, str, str, str, str]] = []
    errors: list[InputError] = []
    broken: set[str] = set()  # T lines with an error already reported
    # Split on \n only: U+2028 and friends may sit inside a span's text.
    for number, line in enumerate(ann_text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        kind = line[0]
        ident = line.split("\t", 1)[0]
        if kind == "T":
            parts = line.split("\t", 2)
            if len(parts) != 3 or " " not in parts[1]:
                broken.add(ident)
                errors.append(InputError(ann, "malformed T line: expected "
                                         "'T1<TAB>LABEL START END<TAB>text'", line=number))
                continue
            label, offsets = parts[1].split(" ", 1)
            if not _T_OFFSETS.match(offsets):
                broken.add(ident)
                errors.append(InputError(ann, f"{ident}: malformed offsets {offsets!r}",
                                         line=number))
                continue
            pieces = [tuple(int(v) for v in p.split(" ")) for p in offsets.split(";")]
            start, end = pieces[0][0], pieces[-1][1]
            gaps_are_breaks = all(
                a[1] <= b[0] and text[a[1]:b[0]] and not text[a[1]:b[0]].strip("\r\n")
                for a, b in zip(pieces, pieces[1:], strict=False))
            if len(pieces) > 1 and not gaps_are_breaks:
                unsupported[ident] = "discontinuous span"
                record.warnings.append(InputError(
                    ann, f"{ident}: discontinuous span ({offsets}) is not supported; "
                    "left out", line=number))
                continue
            given = " ".join(text[a:b] for a, b in pieces) if len(pieces) > 1 else None
            shown = parts[2]
            if given is not None and shown != given:
                broken.add(ident)
                errors.append(InputError(
                    ann, f"{ident}: span text {shown!r} differs from the text at {offsets} "
                    f"({given!r})", line=number))
                continue
            spans[ident] = (start, end, label)
            record.spans.append(RawSpan(start, end, label, text=shown if given is None else None,
                                        line=number, where=ident))
        elif kind == "R":
            match = re.match(r"^(R\S*)\t(\S+) Arg1:(\S+) Arg2:(\S+)\s*$", line)
            if not match:
                errors.append(InputError(ann, "malformed R line: expected "
                                         "'R1<TAB>LABEL Arg1:T1 Arg2:T2'", line=number))
                continue
            ident, label, arg1, arg2 = match.groups()
            pending.append((number, ident, label, arg1, arg2))
        else:
            what = {"E": "event", "A": "attribute", "M": "attribute", "N": "normalisation",
                    "#": "note", "*": "equivalence"}.get(kind)
            if what is None:
                errors.append(InputError(ann, f"unknown brat line type {kind!r}", line=number))
                continue
            unsupported[ident] = what
            record.warnings.append(InputError(ann, f"{ident}: {what} is not supported; left out",
                                              line=number))
    for number, ident, label, arg1, arg2 in pending:
        ends = []
        for arg in (arg1, arg2):
            if arg in spans:
                ends.append(spans[arg])
            elif arg in broken:
                break  # its T line's error says what is wrong
            elif arg in unsupported:
                record.warnings.append(InputError(
                    ann, f"{ident}: argument {arg} is a {unsupported[arg]}, which is not "
                    "supported; relation left out", line=number))
                break
            else:
                errors.append(InputError(
                    ann, f"{ident}: argument {arg} is not a T line of this file "
                    "(relation to a missing span)", line=number))
                break
        else:
            record.relations.append(RawRelation(ends[0], ends[1], label, line=number,
                                                where=ident))
    # The record too, with what could be read, so that the importer's checks (offsets,
    # labels) report their problems in the same run as the syntax errors here.
    yield from errors
    yield record
