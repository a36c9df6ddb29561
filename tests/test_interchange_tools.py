"""Label Studio, INCEpTION (UIMA CAS XMI) and Hugging Face datasets: each export is read
back by the tool's own library (label-studio-sdk's Converter and LabelInterface,
dkpro-cassis, datasets.load_from_disk) with every span and relation identical; round
trips give back spans, relations, labels and annotators; sample files from those
projects import.  ``datasets`` is imported inside the tests that use it (slow)."""

from __future__ import annotations

import json
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_overlap_formats import FIXTURE as NESTED_BRAT
from test_overlap_formats import _layer, _scheme, corpora

from annotations.errors import FormatError, InputErrors
from annotations.formats import detect_format
from annotations.formats.transfer import export_layers, import_layers
from annotations.layer import outermost, resolve_refs
from annotations.models import Annotation, Document, LabelScheme, Prediction, Relation, Span
from annotations.store import GoldStore

SAMPLES = Path(__file__).parent / "fixtures" / "interchange"
OUTPUTS = {"label-studio": "out.json", "inception": "out_xmi", "hf": "out_hf"}
NAMED_ENTITY = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity"
TEXT = "Anna 😀 Berg works for ACME Corp in New York.\nNew York Times said so."


def _span(piece: str, label: str, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(piece, start + 1)
    return Span(start=start, end=start + len(piece), label=label)


def _store(path: Path) -> tuple[GoldStore, Document]:
    """Two annotators (one with nested spans, one skipped), and an extractor."""
    doc = Document.from_text(TEXT, {"title": "t", "n": 1})
    anna, acme, ny, nyt, ny2 = (_span("Anna 😀 Berg", "PER"), _span("ACME Corp", "ORG"),
                                _span("New York", "LOC"), _span("New York Times", "ORG"),
                                _span("New York", "LOC", 1))
    store = GoldStore(path)
    store.set_labels(LabelScheme(overlapping=True).with_entities(["PER", "ORG", "LOC"])
                     .with_relations(["works_for", "based_in"]))
    store.save_annotations([
        Annotation(doc_id=doc.id, annotator="ann@x.org", status="accept",
                   spans=[anna, acme, ny, nyt, ny2],
                   relations=[Relation(head=anna.ref, child=acme.ref, label="works_for"),
                              Relation(head=nyt.ref, child=ny2.ref, label="based_in")]),
        Annotation(doc_id=doc.id, annotator="bob", status="ignore", spans=[acme]),
    ], documents=[doc])
    store.put_predictions([Prediction(doc_id=doc.id, extractor="llm@1", spans=[
        anna.model_copy(update={"source": "llm@1", "state": "suggested"})])])
    return store, doc


def _content(store: GoldStore, doc_id: str) -> dict:
    layers = {}
    for who in ("ann@x.org", "bob"):
        ann = store.annotation(doc_id, who)
        assert ann is not None, who
        layers[who] = (_layer(ann), ann.status)
    pred = store.prediction(doc_id, "llm@1")
    assert pred is not None
    layers["llm@1"] = (_layer(pred), [(s.source, s.state) for s in pred.spans])
    return layers


# -- Label Studio --------------------------------------------------------------


def test_label_studio_export_is_read_by_the_sdk_with_every_span_and_relation(tmp_path):
    from label_studio_sdk.converter import Converter
    from label_studio_sdk.label_interface import LabelInterface

    store, doc = _store(tmp_path / "a.json")
    with store:
        export_layers(store, tmp_path / "out.json", format_name="label-studio", status="all")
        export_layers(store, tmp_path / "pred.json", format_name="label-studio",
                      extractor="llm@1")
        gold = {who: store.annotation(doc.id, who) for who in ("ann@x.org", "bob")}
    config = (tmp_path / "out.label_config.xml").read_text()
    converter = Converter(config=config, project_dir=str(tmp_path))
    converter.convert(str(tmp_path / "out.json"), str(tmp_path / "min"), "JSON_MIN",
                      is_dir=False)
    rows = json.loads((tmp_path / "min" / "result.json").read_text())
    # JSON_MIN leaves out skipped (cancelled) annotations, as Label Studio does.
    assert [row["annotator"] for row in rows] == ["ann@x.org"]
    got = sorted((r["start"], r["end"], r["labels"][0], r["text"]) for r in rows[0]["label"])
    ann = gold["ann@x.org"]
    assert got == sorted((s.start, s.end, s.label, TEXT[s.start:s.end]) for s in ann.spans)
    # Every annotation and prediction, relations included, fits the written config.
    interface = LabelInterface(config)
    (task,) = json.loads((tmp_path / "out.json").read_text())
    (pred_task,) = json.loads((tmp_path / "pred.json").read_text())
    assert len(task["annotations"]) == 2 and pred_task["predictions"][0]["model_version"] \
        == "llm@1"
    for layer in [*task["annotations"], *pred_task["predictions"]]:
        assert interface.validate_annotation(layer) is True
    by_id = {r["id"]: r["value"] for r in task["annotations"][0]["result"] if "id" in r}
    relations = {(tuple(by_id[r["from_id"]][k] for k in ("start", "end")),
                  tuple(by_id[r["to_id"]][k] for k in ("start", "end")), r["labels"][0])
                 for r in task["annotations"][0]["result"] if r["type"] == "relation"}
    assert relations == {(h.ref[:2], c.ref[:2], label)
                         for h, c, label in resolve_refs(ann.spans, ann.relations)}


def test_label_studio_round_trip_keeps_annotators_status_and_predictions(tmp_path):
    store, doc = _store(tmp_path / "a.json")
    with store:
        export_layers(store, tmp_path / "gold.json", format_name="label-studio", status="all")
        export_layers(store, tmp_path / "pred.json", format_name="label-studio",
                      extractor="llm@1")
        expected = _content(store, doc.id)
    with GoldStore(tmp_path / "b.json") as target:
        summary = import_layers(target, [tmp_path / "gold.json", tmp_path / "pred.json"])
        assert summary.format == "label-studio" and summary.predictions == [1, 0, 0]
        assert _content(target, doc.id) == expected
        assert target.document(doc.id).meta == {"title": "t", "n": 1}


def test_label_studio_sample_from_its_repository_imports(tmp_path):
    sample = SAMPLES / "label_studio_rich_text_plain.json"
    with GoldStore(tmp_path / "a.json") as store:
        import_layers(store, sample, format_name="label-studio")
        (ann,) = list(store.gold())
        text = store.text(ann.doc_id)
        assert [(s.text_in(text), s.label) for s in ann.spans] == [("February 22", "Date")]
        assert ann.annotator == "default" and ann.status == "accept"


def test_label_studio_import_lists_every_problem_per_task_and_stores_nothing(tmp_path):
    value = {"start": 0, "end": 4, "text": "Anna", "labels": ["PER"]}
    tasks = [
        {"id": 7, "data": {"text": "Anna works."}, "annotations": [
            {"completed_by": 3, "was_cancelled": True, "result": [
                {"id": "a", "type": "labels", "value": value},
                {"type": "choices", "value": {"choices": ["x"]}},
                {"type": "relation", "from_id": "a", "to_id": "zz", "labels": ["r"]}]}]},
        {"id": 8, "data": {"text": "Bob"}, "annotations": [
            {"result": [{"id": "b", "type": "labels", "value": {**value, "end": 40}}]}]},
        {"id": 9, "data": {"x": 1}},
    ]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    with GoldStore(tmp_path / "a.json") as store:
        with pytest.raises(InputErrors) as caught:
            import_layers(store, path)
        assert len(store) == 0
    shown = [str(e) for e in caught.value.errors]
    assert any("task 0 (id 7), annotations[0]" in s and "zz" in s and "missing span" in s
               for s in shown)
    assert any("task 1 (id 8)" in s and "outside the text" in s for s in shown)
    assert any("task 2 (id 9)" in s and '"data" has no "text"' in s for s in shown)


def test_label_studio_reads_users_skips_directions_and_leaves_out_what_is_no_span(tmp_path):
    tasks = [{"data": {"text": "Anna works for ACME.", "url": "u"}, "annotations": [
        {"completed_by": 3, "was_cancelled": True, "result": [
            {"id": "a", "type": "labels", "value": {"start": 0, "end": 4, "labels": ["PER"]}},
            {"id": "b", "type": "labels",
             "value": {"start": 15, "end": 19, "labels": ["ORG", "LOC"]}},
            {"type": "choices", "value": {"choices": ["x"]}},
            {"type": "relation", "from_id": "b", "to_id": "a", "direction": "left",
             "labels": []}]}],
        "predictions": [{"result": [
            {"id": "p", "type": "labels", "value": {"start": 0, "end": 4, "labels": ["PER"]}}]}]}]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    with GoldStore(tmp_path / "a.json") as store:
        summary = import_layers(store, path)
        assert len(summary.warnings) == 2  # the choices result, the unlabelled relation
        (ann,) = list(store.annotations())
        assert ann.annotator == "label-studio-user-3" and ann.status == "ignore"
        assert [s.ref for s in ann.spans] == [(0, 4, "PER"), (15, 19, "LOC"), (15, 19, "ORG")]
        assert store.prediction(ann.doc_id, "label-studio") is not None
        assert store.document(ann.doc_id).meta == {"url": "u"}


# -- INCEpTION -----------------------------------------------------------------


def _cases(folder: Path) -> list:
    import cassis

    cases = []
    for archive in sorted(folder.glob("*.zip")):
        with zipfile.ZipFile(archive) as z:
            (xmi,) = [n for n in z.namelist() if n.endswith(".xmi")]
            ts = cassis.load_typesystem(z.read("TypeSystem.xml").decode())
            cases.append(cassis.load_cas_from_xmi(z.read(xmi).decode(), typesystem=ts))
    return cases


def test_inception_export_is_read_by_cassis_with_every_entity_and_relation(tmp_path):
    store, doc = _store(tmp_path / "a.json")
    with store:
        export_layers(store, tmp_path / "x", format_name="inception", status="all")
        expected = [store.annotation(doc.id, who) for who in ("ann@x.org", "bob")]
    assert (tmp_path / "x" / "TypeSystem.xml").is_file()
    cases = _cases(tmp_path / "x")
    assert len(cases) == 2
    for cas in cases:
        assert cas.sofa_string == TEXT
        entities = sorted((e.begin, e.end, e.value) for e in cas.select(NAMED_ENTITY))
        relations = {((r.Governor.begin, r.Governor.end, r.Governor.value),
                      (r.Dependent.begin, r.Dependent.end, r.Dependent.value), r.label)
                     for r in cas.select("custom.EntityRelation")}
        matches = [ann for ann in expected if ann is not None
                   and entities == sorted(s.ref for s in ann.spans)]
        assert len(matches) == 1
        ann = matches[0]
        assert relations == {(h.ref, c.ref, label)
                             for h, c, label in resolve_refs(ann.spans, ann.relations)}
        tokens = {(t.begin, t.end) for t in cas.select(
            "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Token")}
        starts, ends = {a for a, _ in tokens}, {b for _, b in tokens}
        assert all(s.start in starts and s.end in ends for s in ann.spans)


def test_inception_round_trip_keeps_annotators_status_and_predictions(tmp_path):
    store, doc = _store(tmp_path / "a.json")
    with store:
        export_layers(store, tmp_path / "gold", format_name="inception", status="all")
        export_layers(store, tmp_path / "pred", format_name="inception", extractor="llm@1")
        expected = _content(store, doc.id)
    with GoldStore(tmp_path / "b.json") as target:
        import_layers(target, tmp_path / "gold")
        import_layers(target, tmp_path / "pred", as_predictions=True, extractor="llm@1")
        got = _content(target, doc.id)
        assert got == expected
        assert target.document(doc.id).meta == {"title": "t", "n": 1}


def test_inception_sample_exported_by_inception_imports_with_emoji_offsets(tmp_path):
    sample = SAMPLES / "inception_cas_with_smileys.xmi"
    assert detect_format(sample).name == "inception"
    with GoldStore(tmp_path / "a.json") as store:
        import_layers(store, sample)
        (ann,) = list(store.gold())
        text = store.text(ann.doc_id)
        assert text.startswith("\U0001f917 Transformers") and "\r" not in text
        assert [(s.text_in(text), s.label) for s in ann.spans] == [
            ("Transformers", "OTH")] * 3 + [("PyTorch", "OTH"), ("TensorFlow", "OTH")]
        assert store.document(ann.doc_id).meta["title"] == "huggingface.txt"


# -- Hugging Face datasets -----------------------------------------------------


def _iob2_spans(text: str, tokens: list[str], tags: list[str]) -> list[tuple]:
    """Spans an IOB2 tagger would decode, placed on ``text`` token by token."""
    spans, at, open_span = [], 0, None
    for token, tag in zip(tokens, tags, strict=True):
        start = text.index(token, at)
        at = start + len(token)
        if tag.startswith("I-") and open_span is not None and open_span[2] == tag[2:]:
            open_span[1] = at
            continue
        open_span = [start, at, tag[2:]] if tag != "O" else None
        if open_span is not None:
            spans.append(open_span)
    return sorted(tuple(s) for s in spans)


def test_hf_dataset_gives_every_flat_span_through_tags_and_every_span_exactly(tmp_path):
    import datasets

    store, doc = _store(tmp_path / "a.json")
    with store:
        export_layers(store, tmp_path / "hf", format_name="hf", status="all")
        expected = {who: store.annotation(doc.id, who) for who in ("ann@x.org", "bob")}
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    names = loaded.features["ner_tags"].feature.names
    assert len(loaded) == 2
    for row in loaded:
        ann = expected[row["annotator"]]
        kept, dropped = outermost(ann.spans)
        tags = [names[t] for t in row["ner_tags"]]
        assert _iob2_spans(row["text"], row["tokens"], tags) == sorted(s.ref for s in kept)
        assert row["spans_not_in_tags"] == len(dropped)
        spans = [(s["start"], s["end"], s["label"]) for s in row["spans"]]
        assert spans == [s.ref for s in ann.spans]
        assert {(spans[r["head"]], spans[r["child"]], r["label"]) for r in row["relations"]} \
            == {(h.ref, c.ref, label) for h, c, label in resolve_refs(ann.spans,
                                                                     ann.relations)}


def test_hf_round_trip_and_a_plain_token_dataset_import(tmp_path):
    import datasets

    store, doc = _store(tmp_path / "a.json")
    with store:
        export_layers(store, tmp_path / "gold", format_name="hf", status="all")
        export_layers(store, tmp_path / "pred", format_name="hf", extractor="llm@1")
        expected = _content(store, doc.id)
    with GoldStore(tmp_path / "b.json") as target:
        assert detect_format(tmp_path / "gold").name == "hf"
        import_layers(target, tmp_path / "gold")
        import_layers(target, tmp_path / "pred", as_predictions=True, extractor="llm@1")
        assert _content(target, doc.id) == expected
    plain = datasets.Dataset.from_dict(
        {"tokens": [["Anna", "met", "New", "York"]], "ner_tags": [[1, 0, 3, 4]]},
        features=datasets.Features({
            "tokens": datasets.List(datasets.Value("string")),
            "ner_tags": datasets.List(datasets.ClassLabel(
                names=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]))}))
    datasets.DatasetDict({"train": plain}).save_to_disk(str(tmp_path / "plain"))
    with GoldStore(tmp_path / "c.json") as target:
        import_layers(target, tmp_path / "plain")
        (ann,) = list(target.gold())
        text = target.text(ann.doc_id)
        assert [(s.text_in(text), s.label) for s in ann.spans] == [("Anna", "PER"),
                                                                    ("New York", "LOC")]


