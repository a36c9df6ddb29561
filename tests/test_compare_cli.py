"""``reader compare`` and what ``reader evaluate`` adds when it scores several extractors:
the paired comparison, the gold each extractor seeded, and the grounding of strings."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotations.models import Annotation, Document, Prediction, Span
from annotations.store import GoldStore
from reader.cli import app
from reader.commands import common

runner = CliRunner()
WORDS = ["Aster", "Rail", "met", "Keller", "in", "Geneva", "on", "Monday", "and", "the"]


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.console, "width", 200)


@pytest.fixture
def db(gold_path: Path) -> Path:
    """30 gold documents whose gold is good@1's suggestions, 20 of them never reviewed;
    weak@1 finds half of them; strings@1 gave its spans as strings, one hallucinated."""
    rng = random.Random(0)
    documents, annotations, predictions = [], [], []
    for i in range(30):
        words = [rng.choice(WORDS) for _ in range(12)] + [f"doc{i}"]
        text = " ".join(words)
        doc = Document.from_text(text)
        spans, pos = [], 0
        for word in words:
            if word[0].isupper():
                spans.append((pos, pos + len(word), "ORG" if word in ("Aster", "Rail")
                              else "PER"))
            pos += len(word) + 1
        state = "suggested" if i < 20 else "confirmed"
        gold = [Span(start=s, end=e, label=lab, source="good@1", state=state)
                for s, e, lab in spans]
        documents.append(doc)
        annotations.append(Annotation(doc_id=doc.id, spans=gold, status="accept"))
        predictions.append(Prediction(doc_id=doc.id, extractor="good@1", spans=gold))
        predictions.append(Prediction(doc_id=doc.id, extractor="weak@1", spans=gold[::2]))
        predictions.append(Prediction(
            doc_id=doc.id, extractor="strings@1", spans=gold[:1],
            meta={"grounding": {"spans": 2, "exact": 1, "case": 0, "fuzzy": 0,
                                "ungrounded": 1, "overlapping": 0,
                                "examples": [{"text": "[b]Atlantis", "label": "GPE",
                                              "reason": "not found in the text"}]}}))
    with GoldStore(gold_path) as store:
        store.add_documents(documents)
        store.add_entity_labels(["PER", "ORG"])
        store.save_annotations(annotations)
        store.put_predictions(predictions)
    return gold_path


def test_compare_says_which_extractor_is_better_in_a_sentence(db: Path) -> None:
    result = runner.invoke(app, ["compare", "--db", str(db), "-e", "weak@1", "-e", "good@1",
                                 "--rounds", "2000", "--bootstrap", "200"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "good@1 is better than weak@1 on strict F1: +" in out
    assert "95% CI" in out and "p < 0.001" in out
    assert "per label" in out and "Holm" in out
    # The gold is largely good@1's own unchanged suggestions: warned about.
    assert "warning:" in out and "good@1's own suggestions left unchanged" in out


def test_compare_json_and_a_pair_of_the_same_extractor(db: Path) -> None:
    result = runner.invoke(app, ["compare", "--db", str(db), "-e", "good@1", "-e", "weak@1",
                                 "--rounds", "500", "--bootstrap", "100", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    strict = data["entities"]["micro"]["strict"]
    assert data["a"] == "good@1" and data["b"] == "weak@1"
    assert strict["delta"] < 0 and strict["significant"] is True
    assert strict["p_value"] == pytest.approx(1 / 501)
    assert set(data["entities"]["by_label"]) == {"PER", "ORG"}
    assert data["gold_provenance"]["good@1"]["inflated"] is True
    same = runner.invoke(app, ["compare", "--db", str(db), "-e", "good@1", "-e", "good@1"])
    assert same.exit_code == 1 and "exactly two different extractors" in same.output


def test_evaluate_with_several_extractors_compares_every_pair_in_every_output(
        db: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    result = runner.invoke(app, ["evaluate", "--db", str(db), "--rounds", "300",
                                 "--bootstrap", "100", "--json", "--html", str(html)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    pairs = [(c["a"], c["b"]) for c in data["comparisons"]]
    assert pairs == [("good@1", "strings@1"), ("good@1", "weak@1"), ("strings@1", "weak@1")]
    seeded = data["extractors"]["good@1"]["gold_provenance"]
    total = seeded["gold_spans"]
    assert seeded["unreviewed"] + seeded["confirmed_unchanged"] == total
    assert seeded["unreviewed"] > seeded["confirmed_unchanged"] > 0
    assert seeded["inflated"] is True and seeded["warning_share"] == 0.5
    assert data["extractors"]["weak@1"]["gold_provenance"]["share_unchanged"] == 0.0
    grounding = data["extractors"]["strings@1"]["grounding"]
    assert grounding["spans"] == 60 and grounding["ungrounded"] == 30
    assert grounding["rate"] == 0.5
    assert data["extractors"]["weak@1"]["grounding"] is None
    page = html.read_text(encoding="utf-8")
    assert "Paired comparisons" in page and "is better than" in page
    assert 'class="warning"' in page and "own suggestions left unchanged" in page
    assert "Grounding of spans given as strings" in page
    assert "[b]Atlantis" not in page or "&#x27;[b]Atlantis&#x27;" in page

    tables = runner.invoke(app, ["evaluate", "--db", str(db), "--rounds", "300",
                                 "--bootstrap", "50", "-e", "weak@1", "-e", "good@1"])
    out = " ".join(tables.output.split())
    assert "good@1 is better than weak@1 on strict F1" in out
    assert "Gold spans each extractor suggested itself" in out
    assert "warning:" in out


def test_evaluate_of_one_extractor_has_no_comparison(db: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--db", str(db), "-e", "weak@1", "--json",
                                 "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["comparisons"] == []


def test_extractor_names_are_shown_as_text_not_markup(gold_path: Path) -> None:
    document = Document.from_text("Ann met Bob.")
    spans = [Span(start=0, end=3, label="PER"), Span(start=8, end=11, label="PER")]
    with GoldStore(gold_path) as store:
        store.add_documents([document])
        store.add_entity_labels(["PER"])
        store.save_annotation(Annotation(doc_id=document.id, spans=spans, status="accept"))
        store.put_predictions([
            Prediction(doc_id=document.id, extractor="[/x]", spans=spans),
            Prediction(doc_id=document.id, extractor="[bold]b", spans=spans[:1])])
    result = runner.invoke(app, ["compare", "--db", str(gold_path), "-e", "[/x]", "-e",
                                 "[bold]b", "--rounds", "100"])
    assert result.exit_code == 0, result.output
    assert "F1 [/x] %" in result.output and "F1 [bold]b %" in result.output
