"""brat standoff: a folder of ``NAME.txt`` (the text) and ``NAME.ann`` (the annotations).

``T`` lines are entities (``T1<TAB>LABEL START END<TAB>text``), ``R`` lines
relations (``R1<TAB>LABEL Arg1:T1 Arg2:T2``).  Export names each pair after the
document id (plus ``-ANNOTATOR`` for annotators other than ``default``) and writes
an ``annotation.conf`` with the labels, so brat can open the folder at once.

Entities may nest and overlap (``T`` lines are independent, relations name them by
id); import takes the labels an ``annotation.conf`` beside the files declares
(:func:`declared_labels`) when the store has none yet, with what the conf says of
each relation (:func:`declared_relations`): its argument types (``Arg1:Protein|Gene``,
brat's type hierarchy expanded, macros applied, ``<ENTITY>``/``<ANY>`` for any) as the
label's allowed heads and children, and ``<REL-TYPE>:symmetric-transitive`` (or
``symmetric``, ``transitive``) as its ``symmetric`` and ``transitive`` flags.  Export
writes them back the same way.

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
from ..models import LabelScheme, RelationLabel, Span
from ..names import label_problem
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
    declared = {label.name: label for label in context.scheme.relations}
    conf += [_relation_line(declared.get(name) or RelationLabel(name=name))
             for name in sorted(relation_labels)]
    if overlapping:
        # brat shows nested and overlapping entities only where the scheme allows them.
        conf.append("<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>")
    conf += ["", "[events]", "", "[attributes]", ""]
    write_text(out / "annotation.conf", "\n".join(conf))
    return result


def _relation_line(label: RelationLabel) -> str:
    """A relation of ``annotation.conf``: its argument types and its ``<REL-TYPE>``."""
    line = (f"{label.name}\tArg1:{'|'.join(label.heads) or '<ENTITY>'}, "
            f"Arg2:{'|'.join(label.children) or '<ENTITY>'}")
    kinds = [k for k, on in (("symmetric", label.symmetric),
                             ("transitive", label.transitive)) if on]
    return line + (f", <REL-TYPE>:{'-'.join(kinds)}" if kinds else "")


def _conf_sections(conf: Path) -> dict[str, list[str]] | None:
    """The lines of each section of an ``annotation.conf`` (comments and blank lines
    left out, macros ``<NAME>=VALUE`` applied), or None when it cannot be read."""
    try:
        lines = conf.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    sections: dict[str, list[str]] = {}
    section = "general"
    macros: dict[str, str] = {}
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        macro = re.match(r"^<([A-Za-z_-]+)>=\s*(.*?)\s*$", stripped)
        if macro:
            macros[f"<{macro.group(1)}>"] = macro.group(2)
            continue
        for name, value in macros.items():
            line = line.replace(name, value)
        sections.setdefault(section, []).append(line.rstrip())
    return sections


def _entity_types(lines: list[str]) -> dict[str, list[str]]:
    """Each type of brat's entity hierarchy (indented children) and the labels it
    stands for: itself unless abstract (``!Name``), and every label below it."""
    below: dict[str, list[str]] = {}
    path: list[tuple[int, str]] = []
    for line in lines:
        depth = len(line) - len(line.lstrip())
        name = line.strip().split()[0].split("|")[0]
        abstract = name.startswith("!")
        name = name.lstrip("!")
        while path and path[-1][0] >= depth:
            path.pop()
        below.setdefault(name, [])
        if not abstract:
            for _, ancestor in [*path, (depth, name)]:
                below[ancestor].append(name)
        path.append((depth, name))
    return below


def declared_relations(conf: Path) -> dict[str, RelationLabel]:
    """What an ``annotation.conf`` says of each relation label (see the module
    docstring); a relation declared on several lines allows the union of their types."""
    sections = _conf_sections(conf)
    if sections is None:
        return {}
    types = _entity_types(sections.get("entities", []))
    out: dict[str, RelationLabel] = {}
    for line in sections.get("relations", []):
        parts = line.strip().split(None, 1)
        name = parts[0].split("|")[0].lstrip("!")
        if name.startswith("<") or name == "ENTITY-NESTING" or label_problem(name):
            continue
        args = [a.strip() for a in (parts[1] if len(parts) > 1 else "").split(",")
                if ":" in a]
        roles: list[list[str] | None] = []
        symmetric = transitive = False
        for arg in args:
            key, value = arg.split(":", 1)
            if key == "<REL-TYPE>":
                kinds = value.split("-")
                symmetric, transitive = "symmetric" in kinds, "transitive" in kinds
            elif not key.startswith("<"):
                names = value.split("|")
                if any(n in ("<ENTITY>", "<ANY>") for n in names):
                    roles.append(None)  # any entity label
                else:
                    roles.append([label for n in names for label in types.get(n, [n])
                                  if not label_problem(label)])
        head, child = (roles + [None, None])[:2]
        seen = out.get(name)
        if seen is not None:  # union with an earlier line; "any" stays any
            head = None if head is None or not seen.heads else [*seen.heads, *head]
            child = None if child is None or not seen.children else [*seen.children, *child]
            symmetric, transitive = symmetric or seen.symmetric, transitive or seen.transitive
        out[name] = RelationLabel(name=name, heads=list(dict.fromkeys(head or [])),
                                  children=list(dict.fromkeys(child or [])),
                                  symmetric=symmetric, transitive=transitive)
    return out


def with_declared_relations(scheme: LabelScheme, conf: Path) -> LabelScheme:
    """``scheme`` with the argument types and the symmetric and transitive flags that
    ``conf`` declares for its relation labels (types the scheme does not know are left
    out of the allowed heads and children)."""
    declared = declared_relations(conf)
    known = set(scheme.entity_names)
    relations = []
    for label in scheme.relations:
        found = declared.get(label.name)
        if found is None:
            relations.append(label)
            continue
        heads = [n for n in found.heads if n in known]
        children = [n for n in found.children if n in known]
        relations.append(label.model_copy(update={
            "heads": heads if heads or not found.heads else label.heads,
            "children": children if children or not found.children else label.children,
            "symmetric": found.symmetric, "transitive": found.transitive}))
    return scheme.model_copy(update={"relations": relations})


def declared_labels(path: Path) -> tuple[list[str], list[str], Path] | None:
    """The entity and relation labels the ``annotation.conf`` of a brat folder (or
    beside a ``.ann`` file) declares, in its order, and the file; None without one.

    Names starting with ``!`` (abstract types in brat's hierarchy) or ``<`` (brat's
    ``<OVERLAP>`` rules and macros) are not labels."""
    folder = path if path.is_dir() else path.parent
    conf = folder / "annotation.conf"
    sections = _conf_sections(conf)
    if sections is None:
        return None
    found: dict[str, list[str]] = {"entities": [], "relations": []}
    for section, names in found.items():
        for line in sections.get(section, []):
            name = line.strip().split()[0].split(",")[0]
            if name[0] not in "!<" and name not in names:
                names.append(name)
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
