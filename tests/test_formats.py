"""Format specifics and validation: each error names the file, line/record and reason,
and a failed import leaves the store as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
import srsly
from spacy.tokens import DocBin

from annotations.errors import InputErrors
from annotations.formats import detect_format
from annotations.formats.base import ExportItem
from annotations.formats.conll import words_and_tags
from annotations.formats.tokens import tokenize
from annotations.formats.transfer import export_layers, import_layers
from annotations.models import Annotation, Document, Relation, Span
from annotations.store import GoldStore

TEXT = "Maria Keller, the mayor of Lindenfeld, met engineers from Aster Rail on Monday."


def _span(text: str, piece: str, label: str) -> Span:
    start = text.index(piece)
    return Span(start=start, end=start + len(piece), label=label)


def _task(text: str = TEXT, spans: list | None = None, **extra: object) -> dict:
    return {"text": text, "spans": spans if spans is not None else [
        {"start": 0, "end": 12, "label": "PERSON", "text": "Maria Keller"}], **extra}


def _errors(store: GoldStore, path: Path, **kwargs: object) -> list[str]:
    before = store.stats()
    with pytest.raises(InputErrors) as info:
        import_layers(store, path, **kwargs)  # type: ignore[arg-type]
    assert store.stats() == before  # a failed import changes nothing
    return [str(e) for e in info.value.errors]


# -- tokens --------------------------------------------------------------------


def test_tokens_are_cut_at_span_edges_and_rebuild_the_text() -> None:
    text = "Aster Rail's  chief\tsaid"
    tokens = tokenize(text, span_starts=[1, 12], span_ends=[4, 14])
    rebuilt = "".join(text[start:end] + (" " if ws else "") for start, end, ws in tokens)
    assert rebuilt == text
    edges = {start for start, _, _ in tokens} | {end for _, end, _ in tokens}
    assert {1, 4, 12, 14} <= edges


# -- validation ----------------------------------------------------------------


@pytest.mark.parametrize(("line", "reason"), [
    ("{not json", "invalid JSON"),
    ('{"spans": []}', 'missing field "text"'),
    (srsly.json_dumps(_task(spans=[{"start": 0, "end": 12}])), 'missing field "label"'),
    (srsly.json_dumps(_task(spans=[{"start": 70, "end": 99, "label": "ORG"}])),
     "outside the text (length 79)"),
    (srsly.json_dumps(_task(spans=[{"start": 0, "end": 5, "label": "PERSON", "text": "Mario"}])),
     "span text 'Mario' differs from the text at 0-5 ('Maria')"),
    (srsly.json_dumps(_task(spans=[{"start": 5, "end": 5, "label": "PERSON"}])),
     "span end 5 is not after its start 5"),
    (srsly.json_dumps(_task(spans=[{"start": 0, "end": 12, "label": "PERSON"},
                                   {"start": 6, "end": 20, "label": "ORG"}])),
     "overlaps span 0-12"),
    (srsly.json_dumps(_task(relations=[{"head_span": {"start": 0, "end": 12},
                                        "child_span": {"start": 27, "end": 37},
                                        "label": "works_for"}])),
     "child 27-37 is not one of the spans (relation to a missing span)"),
    (srsly.json_dumps(_task(spans=[{"start": 0, "end": 12, "label": "SPY"}])),
     "unknown entity label 'SPY'"),
    (srsly.json_dumps(_task(answer="maybe")), "answer 'maybe' is not one of"),
])
def test_bad_prodigy_line_is_reported_with_file_line_and_reason(
    store: GoldStore, tmp_path: Path, line: str, reason: str
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(srsly.json_dumps(_task(text="A good first line.", spans=[])) + "\n"
                    + line + "\n", encoding="utf-8")
    errors = _errors(store, path, format_name="prodigy")
    assert len(errors) >= 1
    assert errors[0].startswith(f"{path}, line 2")
    assert reason in errors[0]


def test_every_bad_record_is_reported_not_just_the_first(store: GoldStore, tmp_path: Path
                                                          ) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("{oops\n" + srsly.json_dumps(_task(spans=[{"start": 0, "end": 99,
                                                             "label": "PERSON"}])) + "\n")
    errors = _errors(store, path, format_name="prodigy")
    assert [e.split(":")[0] for e in errors] == [f"{path}, line 1", f"{path}, line 2, spans[0]"]


def test_unknown_labels_are_added_with_add_labels(store: GoldStore, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    srsly.write_jsonl(path, [_task(spans=[{"start": 0, "end": 12, "label": "SPY"}])])
    summary = import_layers(store, path, add_labels=True)
    assert "SPY" in store.labels.entity_names
    assert (summary.added, summary.documents_added) == (1, 1)


def test_prediction_for_a_text_not_in_the_store_is_rejected(store: GoldStore, tmp_path: Path
                                                            ) -> None:
    path = tmp_path / "pred.jsonl"
    srsly.write_jsonl(path, [_task(text="Not in the store at all.", spans=[])])
    errors = _errors(store, path, as_predictions=True, extractor="llm@1")
    assert "no stored document has this text" in errors[0]
    assert errors[0].startswith(f"{path}, line 1")


def test_crlf_text_is_normalised_and_its_offsets_follow(store: GoldStore, tmp_path: Path
                                                        ) -> None:
    text = "First line\r\nAster Rail\r\nGeneva"
    path = tmp_path / "in.jsonl"
    srsly.write_jsonl(path, [{"text": text, "spans": [
        {"start": 12, "end": 22, "label": "ORG", "text": "Aster Rail"},
        {"start": 24, "end": 30, "label": "GPE", "text": "Geneva"}], "answer": "accept"}])
    import_layers(store, path)
    doc = Document.from_text(text)
    ann = store.annotation(doc.id)
    assert ann is not None
    assert [doc.text[s.start:s.end] for s in ann.spans] == ["Aster Rail", "Geneva"]


def test_reimport_counts_updated_and_skipped(store: GoldStore, sample_document: Document,
                                             tmp_path: Path) -> None:
    text = sample_document.text
    store.save_annotation(Annotation(doc_id=sample_document.id, status="accept",
                                     spans=[_span(text, "Maria Keller", "PERSON")]))
    out = tmp_path / "gold.jsonl"
    export_layers(store, out)
    assert import_layers(store, out).skipped == 1
    ann = store.annotation(sample_document.id)
    assert ann is not None
    store.save_annotation(ann.model_copy(update={"status": "reject"}))
    summary = import_layers(store, out)
    assert (summary.added, summary.updated, summary.skipped) == (0, 1, 0)
    assert store.annotation(sample_document.id).status == "accept"  # type: ignore[union-attr]


# -- prodigy -------------------------------------------------------------------


def test_prodigy_export_has_the_task_shape(store: GoldStore, sample_document: Document,
                                           tmp_path: Path) -> None:
    text = sample_document.text
    keller, aster = _span(text, "Maria Keller", "PERSON"), _span(text, "Aster Rail", "ORG")
    store.save_annotation(Annotation(
        doc_id=sample_document.id, status="accept", spans=[keller, aster],
        relations=[Relation(head=keller.key, child=aster.key, label="works_for")]))
    out = tmp_path / "gold.jsonl"
    export_layers(store, out)
    (task,) = list(srsly.read_jsonl(out))
    assert set(task) >= {"text", "meta", "_input_hash", "tokens", "spans", "relations", "answer"}
    assert task["tokens"][0] == {"text": "Maria", "start": 0, "end": 5, "id": 0, "ws": True}
    assert task["spans"][0] == {"start": 0, "end": 12, "token_start": 0, "token_end": 1,
                                "label": "PERSON", "text": "Maria Keller"}
    (rel,) = task["relations"]
    assert (rel["head"], rel["child"], rel["label"]) == (1, task["spans"][1]["token_end"],
                                                         "works_for")
    assert rel["child_span"]["start"] == aster.start
    assert task["answer"] == "accept"


# -- doccano -------------------------------------------------------------------


def test_doccano_sequence_labelling_shape_is_read(store: GoldStore, tmp_path: Path) -> None:
    path = tmp_path / "seq.jsonl"
    srsly.write_jsonl(path, [{"text": TEXT, "label": [[0, 12, "PERSON"], [58, 68, "ORG"]],
                              "source": "wire"}])
    assert detect_format(path).name == "doccano"
    import_layers(store, path)
    doc = Document.from_text(TEXT)
    ann = store.annotation(doc.id)
    assert [(s.start, s.end, s.label) for s in ann.spans] == [(0, 12, "PERSON"), (58, 68, "ORG")]  # type: ignore[union-attr]
    assert store.document(doc.id).meta["source"] == "wire"


def test_doccano_classification_labels_are_rejected(store: GoldStore, tmp_path: Path) -> None:
    path = tmp_path / "cls.jsonl"
    srsly.write_jsonl(path, [{"text": TEXT, "label": ["sports"]}])
    (error,) = _errors(store, path)
    assert "text-classification label" in error and ", line 1" in error


# -- brat ----------------------------------------------------------------------


def test_brat_unsupported_lines_are_reported_per_line(store: GoldStore, tmp_path: Path) -> None:
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "a.txt").write_text(TEXT, encoding="utf-8")
    (folder / "a.ann").write_text(
        "T1\tPERSON 0 12\tMaria Keller\n"
        "T2\tORG 58 63;64 68\tAster Rail\n"
        "T3\tGPE 27 37\tLindenfeld\n"
        "E1\tMeeting:T1\n"
        "A1\tNegated T1\n"
        "R1\tworks_for Arg1:T1 Arg2:T2\n", encoding="utf-8")
    summary = import_layers(store, folder)
    reasons = [(w.line, w.reason) for w in summary.warnings]
    assert (2, "T2: discontinuous span (58 63;64 68) is not supported; left out") in reasons
    assert any(line == 4 and "event is not supported" in r for line, r in reasons)
    assert any(line == 5 and "attribute is not supported" in r for line, r in reasons)
    assert any(line == 6 and "relation left out" in r for line, r in reasons)
    ann = store.annotation(Document.from_text(TEXT).id)
    assert [s.label for s in ann.spans] == ["PERSON", "GPE"]  # type: ignore[union-attr]


def test_brat_relation_to_a_missing_span_is_an_error(store: GoldStore, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "a.ann").write_text("T1\tPERSON 0 12\tMaria Keller\n"
                                    "R1\tworks_for Arg1:T1 Arg2:T9\n", encoding="utf-8")
    (error,) = _errors(store, tmp_path, format_name="brat")
    assert error.startswith(f"{tmp_path / 'a.ann'}, line 2") and "T9" in error


def test_brat_span_across_a_line_break_round_trips(store: GoldStore, tmp_path: Path) -> None:
    text = "Talks at Aster\nRail ended."
    doc = Document.from_text(text)
    store.add_documents([doc])
    store.save_annotation(Annotation(doc_id=doc.id, status="accept",
                                     spans=[_span(text, "Aster\nRail", "ORG")]))
    export_layers(store, tmp_path / "out", format_name="brat")
    assert (tmp_path / "out" / f"{doc.id}.ann").read_text() == "T1\tORG 9 14;15 19\tAster Rail\n"
    store.delete_annotation(doc.id)
    import_layers(store, tmp_path / "out")
    assert store.annotation(doc.id).spans[0].key == (9, 19)  # type: ignore[union-attr]


# -- conll ---------------------------------------------------------------------


def test_conll_reads_iob1_and_four_columns(store: GoldStore, tmp_path: Path) -> None:
    path = tmp_path / "train.conll"
    path.write_text("-DOCSTART- -X- -X- O\n\nMaria NNP B-NP I-PERSON\nKeller NNP I-NP I-PERSON\n"
                    "met VBD B-VP O\nAnna NNP B-NP I-PERSON\nBerlin NNP I-NP B-PERSON\n\n")
    import_layers(store, path)
    text = "Maria Keller met Anna Berlin"
    ann = store.annotation(Document.from_text(text).id)
    assert [text[s.start:s.end] for s in ann.spans] == ["Maria Keller", "Anna", "Berlin"]  # type: ignore[union-attr]


def test_conll_ill_formed_tags_are_reported_with_their_lines(store: GoldStore, tmp_path: Path
                                                            ) -> None:
    path = tmp_path / "bad.iob"
    path.write_text("Maria B-PER\nKeller X-PER\nmet O\nAnna S-PER\nBerlin\n")
    errors = _errors(store, path)
    assert [e.split(":")[0] for e in errors] == [f"{path}, line {n}" for n in (2, 4, 5)]
    assert "ill-formed tag 'X-PER'" in errors[0]
    assert "BIOES" in errors[1]
    assert "expected a token and a tag" in errors[2]


def test_conll_keeps_an_entity_whole_across_a_line_break() -> None:
    text = "Aster\nRail and Geneva\n\nnews"
    doc = Document.from_text(text)
    item = ExportItem(doc, [_span(text, "Aster\nRail", "ORG"), _span(text, "Geneva", "GPE")], [])
    assert list(words_and_tags(item)) == [
        ("Aster", "B-ORG"), ("Rail", "I-ORG"), ("and", "O"), ("Geneva", "B-GPE"), None,
        ("news", "O")]


def test_conll_predictions_land_on_the_stored_text(store: GoldStore, sample_document: Document,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "pred.conll"
    words = sample_document.text.replace(",", " ,").replace(".", " .").split()
    path.write_text("\n".join(f"{w} {'B-GPE' if w == 'Geneva' else 'O'}" for w in words))
    import_layers(store, path, as_predictions=True, extractor="rules@1")
    pred = store.prediction(sample_document.id, "rules@1")
    assert pred is not None
    assert [sample_document.text[s.start:s.end] for s in pred.spans] == ["Geneva"]


# -- spaCy DocBin --------------------------------------------------------------


def test_docbin_is_training_data_for_spacy(store: GoldStore, sample_document: Document,
                                           tmp_path: Path) -> None:
    import spacy
    from spacy.training import Corpus

    text = sample_document.text
    keller, aster = _span(text, "Maria Keller", "PERSON"), _span(text, "Aster Rail", "ORG")
    store.save_annotation(Annotation(
        doc_id=sample_document.id, status="accept", spans=[keller, aster],
        relations=[Relation(head=keller.key, child=aster.key, label="works_for")]))
    out = tmp_path / "train.spacy"
    export_layers(store, out, format_name="spacy")
    nlp = spacy.blank("en")
    (doc,) = DocBin().from_disk(out).get_docs(nlp.vocab)
    assert [(e.text, e.label_) for e in doc.ents] == [("Maria Keller", "PERSON"),
                                                      ("Aster Rail", "ORG")]
    relations = doc.user_data["reader_annotator"]["relations"]
    assert [list(r) for r in relations] == [[0, 12, "PERSON", 58, 68, "ORG", "works_for"]]
    # What `spacy train` does with --paths.train: a Corpus of Examples with gold entities.
    (example,) = Corpus(out)(nlp)
    assert [e.text for e in example.reference.ents] == ["Maria Keller", "Aster Rail"]


def test_docbin_folder_export_is_sharded(store: GoldStore, tmp_path: Path) -> None:
    docs = [Document.from_text(f"Report number {i} from Geneva.") for i in range(5)]
    store.add_documents(docs)
    store.save_annotations([Annotation(doc_id=d.id, status="accept",
                                       spans=[_span(d.text, "Geneva", "GPE")]) for d in docs])
    result = export_layers(store, tmp_path / "shards", format_name="spacy", shard_size=2)
    assert result.written == 5
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == [
        "part-00000.spacy", "part-00001.spacy", "part-00002.spacy"]
    fresh = GoldStore(tmp_path / "fresh.json")
    assert import_layers(fresh, tmp_path / "shards", add_labels=True).added == 5
    fresh.close()


def test_parallel_export_writes_the_same_bytes(store: GoldStore, tmp_path: Path) -> None:
    import threading

    if threading.active_count() > 1:
        pytest.skip("forked workers are only used from a single-threaded process")
    docs = [Document.from_text(f"Report {i}: Maria Keller met Aster Rail in Geneva.")
            for i in range(70)]
    store.add_documents(docs)
    store.save_annotations([Annotation(doc_id=d.id, status="accept", spans=[
        _span(d.text, "Maria Keller", "PERSON"), _span(d.text, "Geneva", "GPE")]) for d in docs])
    for name, fmt in (("gold.jsonl", "prodigy"), ("gold.conll", "conll")):
        export_layers(store, tmp_path / f"serial-{name}", format_name=fmt, workers=1)
        export_layers(store, tmp_path / f"parallel-{name}", format_name=fmt, workers=2)
        serial = (tmp_path / f"serial-{name}").read_bytes()
        assert serial == (tmp_path / f"parallel-{name}").read_bytes()
        assert serial.count(b"Geneva") >= 70


def test_parallel_docbin_export_holds_the_same_docs(store: GoldStore, tmp_path: Path) -> None:
    import threading

    import spacy

    if threading.active_count() > 1:
        pytest.skip("forked workers are only used from a single-threaded process")
    docs = [Document.from_text(f"Report {i}: Maria Keller met Aster Rail in Geneva.")
            for i in range(150)]
    store.add_documents(docs)
    store.save_annotations([Annotation(doc_id=d.id, status="accept", spans=[
        _span(d.text, "Maria Keller", "PERSON"), _span(d.text, "Geneva", "GPE")]) for d in docs])
    vocab = spacy.blank("en").vocab
    contents = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}.spacy"
        export_layers(store, out, format_name="spacy", workers=workers)
        contents.append([(d.text, [(e.start_char, e.end_char, e.label_) for e in d.ents],
                          d.user_data["reader_annotator"]["doc_id"])
                         for d in DocBin().from_disk(out).get_docs(vocab)])
    assert contents[0] == contents[1]
    assert len(contents[0]) == 150
