"""``reader import``: plain articles as before, and annotated files with --as-gold or
--as-predictions, all or nothing."""

from __future__ import annotations

from pathlib import Path

import srsly
from typer.testing import CliRunner

from annotations.models import Document
from annotations.store import GoldStore
from reader.cli import app

runner = CliRunner()
TEXT = "Aster Rail hired Maria Keller in Geneva."


def _prodigy(path: Path, *tasks: dict) -> Path:
    srsly.write_jsonl(path, tasks)
    return path


def _task(text: str = TEXT, **extra: object) -> dict:
    return {"text": text, "spans": [{"start": 0, "end": 10, "label": "ORG"},
                                    {"start": 17, "end": 29, "label": "PERSON"}],
            "relations": [{"head_span": {"start": 17, "end": 29},
                           "child_span": {"start": 0, "end": 10}, "label": "works_for"}],
            **extra}


def test_plain_article_import_still_works(gold_path: Path, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A short article.\n")
    result = runner.invoke(app, ["import", str(tmp_path / "a.txt"), "--db", str(gold_path)])
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    with GoldStore(gold_path, read_only=True) as store:
        assert [d.text for d in store.documents()] == ["A short article.\n"]


def test_as_gold_imports_documents_spans_and_relations(gold_path: Path, tmp_path: Path) -> None:
    path = _prodigy(tmp_path / "gold.jsonl", _task(answer="accept"))
    result = runner.invoke(app, ["import", str(path), "--db", str(gold_path), "--as-gold",
                                 "--annotator", "ann", "--add-labels"])
    assert result.exit_code == 0, result.output
    assert "1 annotation(s) added, 0 updated, 0 skipped" in result.output
    with GoldStore(gold_path, read_only=True) as store:
        ann = store.annotation(Document.from_text(TEXT).id, "ann")
        assert ann is not None and ann.status == "accept"
        assert [(r.head, r.child, r.label) for r in ann.relations] == [
            ((17, 29), (0, 10), "works_for")]


def test_failed_import_stores_nothing_and_lists_every_problem(
    gold_path: Path, tmp_path: Path
) -> None:
    good = _prodigy(tmp_path / "good.jsonl", _task())
    bad = _prodigy(tmp_path / "bad.jsonl", _task(text="Short."),
                   {"text": "Nothing wrong."})
    result = runner.invoke(app, ["import", str(good), str(bad), "--db", str(gold_path),
                                 "--as-gold", "--add-labels"])
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    # Both spans of line 1 are outside the text, and so is its relation.
    assert result.output.count("rejected") == 3
    # Undo the console's wrapping, which may also fold a long temporary path mid-word.
    output = "".join(result.output.split())
    expected = f"{bad}, line 1, spans[0]: span 0-10 is outside the text (length 6)"
    assert "".join(expected.split()) in output
    # There was no store: a failed import leaves no file behind (no store, journal, lock).
    assert sorted(p.name for p in gold_path.parent.iterdir()) == ["bad.jsonl", "good.jsonl"]


def test_predictions_need_an_extractor_and_stored_texts(gold_path: Path, tmp_path: Path
                                                        ) -> None:
    path = _prodigy(tmp_path / "pred.jsonl", _task())
    result = runner.invoke(app, ["import", str(path), "--db", str(gold_path),
                                 "--as-predictions"])
    assert result.exit_code == 1 and "--extractor" in result.output
    result = runner.invoke(app, ["import", str(path), "--db", str(gold_path),
                                 "--as-predictions", "--extractor", "llm@1", "--add-labels"])
    assert result.exit_code == 1 and "no stored document has this text" in result.output
    (tmp_path / "a.txt").write_text(TEXT)
    assert runner.invoke(app, ["import", str(tmp_path / "a.txt"), "--db",
                               str(gold_path)]).exit_code == 0
    result = runner.invoke(app, ["import", str(path), "--db", str(gold_path),
                                 "--as-predictions", "--extractor", "llm@1", "--add-labels"])
    assert result.exit_code == 0, result.output
    with GoldStore(gold_path, read_only=True) as store:
        pred = store.prediction(Document.from_text(TEXT).id, "llm@1")
        assert pred is not None and len(pred.spans) == 2 and len(pred.relations) == 1


def test_format_is_detected_and_answer_sets_the_default_status(
    gold_path: Path, tmp_path: Path
) -> None:
    doccano = tmp_path / "doccano.jsonl"
    srsly.write_jsonl(doccano, [{"text": TEXT, "label": [[33, 39, "GPE"]]}])
    conll = tmp_path / "more.conll"
    conll.write_text("-DOCSTART- O\n\nBerlin B-GPE\nnews O\n")
    result = runner.invoke(app, ["import", str(doccano), str(conll), "--db", str(gold_path),
                                 "--as-gold", "--add-labels", "--answer", "open"])
    assert result.exit_code == 0, result.output
    assert "(doccano, conll)" in result.output
    with GoldStore(gold_path, read_only=True) as store:
        statuses = [a.status for a in store.annotations()]
        assert statuses == [None, None]
        assert store.document(Document.from_text("Berlin news").id).text == "Berlin news"


def test_format_options_need_as_gold_or_as_predictions(gold_path: Path, tmp_path: Path
                                                       ) -> None:
    (tmp_path / "a.txt").write_text("text")
    result = runner.invoke(app, ["import", str(tmp_path / "a.txt"), "--db", str(gold_path),
                                 "--format", "conll"])
    assert result.exit_code == 1 and "--format needs --as-gold" in result.output
