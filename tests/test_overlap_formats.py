"""Nested and overlapping spans through every format: a fixture with every shape real
corpora have, imported as gold into a fresh store and back out of every format that
can carry it; Hypothesis round trips of random overlapping layers; CoNLL refusing them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.errors import FormatError, InputErrors
from annotations.formats.transfer import export_layers, import_layers
from annotations.layer import resolve_refs
from annotations.models import Annotation, Document, LabelScheme, Prediction, Relation, Span
from annotations.store import GoldStore

FIXTURE = Path(__file__).parent / "fixtures" / "nested_brat"
CARRIERS = {"brat": "out_brat", "prodigy": "out.jsonl", "doccano": "out.jsonl",
            "spacy": "out.spacy"}

SPANS = {  # (text, label) of every span in the fixture, with how often it occurs
    ("University of California", "ORG"): 1, ("California", "GPE"): 1,  # one inside another
    ("Lake\nTahoe", "LOC"): 1,  # across a line break
    ("Washington", "PERSON"): 1, ("Washington", "GPE"): 2,  # same offsets, two labels
    ("New York Times", "ORG"): 1, ("Times Square", "FAC"): 1,  # a partial overlap
    ("New York", "GPE"): 1, ("Washington officials", "ORG"): 1,  # nested, same start
}
RELATIONS = {  # relations between nested spans, and to one of two spans at one offset
    ("University of California", "ORG", "California", "GPE", "located_in"),
    ("Washington", "PERSON", "University of California", "ORG", "said"),
    ("New York Times", "ORG", "New York", "GPE", "located_in"),
    ("Washington officials", "ORG", "Washington", "GPE", "member_of"),
}


def _content(store: GoldStore) -> tuple[str, dict, set, list]:
    (ann,) = list(store.gold())
    text = store.text(ann.doc_id)
    spans: dict = {}
    for span in ann.spans:
        spans[(span.text_in(text), span.label)] = spans.get((span.text_in(text), span.label),
                                                            0) + 1
    relations = {(h.text_in(text), h.label, c.text_in(text), c.label, label)
                 for h, c, label in resolve_refs(ann.spans, ann.relations)}
    return text, spans, relations, [s.ref for s in ann.spans]


def test_the_nested_fixture_imports_as_gold_into_a_fresh_store_with_every_span(tmp_path):
    with GoldStore(tmp_path / "gold.json") as store:
        summary = import_layers(store, FIXTURE)
        assert summary.adopted is not None and "annotation.conf" in summary.adopted
        assert "overlapping" in summary.adopted
        scheme = store.labels
        assert scheme.overlapping
        assert scheme.entity_names == ["PERSON", "ORG", "GPE", "LOC", "FAC"]
        assert scheme.relation_names == ["located_in", "said", "member_of"]
        _, spans, relations, _ = _content(store)
        assert spans == SPANS
        assert relations == RELATIONS
        # Stored relations name their spans by (start, end, label).
        (ann,) = list(store.gold())
        assert all(len(r.head) == 3 and len(r.child) == 3 for r in ann.relations)


@pytest.mark.parametrize("format_name", list(CARRIERS))
def test_the_nested_fixture_comes_back_equal_out_of_every_format(tmp_path, format_name):
    with GoldStore(tmp_path / "a.json") as source:
        import_layers(source, FIXTURE)
        expected = _content(source)
        export_layers(source, tmp_path / CARRIERS[format_name], format_name=format_name)
    if format_name == "brat":  # brat shows nested entities only where its scheme allows
        conf = (tmp_path / CARRIERS["brat"] / "annotation.conf").read_text()
        assert "<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>" in conf
    with GoldStore(tmp_path / "b.json") as target:
        summary = import_layers(target, tmp_path / CARRIERS[format_name],
                                format_name=format_name)
        assert summary.adopted is not None and target.labels.overlapping
        assert _content(target) == expected


def test_a_flat_store_refuses_nested_spans_until_told_to_allow_them(tmp_path):
    with GoldStore(tmp_path / "gold.json") as store:
        store.set_labels(LabelScheme().with_entities(["PERSON", "ORG", "GPE", "LOC", "FAC"])
                         .with_relations(["located_in", "said", "member_of"]))
        with pytest.raises(InputErrors, match="overlaps span .*--overlapping") as info:
            import_layers(store, FIXTURE)
        assert "nested.ann" in str(info.value) and len(store) == 0
        import_layers(store, FIXTURE, overlapping=True)
        assert store.labels.overlapping and _content(store)[1] == SPANS


def test_conll_refuses_a_nested_layer_or_writes_its_outermost_spans_and_says_so(tmp_path):
    with GoldStore(tmp_path / "gold.json") as store:
        import_layers(store, FIXTURE)
        with pytest.raises(FormatError, match=r"overlap.*CoNLL.*--flat-only"):
            export_layers(store, tmp_path / "out.conll", format_name="conll")
        assert not (tmp_path / "out.conll").exists()
        result = export_layers(store, tmp_path / "out.conll", format_name="conll",
                               flat_only=True)
    (warning,) = result.warnings
    assert "5 nested or overlapping span(s) left out" in warning
    for dropped in ("18-28 (GPE)", "63-73 (PERSON)", "94-102 (GPE)", "103-115 (FAC)"):
        assert dropped in warning
    tags = [line.split()[-1] for line in (tmp_path / "out.conll").read_text().splitlines()
            if line.strip() and not line.startswith("-DOCSTART-")]
    assert tags.count("B-ORG") == 3 and "B-FAC" not in tags


# -- Hypothesis: random overlapping layers through every format that carries them -------

PIECES = ["Anna", "Berlin", "ACME", "x", "42", ".", "'s", "-", "e\u0301", "😀", "中文",
          " ", "  ", "\n", "\n\n", "\u00a0"]
LABELS = ["PER", "ORG", "LOC"]
RELATION_LABELS = ["works_for", "based_in"]

texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=30).map("".join).filter(
    lambda t: t.strip() != "")


@st.composite
def overlapping_layers(draw: st.DrawFn, text: str) -> tuple[list[Span], list[Relation]]:
    """Spans that nest, overlap and share offsets (never starting or ending in
    whitespace, which a span should not), and relations between them."""
    edges = [i for i, c in enumerate(text) if not c.isspace()]
    raw = draw(st.lists(st.tuples(st.sampled_from(edges), st.sampled_from(edges),
                                  st.sampled_from(LABELS)), max_size=10))
    spans = sorted({Span(start=min(a, b), end=max(a, b) + 1, label=label)
                    for a, b, label in raw}, key=lambda s: s.ref)
    relations: list[Relation] = []
    if len(spans) >= 2:
        seen = set()
        for head, child, label in draw(st.lists(st.tuples(
                st.sampled_from(spans), st.sampled_from(spans),
                st.sampled_from(RELATION_LABELS)), max_size=4)):
            if head != child and (head.ref, child.ref, label) not in seen:
                seen.add((head.ref, child.ref, label))
                relations.append(Relation(head=head.ref, child=child.ref, label=label))
    return spans, relations


@st.composite
def corpora(draw: st.DrawFn) -> list[tuple[Document, list[Span], list[Relation]]]:
    docs = {}
    for text in draw(st.lists(texts, min_size=1, max_size=3)):
        doc = Document.from_text(text, {"n": len(docs)})
        docs.setdefault(doc.id, doc)
    return [(doc, *draw(overlapping_layers(doc.text))) for doc in docs.values()]


def _scheme() -> LabelScheme:
    return LabelScheme(overlapping=True).with_entities(LABELS).with_relations(RELATION_LABELS)


def _layer(layer: Annotation | Prediction) -> tuple[list, set]:
    return ([s.ref for s in layer.spans],
            {(h.ref, c.ref, label) for h, c, label in resolve_refs(layer.spans,
                                                                  layer.relations)})


@pytest.mark.parametrize("format_name", list(CARRIERS))
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(corpus=corpora(), predictions=st.booleans())
def test_overlapping_layers_round_trip_through_every_format_that_carries_them(
    format_name: str, corpus: list, predictions: bool
) -> None:
    out = CARRIERS[format_name]
    extractor = "llm@1" if predictions else None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with GoldStore(root / "a.json") as source:
            source.add_documents([doc for doc, *_ in corpus])
            source.set_labels(_scheme())
            if predictions:
                source.put_predictions([Prediction(doc_id=doc.id, extractor="llm@1",
                                                   spans=spans, relations=rels)
                                        for doc, spans, rels in corpus])
            else:
                source.save_annotations([Annotation(doc_id=doc.id, spans=spans,
                                                    relations=rels, status="accept")
                                         for doc, spans, rels in corpus])
            export_layers(source, root / out, format_name=format_name, extractor=extractor)
        with GoldStore(root / "b.json") as target:
            target.set_labels(_scheme())
            if predictions:
                target.add_documents([doc for doc, *_ in corpus])
            import_layers(target, root / out, format_name=format_name,
                          as_predictions=predictions, extractor=extractor)
            for doc, spans, rels in corpus:
                got = (target.prediction(doc.id, "llm@1") if predictions
                       else target.annotation(doc.id))
                assert got is not None
                expected = Annotation(doc_id=doc.id, spans=spans, relations=rels)
                assert _layer(got) == _layer(expected)


def test_an_overlapping_gold_store_scores_overlapping_predictions_with_relations(tmp_path):
    from annotations.evaluation import collect_documents, evaluate_extractor

    with GoldStore(tmp_path / "gold.json") as store:
        import_layers(store, FIXTURE)
        (gold,) = list(store.gold())
        # The prediction: the gold without the GPE under "Washington officials", and its
        # relations with one end named by the other label at the same offsets.
        spans = [s for s in gold.spans if s.ref != (127, 137, "GPE")]
        relations = [r for r in gold.relations if r.label != "member_of"]
        relations = [Relation(head=(63, 73, "GPE"), child=r.child, label=r.label)
                     if r.label == "said" else r for r in relations]
        store.put_predictions([Prediction(doc_id=gold.doc_id, extractor="llm@1",
                                          spans=spans, relations=relations)])
        result = evaluate_extractor("llm@1", collect_documents(store, "llm@1"), bootstrap=0)
    correct, incorrect, partial, missed, spurious = result.entities.counts("strict")
    assert (correct, missed, spurious) == (len(gold.spans) - 1, 1, 0)
    strict = result.relations.micro("strict")
    boundaries = result.relations.micro("boundaries")
    # "said" now starts at the GPE: wrong under strict, right by its boundaries.
    assert (strict["correct"], strict["missed"], strict["spurious"]) == (2, 2, 1)
    assert (boundaries["correct"], boundaries["missed"], boundaries["spurious"]) == (3, 1, 0)


def test_an_external_extractor_may_answer_with_nested_spans() -> None:
    from annotations.external import OutputParser

    text = "The University of California campus"
    record = {"spans": [{"start": 4, "end": 28, "label": "ORG"},
                        {"start": 18, "end": 28, "label": "GPE"},
                        {"start": 18, "end": 28, "label": "LOC"}],
              "relations": [{"head": 0, "child": 2, "label": "located_in"}]}
    pred = OutputParser("llm@1").prediction("d", text, record, "line 1")
    assert [s.ref for s in pred.spans] == [(4, 28, "ORG"), (18, 28, "GPE"), (18, 28, "LOC")]
    assert [(r.head, r.child) for r in pred.relations] == [((4, 28, "ORG"), (18, 28, "LOC"))]
