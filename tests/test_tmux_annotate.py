"""The real ``reader annotate`` in tmux: keys in, then the gold file read with plain JSON."""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTICLE = REPO / "examples" / "article.txt"
TMUX = shutil.which("tmux")

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


# A private server with no config (-f): the window has the size asked for, whatever tmux
# server or config the person running the tests has.  Its socket (-S) lives in a folder
# made for it and removed at exit, not among the user's in /tmp/tmux-UID.
_SOCKET_DIR = tempfile.mkdtemp(prefix="reader-tmux-")
atexit.register(shutil.rmtree, _SOCKET_DIR, ignore_errors=True)
SOCKET = os.path.join(_SOCKET_DIR, "server")


def tmux(*args: str) -> str:
    assert TMUX is not None
    for _attempt in range(20):
        done = subprocess.run([TMUX, "-S", SOCKET, "-f", "/dev/null", *args],
                              capture_output=True, text=True, timeout=10)
        # A new session right after kill-server can reach the server while it exits
        # ("server exited unexpectedly"): wait for it to go, then start a fresh one.
        if args[0] != "new-session" or done.returncode == 0:
            break
        time.sleep(0.1)
    return done.stdout


def wait_for(session: str, needle: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if needle in screen:
            return screen
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} did not appear; the screen was:\n{screen}")


