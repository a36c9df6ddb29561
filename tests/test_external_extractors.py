"""Extractors outside spaCy: an external command (JSONL on stdin/stdout), a plugin from
the ``reader.extractors`` entry point group, and spans given as strings placed on the text."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from annotations.external import (
    ENTRY_POINT_GROUP,
    CommandExtractor,
    ExtractorOutputError,
    load_plugin,
)
from annotations.grounding import StringSpan, align_strings, fold
from annotations.models import Document
from annotations.store import GoldStore
from reader.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

SCRIPT = r'''
import json, sys, time
mode = sys.argv[1]
docs = [json.loads(line) for line in sys.stdin if line.strip()]
if mode == "crash":
    print("model exploded", file=sys.stderr); sys.exit(3)
if mode == "hang":
    time.sleep(30)
for i, doc in enumerate(docs):
    if mode == "badjson" and i == 1:
        print("{not json"); continue
    ident = "someone-else" if mode == "wrongid" else doc["id"]
    first = doc["text"].split()[0]
    print(json.dumps({"id": ident, "spans": [
        {"text": first, "label": "ORG"}, {"text": "Nowhere Land", "label": "GPE"},
        {"start": len(doc["text"]) - 4, "end": len(doc["text"]), "label": "DATE"}],
        "relations": [{"head": 0, "child": 2, "label": "when"}]}))
'''

TEXTS = ["Taliban fighters entered Kabul in 2021", "Reuters reported it on Monday 1999",
         "Ärzte ohne Grenzen helped in 2022"]


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "fake_llm.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def items() -> list[tuple[str, str, dict[str, Any]]]:
    return [(Document.from_text(t).id, t, {"n": i}) for i, t in enumerate(TEXTS)]


def command(script: Path, mode: str, **options: Any) -> CommandExtractor:
    return CommandExtractor(f"{sys.executable} {script} {mode}", "fake@1", **options)


def test_command_predictions_are_grounded_and_ungrounded_strings_counted(script: Path):
    predictions = list(command(script, "ok").predict(items(), batch_size=2))
    assert [p.doc_id for p in predictions] == [d for d, _, _ in items()]
    first = predictions[0]
    assert [(s.start, s.end, s.label, s.source, s.state) for s in first.spans] == [
        (0, 7, "ORG", "fake@1", "suggested"), (34, 38, "DATE", "fake@1", "suggested")]
    assert [(r.head, r.child, r.label) for r in first.relations] == [((0, 7), (34, 38), "when")]
    grounding = first.meta["grounding"]
    assert grounding["spans"] == 2 and grounding["exact"] == 1 and grounding["ungrounded"] == 1
    assert grounding["examples"] == [{"text": "Nowhere Land", "label": "GPE",
                                      "reason": "not found in the text"}]


@pytest.mark.parametrize(("mode", "options", "fragments"), [
    ("crash", {}, ["batch 1", "exited with status 3", "model exploded"]),
    ("hang", {"timeout": 0.5}, ["batch 1", "no answer within 0.5 s"]),
    ("badjson", {}, ["batch 1, output line 2", "not JSON"]),
    ("wrongid", {}, ["output line 1", "'someone-else' is not one of the 2 document(s)"]),
])
def test_command_failures_name_the_batch_line_and_reason(
        script: Path, mode: str, options: dict[str, Any], fragments: list[str]):
    with pytest.raises(ExtractorOutputError) as err:
        list(command(script, mode, **options).predict(items(), batch_size=2))
    for fragment in fragments:
        assert fragment in str(err.value)


def test_reader_extract_command_stores_predictions_and_reports_failures(
        script: Path, tmp_path: Path):
    db = tmp_path / "gold.json"
    with GoldStore(db) as store:
        store.add_documents([Document.from_text(t) for t in TEXTS])
    result = runner.invoke(app, ["extract", "--db", str(db), "--command",
                                 f"{sys.executable} {script} ok", "--extractor", "fake@1"])
    assert result.exit_code == 0, result.output
    assert "3 document(s) predicted by fake@1" in result.output
    assert "6 span(s) given as strings" in " ".join(result.output.split())
    with GoldStore(db, read_only=True) as store:
        assert store.extractors() == ["fake@1"]
    failed = runner.invoke(app, ["extract", "--db", str(db), "--force", "--command",
                                 f"{sys.executable} {script} badjson", "--extractor", "bad@1",
                                 "--batch-size", "2"])
    assert failed.exit_code == 1
    assert "not JSON" in failed.output and "Traceback" not in failed.output
    missing = runner.invoke(app, ["extract", "--db", str(db), "--command", "x"])
    assert missing.exit_code == 1 and "--extractor" in missing.output


class FakePlugin:
    name = "plugin-llm@2"

    def predict(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": doc["id"], "spans": [{"text": doc["text"].split()[0].upper(),
                                             "label": "ORG"}]} for doc in batch]


def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = metadata.EntryPoint(name="fake", value=f"{__name__}:FakePlugin",
                                group=ENTRY_POINT_GROUP)
    real = metadata.entry_points

    def entry_points(**params: Any) -> Any:
        if params.get("group") == ENTRY_POINT_GROUP:
            return metadata.EntryPoints([entry])
        return real(**params)

    monkeypatch.setattr(metadata, "entry_points", entry_points)


def test_a_package_registers_an_extractor_as_an_entry_point(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    fake_entry_points(monkeypatch)
    plugin = load_plugin("fake")
    (prediction, *_) = plugin.predict(items())
    assert plugin.id == "plugin-llm@2"
    assert [(s.start, s.end, s.label) for s in prediction.spans] == [(0, 7, "ORG")]
    assert prediction.meta["grounding"]["case"] == 1
    with pytest.raises(Exception, match="no extractor plugin 'other'.*installed: fake"):
        load_plugin("other")
    db = tmp_path / "gold.json"
    with GoldStore(db) as store:
        store.add_documents([Document.from_text(t) for t in TEXTS])
    result = runner.invoke(app, ["extract", "--db", str(db), "--plugin", "fake"])
    assert result.exit_code == 0, result.output
    with GoldStore(db, read_only=True) as store:
        assert store.extractors() == ["plugin-llm@2"]


# -- alignment of strings ------------------------------------------------------------

TEXT = "The Taliban said. Later the taliban met Müller in Zürich; the Talibans left Iranian."


def placed(text: str, *spans: StringSpan, **options: Any) -> list[str]:
    result = align_strings(text, list(spans), **options)
    return [f"{text[s:e]}@{s}" for s, e, _ in result.spans]


def test_a_repeated_string_takes_the_next_free_occurrence_under_first():
    assert placed(TEXT, StringSpan("Taliban", "ORG"), StringSpan("Taliban", "ORG")) == [
        "Taliban@4", "taliban@28"]


def test_policies_all_and_nearest():
    assert placed(TEXT, StringSpan("taliban", "ORG"), policy="all") == ["taliban@28"]
    assert placed("a Kabul b Kabul c Kabul", StringSpan("Kabul", "GPE"), policy="all") == [
        "Kabul@2", "Kabul@10", "Kabul@18"]
    assert placed("a Kabul b Kabul c Kabul", StringSpan("Kabul", "GPE", hint=12),
                  policy="nearest") == ["Kabul@10"]
    with pytest.raises(ValueError, match="unknown alignment policy"):
        align_strings(TEXT, [], policy="best")


def test_case_and_accents_are_ignored_after_exact_and_offsets_stay_those_of_the_text():
    result = align_strings(TEXT, [StringSpan("TALIBAN", "ORG"), StringSpan("Muller", "PER"),
                                  StringSpan("zurich", "GPE")])
    assert [TEXT[s:e] for s, e, _ in result.spans] == ["Taliban", "Müller", "Zürich"]
    assert result.counts["case"] == 3
    odd = "İstanbul ﬁne straße"  # characters whose lower case or folding changes length
    assert fold(odd) == "istanbul fine strasse"
    assert placed(odd, StringSpan("istanbul", "GPE")) == ["İstanbul@0"]


def test_near_misses_match_fuzzily_and_never_inside_a_word_exactly():
    assert placed(TEXT, StringSpan("Iran", "GPE")) == []  # not inside "Iranian"
    text = "Chair Margaret Liu met the Harbour Trust's lawyers."
    result = align_strings(text, [StringSpan("Margret Liu", "PER"),
                                  StringSpan("Harbor Trust", "ORG")])
    assert [text[s:e] for s, e, _ in result.spans] == ["Margaret Liu", "Harbour Trust"]
    assert result.counts["fuzzy"] == 2


def test_hallucinations_are_counted_and_reported_never_dropped_silently():
    result = align_strings(TEXT, [StringSpan("Atlantis", "GPE"), StringSpan("Taliban", "ORG"),
                                  StringSpan("UN", "ORG")])
    assert result.counts == {"exact": 1, "case": 0, "fuzzy": 0, "ungrounded": 2,
                             "overlapping": 0, "stripped": 0}
    assert [u["text"] for u in result.ungrounded] == ["Atlantis", "UN"]
    assert result.to_meta()["spans"] == 3
    json.dumps(result.to_meta())  # plain JSON, what the store keeps


def test_the_canned_llm_example_runs_offline(tmp_path: Path):
    db = tmp_path / "gold.json"
    assert runner.invoke(app, ["import", str(ROOT / "examples" / "article.txt"), "--db",
                               str(db)]).exit_code == 0
    result = runner.invoke(app, ["extract", "--db", str(db), "--command",
                                 f"{sys.executable} {ROOT / 'examples' / 'canned_llm.py'}",
                                 "--extractor", "canned-llm@1"])
    assert result.exit_code == 0, result.output
    assert "ungrounded" in result.output


def test_import_as_predictions_accepts_spans_given_as_strings(tmp_path: Path):
    db = tmp_path / "gold.json"
    with GoldStore(db) as store:
        store.add_documents([Document.from_text(TEXTS[0])])
    answers = tmp_path / "llm.jsonl"
    answers.write_text(json.dumps({"text": TEXTS[0], "spans": [
        {"text": "taliban", "label": "ORG"}, {"text": "Kabul", "label": "GPE"},
        {"start": 34, "end": 38, "label": "DATE"}, {"text": "2021", "label": "DATE"},
        {"text": "Narnia", "label": "GPE"}]}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(answers), "--db", str(db), "--as-predictions",
                                 "--extractor", "llm@1", "--format", "prodigy",
                                 "--add-labels"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "1 prediction(s) by llm@1 added" in out
    assert "2 of 4 span(s) given as text could not be placed" in out and "'Narnia'" in out
    with GoldStore(db, read_only=True) as store:
        (doc_id,) = store.document_ids()
        prediction = store.prediction(doc_id, "llm@1")
        assert prediction is not None
        assert [(TEXTS[0][s.start:s.end], s.label) for s in prediction.spans] == [
            ("Taliban", "ORG"), ("Kabul", "GPE"), ("2021", "DATE")]
        grounding = prediction.meta["grounding"]
        assert (grounding["case"], grounding["exact"], grounding["overlapping"],
                grounding["ungrounded"]) == (1, 1, 1, 1)
    as_gold = runner.invoke(app, ["import", str(answers), "--db", str(db), "--as-gold",
                                  "--format", "prodigy", "--add-labels"])
    assert as_gold.exit_code == 1 and "--as-predictions" in as_gold.output


def test_labels_and_names_that_cannot_be_shown_are_refused(tmp_path: Path):
    script = tmp_path / "bad_label.py"
    script.write_text("import json, sys\nfor line in sys.stdin:\n    d = json.loads(line)\n"
                      "    print(json.dumps({'id': d['id'], 'spans': [{'text': 'Kabul', "
                      "'label': 'GPE\\x1b[31m'}]}))\n", encoding="utf-8")
    with pytest.raises(ExtractorOutputError, match="span 0: label .* control characters"):
        list(CommandExtractor(f"{sys.executable} {script}", "fake@1").predict(items()))
    db = tmp_path / "gold.json"
    result = runner.invoke(app, ["extract", "--db", str(db), "--command", "x",
                                 "--extractor", "bad\x1bname"])
    assert result.exit_code == 1 and "--extractor" in result.output


# -- a command that misbehaves with its process tree or its output (issue 24) ----------

TREE_SCRIPT = r'''
import json, os, subprocess, sys, time
mode, pidfile = sys.argv[1], sys.argv[2]
docs = [json.loads(line) for line in sys.stdin if line.strip()]
# A worker that inherits stdout (as under `sh -c`, or a forgotten background job).
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(pidfile, "w").write(str(worker.pid))
if mode == "hang":
    time.sleep(60)
for doc in docs:
    print(json.dumps({"id": doc["id"], "spans": []}), flush=True)
'''


@pytest.fixture
def tree_script(tmp_path: Path, process_alive: Callable[[int], bool]) -> Any:
    import os
    import signal

    path = tmp_path / "tree.py"
    path.write_text(TREE_SCRIPT, encoding="utf-8")
    pidfile = tmp_path / "worker.pid"
    yield path, pidfile
    if pidfile.exists() and process_alive(pid := int(pidfile.read_text())):
        os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_fully_answered_batch_does_not_wait_for_a_worker_holding_stdout(
        tree_script: tuple[Path, Path]) -> None:
    path, pidfile = tree_script
    extractor = CommandExtractor(f"{sys.executable} {path} ok {pidfile}", "tree@1",
                                 timeout=20)
    predictions = list(extractor.predict(items(), batch_size=3))
    assert [p.doc_id for p in predictions] == [d for d, _, _ in items()]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_on_timeout_the_whole_process_group_is_killed(
        tree_script: tuple[Path, Path], process_alive: Callable[[int], bool]) -> None:
    path, pidfile = tree_script
    extractor = CommandExtractor(f"{sys.executable} {path} hang {pidfile}", "tree@1",
                                 timeout=1.0)
    with pytest.raises(ExtractorOutputError, match="no answer within 1 s"):
        list(extractor.predict(items(), batch_size=3))
    worker = int(pidfile.read_text())
    for _ in range(50):
        if not process_alive(worker):
            break
        import time

        time.sleep(0.05)
    assert not process_alive(worker), "the command's worker outlived the timeout"


def run_printing(tmp_path: Path, code: str, **options: Any) -> ExtractorOutputError:
    path = tmp_path / "printer.py"
    path.write_text("import sys\nsys.stdin.read()\n" + code, encoding="utf-8")
    with pytest.raises(ExtractorOutputError) as err:
        list(CommandExtractor(f"{sys.executable} {path}", "printer@1", **options)
             .predict(items(), batch_size=3))
    return err.value


def test_deeply_nested_json_is_an_error_naming_the_batch_and_line(tmp_path: Path) -> None:
    error = run_printing(tmp_path, 'print()\nprint("[" * 100000 + "]" * 100000)\n')
    assert "batch 1, output line 2" in str(error)
    assert "nested" in str(error)


def test_an_extractors_output_is_bounded(tmp_path: Path) -> None:
    error = run_printing(
        tmp_path, 'chunk = "x" * (1 << 20)\nwhile True:\n    sys.stdout.write(chunk)\n',
        max_output=4 * 10**6)
    assert "batch 1" in str(error) and "more than 4 MB" in str(error)
