"""INCEpTION / WebAnno: UIMA CAS XMI (XML 1.0) with the DKPro Core type system.

Export writes a folder with one ZIP per document and layer, ``NAME.zip`` (``NAME``
as in brat: the document id, plus ``-ANNOTATOR`` for annotators other than
``default``), holding ``NAME.xmi`` and ``TypeSystem.xml``: the shape INCEpTION's
own per-document export has and its "UIMA CAS XMI (XML 1.0)" import takes, one
upload per document.  ``TypeSystem.xml`` is also written once at the top of the
folder.  Each ZIP member is stamped 1980-01-01 00:00 (``ZIP_TIME``), so that the same
store exports to the same bytes.  Each CAS holds:

* the text as its sofa, with ``DocumentMetaData`` (title, document id);
* ``Sentence`` and ``Token`` annotations (spaCy's tokens, cut at span edges and at
  whitespace, as in the CoNLL export; a sentence per line unless a span runs across
  the line break), so that INCEpTION needs no tokenizer of its own and every span
  sits on token boundaries;
* each span as ``de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity`` with
  ``value`` = its label (spans may nest and overlap: INCEpTION's Named Entity layer
  holds them when its overlap setting allows);
* each relation as ``custom.EntityRelation`` (a relation layer attached to
  NamedEntity: ``Governor`` = head, ``Dependent`` = child, ``label``), with the
  dependent's offsets, as INCEpTION places relations.  To see them in INCEpTION,
  declare that layer in the project before importing (see the README);
* a ``reader_annotator.Layer`` feature structure with what INCEpTION has no slot
  for (annotator, extractor, status, meta as JSON, span provenance); INCEpTION's
  lenient import skips it, this import reads it back.

Offsets in XMI count UTF-16 code units (Java strings); the writer converts, and
dkpro-cassis converts back when it reads, so emoji and other characters beyond
the Basic Multilingual Plane keep every span in place.  Characters XML 1.0 cannot
hold (control characters other than tab and line breaks) are written as U+FFFD,
with a warning naming the document.  The XMI is written directly (cassis builds a
CAS about 30 times slower, which would make an export of 10,000 documents take
minutes); tests load every file with cassis.

Import reads such folders, a single ZIP, or ``.xmi`` files (with the
``TypeSystem.xml``/``typesystem.xml`` beside them or in the same ZIP; without one,
DKPro Core's type system as cassis ships it), including files exported by
INCEpTION: every ``NamedEntity`` (and subtype) is a span labelled by its ``value``
(nested and stacked ones too), and every annotation of a type with ``Governor``
and ``Dependent`` features joining two named entities is a relation, labelled by
its ``label`` feature (else ``value``, else its first other string feature, else
the layer's name).  A named entity without a value, and relations to it, are left
out with a warning.  Without the ``reader_annotator.Layer`` (files from INCEpTION),
the annotator is the import's default and the title is the document's title.

What it loses: nothing this store holds, for files it wrote; characters XML 1.0
cannot hold (see above).
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..articles import title_of
from ..errors import InputError
from ..models import document_id
from ..output import write_atomically, write_text
from .base import (
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
from .brat import file_stem
from .tokens import tokenize, word_runs

if TYPE_CHECKING:
    from cassis import Cas, TypeSystem

NAMED_ENTITY = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity"
TOKEN = "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Token"
SENTENCE = "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Sentence"
METADATA = "de.tudarmstadt.ukp.dkpro.core.api.metadata.type.DocumentMetaData"
RELATION = "custom.EntityRelation"
LAYER = "reader_annotator.Layer"
TYPESYSTEM = "TypeSystem.xml"
GOVERNOR, DEPENDENT, LABEL = "Governor", "Dependent", "label"
_LABEL_FEATURES = ("label", "value", "relationType")
_STANDARD_FEATURES = {"begin", "end", "sofa", GOVERNOR, DEPENDENT}

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                          "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<xmi:XMI xmlns:xmi="http://www.omg.org/XMI" xmlns:cas="http:///uima/cas.ecore" '
    'xmlns:ner="http:///de/tudarmstadt/ukp/dkpro/core/api/ner/type.ecore" '
    'xmlns:seg="http:///de/tudarmstadt/ukp/dkpro/core/api/segmentation/type.ecore" '
    'xmlns:dkmeta="http:///de/tudarmstadt/ukp/dkpro/core/api/metadata/type.ecore" '
    'xmlns:custom="http:///custom.ecore" xmlns:ra="http:///reader_annotator.ecore" '
    'xmi:version="2.0">\n'
    '<cas:NULL xmi:id="0"/>\n'
)


def require_cassis() -> Any:
    try:
        import cassis
    except ImportError:
        from ..errors import FormatError

        raise FormatError("the INCEpTION format needs dkpro-cassis: pip install "
                          '"dkpro-cassis>=0.10,<0.13"') from None
    return cassis


@lru_cache(maxsize=1)
def typesystem_xml() -> str:
    """The type system the export's XMI uses (built with cassis, a few kB)."""
    cassis = require_cassis()
    ts = cassis.TypeSystem()
    _add_own_types(ts)
    return str(ts.to_xml())


