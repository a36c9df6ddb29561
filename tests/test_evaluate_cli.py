"""``reader evaluate``: tables, JSON, HTML, and the errors that must never show a score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotations.models import Annotation, Document, Prediction, Relation, Span
from annotations.store import GoldStore
from reader.cli import app
from reader.commands import common

TEXT = "Maria Keller met Aster Rail in Geneva on Monday."
OTHER = "Aster Rail hired Maria Keller in Bern."

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["evaluate", *args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a 200-column terminal shows them, so that cells are not wrapped."""
    monkeypatch.setattr(common.console, "width", 200)


@pytest.fixture
def db(gold_path: Path) -> Path:
    """Two gold documents, one open; extractor good@1 and extractor weak@1 on all three."""
    first, second = Document.from_text(TEXT, {"title": "First"}), Document.from_text(OTHER)
    third = Document.from_text("Not annotated yet.")
    gold1 = [Span(start=0, end=12, label="PER"), Span(start=17, end=27, label="ORG"),
             Span(start=31, end=37, label="LOC")]
    gold2 = [Span(start=0, end=10, label="ORG"), Span(start=17, end=29, label="PER"),
             Span(start=33, end=37, label="LOC")]
    with GoldStore(gold_path) as store:
        store.add_documents([first, second, third])
        store.add_entity_labels(["PER", "ORG", "LOC"])
        store.add_relation_labels(["works_for"])
        store.save_annotation(Annotation(
            doc_id=first.id, spans=gold1, status="accept",
            relations=[Relation(head=(0, 12), child=(17, 27), label="works_for")]))
        store.save_annotation(Annotation(doc_id=second.id, spans=gold2, status="accept"))
        store.save_annotation(Annotation(doc_id=third.id, spans=[], status=None))
        store.put_predictions([
            Prediction(doc_id=first.id, extractor="good@1", spans=gold1,
                       relations=[Relation(head=(0, 12), child=(17, 27), label="works_for")]),
            Prediction(doc_id=second.id, extractor="good@1", spans=gold2[:2]),
            Prediction(doc_id=third.id, extractor="good@1"),
            Prediction(doc_id=first.id, extractor="weak@1",
                       spans=[Span(start=0, end=5, label="PER"),
                              Span(start=17, end=27, label="LOC")]),
            Prediction(doc_id=second.id, extractor="weak@1",
                       spans=[Span(start=0, end=10, label="ORG")]),
        ])
    return gold_path


def test_every_extractor_side_by_side_with_best_marked(db: Path):
    result = run("--db", str(db), "--bootstrap", "100")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "good@1" in out and "weak@1" in out
    assert "2 gold document(s)" in out
    assert "strict" in out and "type" in out and "F1" in out
    # good@1 finds 5 of 6 gold entities exactly: strict F1 = 2*1*(5/6)/(1+5/6) = 90.9.
    good_row = next(line for line in out.splitlines() if line.strip().startswith("good@1"))
    assert "90.9*" in good_row
    assert "bootstrap interval" in out


def test_json_has_the_documented_keys_and_the_numbers(db: Path):
    result = run("--db", str(db), "--json", "--bootstrap", "50", "--seed", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "reader-evaluation" and data["version"] == 1
    assert data["documents"] == 2
    assert data["schemes"] == ["strict", "exact", "partial", "type"]
    assert data["bootstrap"] == {"samples": 50, "seed": 3, "confidence": 0.95}
    good = data["extractors"]["good@1"]
    strict = good["entities"]["micro"]["strict"]
    assert (strict["correct"], strict["missed"], strict["spurious"]) == (5, 1, 0)
    assert strict["recall"] == pytest.approx(5 / 6)
    assert len(strict["f1_ci"]) == 2
    assert set(good["entities"]["by_label"]) == {"PER", "ORG", "LOC"}
    assert set(good["entities"]["macro"]["strict"]) == {"precision", "recall", "f1"}
    assert good["relations"]["micro"]["strict"]["f1"] == 1.0
    assert {"gold": "LOC", "predicted": None, "count": 1} in good["confusion"]
    assert good["missed"] == [{"text": "Bern", "label": "LOC", "count": 1}]
    assert good["worst_documents"][0]["f1"] < 1.0
    weak = data["extractors"]["weak@1"]["entities"]["micro"]
    assert weak["strict"]["incorrect"] == 2 and weak["partial"]["partial"] == 1


def test_chosen_extractor_and_scheme_only(db: Path):
    result = run("--db", str(db), "--json", "--extractor", "weak@1", "--scheme", "partial",
                 "--bootstrap", "0")
    data = json.loads(result.stdout)
    assert list(data["extractors"]) == ["weak@1"]
    assert list(data["extractors"]["weak@1"]["entities"]["micro"]) == ["partial"]
    assert data["extractors"]["weak@1"]["entities"]["micro"]["partial"]["f1_ci"] is None


def test_by_label_tables(db: Path):
    result = run("--db", str(db), "--extractor", "good@1", "--scheme", "strict", "--by-label",
                 "--bootstrap", "0")
    assert result.exit_code == 0
    assert "good@1: strict, per label" in result.output
    assert "(macro)" in result.output


def test_html_report_is_written(db: Path, tmp_path: Path):
    report = tmp_path / "report.html"
    result = run("--db", str(db), "--html", str(report), "--bootstrap", "20")
    assert result.exit_code == 0, result.output
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "good@1" in page and "<svg" in page


def test_unknown_extractor_fails_without_a_score(db: Path):
    result = run("--db", str(db), "--extractor", "nope@0")
    assert result.exit_code == 1
    assert "unknown extractor 'nope@0'" in result.stderr
    assert "F1" not in result.stdout


def test_no_gold_fails_without_a_score(gold_path: Path):
    with GoldStore(gold_path) as store:
        d = Document.from_text(TEXT)
        store.add_documents([d])
        store.add_entity_labels(["PER"])
        store.put_predictions([Prediction(doc_id=d.id, extractor="m@1")])
    result = run("--db", str(gold_path), "--json")
    assert result.exit_code == 1
    assert "no gold documents" in result.stderr
    assert result.stdout == ""


def test_missing_predictions_fail_unless_counted_as_empty(db: Path):
    with GoldStore(db) as store:
        second = store.find_document(OTHER)
        assert second is not None
        store.put_predictions([Prediction(doc_id=store.find_document(TEXT), extractor="half@1")])
    result = run("--db", str(db), "--extractor", "half@1", "--json")
    assert result.exit_code == 1
    assert "no predictions for 1 of 2 gold documents" in result.stderr
    result = run("--db", str(db), "--extractor", "half@1", "--json", "--missing-as-empty",
                 "--bootstrap", "0")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["extractors"]["half@1"]["entities"]["micro"]["strict"][
        "missed"] == 6


def test_article_text_in_tables_is_data_not_markup(gold_path: Path):
    text = "[bold]Evil[/bold] \x1b[31mred\x1b[0m Corp"
    d = Document.from_text(text)
    with GoldStore(gold_path) as store:
        store.add_documents([d])
        store.add_entity_labels(["ORG"])
        store.save_annotation(Annotation(doc_id=d.id, status="accept",
                                         spans=[Span(start=0, end=len(text), label="ORG")]))
        store.put_predictions([Prediction(doc_id=d.id, extractor="m@1")])
    result = run("--db", str(gold_path), "--bootstrap", "0")
    assert result.exit_code == 0
    assert "[bold]Evil[/bold]" in result.output
    assert "\x1b" not in result.output and "\u241b[31mred" in result.output
