"""``reader serve`` in a real browser: Debian's Chromium driven by Playwright.

Two annotators at once, each in their own store; a third connection with a name in
use is refused; a request without the token is refused; the printed link opens a
session when clicked on another site; then ``reader merge`` and ``reader agreement``
measure what the two did.  One server and one Chromium for all of it (each takes
seconds to start).  Deselect with ``-m "not browser"``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from annotations.articles import read_articles
from annotations.models import Annotation, LabelScheme
from annotations.store import GoldStore
from reader.cli import app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "examples" / "article.txt"
TOKEN = "test-token-0123456789abcdef"


def chromium() -> str | None:
    """A Chromium to drive: $READER_CHROMIUM, else Debian's (Playwright's own download
    is not reachable from here)."""
    for candidate in (os.environ.get("READER_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], object], seconds: float, what: str,
             retry: Callable[[], None] | None = None, every: float = 3.0) -> object:
    """Poll ``check`` until it returns something true; ``retry`` (a key press the app
    may have received before it was ready) is repeated every ``every`` seconds."""
    deadline = time.monotonic() + seconds
    next_retry = time.monotonic() + every
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if retry is not None and time.monotonic() >= next_retry:
            retry()
            next_retry = time.monotonic() + every
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def server(team: Path, port: int) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``reader serve`` on 127.0.0.1 with a token required; yields it and its output
    lines, and stops it (if the test has not) at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "reader", "serve", "--team", str(team), "--port", str(port),
         "--token", TOKEN, "--no-model"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200"})
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("login page:" in line for line in lines) or process.poll(),
                 20, "the server to start")
        assert process.poll() is None, "".join(lines)
        yield process, lines
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(5)


def annotation(path: Path, name: str) -> Annotation | None:
    """``name``'s annotation of the one document, read while the session may hold the
    store open for writing."""
    if not path.exists():
        return None
    with GoldStore(path, read_only=True) as store:
        return next(iter(store.annotations(annotator=name)), None)


def test_two_annotators_in_the_browser(tmp_path: Path) -> None:
    executable = chromium()
    if executable is None:
        pytest.skip("no chromium found (apt-get install chromium, or set READER_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")

    team = tmp_path / "team"
    with GoldStore(team / "team.json") as store:
        store.add_documents(read_articles([ARTICLE]).documents)
        store.set_labels(LabelScheme().with_entities(["PERSON", "ORG", "GPE"]))
        keys = {label.name: label.key for label in store.labels.entities}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Each annotator labels the article's first token, with different labels.
    plan = {"alice": "GPE", "bob": "PERSON"}

    with server(team, port) as (process, output), sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox"])
        try:
            # No token, or a wrong one: a 403 and nothing else, for every kind of request.
            stranger = browser.new_context()
            for path in ("/a/carol", "/", "/static/js/textual.js", "/ws/carol/x",
                         f"/a/carol?token={TOKEN[:-1]}"):
                response = stranger.request.get(base + path)
                assert response.status == 403, path
                assert response.text() == "403: forbidden\n"
            page = stranger.new_page()
            assert page.goto(base + "/a/carol").status == 403
            assert not (team / "carol.json").exists()

            open_the_printed_link_from_another_site(browser, port, team)

            pages = {}
            for name in plan:
                pages[name] = browser.new_context(viewport={"width": 1280, "height": 720}
                                                  ).new_page()
                pages[name].goto(f"{base}/a/{name}?token={TOKEN}")
            for name, label in plan.items():
                pg = pages[name]
                pg.wait_for_selector("body.-first-byte", state="attached", timeout=15000)

                def press(pg=pg, key=keys[label]) -> None:
                    pg.keyboard.press(key)

                press()
                store = team / f"{name}.json"
                wait_for(lambda store=store, name=name: (a := annotation(store, name))
                         and a.spans, 15, f"{name}'s span", retry=press)
                pg.keyboard.press("a")
                wait_for(lambda store=store, name=name: (a := annotation(store, name))
                         and a.status == "accept", 10, f"{name}'s accept",
                         retry=lambda pg=pg: pg.keyboard.press("a"))

            # The same name again, while alice is connected: a page saying so.
            third = browser.new_context().new_page()
            response = third.goto(f"{base}/a/alice?token={TOKEN}")
            assert response is not None and response.status == 409
            assert "already connected" in third.content()

            # The status display counts both.
            wait_for(lambda: any("alice (connected): 1 accepted" in line
                                 and "bob (connected): 1 accepted" in line
                                 for line in output), 10, "the status line")

            # Ctrl+C with both still connected: the sessions end, the stores close.
            process.send_signal(signal.SIGINT)
            assert process.wait(15) == 0
            assert sorted(p.name for p in team.iterdir()) == [
                "alice.json", "bob.json", "dana.json", "team.json"]
        finally:
            browser.close()

    for name, label in plan.items():
        with GoldStore(team / f"{name}.json", read_only=True) as store:
            (ann,) = store.annotations(annotator=name)
            assert ann.status == "accept"
            assert [(s.start, s.end, s.label) for s in ann.spans] == [(0, 4, label)]
            assert store.text(ann.doc_id)[:4] == "Port"

    merged = tmp_path / "merged.json"
    cli = CliRunner()
    result = cli.invoke(app, ["merge", str(team / "alice.json"), str(team / "bob.json"),
                              "--db", str(merged)])
    assert result.exit_code == 0, result.output
    result = cli.invoke(app, ["agreement", "--db", str(merged), "--json", "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    (pair,) = json.loads(result.stdout)["pairs"]
    assert (pair["a"], pair["b"], pair["documents"]) == ("alice", "bob", 1)
    # The same token, two labels: no labelled agreement, full unlabelled agreement.
    assert pair["spans"]["exact"]["micro"]["agreed"] == 0
    assert pair["spans"]["exact"]["micro"]["f1"] == 0.0
    assert pair["spans"]["unlabelled"]["micro"]["agreed"] == 1
    assert pair["spans"]["unlabelled"]["micro"]["f1"] == 1.0


@contextmanager
def link_page(target: str) -> Iterator[str]:
    """A page on another site (``localhost`` is not the same site as ``127.0.0.1``)
    with a link to ``target``, as in a mail or a chat; yields its address."""
    import html
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = (f"<!DOCTYPE html><html><body><a id='link' href='{html.escape(target)}'>"
            "your annotation link</a></body></html>").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("localhost", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def open_the_printed_link_from_another_site(browser: Any, port: int, team: Path) -> None:
    """The token link clicked in a page of another site (a mail, a chat) opens the
    session, and a reload of the page it lands on still works (the token cookie is
    sent on a top-level navigation from another site and on the redirect after it)."""
    target = f"http://127.0.0.1:{port}/a/dana?token={TOKEN}"
    with link_page(target) as mail:
        page = browser.new_context().new_page()
        page.goto(mail)
        with page.expect_navigation() as landed:
            page.click("#link")
        response = landed.value
        assert response is not None and response.status == 200, response and (
            response.status)
        assert page.url == f"http://127.0.0.1:{port}/a/dana"  # the token left the bar
        page.wait_for_selector("body.-first-byte", state="attached", timeout=15000)
        wait_for(lambda: (team / "dana.json").exists(), 10, "dana's store")
        # A reload carries the cookie too (the page may find dana still connected
        # while the previous session ends: 409, not 403).
        reloaded = page.reload()
        assert reloaded is not None and reloaded.status in (200, 409)
