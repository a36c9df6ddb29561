"""The foundation commands as a user runs them: ``reader import``, ``extract``, ``stats``,
``--help`` and ``python -m reader``; errors are one clear message, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from annotations.extractors import resolve_model
from annotations.store import GoldStore

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CORPUS = ROOT.parent / "shared" / "corpus"
N_EXTRACTED = 1 + len(sorted(CORPUS.glob("*.txt"))[:1])


def reader(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m reader`` as a user would, in a narrow terminal without colour."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "reader", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=120,
    )  # fmt: skip


def assert_clean_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def store_files(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(db.parent.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def first_import(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A new store after ``reader import examples/``, and what the command printed (run
    once; tests that change the store take a copy)."""
    db = tmp_path_factory.mktemp("imported") / "gold.json"
    result = reader("import", EXAMPLES, "--db", db)
    assert result.returncode == 0, result.stderr
    return db, result.stdout


@pytest.fixture
def imported(first_import: tuple[Path, str]) -> Path:
    return first_import[0]


@pytest.fixture
def example_store(imported: Path, tmp_path: Path) -> Path:
    """A copy of the imported store in the test's own folder."""
    return Path(shutil.copy(imported, tmp_path / "gold.json"))


def test_help_lists_the_foundation_commands() -> None:
    result = reader("--help")
    assert result.returncode == 0
    for command in ("import", "extract", "stats"):
        assert command in result.stdout
    console_script = shutil.which("reader", path=str(Path(sys.executable).parent))
    assert console_script is not None
    installed = subprocess.run([console_script, "--help"], capture_output=True, text=True)
    assert installed.returncode == 0 and installed.stdout.startswith("Usage: reader ")
    # Same help either way; only the program name in the usage line differs.
    assert installed.stdout.splitlines()[1:] == result.stdout.splitlines()[1:]


def test_import_counts_added_and_present_documents(
    first_import: tuple[Path, str], tmp_path: Path
) -> None:
    db = Path(shutil.copy(first_import[0], tmp_path / "gold.json"))
    assert "1 added, 0 already present, 0 rejected" in first_import[1]
    again = reader("import", EXAMPLES / "article.txt", "--db", db)
    assert "0 added, 1 already present, 0 rejected" in again.stdout
    with GoldStore(db, read_only=True) as store:
        (doc,) = store.documents()
        assert doc.text == (EXAMPLES / "article.txt").read_text(encoding="utf-8")


def test_a_failed_import_changes_nothing_and_names_every_bad_input(
    imported: Path, tmp_path: Path
) -> None:
    db = tmp_path / "store" / "gold.json"
    db.parent.mkdir()
    shutil.copy(imported, db)
    before = store_files(db)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "good.txt").write_text("A fine new article about Valmont.\n", encoding="utf-8")
    (inputs / "latin.txt").write_bytes("Caf\xe9 Valmont\n".encode("latin-1"))
    (inputs / "feed.jsonl").write_text('{"text": "ok"}\n["not", "an", "object"]\n')
    result = reader("import", inputs, "--db", db)
    assert_clean_error(
        result,
        f"{inputs / 'latin.txt'}, line 1: not UTF-8",
        f"{inputs / 'feed.jsonl'}, line 2: expected a JSON object",
        "nothing was imported",
    )
    assert store_files(db) == before