def test_hf_without_datasets_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    store, _ = _store(tmp_path / "a.json")
    with store, pytest.raises(FormatError, match=r"reader-annotator\[hf\]"):
        export_layers(store, tmp_path / "hf", format_name="hf")


# -- corpora with relations: export, the other library, import -------------------


BRAT_CORPORA = {"nested": NESTED_BRAT, "conll2006": SAMPLES / "brat_conll2006"}


def _read_by_library(format_name: str, out: Path) -> tuple[list, set]:
    """The spans and relations the tool's own library (or, for Label Studio, the
    JSON it imports) finds in an export of one annotation."""
    if format_name == "inception":
        (cas,) = _cases(out)
        spans = sorted((e.begin, e.end, e.value) for e in cas.select(NAMED_ENTITY))
        relations = {((r.Governor.begin, r.Governor.end, r.Governor.value),
                      (r.Dependent.begin, r.Dependent.end, r.Dependent.value), r.label)
                     for r in cas.select("custom.EntityRelation")}
        return spans, relations
    if format_name == "hf":
        import datasets

        (row,) = datasets.load_from_disk(str(out))
        refs = [(s["start"], s["end"], s["label"]) for s in row["spans"]]
        return sorted(refs), {(refs[r["head"]], refs[r["child"]], r["label"])
                              for r in row["relations"]}
    (task,) = json.loads(out.read_text())
    (annotation,) = task["annotations"]
    by_id = {r["id"]: (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
             for r in annotation["result"] if r["type"] == "labels"}
    return sorted(by_id.values()), {(by_id[r["from_id"]], by_id[r["to_id"]], r["labels"][0])
                                    for r in annotation["result"] if r["type"] == "relation"}


@pytest.mark.parametrize("corpus", list(BRAT_CORPORA))
@pytest.mark.parametrize("format_name", list(OUTPUTS))
def test_brat_corpora_with_relations_come_back_identical_through_each_tool(
        tmp_path, format_name, corpus):
    out = tmp_path / OUTPUTS[format_name]
    with GoldStore(tmp_path / "a.json") as source:
        import_layers(source, BRAT_CORPORA[corpus])
        (before,) = list(source.gold())
        text = source.text(before.doc_id)
        export_layers(source, out, format_name=format_name)
    expected = _layer(before)
    assert len(expected[1]) >= 4
    assert _read_by_library(format_name, out) == (sorted(expected[0]), expected[1])
    with GoldStore(tmp_path / "b.json") as target:
        import_layers(target, out, format_name=format_name)
        (after,) = list(target.gold())
        assert target.text(after.doc_id) == text
        assert _layer(after) == expected


@pytest.mark.parametrize("format_name", list(OUTPUTS))
@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(corpus=corpora(), predictions=st.booleans())
def test_overlapping_layers_round_trip_through_each_new_format(format_name, corpus,
                                                                predictions):
    if format_name == "hf":
        pytest.importorskip("datasets")
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
            export_layers(source, root / OUTPUTS[format_name], format_name=format_name,
                          extractor=extractor)
        with GoldStore(root / "b.json") as target:
            target.set_labels(_scheme())
            if predictions:
                target.add_documents([doc for doc, *_ in corpus])
            import_layers(target, root / OUTPUTS[format_name], format_name=format_name,
                          as_predictions=predictions, extractor=extractor)
            for doc, spans, rels in corpus:
                got = (target.prediction(doc.id, "llm@1") if predictions
                       else target.annotation(doc.id))
                assert got is not None
                assert _layer(got) == _layer(Annotation(doc_id=doc.id, spans=spans,
                                                        relations=rels))


def test_label_studio_offsets_in_utf16_units_from_older_exports_are_placed_by_text(tmp_path):
    text = "😀 Anna met Bob."
    tasks = [{"data": {"text": text}, "annotations": [{"result": [
        {"id": "a", "type": "labels",  # UTF-16: the emoji counts two
         "value": {"start": 3, "end": 7, "text": "Anna", "labels": ["PER"]}}]}]}]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(tasks))
    with GoldStore(tmp_path / "a.json") as store:
        summary = import_layers(store, path)
        assert "UTF-16" in str(summary.warnings[0])
        (ann,) = list(store.gold())
        assert [s.text_in(text) for s in ann.spans] == ["Anna"]


