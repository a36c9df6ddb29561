"""How long ``reader serve`` takes to show a browser the article, old against new.

    python benchmarks/serve_open.py [--opens 5] [--keys 20] [--old /work/main]
                                    [--sizes 1000 10000] [--variants old ready]

For a generated article of 1,000, 10,000 and 100,000 words (one team folder each), it
starts ``reader serve --no-model`` and opens ``/a/NAME`` in Chromium (Debian's
``/usr/bin/chromium`` through Playwright), ``--opens`` times, each time as another
annotator whose store already exists (a returning annotator).  An open is timed in
the page: from the start of the navigation to the first websocket frame that holds
the article's first word (a word no other part of the screen shows).  Between two
opens the page is closed and the session's process left to end.

Three servers per size (``--variants`` picks some):

* **old**: the code in ``--old`` (a worktree of main, read only; with its own
  defaults);
* **per connection**: this code with ``--ready-sessions 0`` (a process per
  connection, started by the new launcher);
* **ready**: this code as shipped (``--ready-sessions 1``: a process started ahead,
  imports done, waits for the next annotator).

After each open it also times label keys: the label key on the
first token, then undo, ``--keys`` times; from the key's ``keydown`` in the page to the
first websocket frame that shows the change: the word followed by its label, once
escape sequences are taken out of the frame (a frame that shows something else, such
as the footer redrawn after the key before, does not count; the next frame whatever
it shows, the figure earlier runs printed, is printed beside it).  Each open's first
key is also given apart: it used to refocus the app first (:mod:`reader.web_driver`).
It prints medians, and the ratios old / ready.  ``serve_hops.py`` splits a key's time
hop by hop.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = "Quokkaville"
LABELS = ("PERSON", "ORG", "GPE")
"""The team's entity labels; the label key ``1`` gives the first."""
INIT_SCRIPT = """
(() => {
  const Original = window.WebSocket;
  window.__frames = [];
  window.__article = null;
  window.__want = null;  // text a frame must show (escape sequences taken out)
  window.__hit = null;   // when the first frame showing it came
  window.__hitBytes = 0;  // and its size
  window.__sockets = [];
  let tail = "";
  const decoder = new TextDecoder();
  const escapes = /\\x1b\\[[0-9;?]*[ -\\/]*[@-~]/g;
  function Wrapped(url, protocols) {
    const socket = protocols === undefined ? new Original(url) : new Original(url, protocols);
    window.__sockets.push(socket);
    socket.addEventListener("message", (event) => {
      const now = performance.now();
      window.__frames.push(now);
      if (typeof event.data === "string") return;
      if (window.__article === null) {
        const text = tail + decoder.decode(event.data, {stream: true});
        if (text.includes("MARKER")) window.__article = now;
        tail = text.slice(-64);
      }
      if (window.__want !== null && window.__hit === null) {
        const shown = new TextDecoder().decode(event.data).replace(escapes, "");
        if (shown.includes(window.__want)) {
          window.__hit = now;
          window.__hitBytes = event.data.byteLength;
        }
      }
    });
    return socket;
  }
  Wrapped.prototype = Original.prototype;
  for (const key of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Wrapped[key] = Original[key];
  window.WebSocket = Wrapped;
  window.__keydowns = [];
  document.addEventListener("keydown", () => window.__keydowns.push(performance.now()),
                            true);
})();
""".replace("MARKER", MARKER)

WORDS = ("the council said on Monday that new rules for the river port would take "
         "effect in spring after months of talks with unions and shipping firms").split()


def article(words: int, seed: int) -> str:
    rng = random.Random(seed)
    body = [rng.choice(WORDS) for _ in range(words - 1)]
    lines = []
    for start in range(0, len(body), 60):
        lines.append(" ".join(body[start:start + 60]) + ".")
    return f"{MARKER} " + "\n\n".join(lines)