def test_a_failed_import_into_a_new_store_creates_no_file(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    result = reader("import", tmp_path / "empty.txt", "--db", tmp_path / "gold.json")
    assert_clean_error(result, "empty file")
    assert not (tmp_path / "gold.json").exists()


def test_stats_reports_documents_and_predictions_as_json(example_store: Path) -> None:
    db = example_store
    figures = json.loads(reader("stats", "--db", db, "--json").stdout)
    assert figures["documents"] == 1
    assert figures["annotations"] == {"accept": 0, "reject": 0, "ignore": 0, "open": 0}
    assert figures["predictions"] == {}
    table = reader("stats", "--db", db)
    assert table.returncode == 0 and "1 document(s)" in table.stdout


def test_store_errors_are_one_line_not_a_traceback(imported: Path, tmp_path: Path) -> None:
    db = tmp_path / "gold.json"
    assert_clean_error(reader("stats", "--db", db), "no such gold store")
    shutil.copy(imported, db)
    damaged = db.read_bytes()[:-20]
    db.write_bytes(damaged)
    assert_clean_error(reader("stats", "--db", db), "truncated or damaged")
    assert_clean_error(reader("import", EXAMPLES, "--db", db), "truncated or damaged")
    assert db.read_bytes() == damaged


def test_a_store_held_by_another_writer_is_refused_naming_it(example_store: Path) -> None:
    db = example_store
    with GoldStore(db):
        result = reader("import", EXAMPLES, "--db", db)
        assert_clean_error(result, f"pid {os.getpid()}")
        assert reader("stats", "--db", db).returncode == 0  # readers are welcome


def test_extract_with_a_missing_model_says_how_to_install_one(example_store: Path) -> None:
    db = example_store
    result = reader("extract", "--db", db, "--model", "xx_no_such_pipeline")
    assert_clean_error(result, "xx_no_such_pipeline", "pip install")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A store of the example and corpus articles after one ``reader extract``."""
    db = tmp_path_factory.mktemp("extract") / "gold.json"
    # The shared corpus sits beside the checkout on the team's machines and in CI; a
    # clone elsewhere runs on the example alone.
    sources = [EXAMPLES, *sorted(CORPUS.glob("*.txt"))[:1]]
    assert reader("import", *sources, "--db", db).returncode == 0
    first = reader("extract", "--db", db, "--batch-size", "1")
    assert first.returncode == 0, first.stderr
    return db, first.stdout, reader("extract", "--db", db).stdout


def test_extract_stores_predictions_under_the_pipeline_name_and_version(
    extracted: tuple[Path, str, str],
) -> None:
    db, first, _ = extracted
    name = resolve_model()
    with GoldStore(db, read_only=True) as store:
        (extractor,) = store.extractors()
        assert extractor.startswith(f"spacy:{name}@3.8")
        assert f"{N_EXTRACTED} document(s) predicted by {extractor}, 0 already predicted" in first
        for doc_id in store.document_ids():
            prediction = store.prediction(doc_id, extractor)
            assert prediction is not None and prediction.spans
            assert {s.state for s in prediction.spans} == {"suggested"}
        labels = store.labels.entity_names
        assert {"PERSON", "ORG", "GPE", "DATE"} <= set(labels)


def test_extract_again_skips_what_is_predicted_unless_forced(
    extracted: tuple[Path, str, str], tmp_path: Path
) -> None:
    db, _, second = extracted
    assert "0 document(s) predicted" in second and f"{N_EXTRACTED} already predicted" in second
    copy = tmp_path / "gold.json"
    shutil.copy(db, copy)
    forced = reader("extract", "--db", copy, "--force")
    assert forced.returncode == 0 and f"{N_EXTRACTED} document(s) predicted" in forced.stdout


def test_extract_finds_the_same_entities_as_the_full_pipeline(
    extracted: tuple[Path, str, str],
) -> None:
    """The extractor leaves out components NER does not need; the entities must not change."""
    import spacy

    db, _, _ = extracted
    full = spacy.load(resolve_model())
    with GoldStore(db, read_only=True) as store:
        (extractor,) = store.extractors()
        for doc_id in store.document_ids():
            stored = store.prediction(doc_id, extractor)
            assert stored is not None
            doc = full(store.text(doc_id))
            assert [(s.start, s.end, s.label) for s in stored.spans] == [
                (e.start_char, e.end_char, e.label_) for e in doc.ents
            ]


def test_import_of_annotated_jsonl_as_articles_points_to_as_gold(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        '{"text": "Ada Lovelace wrote.", "spans": [{"start": 0, "end": 12, "label": "PERSON"}]}\n',
        encoding="utf-8",
    )
    result = reader("import", tasks, "--db", tmp_path / "gold.json")
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout
    assert "--as-gold" in result.stderr and "tasks.jsonl" in result.stderr
