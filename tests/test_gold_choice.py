"""The adjudicated annotation (``gold``) is the gold of its document in evaluate and export,
``--annotator`` chooses otherwise, and both commands say which they used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotations.models import Annotation, Document, Prediction, Span
from annotations.store import GoldStore
from reader.cli import app

TEXT = "Maria Keller met Aster Rail in Geneva on Monday."
OTHER = "Aster Rail hired Maria Keller in Bern."
PER, ORG = Span(start=0, end=12, label="PER"), Span(start=17, end=27, label="ORG")
runner = CliRunner()


@pytest.fixture
def db(gold_path: Path) -> Path:
    """First document: alice, bob and the adjudicated gold; second: alice only."""
    first, second = Document.from_text(TEXT), Document.from_text(OTHER)
    with GoldStore(gold_path) as store:
        store.add_documents([first, second])
        store.add_entity_labels(["PER", "ORG"])
        store.save_annotations([
            Annotation(doc_id=first.id, annotator="alice", spans=[PER], status="accept"),
            Annotation(doc_id=first.id, annotator="bob", spans=[ORG], status="accept"),
            Annotation(doc_id=first.id, annotator="gold", spans=[PER, ORG], status="accept"),
            Annotation(doc_id=second.id, annotator="alice", spans=[], status="accept"),
        ])
        store.put_predictions([Prediction(doc_id=first.id, extractor="m@1", spans=[PER]),
                               Prediction(doc_id=second.id, extractor="m@1")])
    return gold_path


def test_evaluate_takes_the_adjudicated_annotation_and_says_so(db: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--db", str(db), "--json", "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    assert ("gold: the adjudicated annotation (gold) on 1 document(s); annotator alice on 1"
            in result.stderr)
    data = json.loads(result.stdout)
    assert data["gold_annotators"] == {"alice": 1, "gold": 1}
    strict = data["extractors"]["m@1"]["entities"]["micro"]["strict"]
    assert (strict["correct"], strict["missed"]) == (1, 1)  # gold has PER and ORG


def test_evaluate_annotator_option_chooses_another_gold(db: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--db", str(db), "--json", "--bootstrap", "0",
                                 "--annotator", "bob"])
    assert result.exit_code == 0, result.output
    assert "gold: annotator bob (--annotator) on 1 document(s)" in result.stderr
    strict = json.loads(result.stdout)["extractors"]["m@1"]["entities"]["micro"]["strict"]
    assert (strict["correct"], strict["spurious"]) == (0, 1)


def test_without_adjudication_several_annotators_is_still_an_error(db: Path) -> None:
    with GoldStore(db) as store:
        store.delete_annotation(Document.from_text(TEXT).id, "gold")
    result = runner.invoke(app, ["evaluate", "--db", str(db), "--bootstrap", "0"])
    assert result.exit_code == 1
    assert "no adjudicated one ('gold'); choose one with --annotator" in " ".join(
        result.stderr.split())


def test_export_writes_the_adjudicated_annotation_where_there_is_one(
    db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "gold.jsonl"
    result = runner.invoke(app, ["export", "--db", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "the adjudicated annotation (gold) on 1 document(s)" in result.stderr
    tasks = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(t["text"], [s["label"] for s in t["spans"]]) for t in tasks] == [
        (TEXT, ["PER", "ORG"]), (OTHER, [])]
    result = runner.invoke(app, ["export", "--db", str(db), "-o", str(out),
                                 "--annotator", "bob"])
    assert result.exit_code == 0, result.output
    tasks = [json.loads(line) for line in out.read_text().splitlines()]
    assert [[s["label"] for s in t["spans"]] for t in tasks] == [["ORG"]]
