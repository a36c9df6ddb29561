"""A fresh store that just works: plain articles start it with the default news labels;
a first gold import gives it that import's labels (and overlapping spans when the data
has them), saying so; whitespace-padded spans are reported, or trimmed on request."""

from __future__ import annotations

import shutil
from pathlib import Path

import srsly
from typer.testing import CliRunner

from annotations.default_labels import DEFAULT_ENTITIES, DEFAULT_RELATIONS, default_scheme
from annotations.store import GoldStore
from reader.cli import app
from reader.config import DEFAULT_ENTITIES as CONFIG_ENTITIES

runner = CliRunner()


def said(result) -> str:
    """The command's output with the terminal's line wrapping undone."""
    return " ".join(result.output.split())


FIXTURE = Path(__file__).parent / "fixtures" / "nested_brat"


def test_plain_articles_start_a_new_store_with_the_default_news_labels(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A short article about Berlin.\n")
    db = tmp_path / "gold.json"
    result = runner.invoke(app, ["import", str(tmp_path / "a.txt"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "default news labels" in said(result)
    with GoldStore(db, read_only=True) as store:
        assert store.labels == default_scheme()
        assert store.labels.entity_names == DEFAULT_ENTITIES == CONFIG_ENTITIES
        assert store.labels.relation_names == [r.name for r in DEFAULT_RELATIONS]
        assert not store.labels.overlapping
    # An existing store keeps its scheme.
    (tmp_path / "b.txt").write_text("Another one.\n")
    result = runner.invoke(app, ["import", str(tmp_path / "b.txt"), "--db", str(db)])
    assert result.exit_code == 0 and "default news labels" not in said(result)


def test_a_first_gold_import_gives_a_store_its_labels_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "gold.json"
    result = runner.invoke(app, ["import", "--as-gold", str(FIXTURE), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "adopted 5 entity label(s) (PERSON, ORG, GPE, LOC, FAC)" in said(result)
    assert "annotation.conf" in said(result) and "overlapping spans" in said(result)
    with GoldStore(db, read_only=True) as store:
        assert store.labels.overlapping and len(list(store.gold())[0].spans) == 10


def test_without_annotation_conf_the_labels_in_the_data_are_adopted(tmp_path: Path) -> None:
    folder = tmp_path / "brat"
    shutil.copytree(FIXTURE, folder)
    (folder / "annotation.conf").unlink()
    db = tmp_path / "gold.json"
    result = runner.invoke(app, ["import", "--as-gold", str(folder), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "from the labels in the data" in said(result)
    with GoldStore(db, read_only=True) as store:
        assert store.labels.entity_names == ["FAC", "GPE", "LOC", "ORG", "PERSON"]


def test_a_flat_first_import_keeps_the_store_flat(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    srsly.write_jsonl(path, [{"text": "Aster Rail hired Maria Keller.",
                              "spans": [{"start": 0, "end": 10, "label": "ORG"},
                                        {"start": 17, "end": 29, "label": "PERSON"}]}])
    db = tmp_path / "gold.json"
    result = runner.invoke(app, ["import", "--as-gold", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "adopted 2 entity label(s) (ORG, PERSON)" in said(result)
    with GoldStore(db, read_only=True) as store:
        assert not store.labels.overlapping


def test_whitespace_padded_spans_are_reported_or_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    text = "Aster Rail hired Maria Keller ."
    srsly.write_jsonl(path, [{"text": text, "spans": [
        {"start": 0, "end": 11, "label": "ORG"}, {"start": 16, "end": 29, "label": "PERSON"}],
        "relations": [{"head_span": {"start": 16, "end": 29}, "child_span": {"start": 0,
                                                                              "end": 11},
                       "label": "works_for"}]}])
    db = tmp_path / "gold.json"
    result = runner.invoke(app, ["import", "--as-gold", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "tasks.jsonl, line 1" in said(result)
    assert "span 0-11 (ORG) 'Aster Rail ' starts or ends with whitespace" in said(result)
    assert "span 16-29 (PERSON)" in said(result) and "--strip-spans" in said(result)
    with GoldStore(db, read_only=True) as store:
        assert [s.key for s in list(store.gold())[0].spans] == [(0, 11), (16, 29)]
    db = tmp_path / "stripped.json"
    result = runner.invoke(app, ["import", "--as-gold", "--strip-spans", str(path),
                                 "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "starts or ends with whitespace" not in said(result)
    with GoldStore(db, read_only=True) as store:
        (ann,) = list(store.gold())
        assert [text[s.start:s.end] for s in ann.spans] == ["Aster Rail", "Maria Keller"]
        assert [(r.head, r.child) for r in ann.relations] == [((17, 29), (0, 10))]


def test_merging_an_overlapping_store_into_a_flat_one_allows_overlaps_and_says_so(
    tmp_path: Path,
) -> None:
    nested, flat = tmp_path / "nested.json", tmp_path / "flat.json"
    assert runner.invoke(app, ["import", "--as-gold", str(FIXTURE), "--db", str(nested)]
                         ).exit_code == 0
    (tmp_path / "a.txt").write_text("A short article about Berlin.\n")
    assert runner.invoke(app, ["import", str(tmp_path / "a.txt"), "--db", str(flat)]
                         ).exit_code == 0
    result = runner.invoke(app, ["merge", str(nested), "--db", str(flat)])
    assert result.exit_code == 0, result.output
    assert "may hold overlapping spans; the merged store allows them too" in said(result)
    with GoldStore(flat, read_only=True) as store:
        assert store.labels.overlapping
        assert [len(a.spans) for a in store.annotations()] == [10]
