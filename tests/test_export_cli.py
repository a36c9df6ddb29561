"""``reader export``: the formats, the status/annotator filters and predictions."""

from __future__ import annotations

from pathlib import Path

import pytest
import srsly
from typer.testing import CliRunner

from annotations.models import Annotation, Document, Prediction, Span
from annotations.store import GoldStore
from reader.cli import app

runner = CliRunner()


def _gold(path: Path, document: Document) -> None:
    """Two annotators on the sample document (one accepted, one rejected) and a prediction."""
    text = document.text
    keller = Span(start=0, end=12, label="PERSON")
    geneva_at = text.index("Geneva")
    geneva = Span(start=geneva_at, end=geneva_at + 6, label="GPE")
    with GoldStore(path) as store:
        store.save_annotations([
            Annotation(doc_id=document.id, annotator="ann", spans=[keller], status="accept"),
            Annotation(doc_id=document.id, annotator="bob", spans=[geneva], status="reject"),
        ])
        store.put_predictions([Prediction(doc_id=document.id, extractor="llm@1", spans=[
            geneva.model_copy(update={"source": "llm@1", "state": "suggested"})])])


def test_default_export_is_prodigy_jsonl_of_accepted_annotations(
    store: GoldStore, sample_document: Document, gold_path: Path, tmp_path: Path
) -> None:
    store.close()
    _gold(gold_path, sample_document)
    out = tmp_path / "gold.jsonl"
    result = runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 annotation(s) with status accept written as prodigy" in result.output
    (task,) = list(srsly.read_jsonl(out))
    assert (task["answer"], task["_annotator_id"]) == ("accept", "ann")
    assert [s["text"] for s in task["spans"]] == ["Maria Keller"]


def test_status_and_annotator_filters(store: GoldStore, sample_document: Document,
                                      gold_path: Path, tmp_path: Path) -> None:
    store.close()
    _gold(gold_path, sample_document)
    out = tmp_path / "all.jsonl"
    assert runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(out),
                               "--status", "all"]).exit_code == 0
    assert [t["_annotator_id"] for t in srsly.read_jsonl(out)] == ["ann", "bob"]
    assert runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(out),
                               "--status", "all", "--annotator", "bob"]).exit_code == 0
    assert [t["answer"] for t in srsly.read_jsonl(out)] == ["reject"]
    bad = runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(out),
                              "--status", "maybe"])
    assert bad.exit_code == 1


def test_predictions_export_in_conll_by_extension(store: GoldStore, sample_document: Document,
                                                  gold_path: Path, tmp_path: Path) -> None:
    store.close()
    _gold(gold_path, sample_document)
    out = tmp_path / "pred.conll"
    result = runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(out),
                                 "--extractor", "llm@1"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "-DOCSTART- -X- O O"
    assert "Geneva B-GPE" in lines and "Maria O" in lines


def test_brat_export_writes_a_folder_with_annotation_conf(
    store: GoldStore, sample_document: Document, gold_path: Path, tmp_path: Path
) -> None:
    store.close()
    _gold(gold_path, sample_document)
    out = tmp_path / "brat"
    result = runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(out),
                                 "--format", "brat"])
    assert result.exit_code == 0, result.output
    stem = f"{sample_document.id}-ann"
    assert (out / f"{stem}.txt").read_text() == sample_document.text
    assert (out / f"{stem}.ann").read_text() == "T1\tPERSON 0 12\tMaria Keller\n"
    assert "PERSON" in (out / "annotation.conf").read_text()


def test_unknown_format_and_wrong_output_kind_are_refused(
    store: GoldStore, gold_path: Path, tmp_path: Path
) -> None:
    store.close()
    result = runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(tmp_path / "x"),
                                 "--format", "xml"])
    assert result.exit_code == 1 and "unknown format 'xml'" in result.output
    (tmp_path / "file").write_text("")
    result = runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(tmp_path / "file"),
                                 "--format", "brat"])
    assert result.exit_code == 1 and "brat writes a folder" in result.output


# -- names checked again on the way out (issue 24) ------------------------------------


def _hand_edited(path: Path, document: Document, old: str, new: str) -> None:
    """A store as an older version or a hand edit may leave it: the span label ``old``
    replaced by ``new`` in the file itself (the store checks names on the way in)."""
    import re

    _gold(path, document)
    with GoldStore(path):
        pass  # closed: every edit folded into the main file
    text = path.read_text(encoding="utf-8")
    edited = re.sub(r'("label"\s*:\s*)' + re.escape(srsly.json_dumps(old)),
                    lambda m: m.group(1) + srsly.json_dumps(new), text)
    assert edited != text
    path.write_text(edited, encoding="utf-8")


@pytest.mark.parametrize("fmt", ["brat", "conll", "prodigy", "doccano", "spacy"])
def test_a_stored_label_that_would_break_a_format_is_refused_naming_the_record(
        store: GoldStore, sample_document: Document, gold_path: Path, tmp_path: Path,
        fmt: str) -> None:
    store.close()
    injected = "PERSON\nT9\tGPE 0 5\tMaria"
    _hand_edited(gold_path, sample_document, "PERSON", injected)
    out = tmp_path / ("out" if fmt == "brat" else f"out.{fmt}")
    result = runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(out),
                                 "--format", fmt])
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert sample_document.id[:12] in message and "'ann'" in message
    assert "contains whitespace" in message or "control" in message
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_stored_extractor_name_with_a_tab_is_refused(
        store: GoldStore, sample_document: Document, gold_path: Path, tmp_path: Path) -> None:
    store.close()
    _hand_edited(gold_path, sample_document, "GPE", "G\tPE")
    out = tmp_path / "pred.conll"
    result = runner.invoke(app, ["export", "--db", str(gold_path), "-o", str(out),
                                 "--extractor", "llm@1"])
    assert result.exit_code == 1 and "llm@1" in result.output
    assert "Traceback" not in result.output and not out.exists()
