"""`reader adjudicate` in tmux on two annotators' versions of a real article: the stored
gold equals the choices made, each span saying whose version it is."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from test_tmux_annotate import REAL_ARTICLE, TMUX, start_reader, tmux, wait_for

from annotations.models import Annotation, Document, Span
from annotations.store import GoldStore

pytestmark = [pytest.mark.skipif(TMUX is None, reason="tmux is not installed"),
              pytest.mark.skipif(REAL_ARTICLE is None, reason="no shared corpus")]


@pytest.fixture
def session() -> object:
    yield "adjudicate"
    tmux("kill-server")


def test_adjudication_in_tmux_stores_the_choices_with_provenance(tmp_path: Path,
                                                                  session: str) -> None:
    assert REAL_ARTICLE is not None
    doc = Document.from_text(REAL_ARTICLE.read_text(encoding="utf-8"))

    def span(needle: str, label: str) -> Span:
        start = doc.text.index(needle)
        return Span(start=start, end=start + len(needle), label=label)

    shared = [span("Moscow", "GPE"), span("Tajikistan", "GPE")]
    db = tmp_path / "team.json"
    with GoldStore(db) as store:
        store.add_documents([doc])
        store.add_entity_labels(["GPE", "ORG", "NORP"])
        store.save_annotations([
            Annotation(doc_id=doc.id, annotator="alice", status="accept",
                       spans=[*shared, span("CSTO military alliance", "ORG")]),
            Annotation(doc_id=doc.id, annotator="bob", status="accept",
                       spans=[*shared, span("CSTO", "ORG"), span("Afghan soldiers", "NORP")]),
        ])
    start_reader(session, tmp_path, f"adjudicate --db {shlex.quote(str(db))}", (100, 30))
    wait_for(session, "2 of 2 disagreements open")
    wait_for(session, "ORG 'CSTO military alliance'")  # alice's lane for the first one
    tmux("send-keys", "-t", session, "2")  # bob's "CSTO", then on to "Afghan soldiers"
    wait_for(session, "NORP 'Afghan soldiers'")
    tmux("send-keys", "-t", session, "x")  # nobody's: not an entity here
    wait_for(session, "0 of 2 disagreements open")
    tmux("send-keys", "-t", session, "a")
    wait_for(session, "accept · 0 of 2")
    tmux("send-keys", "-t", session, "q")
    wait_for(session, "EXIT:0")

    data = json.loads(db.read_text(encoding="utf-8"))
    (gold,) = [a for a in data["annotations"].values() if a["annotator"] == "gold"]
    assert gold["status"] == "accept"
    assert [(doc.text[s["start"]:s["end"]], s["label"], s["source"]) for s in gold["spans"]] == [
        ("Moscow", "GPE", "alice+bob"), ("Tajikistan", "GPE", "alice+bob"),
        ("CSTO", "ORG", "bob")]