def _add_own_types(ts: TypeSystem) -> None:
    """The types the export uses, each one ``ts`` does not have yet."""
    annotation = "uima.tcas.Annotation"
    string, boolean = "uima.cas.String", "uima.cas.Boolean"
    wanted: list[tuple[str, str, list[tuple[str, str]]]] = [
        (METADATA, "uima.tcas.DocumentAnnotation",
         [(name, string) for name in ("documentTitle", "documentId", "documentUri",
                                      "collectionId", "documentBaseUri")]
         + [("isLastSegment", boolean)]),
        (NAMED_ENTITY, annotation, [("value", string), ("identifier", string)]),
        (TOKEN, annotation, []),
        (SENTENCE, annotation, []),
        (RELATION, annotation, [(GOVERNOR, NAMED_ENTITY), (DEPENDENT, NAMED_ENTITY),
                                (LABEL, string)]),
        (LAYER, "uima.cas.TOP", [(name, string) for name in (
            "annotator", "extractor", "status", "meta", "provenance")]),
    ]
    for name, supertype, features in wanted:
        if ts.contains_type(name):
            continue
        created = ts.create_type(name, supertypeName=supertype)
        for feature, range_ in features:
            ts.create_feature(created, feature, range_)


def _attr(value: str) -> str:
    return value.translate(_ESCAPES)


def _utf16(text: str) -> list[int] | None:
    """UTF-16 offset of each code point offset, or None when they are the same."""
    if not text or text.isascii() or max(text) <= "\uffff":
        return None
    offsets, position = [], 0
    for char in text:
        offsets.append(position)
        position += 2 if char > "\uffff" else 1
    offsets.append(position)
    return offsets


def _sentences(text: str, words: list[tuple[int, int]], spans: list[tuple[Any, ...]]
               ) -> list[tuple[int, int]]:
    """Sentences: the words of each line, joined where a span runs across a line break."""
    crossing = [(s[0], s[1]) for s in spans if text.find("\n", s[0], s[1]) >= 0]
    find = text.find
    out: list[tuple[int, int]] = []
    first = last = -1
    for start, end in words:
        if first >= 0 and (find("\n", last, start) < 0 or (crossing and any(
                a < start and last < b for a, b in crossing))):
            last = end  # the same sentence
            continue
        if first >= 0:
            out.append((first, last))
        first, last = start, end
    if first >= 0:
        out.append((first, last))
    return out


