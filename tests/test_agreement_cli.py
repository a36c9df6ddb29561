"""``reader agreement``: tables, JSON, HTML, and which annotations take part."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotations.models import Annotation, Document, Prediction, Relation, Span
from annotations.store import GoldStore
from reader.cli import app
from reader.commands import common

TEXT = "Maria Keller met Aster Rail in <b>Geneva</b> on Monday."
OTHER = "Aster Rail hired Maria Keller in Bern."
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["agreement", *args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.console, "width", 220)


@pytest.fixture
def db(gold_path: Path) -> Path:
    """alice and bob on two documents (bob's second one still open), an adjudicated
    gold, and extractor model@1.  The label ``[red]X`` must show as written."""
    first, second = Document.from_text(TEXT), Document.from_text(OTHER)
    per, org, loc = (Span(start=0, end=12, label="PER"), Span(start=17, end=27, label="ORG"),
                     Span(start=31, end=44, label="[red]X"))
    works = Relation(head=(0, 12), child=(17, 27), label="works_for")
    with GoldStore(gold_path) as store:
        store.add_documents([first, second])
        store.add_entity_labels(["PER", "ORG", "[red]X"])
        store.add_relation_labels(["works_for"])
        store.save_annotations([
            Annotation(doc_id=first.id, annotator="alice", spans=[per, org, loc],
                       relations=[works], status="accept"),
            Annotation(doc_id=first.id, annotator="bob",
                       spans=[per, Span(start=17, end=27, label="PER")], status="accept"),
            Annotation(doc_id=second.id, annotator="alice",
                       spans=[Span(start=0, end=10, label="ORG")], status="accept"),
            Annotation(doc_id=second.id, annotator="bob",
                       spans=[Span(start=0, end=10, label="ORG")], status=None),
            Annotation(doc_id=first.id, annotator="gold", spans=[per, org], status="accept"),
        ])
        store.put_predictions([Prediction(doc_id=first.id, extractor="model@1", spans=[per])])
    return gold_path


def test_json_compares_accepted_annotations_of_everyone_but_gold(db: Path) -> None:
    result = run("--db", str(db), "--json", "--bootstrap", "50")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "reader-agreement" and data["version"] == 1
    assert data["annotators"] == ["alice", "bob"]
    pair = data["pairs"][0]
    assert (pair["a"], pair["b"], pair["documents"]) == ("alice", "bob", 1)
    exact = pair["spans"]["exact"]["micro"]
    assert (exact["agreed"], exact["a"], exact["b"]) == (1, 3, 2)
    assert exact["f1"] == pytest.approx(2 / 5)
    assert pair["spans"]["unlabelled"]["micro"]["agreed"] == 2
    assert pair["relations"]["boundaries"]["a"] == 1
    assert data["alpha_u"]["documents"] == 1
    assert set(data["alpha_u"]["by_label"]) == {"PER", "ORG", "[red]X"}
    kinds = {d["kind"] for d in data["diagnostics"]}
    assert {"few_shared_documents", "label_never_used"} <= kinds


def test_status_all_and_an_extractor_as_annotator(db: Path) -> None:
    result = run("--db", str(db), "--json", "--status", "all", "--bootstrap", "0",
                 "--annotator", "alice", "--annotator", "bob", "--extractor", "model@1")
    data = json.loads(result.output)
    assert data["annotators"] == ["alice", "bob", "model@1"]
    assert data["extractors"] == ["model@1"]
    by_pair = {(p["a"], p["b"]): p for p in data["pairs"]}
    assert by_pair[("alice", "bob")]["documents"] == 2
    assert by_pair[("alice", "model@1")]["documents"] == 1
    assert data["documents"]["shared_by_all"] == 1


def test_tables_show_names_as_written(db: Path) -> None:
    result = run("--db", str(db), "--by-label", "--bootstrap", "20")
    assert result.exit_code == 0, result.output
    assert "[red]X" in result.output
    assert "Cohen's κ" in result.output and "α_U" in result.output
    assert "whitespace-separated tokens" in result.output
    assert "alice and bob annotated only 1 document(s) in common" in result.output


def test_html_report_escapes_data(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "agreement.html"
    result = run("--db", str(db), "--html", str(out), "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert '<section class="agreement">' in page
    assert "<b>Geneva</b>" not in page and "&lt;b&gt;Geneva&lt;/b&gt;" in page


def test_one_annotator_is_an_error_not_a_figure(db: Path) -> None:
    result = runner.invoke(app, ["agreement", "--db", str(db), "--annotator", "alice"])
    assert result.exit_code == 1
    assert "at least two annotators" in result.output
    result = runner.invoke(app, ["agreement", "--db", str(db), "--annotator", "carol"])
    assert result.exit_code == 1 and "no annotations by 'carol'" in result.output


def test_html_report_never_overwrites_the_store(db: Path) -> None:
    before = db.read_bytes()
    result = runner.invoke(app, ["agreement", "--db", str(db), "--html", str(db)])
    assert result.exit_code == 1 and "the gold store's own file" in " ".join(result.output.split())
    assert db.read_bytes() == before


def test_unknown_extractor_is_an_error(db: Path) -> None:
    result = runner.invoke(app, ["agreement", "--db", str(db), "--extractor", "nope@0"])
    assert result.exit_code == 1
    assert "unknown extractor 'nope@0'" in " ".join(result.output.split())


def test_document_layers_and_align_spans_for_adjudication(db: Path) -> None:
    from annotations.agreement import align_spans, document_layers

    with GoldStore(db, read_only=True) as store:
        doc_id = store.document_ids()[0]
        layers = document_layers(store, doc_id, extractors=["model@1"])
    assert list(layers) == ["alice", "bob", "model@1"]
    groups = align_spans({name: layer.spans for name, layer in layers.items()})
    assert [g.agreed for g in groups] == [True, False, False]
    assert groups[1].by_annotator == {"alice": ((17, 27, "ORG"),), "bob": ((17, 27, "PER"),),
                                      "model@1": ()}
