"""``reader queue`` and ``reader estimate`` on the command line, and ``reader annotate
--order`` following the queue (one Pilot test for the wiring)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_queue import make_store
from typer.testing import CliRunner

from annotations.models import Annotation, Prediction, Span
from annotations.store import GoldStore
from reader.app import make_app
from reader.cli import app
from reader.commands import common
from reader.commands.queue import OrderChoice

runner = CliRunner()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.console, "width", 200)


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_queue_table_ranks_and_says_why_with_titles_as_text(gold_path: Path) -> None:
    make_store(gold_path)
    result = run("queue", "--db", str(gold_path), "-e", "a@1", "-e", "b@1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "6 document(s) to annotate" in lines[0]
    assert "3 where a@1 and b@1 differ, 3 where they agree" in lines[0]
    first = next(line for line in lines if line.strip().startswith("1 "))
    assert "Doc [b]3" in first and "a@1 and b@1 differ on 4 spans" in first
    assert "drawn at random among 3 left in stratum agree" in result.output


def test_queue_json_has_one_object_per_document(gold_path: Path) -> None:
    ids = make_store(gold_path)
    result = run("queue", "--db", str(gold_path), "-e", "a@1", "-e", "b@1", "--json",
                 "--order", "store")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == ids
    assert rows[1] == {"id": ids[1], "meta": {"title": "Doc [b]1"}, "rank": 2, "score": 2,
                       "stratum": "differ", "probability": None, "group": None,
                       "reason": "a@1 and b@1 differ on 2 spans"}
    limited = run("queue", "--db", str(gold_path), "-e", "a@1", "-e", "b@1", "--json",
                  "--limit", "2", "--order", "random", "--seed", "7")
    assert len(limited.output.splitlines()) == 2


def test_queue_errors_are_one_line_without_a_traceback(gold_path: Path) -> None:
    make_store(gold_path)
    unknown = run("queue", "--db", str(gold_path), "-e", "a@1", "-e", "nope@0")
    assert unknown.exit_code == 1
    assert "unknown extractor 'nope@0'; predictions exist for: a@1, b@1, c@1" in unknown.stderr
    one = run("queue", "--db", str(gold_path), "-e", "a@1")
    assert one.exit_code == 1 and "at least two different extractors" in one.stderr
    bad_order = run("queue", "--db", str(gold_path), "-e", "a@1", "-e", "b@1",
                    "--order", "best")
    assert bad_order.exit_code == 2


def test_queue_on_a_store_without_documents(tmp_path: Path) -> None:
    path = tmp_path / "gold.json"
    with GoldStore(path) as store:
        store.add_entity_labels(["PER"])
    result = run("queue", "--db", str(path), "-e", "a@1", "-e", "b@1")
    assert result.exit_code == 1
    assert "holds no documents" in result.stderr


def test_estimate_prints_strata_figures_and_warnings(gold_path: Path) -> None:
    ids = make_store(gold_path)
    with GoldStore(gold_path) as store:
        store.save_annotations([
            Annotation(doc_id=d, status="accept",
                       spans=[Span(start=0, end=4, label="PER")]) for d in ids])
    result = run("estimate", "--db", str(gold_path), "-e", "a@1", "-e", "b@1",
                 "--bootstrap", "100")
    assert result.exit_code == 0, result.output
    assert "F1 on all 6 document(s)" in result.output
    assert "differ" in result.output and "agree, 1-2 spans" in result.output
    assert "every document is gold" in result.output
    assert "no record of how they were chosen" not in result.output  # censuses: no warning
    as_json = run("estimate", "--db", str(gold_path), "-e", "a@1", "-e", "b@1", "--json",
                  "--bootstrap", "100")
    data = json.loads(as_json.stdout)
    assert data["format"] == "reader-corpus-estimate"
    a = next(e for e in data["estimates"] if e["extractor"] == "a@1")
    # Every document is gold (all strata censuses): the estimate is the plain F1.
    assert a["f1"] == pytest.approx(a["plain_gold_f1"])
    assert a["f1_ci"] == pytest.approx([a["f1"], a["f1"]])


def test_estimate_without_gold_says_so(gold_path: Path) -> None:
    make_store(gold_path)
    result = run("estimate", "--db", str(gold_path), "-e", "a@1", "-e", "b@1")
    assert result.exit_code == 1 and "no gold documents" in result.stderr


def test_annotate_order_needs_extractors(gold_path: Path) -> None:
    make_store(gold_path)
    result = run("annotate", "--db", str(gold_path), "--no-model", "--order", "disagreement",
                 "-e", "a@1")
    assert result.exit_code == 1 and "at least two different extractors" in result.stderr
    result = run("annotate", "--db", str(gold_path), "--no-model", "-e", "a@1", "-e", "b@1")
    assert result.exit_code == 1 and "only with --order" in result.stderr


@pytest.mark.anyio
async def test_annotate_follows_the_queue_and_records_the_choice(gold_path: Path) -> None:
    from annotations.queue import build_queue

    make_store(gold_path)
    with GoldStore(gold_path) as store:
        store.put_predictions([Prediction(doc_id=store.document_ids()[0], extractor="a@1",
                                          spans=[Span(start=0, end=4, label="PER")])])
        queue = build_queue(store, ["a@1", "b@1"], seed=1)
        annotator = make_app(store, load_model=False, queue=queue)
        async with annotator.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            session = annotator.session
            assert session.doc_id == queue.doc_ids[0]
            assert session.reason_of(session.doc_id) == "a@1 and b@1 differ on 4 spans"
            assert "next because a@1 and b@1 differ on 4 spans" in annotator.title
            await pilot.press("a", "c")  # confirm the suggestions in bulk and accept
            await pilot.pause()
        saved = store.annotation(queue.doc_ids[0])
    assert saved is not None and saved.status == "accept"
    assert saved.chosen is not None
    assert (saved.chosen.order, saved.chosen.rank, saved.chosen.stratum) == (
        "disagreement", 1, "differ")


def test_serve_passes_the_queue_to_every_annotator(tmp_path: Path) -> None:
    from annotations.team import TeamFolder
    from reader.commands.serve import _order_args
    from reader.web import ServeOptions, TeamServer

    make_store(tmp_path / "team.json")
    folder = TeamFolder(tmp_path)
    wrong = run("serve", "--team", str(tmp_path), "--no-model", "--order", "disagreement",
                "-e", "a@1", "-e", "zz@1")
    assert wrong.exit_code == 1 and "unknown extractor 'zz@1'" in wrong.stderr
    args = _order_args(folder, OrderChoice.disagreement, ["a@1", "b@1"], 3)
    server = TeamServer(ServeOptions(team=folder, load_model=False, order_args=args))
    argv = server.annotate_argv("ann", folder.annotator_path("ann"))
    assert argv[-8:] == ["--no-model", "--order", "disagreement", "-e", "a@1", "-e", "b@1",
                         "--seed", "3"][-8:]
    assert argv[-9] == "--no-model"


def test_evaluate_estimate_corpus_adds_the_estimate(gold_path: Path) -> None:
    ids = make_store(gold_path)
    with GoldStore(gold_path) as store:
        store.save_annotations([
            Annotation(doc_id=d, status="accept",
                       spans=[Span(start=0, end=4, label="PER")]) for d in ids])
    args = ["evaluate", "--db", str(gold_path), "-e", "a@1", "-e", "b@1", "--bootstrap", "50",
            "--missing-as-empty", "--estimate", "corpus"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "F1 on all 6 document(s)" in result.output
    data = json.loads(run(*args, "--json").stdout)
    assert data["estimate"]["format"] == "reader-corpus-estimate"
    assert {e["extractor"] for e in data["estimate"]["estimates"]} == {"a@1", "b@1"}
