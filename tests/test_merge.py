"""``reader merge``: annotators' stores into one, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotations.merge import MergeError, MergeSource, merge_stores
from annotations.models import (
    Annotation,
    Document,
    EntityLabel,
    LabelScheme,
    Prediction,
    Relation,
    Span,
)
from annotations.store import GoldStore
from reader.cli import app

TEXT = "Maria Keller met Aster Rail in Geneva on Monday."
OTHER = "Aster Rail hired Maria Keller in Bern."
FIRST, SECOND = Document.from_text(TEXT), Document.from_text(OTHER)
PER, ORG = Span(start=0, end=12, label="PER"), Span(start=17, end=27, label="ORG")
runner = CliRunner()


def make_store(path: Path, annotations: list[Annotation], *, documents=(FIRST, SECOND),
               scheme: LabelScheme | None = None, predictions=()) -> Path:
    with GoldStore(path) as store:
        store.add_documents(documents)
        store.set_labels(scheme or LabelScheme().with_entities(["PER", "ORG"])
                         .with_relations(["works_for"]))
        store.save_annotations(annotations)
        store.put_predictions(predictions, add_labels=False)
    return path


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_default_annotators_take_the_file_stem_and_documents_are_added(tmp_path: Path):
    alice = make_store(tmp_path / "alice.json", [
        Annotation(doc_id=FIRST.id, spans=[PER, ORG], status="accept",
                   relations=[Relation(head=(0, 12), child=(17, 27), label="works_for")])])
    bob = make_store(tmp_path / "bob.json", [
        Annotation(doc_id=FIRST.id, spans=[PER], status="accept"),
        Annotation(doc_id=SECOND.id, spans=[], status=None)])
    team = tmp_path / "team.json"
    report = merge_stores(team, [MergeSource(alice), MergeSource(bob)])
    assert report.documents_added == 2
    assert dict(report.annotations_added) == {"alice": 1, "bob": 2}
    with GoldStore(team, read_only=True) as store:
        assert store.annotators() == ["alice", "bob"]
        assert store.annotation(FIRST.id, "alice").relations[0].label == "works_for"
        assert store.annotation(FIRST.id, "bob").spans == [PER]
        assert store.document_ids() == [FIRST.id, SECOND.id]
    # Merging the same files again changes nothing and says so.
    again = merge_stores(team, [MergeSource(alice), MergeSource(bob)])
    assert again.unchanged == 3 and not again.annotations_added


def test_as_names_each_file_and_extractors_come_with_predictions(tmp_path: Path):
    one = make_store(tmp_path / "one.json", [Annotation(doc_id=FIRST.id, spans=[PER])],
                     predictions=[Prediction(doc_id=FIRST.id, extractor="model@1",
                                             spans=[ORG])])
    two = make_store(tmp_path / "two.json", [Annotation(doc_id=FIRST.id, spans=[ORG])])
    team = tmp_path / "team.json"
    result = runner.invoke(app, ["merge", str(one), str(two), "--db", str(team),
                                 "--as", "carol", "--as", "dave", "--predictions"])
    assert result.exit_code == 0, result.output
    assert "default -> carol" in " ".join(result.output.split())
    with GoldStore(team, read_only=True) as store:
        assert store.annotators() == ["carol", "dave"]
        assert store.prediction(FIRST.id, "model@1").spans == [ORG]


def test_a_conflict_writes_nothing_and_leaves_the_target_byte_identical(tmp_path: Path):
    team = make_store(tmp_path / "team.json", [
        Annotation(doc_id=FIRST.id, annotator="alice", spans=[PER], status="accept")],
        documents=(FIRST,))
    alice = make_store(tmp_path / "alice.json", [
        Annotation(doc_id=FIRST.id, spans=[PER, ORG], status="accept"),
        Annotation(doc_id=SECOND.id, spans=[ORG], status="accept")])
    before = files(tmp_path)
    with pytest.raises(MergeError) as caught:
        merge_stores(team, [MergeSource(alice)])
    assert "annotator 'alice': the target already has a different annotation" in str(caught.value)
    assert files(tmp_path) == before
    result = runner.invoke(app, ["merge", str(alice), "--db", str(team)])
    assert result.exit_code == 1
    assert "nothing was merged" in result.output
    assert files(tmp_path) == before


def test_two_sources_disagreeing_under_one_name_is_a_conflict(tmp_path: Path):
    first = make_store(tmp_path / "a" / "alice.json",
                       [Annotation(doc_id=FIRST.id, spans=[PER])])
    second = make_store(tmp_path / "b" / "alice.json",
                        [Annotation(doc_id=FIRST.id, spans=[ORG])])
    team = tmp_path / "team.json"
    with pytest.raises(MergeError, match="differs from the one in"):
        merge_stores(team, [MergeSource(first), MergeSource(second)])
    assert not team.exists()  # a missing target is not created by a refused merge


def test_label_schemes_are_united_and_disagreements_reported(tmp_path: Path):
    team = make_store(tmp_path / "team.json", [], scheme=LabelScheme(entities=[
        EntityLabel(name="PER", key="1", colour="#111111"),
        EntityLabel(name="ORG", key="2", colour="#444444")]))
    alice = make_store(tmp_path / "alice.json", [
        Annotation(doc_id=FIRST.id, spans=[PER, Span(start=31, end=37, label="GPE")])],
        scheme=LabelScheme(entities=[EntityLabel(name="PER", key="1", colour="#222222"),
                                     EntityLabel(name="GPE", key="2", colour="#333333")]))
    report = merge_stores(team, [MergeSource(alice)])
    assert "entity GPE" in report.labels_added
    assert any("'PER' is defined otherwise" in w for w in report.warnings)
    assert any("'GPE' uses key '2'" in w for w in report.warnings)
    with GoldStore(team, read_only=True) as store:
        scheme = store.labels
    assert scheme.entity("PER").colour == "#111111"
    assert scheme.entity("GPE").colour == "#333333" and scheme.entity("GPE").key is None


def test_unknown_labels_are_refused_unless_added(tmp_path: Path):
    alice = make_store(tmp_path / "alice.json",
                       [Annotation(doc_id=FIRST.id, spans=[PER])])
    # A label in the annotations but in no scheme: edit the source as a file would arrive.
    data = json.loads(alice.read_text())
    data["labels"]["1"]["entities"] = []
    alice.write_text(json.dumps(data))
    team = tmp_path / "team.json"
    with pytest.raises(MergeError, match="unknown entity label"):
        merge_stores(team, [MergeSource(alice)])
    report = merge_stores(team, [MergeSource(alice)], add_labels=True)
    assert report.annotations_added["alice"] == 1
    with GoldStore(team, read_only=True) as store:
        assert "PER" in store.labels.entity_names


def test_sources_are_opened_read_only_and_the_target_is_not_a_source(tmp_path: Path):
    alice = make_store(tmp_path / "alice.json", [Annotation(doc_id=FIRST.id, spans=[PER])])
    before = files(tmp_path)
    with pytest.raises(MergeError, match="is the target store itself"):
        merge_stores(alice, [MergeSource(alice)])
    assert files(tmp_path) == before
    team = tmp_path / "team.json"
    merge_stores(team, [MergeSource(alice)])
    assert (tmp_path / "alice.json").read_bytes() == before["alice.json"]
    assert not (tmp_path / "alice.json.lock").exists() or "alice.json.lock" in before


def test_as_must_match_the_number_of_files(tmp_path: Path):
    alice = make_store(tmp_path / "alice.json", [])
    result = runner.invoke(app, ["merge", str(alice), "--db", str(tmp_path / "t.json"),
                                 "--as", "x", "--as", "y"])
    assert result.exit_code == 1 and "once per source" in result.output


def test_save_annotations_with_scheme_and_predictions_is_one_transaction(tmp_path: Path):
    path = make_store(tmp_path / "team.json", [], documents=(FIRST,))
    scheme = LabelScheme().with_entities(["PER", "ORG", "GPE"])
    with GoldStore(path) as store:
        journal = store.journal_path.read_bytes()
        with pytest.raises(ValueError, match="ends outside the text"):
            store.save_annotations(
                [Annotation(doc_id=SECOND.id, spans=[Span(start=0, end=3, label="GPE")])],
                documents=[SECOND], labels=scheme,
                predictions=[Prediction(doc_id=FIRST.id, extractor="m@1",
                                        spans=[Span(start=40, end=400, label="PER")])])
        assert store.journal_path.read_bytes() == journal
        assert not store.has_document(SECOND.id) and "GPE" not in store.labels.entity_names
        store.save_annotations(
            [Annotation(doc_id=SECOND.id, spans=[Span(start=0, end=3, label="GPE")])],
            documents=[SECOND], labels=scheme,
            predictions=[Prediction(doc_id=SECOND.id, extractor="m@1", spans=[ORG])])
    with GoldStore(path, read_only=True) as store:
        assert store.labels == scheme
        assert store.annotation(SECOND.id).spans[0].label == "GPE"
        assert store.prediction(SECOND.id, "m@1").spans == [ORG]