VARIANTS: dict[str, int | None] = {"old": None, "per connection": 0, "ready": 1}
"""Each server's ``--ready-sessions`` (None: the old code, which has no such option)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_team(folder: Path, words: int, names: list[str]) -> None:
    from annotations.models import Document, LabelScheme
    from annotations.store import GoldStore
    from annotations.team import TeamFolder

    team = TeamFolder(folder)
    with GoldStore(team.team_path) as store:
        store.add_documents([Document.from_text(article(words, words))])
        store.set_labels(LabelScheme().with_entities(list(LABELS)))
    for name in names:
        team.prepare(name)


def start_server(code: Path, team: Path, port: int, ready: int | None) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "reader", "serve", "--team", str(team), "--port", str(port),
            "--no-model"]
    if ready is not None:
        args += ["--ready-sessions", str(ready)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    process = subprocess.Popen(args, cwd=code, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    return listening(process, port, code)


def listening(process: subprocess.Popen[bytes], port: int, code: Path
              ) -> subprocess.Popen[bytes]:
    """``process`` once it accepts connections on ``port`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server in {code} did not start")


def sessions_of(server: subprocess.Popen[bytes]) -> int:
    """How many processes run below the server (sessions, and any started ahead)."""
    out = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)
    return len(out.stdout.split())


def open_once(browser, port: int, name: str, keys: int, words: int
              ) -> tuple[float, list[tuple[float, float]]]:
    """One open of ``/a/NAME``: milliseconds to the article, and the label keys."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(INIT_SCRIPT)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/a/{name}")
        page.wait_for_function("window.__article !== null", timeout=60000)
        start = page.evaluate("performance.getEntriesByType('navigation')[0].startTime")
        opened = page.evaluate("window.__article") - start
        return opened, label_keys(page, keys, words) if keys else []
    finally:
        context.close()


def settle(server: subprocess.Popen[bytes], idle: int) -> None:
    """Wait for the last session's process to end (and one to be started ahead)."""
    deadline = time.monotonic() + 30
    while sessions_of(server) > idle and time.monotonic() < deadline:
        time.sleep(0.2)


def label_keys(page, count: int, words: int) -> list[tuple[float, float]]:
    """The label key on the article's first word, then undo, ``count`` times: for each
    label key, milliseconds from its ``keydown`` to the next websocket frame, and to
    the first frame that shows the change (the word with its label after it, escape
    sequences taken out)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    labelled = f"{MARKER} {LABELS[0]}"
    unlabelled = " ".join(article(words, words).split()[:2])
    page.wait_for_timeout(1500)  # the screen settles (side panel, footer)
    times = []
    for _ in range(count):
        for key, want, timed in (("1", labelled, True), ("u", unlabelled, False)):
            page.evaluate("(want) => { window.__want = want; window.__hit = null; }", want)
            page.keyboard.press(key)
            try:
                page.wait_for_function("window.__hit !== null", timeout=10000)
            except PlaywrightTimeout:
                raise SystemExit(f"no frame showed {want!r} within 10 s of the key {key!r}"
                                 ) from None
            if timed:
                times.append(tuple(page.evaluate(
                    "(() => { const k = window.__keydowns.at(-1);"
                    " return [window.__frames.find((t) => t >= k) - k,"
                    " window.__hit - k]; })()")))
            page.wait_for_timeout(150)
    return times


def ratio(old: list[tuple[float, float]], new: list[tuple[float, float]]) -> float:
    """Median time to the change, old / new."""
    return statistics.median(c for _, c in old) / statistics.median(c for _, c in new)


def key_summary(times: list[tuple[float, float]], per_open: int) -> str:
    """The label keys' medians: to the frame with the change over every key (the
    figure the target is on), the same without each open's first key, and to the
    next frame whatever it showed."""
    change = [c for _, c in times]
    later = [c for i, (_, c) in enumerate(times) if i % per_open]
    firsts = [c for i, (_, c) in enumerate(times) if not i % per_open]
    text = (f"label key to the change: median {statistics.median(change):.1f} ms over "
            f"{len(change)} (next frame {statistics.median(f for f, _ in times):.1f})")
    if later:
        text += (f"; without each open's first key {statistics.median(later):.1f}, "
                 f"first keys {statistics.median(firsts):.1f}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opens", type=int, default=5)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--old", type=Path, default=Path("/work/main"),
                        help="a checkout of the code to compare with (read only)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS),
                        help="the servers to run (default: all three)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("READER_CHROMIUM") or shutil.which("chromium")
    if executable is None:
        raise SystemExit("no chromium (apt-get install chromium, or set READER_CHROMIUM)")
    variants = [(label, args.old if label == "old" else ROOT, VARIANTS[label])
                for label in VARIANTS if label in args.variants]
    print(f"browser open of /a/NAME to the article's first word, median of {args.opens} "
          "opens (ms), the servers' opens interleaved; label key: keydown to the first "
          "websocket frame that shows the change; a shared 2-core machine, so medians")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox"])
        try:
            for words in args.sizes:
                names = [f"a{i}" for i in range(args.opens)]
                servers = {}
                for label, code, ready in variants:
                    team = Path(tmp) / f"{words}-{label.replace(' ', '-')}"
                    make_team(team, words, names)
                    port = free_port()
                    servers[label] = (port, start_server(code, team, port, ready),
                                      1 if ready else 0)
                opens: dict[str, list[float]] = {label: [] for label in servers}
                key_times: dict[str, list[tuple[float, float]]] = {
                    label: [] for label in servers}
                try:
                    time.sleep(3.0)  # the servers' own start, and a session started ahead
                    for name in names:
                        for label, (port, server, idle) in servers.items():
                            opened, keys = open_once(browser, port, name, args.keys, words)
                            opens[label].append(opened)
                            key_times[label] += keys
                            settle(server, idle)
                        time.sleep(2.0)
                finally:
                    for _port, server, _idle in servers.values():
                        server.terminate()
                        server.wait(30)
                for label in servers:
                    line = (f"{words:>7,} words  {label:<15} open median "
                            f"{statistics.median(opens[label]):7.0f} ms  (min "
                            f"{min(opens[label]):.0f}, max {max(opens[label]):.0f})")
                    if key_times[label]:
                        line += "  " + key_summary(key_times[label], args.keys)
                    print(line, flush=True)
                if "old" in opens and "ready" in opens:
                    opened = statistics.median(opens["old"]) / statistics.median(opens["ready"])
                    keyed = (f", label key {ratio(key_times['old'], key_times['ready']):.2f}x"
                             if args.keys else "")
                    print(f"{words:>7,} words  old / ready: open {opened:.1f}x{keyed}",
                          flush=True)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
