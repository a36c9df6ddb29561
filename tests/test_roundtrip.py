"""Property tests: export then import gives back the same documents, spans, relations
and statuses, in every format, for what the format can carry (each format module's
docstring says what it loses; the expectations below apply exactly those losses)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import srsly
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from annotations.formats.tokens import _tokenizer
from annotations.formats.transfer import export_layers, import_layers
from annotations.models import Annotation, Document, LabelScheme, Prediction, Relation, Span
from annotations.store import GoldStore

PIECES = [
    "Anna", "Berlin", "ACME", "x", "42", ".", ",", "'s", "-", "(", ")", "e\u0301", "n\u0303a",
    "😀", "👍🏽", "中文", "東京", "한국", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\u00a0",
]
LABELS = ["PER", "ORG", "LOC"]
RELATIONS = ["works_for", "based_in"]

texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map("".join).filter(
    lambda t: t.strip() != "")


@st.composite
def layers(draw: st.DrawFn, text: str) -> tuple[list[Span], list[Relation]]:
    """Random non-overlapping spans and relations between them over ``text``."""
    n = len(text)
    cuts = sorted(draw(st.sets(st.integers(0, n), max_size=min(12, n + 1))))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if end > start and draw(st.booleans()):
            spans.append(Span(start=start, end=end, label=draw(st.sampled_from(LABELS))))
    relations = []
    if len(spans) >= 2:
        pairs = draw(st.lists(st.tuples(st.sampled_from(spans), st.sampled_from(spans),
                                        st.sampled_from(RELATIONS)), max_size=4))
        seen = set()
        for head, child, label in pairs:
            if head.key != child.key and (head.key, child.key, label) not in seen:
                seen.add((head.key, child.key, label))
                relations.append(Relation(head=head.key, child=child.key, label=label))
    return spans, relations


@st.composite
def corpora(draw: st.DrawFn) -> list[tuple[Document, list[Span], list[Relation], str | None]]:
    docs: dict[str, Document] = {}
    squeezed: set[str] = set()
    for text in draw(st.lists(texts, min_size=1, max_size=3)):
        doc = Document.from_text(text, {"title": text[:10], "n": len(docs)})
        # Texts that differ only in whitespace are one text to CoNLL; keep them apart.
        key = "".join(doc.text.split())
        if key not in squeezed:
            squeezed.add(key)
            docs[doc.id] = doc
    out = []
    for doc in docs.values():
        spans, relations = draw(layers(doc.text))
        status = draw(st.sampled_from(["accept", "reject", "ignore", None]))
        out.append((doc, spans, relations, status))
    return out


def _trim(spans: list[Span], relations: list[Relation], text: str, chars: str | None
          ) -> tuple[list[Span], list[Relation]]:
    """Spans without leading/trailing ``chars`` (None: any whitespace), as a format that
    cannot hold them gives them back; relations follow their spans."""
    moved: dict[tuple[int, int], tuple[int, int]] = {}
    kept = []
    for span in spans:
        piece = text[span.start:span.end]
        stripped_left = piece.lstrip(chars)
        start = span.start + len(piece) - len(stripped_left)
        end = start + len(stripped_left.rstrip(chars))
        if end > start:
            moved[span.key] = (start, end)
            kept.append(span.model_copy(update={"start": start, "end": end}))
    rels = [r.model_copy(update={"head": moved[r.head], "child": moved[r.child]})
            for r in relations if r.head in moved and r.child in moved]
    return kept, rels


def _fill(store: GoldStore, corpus: list, predictions: bool = False) -> None:
    store.add_documents([doc for doc, *_ in corpus])
    store.set_labels(LabelScheme().with_entities(LABELS).with_relations(RELATIONS))
    if predictions:
        store.put_predictions([
            Prediction(doc_id=doc.id, extractor="llm@1", relations=rels,
                       spans=[s.model_copy(update={"source": "llm@1", "state": "suggested"})
                              for s in spans])
            for doc, spans, rels, _ in corpus])
    else:
        store.save_annotations([
            Annotation(doc_id=doc.id, spans=spans, relations=rels, status=status)
            for doc, spans, rels, status in corpus])


def _layer(spans: list[Span], relations: list[Relation]) -> tuple[list, set]:
    return ([(s.start, s.end, s.label) for s in sorted(spans, key=lambda s: s.key)],
            {r.key for r in relations})


# What each format carries: (output name, meta, status, whitespace-exact text,
# relations, characters a span loses at its edges).  Status "decided": accept,
# reject and ignore come back, an open annotation comes back as the import's
# default (accept); "all": open comes back open too; None: not carried.
FORMATS = {
    "prodigy": ("out.jsonl", True, "decided", True, True, ""),
    "doccano": ("out.jsonl", True, "decided", True, True, ""),
    "brat": ("out_brat", False, None, True, True, "\n"),
    "conll": ("out.conll", False, None, False, False, None),
    "spacy": ("out.spacy", True, "all", True, True, ""),
}

settings_ = settings(max_examples=50, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("format_name", list(FORMATS))
@settings_
@given(corpus=corpora(), predictions=st.booleans())
def test_export_then_import_gives_back_what_the_format_carries(
    format_name: str, corpus: list, predictions: bool
) -> None:
    out_name, has_meta, has_status, exact_text, has_relations, edge = FORMATS[format_name]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with GoldStore(root / "a.json") as source:
            _fill(source, corpus, predictions)
            export_layers(source, root / out_name, format_name=format_name, status="all",
                          extractor="llm@1" if predictions else None)
        with GoldStore(root / "b.json") as target:
            target.set_labels(LabelScheme().with_entities(LABELS).with_relations(RELATIONS))
            # Predictions are for stored documents; CoNLL needs the stored text to
            # recover exact whitespace.
            if predictions or not exact_text:
                target.add_documents([doc for doc, *_ in corpus])
            import_layers(target, root / out_name, format_name=format_name,
                          as_predictions=predictions, extractor="llm@1" if predictions else None)
            assert len(target) == len(corpus)
            for doc, spans, rels, status in corpus:
                stored = target.document(doc.id)  # same text, hence same id
                if has_meta:
                    assert stored.meta == doc.meta
                if edge != "":
                    spans, rels = _trim(spans, rels, doc.text, edge)
                if not has_relations:
                    rels = []
                got = (target.prediction(doc.id, "llm@1") if predictions
                       else target.annotation(doc.id))
                assert got is not None
                assert _layer(got.spans, got.relations) == _layer(spans, rels)
                if predictions:
                    assert all(s.source == "llm@1" and s.state == "suggested" for s in got.spans)
                elif has_status == "all":
                    assert got.status == status
                elif has_status == "decided":
                    assert got.status == (status or "accept")
                else:
                    assert got.status == "accept"


@settings_
@given(corpus=corpora())
def test_prodigy_tokens_rebuild_the_text_and_char_span_finds_every_span(corpus: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with GoldStore(root / "a.json") as source:
            _fill(source, corpus)
            export_layers(source, root / "out.jsonl", status="all")
        vocab = _tokenizer().vocab
        for task in srsly.read_jsonl(root / "out.jsonl"):
            tokens = task["tokens"]
            doc = Doc(vocab, words=[t["text"] for t in tokens], spaces=[t["ws"] for t in tokens])
            assert doc.text == task["text"]
            assert [t.idx for t in doc] == [t["start"] for t in tokens]
            for span in task["spans"]:
                found = doc.char_span(span["start"], span["end"], span["label"])
                assert found is not None, span
                assert (found.start, found.end - 1) == (span["token_start"], span["token_end"])
                assert found.text == span["text"] == task["text"][span["start"]:span["end"]]
            by_key = {(s["start"], s["end"]): s for s in task["spans"]}
            for rel in task["relations"]:
                head = by_key[(rel["head_span"]["start"], rel["head_span"]["end"])]
                child = by_key[(rel["child_span"]["start"], rel["child_span"]["end"])]
                assert (rel["head"], rel["child"]) == (head["token_end"], child["token_end"])