def xmi_of(payload: Payload) -> tuple[str, int]:
    """The XMI of one document and layer, and how many characters XML 1.0 could not
    hold (written as U+FFFD)."""
    text, meta, spans, relations, status, annotator, extractor = payload
    written, bad = _NOT_XML.subn("\ufffd", text)
    u16 = _utf16(written)

    def at(offset: int) -> int:
        return u16[offset] if u16 is not None else offset

    parts = [_HEAD]
    members = []
    next_id = 2  # 1 is the sofa

    def add(element: str, attrs: str) -> int:
        nonlocal next_id
        ident = next_id
        next_id += 1
        members.append(ident)
        parts.append(f'<{element} xmi:id="{ident}" {attrs}/>\n')
        return ident

    length = at(len(written))
    title = meta.get("title") if isinstance(meta.get("title"), str) else None
    doc_id = document_id(text)
    add("dkmeta:DocumentMetaData",
        f'sofa="1" begin="0" end="{length}" language="x-unspecified" '
        f'documentTitle="{_attr(title or doc_id)}" documentId="{doc_id}" '
        'isLastSegment="false"')
    words = list(word_runs(text, tokenize(text, [s[0] for s in spans], [s[1] for s in spans])))
    if u16 is not None:
        words16 = [(u16[a], u16[b]) for a, b in words]
        sentences = [(u16[a], u16[b]) for a, b in _sentences(text, words, spans)]
    else:
        words16, sentences = words, _sentences(text, words, spans)
    # Sentences and tokens are most of a document's elements: written in one go.
    for element, pieces in (("seg:Sentence", sentences), ("seg:Token", words16)):
        first = next_id
        next_id += len(pieces)
        members.extend(range(first, next_id))
        parts.extend([f'<{element} xmi:id="{i}" sofa="1" begin="{a}" end="{b}"/>\n'
                      for i, (a, b) in enumerate(pieces, start=first)])
    ids: dict[tuple[int, int, str], int] = {}
    provenance = []
    for start, end, label, source, state in spans:
        ids[(start, end, label)] = add(
            "ner:NamedEntity", f'sofa="1" begin="{at(start)}" end="{at(end)}" '
            f'value="{_attr(label)}"')
        if source != "human" or state != "confirmed":
            provenance.append([start, end, label, source, state])
    for hs, he, hl, cs, ce, cl, label in relations:
        add("custom:EntityRelation",
            f'sofa="1" begin="{at(cs)}" end="{at(ce)}" Governor="{ids[(hs, he, hl)]}" '
            f'Dependent="{ids[(cs, ce, cl)]}" label="{_attr(label)}"')
    layer = [f'meta="{_attr(json.dumps(meta, ensure_ascii=False))}"']
    for name, value in (("annotator", annotator), ("extractor", extractor),
                        ("status", status)):
        if value is not None:
            layer.append(f'{name}="{_attr(value)}"')
    if provenance:
        layer.append(f'provenance="{_attr(json.dumps(provenance, ensure_ascii=False))}"')
    add("ra:Layer", " ".join(layer))
    parts.append(f'<cas:Sofa xmi:id="1" sofaNum="1" sofaID="_InitialView" mimeType="text" '
                 f'sofaString="{_attr(written)}"/>\n')
    parts.append(f'<cas:View sofa="1" members="{" ".join(map(str, members))}"/>\n')
    parts.append("</xmi:XMI>\n")
    return "".join(parts), bad


ZIP_TIME = (1980, 1, 1, 0, 0, 0)
"""The time stamped on each ZIP member: the earliest a ZIP can hold, the same in every
export (as reproducible builds do), so that exporting the same store twice writes the
same bytes, as every other format does; the time of writing would make them differ."""
ZIP_LEVEL = 1  # deflate's fastest level


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16  # -rw-r--r-- when unpacked
    return info


def zips_of(payloads: list[tuple[str, Payload]]) -> list[tuple[str, bytes, int]]:
    """``(name, zip bytes, characters replaced)`` per layer (what a worker runs)."""
    types = typesystem_xml().encode("utf-8")
    out = []
    for stem, payload in payloads:
        xmi, bad = xmi_of(payload)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_member(f"{stem}.xmi"), xmi, compresslevel=ZIP_LEVEL)
            archive.writestr(_member(TYPESYSTEM), types, compresslevel=ZIP_LEVEL)
        out.append((stem, buffer.getvalue(), bad))
    return out


def write(items: Iterable[ExportItem], out: Path, context: WriteContext) -> ExportResult:
    out.mkdir(parents=True, exist_ok=True)
    result = ExportResult()
    typesystem_xml()  # built once here, so that forked workers inherit it
    stems: dict[int, str] = {}

    def named(items: Iterable[ExportItem]) -> Iterator[ExportItem]:
        for item in items:
            stems[len(stems)] = file_stem(item)
            yield item

    payloads = counted_payloads(named(items), result)
    pairs = ((stems[i], payload) for i, payload in enumerate(payloads))
    for stem, data, bad in ordered_map(zips_of, pairs, workers=context.workers):
        write_atomically(out / f"{stem}.zip", data, sync=False)
        result.files += 1
        if bad:
            result.warnings.append(f"{stem}: {bad} character(s) XML 1.0 cannot hold "
                                   "(control characters) were written as U+FFFD")
    write_text(out / TYPESYSTEM, typesystem_xml())
    result.files += 1
    return result


