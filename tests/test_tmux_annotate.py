"""The real ``reader annotate`` in tmux: keys in, then the gold file read with plain JSON."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTICLE = REPO / "examples" / "article.txt"
TMUX = shutil.which("tmux")

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


# A private server (-L) with no config (-f): the window has the size asked for, whatever
# tmux server or config the person running the tests has.
SOCKET = f"reader-test-{os.getpid()}"


def tmux(*args: str) -> str:
    assert TMUX is not None
    done = subprocess.run([TMUX, "-L", SOCKET, "-f", "/dev/null", *args],
                          capture_output=True, text=True, timeout=10)
    return done.stdout


def wait_for(session: str, needle: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if needle in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} did not appear; the screen was:\n{screen}")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[str]:
    name = f"reader-test-{os.getpid()}"
    yield name
    tmux("kill-server")


def test_annotate_in_tmux_saves_edits_to_the_gold_file(tmp_path: Path, session: str) -> None:
    db = tmp_path / "gold.json"
    reader = Path(sys.executable).parent / "reader"
    command = (
        f"cd {shlex.quote(str(tmp_path))} && XDG_CONFIG_HOME={shlex.quote(str(tmp_path))} "
        f"{shlex.quote(str(reader))} annotate {shlex.quote(str(ARTICLE))} "
        f"--db {shlex.quote(str(db))} --no-model; echo EXIT:$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "35", command)
    wait_for(session, "Port Ellery council approves")
    # The cursor starts on "Port": extend to "Ellery", label GPE (key 3 by default).
    tmux("send-keys", "-t", session, "S-Right")
    time.sleep(0.3)
    tmux("send-keys", "-t", session, "3")
    wait_for(session, "Port Ellery GPE")
    # Find "Helena", extend over "Okafor", label PERSON with the label picker (or key 1).
    tmux("send-keys", "-t", session, "/")
    wait_for(session, "find text")
    tmux("send-keys", "-t", session, "Helena", "Enter")
    time.sleep(0.3)
    tmux("send-keys", "-t", session, "S-Right")
    time.sleep(0.3)
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
