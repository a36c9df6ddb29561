"""``reader extract`` with nothing left to predict answers without loading the spaCy
pipeline: the id its predictions are stored under is read from the pipeline's meta.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reader.commands.extract as extract_command
from annotations.extractors import stored_id
from annotations.models import Document, Prediction
from annotations.store import GoldStore
from reader.cli import app


def refuse_to_load(model: str | None = None) -> None:
    raise AssertionError("the pipeline was loaded")


def test_nothing_to_predict_loads_no_pipeline(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "gold.json"
    name = stored_id()
    assert name is not None
    with GoldStore(db) as store:
        store.add_documents([Document.from_text("Ada Lovelace wrote in London.")])
        (doc_id,) = store.document_ids()
        store.put_predictions([Prediction(doc_id=doc_id, extractor=name, spans=[])])
    monkeypatch.setattr(extract_command, "load_extractor", refuse_to_load)
    result = CliRunner().invoke(app, ["extract", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert f"0 document(s) predicted by {name}, 1 already predicted" in result.output
    # --force predicts again, so it loads the pipeline.
    forced = CliRunner().invoke(app, ["extract", "--db", str(db), "--force"])
    assert isinstance(forced.exception, AssertionError)
    assert "the pipeline was loaded" in str(forced.exception)


def test_a_pipeline_folder_is_named_by_its_meta_json(tmp_path: Path) -> None:
    folder = tmp_path / "my-pipeline"
    folder.mkdir()
    assert stored_id(str(folder)) is None  # no meta.json: the pipeline must be loaded
    (folder / "meta.json").write_text(json.dumps({"lang": "en", "name": "news_ner",
                                                   "version": "1.2.0"}))
    assert stored_id(str(folder)) == "spacy:en_news_ner@1.2.0"
    (folder / "meta.json").write_text("{damaged")
    assert stored_id(str(folder)) is None