# -- import --------------------------------------------------------------------


def looks_like(path: Path) -> bool:
    """A ``.zip`` or ``.xmi`` file, or a folder holding some."""
    if path.is_dir():
        return any(True for p in path.rglob("*") if p.suffix.lower() in (".zip", ".xmi"))
    return path.suffix.lower() in (".zip", ".xmi")


def read(path: Path) -> Iterator[ImportRecord | InputError]:
    try:
        cassis = require_cassis()
    except Exception as err:  # noqa: BLE001 - the FormatError naming the package
        yield InputError(path, str(err))
        return
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and p.suffix.lower() in (".zip", ".xmi"))
        if not files:
            yield InputError(path, "no .zip or .xmi files (UIMA CAS XMI) in this folder")
    else:
        files = [path]
    for file in files:
        if file.suffix.lower() == ".zip":
            yield from _read_zip(cassis, file)
        else:
            yield from _read_xmi_file(cassis, file)


def _typesystem(cassis: Any, data: bytes | None) -> TypeSystem:
    """The type system in ``data``; without one, DKPro Core's as cassis ships it."""
    if data is None:
        return _dkpro()
    return cassis.load_typesystem(io.BytesIO(data))


@lru_cache(maxsize=1)
def _dkpro() -> TypeSystem:
    """DKPro Core's type system as cassis ships it, with this export's types."""
    ts = require_cassis().load_dkpro_core_typesystem()
    _add_own_types(ts)
    return ts


def _read_zip(cassis: Any, path: Path) -> Iterator[ImportRecord | InputError]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            types = [n for n in names if n.lower().endswith("typesystem.xml")]
            xmis = sorted(n for n in names if n.lower().endswith(".xmi"))
            if not xmis:
                yield InputError(path, "no .xmi file in this ZIP")
                return
            ts_data = archive.read(types[0]) if types else None
            contents = [(name, archive.read(name)) for name in xmis]
    except (zipfile.BadZipFile, OSError) as err:
        yield InputError(path, f"not a readable ZIP file ({err})")
        return
    try:
        ts = _typesystem(cassis, ts_data)
    except Exception as err:  # noqa: BLE001 - cassis raises many kinds on a bad file
        yield InputError(path, f"{types[0]}: not a UIMA type system ({type(err).__name__}: "
                         f"{err})")
        return
    for name, data in contents:
        yield from _read_xmi(cassis, path, name, data, ts)


def _read_xmi_file(cassis: Any, path: Path) -> Iterator[ImportRecord | InputError]:
    ts_data = None
    for name in (TYPESYSTEM, "typesystem.xml"):
        beside = path.with_name(name)
        if beside.is_file():
            ts_data = beside.read_bytes()
            break
    else:
        parent = path.parent
        if (parent / TYPESYSTEM).is_file():
            ts_data = (parent / TYPESYSTEM).read_bytes()
    try:
        ts = _typesystem(cassis, ts_data)
        data = path.read_bytes()
    except OSError as err:
        yield InputError(path, f"cannot read: {err.strerror}")
        return
    except Exception as err:  # noqa: BLE001 - cassis raises many kinds on a bad file
        yield InputError(path, f"the type system beside it cannot be read "
                         f"({type(err).__name__}: {err})")
        return
    yield from _read_xmi(cassis, path, None, data, ts)


def _read_xmi(cassis: Any, path: Path, member: str | None, data: bytes, ts: TypeSystem
              ) -> Iterator[ImportRecord | InputError]:
    try:
        with warnings.catch_warnings():
            # Lenient: types the type system lacks are skipped (cassis warns of each).
            warnings.simplefilter("ignore")
            cas = cassis.load_cas_from_xmi(io.BytesIO(data), typesystem=ts, lenient=True)
    except Exception as err:  # noqa: BLE001 - cassis raises many kinds on a bad file
        yield InputError(path, f"not a UIMA CAS XMI file ({type(err).__name__}: {err})",
                         record=member)
        return
    try:
        yield record_of(cas, path, member)
    except ValueError as err:
        yield InputError(path, str(err), record=member)


def _feature(fs: Any, name: str) -> Any:
    try:
        return fs.get(name)
    except Exception:  # noqa: BLE001 - cassis raises on a feature the type lacks
        return None


