"""The real annotator in tmux on a store whose names hold escape sequences and markup:
the pane shows them as visible symbols, the terminal title stays, the app quits cleanly."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from test_tmux_annotate import TMUX, start_reader, tmux, wait_for

from annotations.models import Document, EntityLabel, LabelScheme, Prediction, Span
from annotations.store import GoldStore

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")

EVIL_LABEL = "\x1b]2;PWNED\x07[bold]X[/]"
EVIL_EXTRACTOR = "[link=https://evil.example]clickme[/link]\x1b[31m"


def hostile_store(path: Path) -> None:
    """A store written by an older or foreign tool: names the rules now refuse."""
    text = "Maria Keller met Aster Rail in Geneva.\n"
    doc = Document.from_text(text)
    with GoldStore(path) as store:
        store.add_documents([doc])
        store.set_labels(LabelScheme(entities=[EntityLabel(name="PERSON", key="1"),
                                               EntityLabel(name="ORG", key="2")]))
        store.put_predictions([Prediction(doc_id=doc.id, extractor="good@1", spans=[
            Span(start=0, end=12, label="PERSON", source="good@1", state="suggested"),
            Span(start=17, end=27, label="ORG", source="good@1", state="suggested")])])
    data = json.loads(path.read_text(encoding="utf-8"))
    label = data["labels"]["1"]["entities"][0]
    label["name"], label["colour"] = EVIL_LABEL, 'red" onmouseover="alert(1)" x="'
    (prediction,) = data["predictions"].values()
    prediction["extractor"] = EVIL_EXTRACTOR
    for span in prediction["spans"]:
        span["source"] = EVIL_EXTRACTOR
    prediction["spans"][0]["label"] = EVIL_LABEL
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture
def session() -> object:
    yield "hostile"
    tmux("kill-server")


def test_escape_sequences_and_markup_in_names_are_shown_not_obeyed(tmp_path: Path,
                                                                   session: str) -> None:
    db = tmp_path / "gold.json"
    hostile_store(db)
    start_reader(session, tmp_path, f"annotate --db {shlex.quote(str(db))} --no-model", (120, 30))
    title = tmux("display", "-p", "-t", session, "#{pane_title}")
    screen = wait_for(session, "Maria Keller")
    assert "␛]2;PWNED␇[bold]X[/]" in screen  # the label, visible, markup not applied
    assert "[link=https://evil.example]clickme" in screen  # the extractor, markup not applied
    assert "PWNED" not in tmux("display", "-p", "-t", session, "#{pane_title}")
    assert tmux("display", "-p", "-t", session, "#{pane_title}") == title
    # Markup typed into find is text too.
    tmux("send-keys", "-t", session, "/")
    wait_for(session, "find text")
    tmux("send-keys", "-t", session, "[/]zzz", "Enter")
    wait_for(session, "'[/]zzz' is not in this article")
    tmux("send-keys", "-t", session, "q")
    wait_for(session, "EXIT:0")
    raw = tmux("capture-pane", "-p", "-e", "-t", session)
    assert "\x1b]" not in raw  # no OSC sequence reached the terminal


def test_review_shows_hostile_names_escaped(tmp_path: Path, session: str) -> None:
    """The review screen draws labels in its own span tags and status line: escaped too."""
    db = tmp_path / "gold.json"
    hostile_store(db)
    data = json.loads(db.read_text(encoding="utf-8"))
    (prediction,) = data["predictions"].values()
    data.setdefault("annotations", {})["1"] = {
        "doc_id": prediction["doc_id"], "annotator": "default", "status": "accept",
        "spans": [{"start": 0, "end": 12, "label": EVIL_LABEL, "source": "human",
                   "state": "confirmed"},
                  {"start": 17, "end": 23, "label": "ORG", "source": "human",
                   "state": "confirmed"}],
        "relations": []}
    db.write_text(json.dumps(data), encoding="utf-8")
    start_reader(session, tmp_path, f"review --db {shlex.quote(str(db))} "
                 f"-e {shlex.quote(EVIL_EXTRACTOR)}", (120, 24))
    title = tmux("display", "-p", "-t", session, "#{pane_title}")
    screen = wait_for(session, "wrong boundary")
    assert "␛]2;PWNED␇[bold]X[/]" in screen  # the gold label's tag, visible
    assert "gold: ORG 'Aster␣'" in screen  # span text as every screen shows it
    assert "PWNED" not in tmux("display", "-p", "-t", session, "#{pane_title}")
    assert tmux("display", "-p", "-t", session, "#{pane_title}") == title
    tmux("send-keys", "-t", session, "q")
    wait_for(session, "EXIT:0")
    assert "\x1b]" not in tmux("capture-pane", "-p", "-e", "-t", session)