def test_label_studio_predictions_may_overlap_in_a_flat_store_and_fail_together(tmp_path):
    labels = [{"id": i, "type": "labels", "value": {"start": a, "end": b, "labels": [x]}}
              for i, a, b, x in (("a", 0, 4, "PER"), ("b", 0, 10, "ORG"))]
    tasks = [{"data": {"text": "Anna Corp. met Bob."},
              "annotations": [{"completed_by": {"email": "ann"}, "result": labels[:1]}],
              "predictions": [{"model_version": "m@1", "result": labels}]}]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    with GoldStore(tmp_path / "a.json") as store:
        store.set_labels(LabelScheme().with_entities(["PER", "ORG"]))
        summary = import_layers(store, path)
        assert summary.added == 1 and summary.predictions == [1, 0, 0]
        (ann,) = list(store.annotations())
        assert not store.labels.overlapping and ann.annotator == "ann"
        assert len(store.prediction(ann.doc_id, "m@1").spans) == 2
    tasks[0]["predictions"][0]["result"][1]["value"]["labels"] = ["NOPE"]
    path.write_text(json.dumps(tasks))
    with GoldStore(tmp_path / "b.json") as store:
        store.set_labels(LabelScheme().with_entities(["PER", "ORG"]))
        with pytest.raises(InputErrors, match="NOPE"):
            import_layers(store, path)
        assert len(store) == 0