def record_of(cas: Cas, path: Path, member: str | None) -> ImportRecord:
    text = cas.sofa_string
    if not isinstance(text, str):
        raise ValueError("the CAS has no text (sofa string)")
    ts = cas.typesystem
    layer = None
    if ts.contains_type(LAYER):
        found = cas.select_all_fs()
        layer = next((fs for fs in found if fs.type.name == LAYER), None)
    meta: dict[str, Any] = {}
    if layer is not None and isinstance(_feature(layer, "meta"), str):
        try:
            loaded = json.loads(_feature(layer, "meta"))
        except ValueError as err:
            raise ValueError(f"reader_annotator.Layer meta is not JSON ({err})") from None
        meta = loaded if isinstance(loaded, dict) else {}
    else:
        title = None
        if ts.contains_type(METADATA):
            for fs in cas.select(METADATA):
                title = _feature(fs, "documentTitle")
        name = member or path.name
        meta = {"title": title if isinstance(title, str) and title
                else title_of(text.replace("\r", "\n"), Path(name)),
                "source": f"{path}" + (f"#{member}" if member else "")}
    record = ImportRecord(path=path, line=None, record=member, text=text, meta=meta)
    provenance: dict[tuple[int, int, str], tuple[str, str]] = {}
    if layer is not None:
        annotator = _feature(layer, "annotator")
        record.annotator = annotator if isinstance(annotator, str) and annotator else None
        record.status = _feature(layer, "status")
        if record.status not in (None, "accept", "reject", "ignore"):
            raise ValueError(f"reader_annotator.Layer status {record.status!r:.40} is not one "
                             "of accept, reject, ignore")
        record.has_status = True
        raw = _feature(layer, "provenance")
        for entry in json.loads(raw) if isinstance(raw, str) else []:
            if isinstance(entry, list) and len(entry) == 5:
                provenance[(entry[0], entry[1], entry[2])] = (entry[3], entry[4])
    refs: dict[int, tuple[int, int, str]] = {}
    unlabelled: set[int] = set()
    if ts.contains_type(NAMED_ENTITY):
        entities = sorted(cas.select(NAMED_ENTITY), key=lambda fs: (fs.begin, fs.end, fs.xmiID))
        for fs in entities:
            label = _feature(fs, "value")
            where = f"NamedEntity {fs.xmiID}"
            if not isinstance(label, str) or not label.strip():
                short = fs.type.name.rsplit(".", 1)[-1]
                if fs.type.name != NAMED_ENTITY:
                    label = short  # a DKPro subtype (Person, Location, ...) names its label
                else:
                    unlabelled.add(id(fs))
                    record.warnings.append(record.error(
                        f"{where} at {fs.begin}-{fs.end} has no value (label); left out",
                        where=_join(member, where)))
                    continue
            refs[id(fs)] = (fs.begin, fs.end, label)
            source, state = provenance.get((fs.begin, fs.end, label), (None, None))
            record.spans.append(RawSpan(fs.begin, fs.end, label, source=source, state=state,
                                        where=where))
    for rel_type in ts.get_types():
        features = {f.name for f in rel_type.all_features}
        if not {GOVERNOR, DEPENDENT} <= features:
            continue
        for fs in cas.select(rel_type):
            where = f"{rel_type.name.rsplit('.', 1)[-1]} {fs.xmiID}"
            ends = [_feature(fs, GOVERNOR), _feature(fs, DEPENDENT)]
            if any(end is not None and id(end) in unlabelled for end in ends):
                record.warnings.append(record.error(
                    "relation to a named entity without a value; left out",
                    where=_join(member, where)))
                continue
            if not all(end is not None and id(end) in refs for end in ends):
                continue  # a relation layer over other spans (tokens, custom spans)
            label = _relation_label(fs, rel_type, features)
            record.relations.append(RawRelation(refs[id(ends[0])], refs[id(ends[1])], label,
                                                where=where))
    return record


def _relation_label(fs: Any, rel_type: Any, features: set[str]) -> str:
    for name in (*_LABEL_FEATURES, *sorted(features - _STANDARD_FEATURES)):
        if name in features:
            value = _feature(fs, name)
            if isinstance(value, str) and value.strip():
                return value
    return str(rel_type.name.rsplit(".", 1)[-1])


def _join(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return ", ".join(kept) if kept else None