def start_reader(session: str, tmp_path: Path, args: str, size: tuple[int, int]) -> None:
    """Run ``reader ARGS`` in a new window of SIZE, in TMP_PATH with its own config folder;
    the pane prints ``EXIT:<code>`` when it ends.

    COLUMNS and LINES are unset: a pane started from pytest was seen to hold COLUMNS=80
    and LINES=24, and an app sizing itself with ``shutil.get_terminal_size`` then draws
    80x24 whatever the window's size."""
    reader = Path(sys.executable).parent / "reader"
    command = (f"cd {shlex.quote(str(tmp_path))} && unset COLUMNS LINES && "
               f"XDG_CONFIG_HOME={shlex.quote(str(tmp_path))} {shlex.quote(str(reader))} "
               f"{args}; echo EXIT:$?; sleep 30")
    tmux("new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), command)
    width = tmux("display", "-p", "-t", session, "#{window_width}x#{window_height}").strip()
    assert width == f"{size[0]}x{size[1]}", width


@pytest.fixture
def session(tmp_path: Path) -> Iterator[str]:
    name = f"reader-test-{os.getpid()}"
    yield name
    tmux("kill-server")


def test_annotate_in_tmux_saves_edits_to_the_gold_file(tmp_path: Path, session: str) -> None:
    db = tmp_path / "gold.json"
    start_reader(session, tmp_path, f"annotate {shlex.quote(str(ARTICLE))} "
                 f"--db {shlex.quote(str(db))} --no-model", (120, 35))
    wait_for(session, "Port Ellery council approves")
    wait_for(session, "n Next doc")  # the footer of a 120-column screen, not an 80 one
    # The cursor starts on "Port": extend to "Ellery", label GPE (key 3 by default).
    tmux("send-keys", "-t", session, "S-Right")
    wait_for(session, "selection 'Port Ellery'")
    tmux("send-keys", "-t", session, "3")
    wait_for(session, "Port Ellery GPE")
    # Find "Helena", extend over "Okafor", label PERSON with the label picker (or key 1).
    tmux("send-keys", "-t", session, "/")
    wait_for(session, "find text")
    tmux("send-keys", "-t", session, "Helena", "Enter")
    wait_for(session, "selection 'Helena'")
    tmux("send-keys", "-t", session, "S-Right")
    wait_for(session, "selection 'Helena Okafor'")
    tmux("send-keys", "-t", session, "l")
    wait_for(session, "Entity label")
    tmux("send-keys", "-t", session, "PERSON", "Enter")
    wait_for(session, "Helena Okafor PERSON")
    tmux("send-keys", "-t", session, "a")  # accept: gold (keys are handled in order)
    tmux("send-keys", "-t", session, "q")
    wait_for(session, "EXIT:0")

    data = json.loads(db.read_text(encoding="utf-8"))  # what TinyDB itself would read
    annotations = list(data["annotations"].values())
    assert len(annotations) == 1
    text = ARTICLE.read_text(encoding="utf-8")
    helena = text.index("Helena Okafor")
    assert annotations[0]["status"] == "accept"
    assert [(s["start"], s["end"], s["label"], s["source"], s["state"])
            for s in annotations[0]["spans"]] == [
        (0, 11, "GPE", "human", "confirmed"),
        (helena, helena + len("Helena Okafor"), "PERSON", "human", "confirmed"),
    ]


CORPUS = REPO.parent / "shared" / "corpus"
REAL_ARTICLE = next(iter(sorted(CORPUS.glob("*.txt"))), None) if CORPUS.is_dir() else None


@pytest.mark.skipif(REAL_ARTICLE is None, reason="the shared corpus is not beside the checkout")
def test_boundary_fix_keeps_the_relation_and_accept_asks_first(tmp_path: Path,
                                                               session: str) -> None:
    """On a real article: a relation survives a boundary fix of its child, and accepting
    with unreviewed suggestions asks before anything becomes gold."""
    from annotations.models import Document, Prediction, Span
    from annotations.store import GoldStore

    assert REAL_ARTICLE is not None
    doc = Document.from_text(REAL_ARTICLE.read_text(encoding="utf-8"))
    needles = [("Moscow", "GPE"), ("Tajikistan", "GPE"), ("Afghanistan", "GPE"),
               ("CSTO military", "ORG")]  # the last one too long on purpose
    offsets = {n: doc.text.index(n) for n, _ in needles}
    db = tmp_path / "gold.json"
    with GoldStore(db) as store:
        store.add_documents([doc])
        store.put_predictions([Prediction(doc_id=doc.id, extractor="demo@1", spans=[
            Span(start=offsets[n], end=offsets[n] + len(n), label=label, source="demo@1",
                 state="suggested") for n, label in needles])])
    start_reader(session, tmp_path, f"annotate --db {shlex.quote(str(db))} --no-model",
                 (120, 40))
    wait_for(session, "4 unreviewed")
    # A relation from "Moscow" (under the cursor) to "CSTO military" by its hint letter.
    tmux("send-keys", "-t", session, "r")
    wait_for(session, "relation from GPE 'Moscow'")
    tmux("send-keys", "-t", session, "d")  # hints go a, s, d… over the other entities
    wait_for(session, "related_to")
    tmux("send-keys", "-t", session, "r")
    # The key's notice names both ends (it shortens the account for its time).
    wait_for(session, "added relation related_to 'Moscow' → 'CSTO")
    # Select "CSTO military", shrink it to "CSTO", label it ORG: a boundary fix.
    tmux("send-keys", "-t", session, "Tab", "Tab", "Tab")
    wait_for(session, "ORG 'CSTO military'")
    tmux("send-keys", "-t", session, "S-Left")
    wait_for(session, "selection 'CSTO'")
    tmux("send-keys", "-t", session, "2")
    screen = wait_for(session, "changed (demo@1)")
    assert "← related_to 'Moscow'" in screen
    tmux("send-keys", "-t", session, "a")
    wait_for(session, "3 suggestion(s) in this document are unreviewed")
    tmux("send-keys", "-t", session, "Escape")
    # The question closes before the next key: an Escape read together with the next
    # "a" would be one Alt+a (seen on a loaded machine).
    deadline = time.monotonic() + 30
    while "3 suggestion(s) in this document" in tmux("capture-pane", "-p", "-t", session):
        assert time.monotonic() < deadline, "the question did not close"
        time.sleep(0.05)
    data = json.loads(db.read_text(encoding="utf-8")) if db.stat().st_size else {}
    journal = (tmp_path / "gold.json.journal").read_text(encoding="utf-8")
    assert '"accept"' not in journal and not any(
        a.get("status") == "accept" for a in data.get("annotations", {}).values())
    tmux("send-keys", "-t", session, "a")
    wait_for(session, "Confirm all 3 and accept")
    tmux("send-keys", "-t", session, "c")
    wait_for(session, "1/1 accepted")
    tmux("send-keys", "-t", session, "q")
    wait_for(session, "EXIT:0")

    data = json.loads(db.read_text(encoding="utf-8"))
    (annotation,) = data["annotations"].values()
    moscow, csto = offsets["Moscow"], offsets["CSTO military"]
    assert annotation["status"] == "accept"
    assert annotation["relations"] == [{"head": [moscow, moscow + 6],
                                        "child": [csto, csto + 4], "label": "related_to"}]
    assert [(s["start"], s["label"], s["state"]) for s in annotation["spans"]] == [
        (moscow, "GPE", "bulk_confirmed"), (offsets["Tajikistan"], "GPE", "bulk_confirmed"),
        (offsets["Afghanistan"], "GPE", "bulk_confirmed"), (csto, "ORG", "changed")]


@pytest.mark.skipif(REAL_ARTICLE is None, reason="the shared corpus is not beside the checkout")
def test_help_and_quit_are_in_the_footer_at_80x24(tmp_path: Path, session: str) -> None:
    assert REAL_ARTICLE is not None
    db = tmp_path / "gold.json"
    start_reader(session, tmp_path, f"annotate {shlex.quote(str(REAL_ARTICLE))} "
                 f"--db {shlex.quote(str(db))} --no-model", (80, 24))
    screen = wait_for(session, "q Quit")  # the footer is drawn
    footer = screen.rstrip("\n").splitlines()[-1]
    assert "? Help" in footer and "q Quit" in footer
    tmux("send-keys", "-t", session, "?")  # the footer's Help key
    wait_for(session, "Escape closes")
    tmux("send-keys", "-t", session, "Escape")
    # The help closes before the next key (an Escape read together with it would be
    # one Alt+q).
    deadline = time.monotonic() + 30
    while "Escape closes" in tmux("capture-pane", "-p", "-t", session):
        assert time.monotonic() < deadline, "the help did not close"
        time.sleep(0.05)
    tmux("send-keys", "-t", session, "q")  # the footer's Quit key
    wait_for(session, "EXIT:0")


def test_nested_spans_in_tmux(tmp_path: Path, session: str) -> None:
    """An overlapping layer on a real terminal: every nested span's label is on screen,
    and f reaches the outer span from the inner one."""
    from annotations.models import Annotation, Document, EntityLabel, LabelScheme, Span
    from annotations.store import GoldStore

    text = "The University of California at Berkeley hired Ana Lima.\n"
    db = tmp_path / "gold.json"
    with GoldStore(db) as store:
        doc = Document.from_text(text)
        store.add_documents([doc])
        store.set_labels(LabelScheme(overlapping=True, entities=[
            EntityLabel(name="ORG", key="2"), EntityLabel(name="GPE", key="3")]))
        store.save_annotation(Annotation(doc_id=doc.id, spans=[
            Span(start=4, end=28, label="ORG"), Span(start=18, end=28, label="GPE")]))
    start_reader(session, tmp_path, f"annotate --db {shlex.quote(str(db))} --no-model",
                 (100, 24))
    # Edge marks (on in an overlapping layer): each label next to its own extent.
    screen = wait_for(session, "The ⟦University of ⟦California⟧GPE⟧ORG at Berkeley")
    assert "at Berkeley" in screen
    tmux("send-keys", "-t", session, "Right", "Right", "Right")  # The, University, of →
    wait_for(session, "GPE 'California' 18-28")
    tmux("send-keys", "-t", session, "f")
    wait_for(session, "ORG 'University of California' 4-28")
    tmux("send-keys", "-t", session, "q")
    wait_for(session, "EXIT:0")
