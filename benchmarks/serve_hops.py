"""Where a label key's time goes in ``reader serve``, hop by hop, old against new.

    python benchmarks/serve_hops.py [--old /work/main] [--words 10000] [--keys 30]

For each server (the code in ``--old``, read only, and this code) it starts
``reader serve --no-model`` with ``benchmarks/serve_trace`` first on ``PYTHONPATH``
(see its ``sitecustomize.py``: the server and each session process write a
timestamped line per event), opens ``/a/NAME`` on a generated article in Chromium
(Debian's, through Playwright, as ``serve_open.py`` does), waits for the screen to
settle and presses, ``--keys`` times each, in turn:

* the label key on the article's first word, then undo (as ``serve_open.py``), timed
  from ``keydown`` to the first websocket frame that shows the change;
* the cursor key (→, then ←): a key whose own work is small, timed to the next frame;
* a ping on the page's websocket, which the server answers itself: the path from the
  browser to the server and back, without the app.

The browser's times (``performance.timeOrigin + performance.now()``) and the
processes' (``time.time_ns()``) are on the same wall clock, so one key's events line
up from the ``keydown`` to the frame, and its time splits into hops that add up to
it.  It prints the median of each hop per server.  The servers run one after the
other (not interleaved); on a shared machine compare them within one run only.
The tracing itself costs a few microseconds per event (one ``write`` each).
"""

from __future__ import annotations

import argparse
import bisect
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_open import (  # noqa: E402
    INIT_SCRIPT,
    LABELS,
    MARKER,
    ROOT,
    article,
    free_port,
    listening,
    make_team,
)

TRACER = Path(__file__).resolve().parent / "serve_trace"

HOPS = [
    ("browser -> server (websocket in)", "keydown", "server_key"),
    ("server -> session (pipe, input thread)", "server_key", "driver_read"),
    ("driver parses the key", "driver_read", "driver_key"),
    ("driver thread -> app's event loop", "driver_key", "app_key"),
    ("the key's work in the app", "app_key", "app_key_end"),
    ("  of which fsync", None, None),
    ("key handled -> screen refresh starts", "app_key_end", "update"),
    ("refresh: layout, render, encode", "update", "write"),
    ("session -> server (pipe)", "write", "server_frame"),
    ("server -> browser (websocket out)", "server_frame", "frame"),
]
"""(hop, from event, to event): consecutive, so that they add up to the key's time."""
CPU_HOPS = {"the key's work in the app", "refresh: layout, render, encode"}
"""Hops within the app's thread, whose CPU time is printed beside their wall time."""
TOTAL = "total (keydown -> frame)"


class Trace:
    """The events of one server's run, by name, in time order: (wall ns, thread CPU
    ns, argument)."""

    def __init__(self, path: Path) -> None:
        self.events: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for line in path.read_text().splitlines():
            parts = line.split(" ", 4)
            if len(parts) >= 4:
                self.events[parts[3]].append((int(parts[0]), int(parts[1]),
                                              parts[4] if len(parts) > 4 else ""))
        for rows in self.events.values():
            rows.sort()

    def after(self, name: str, when: int, argument: str | None = None
              ) -> tuple[int, int] | None:
        """The first ``name`` at or after ``when`` (with ``argument``, if given)."""
        rows = self.events.get(name, [])
        for at, cpu, arg in rows[bisect.bisect_left(rows, (when,)):]:
            if argument is None or arg == argument:
                return at, cpu
        return None

    def before(self, name: str, when: int) -> tuple[int, int] | None:
        """The last ``name`` before ``when``."""
        rows = self.events.get(name, [])
        index = bisect.bisect_left(rows, (when,)) - 1
        return rows[index][:2] if index >= 0 else None

    def spent(self, start: str, end: str, low: int, high: int) -> int:
        """Nanoseconds inside ``start``..``end`` pairs that begin in [low, high)."""
        total = 0
        for at, _, _ in self.events.get(start, []):
            if low <= at < high:
                finish = self.after(end, at)
                total += (finish[0] if finish else at) - at
        return total


def hops_of(trace: Trace, keydown: int, frame: int, size: int) -> dict[str, float] | None:
    """One key's hops in milliseconds (and ``HOP cpu`` for ``CPU_HOPS``), or None
    when its events are not all there."""
    at: dict[str, tuple[int, int] | None] = {"keydown": (keydown, 0), "frame": (frame, 0)}
    at["server_key"] = trace.after("server_key", keydown - 1_000_000)
    for name, previous in (("driver_read", "server_key"), ("driver_key", "driver_read"),
                           ("app_key", "driver_key")):
        start = at[previous]
        at[name] = None if start is None else trace.after(name, start[0])
    app_key = at["app_key"]
    if app_key is None:
        return None
    write = at["write"] = trace.after("write", app_key[0], str(size))
    if write is None:
        return None
    update = at["update"] = trace.before("update", write[0])
    at["app_key_end"] = trace.before("app_key_end", (update or write)[0])
    at["server_frame"] = trace.after("server_frame", write[0], str(size))
    times: dict[str, tuple[int, int]] = {}
    for name, value in at.items():
        if value is None:
            return None
        times[name] = value
    hops: dict[str, float] = {}
    for name, start, end in HOPS:
        if start is None or end is None:
            hops[name] = trace.spent("fsync", "fsync_end", times["app_key"][0],
                                     times["app_key_end"][0]) / 1e6
            continue
        hops[name] = (times[end][0] - times[start][0]) / 1e6
        if name in CPU_HOPS:
            hops[f"{name} cpu"] = (times[end][1] - times[start][1]) / 1e6
    hops[TOTAL] = (frame - keydown) / 1e6
    return hops


def run_server(code: Path, team: Path, port: int, trace: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{TRACER}{os.pathsep}{code}",
           "READER_SERVE_TRACE": str(trace)}
    process = subprocess.Popen(
        [sys.executable, "-m", "reader", "serve", "--team", str(team), "--port", str(port),
         "--no-model"], cwd=code, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    return listening(process, port, code)


def measure(page, keys: int, words: int) -> dict[str, list]:
    """Press the keys; the browser's side of each (epoch nanoseconds, frame bytes)."""
    labelled = f"{MARKER} {LABELS[0]}"
    unlabelled = " ".join(article(words, words).split()[:2])
    page.wait_for_timeout(2000)
    page.keyboard.press("1")  # the first key after an open also focuses the app
    page.wait_for_timeout(1000)
    page.keyboard.press("u")
    page.wait_for_timeout(1000)
    out: dict[str, list] = {"label": [], "cursor": [], "ping": []}
    for _ in range(keys):
        for key, want, kind in (("1", labelled, "label"), ("u", unlabelled, None)):
            page.evaluate("(w) => { window.__want = w; window.__hit = null; }", want)
            page.keyboard.press(key)
            page.wait_for_function("window.__hit !== null", timeout=10000)
            if kind:
                kd, hit, size = page.evaluate(
                    "(() => [performance.timeOrigin + window.__keydowns.at(-1),"
                    " performance.timeOrigin + window.__hit, window.__hitBytes])()")
                out[kind].append((int(kd * 1e6), int(hit * 1e6), size))
            page.wait_for_timeout(300)
        for key in ("ArrowRight", "ArrowLeft"):
            count = page.evaluate("window.__frames.length")
            page.keyboard.press(key)
            page.wait_for_function(f"window.__frames.length > {count}", timeout=10000)
            kd, frame, size = page.evaluate(
                f"(() => {{ const k = window.__keydowns.at(-1);"
                f" const i = window.__frames.findIndex((t, j) => j >= {count} && t >= k);"
                f" return [performance.timeOrigin + k,"
                f" performance.timeOrigin + window.__frames[i], window.__bytes[i]]; }})()")
            out["cursor"].append((int(kd * 1e6), int(frame * 1e6), size))
            page.wait_for_timeout(300)
        sent, received = page.evaluate("""() => new Promise((done) => {
          const socket = window.__sockets.at(-1);
          const token = String(Math.random());
          const listen = (event) => {
            if (typeof event.data === "string" && event.data.includes(token)) {
              socket.removeEventListener("message", listen);
              done([sent, performance.timeOrigin + performance.now()]);
            }
          };
          socket.addEventListener("message", listen);
          const sent = performance.timeOrigin + performance.now();
          socket.send(JSON.stringify(["ping", token]));
        })""")
        out["ping"].append((int(sent * 1e6), int(received * 1e6)))
        page.wait_for_timeout(300)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, default=Path("/work/main"),
                        help="a checkout of the code to compare with (read only)")
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=30)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("READER_CHROMIUM") or shutil.which("chromium")
    if executable is None:
        raise SystemExit("no chromium (apt-get install chromium, or set READER_CHROMIUM)")
    init = INIT_SCRIPT.replace(
        "window.__frames.push(now);",
        "window.__frames.push(now); window.__bytes.push(typeof event.data === 'string'"
        " ? event.data.length : event.data.byteLength);").replace(
        "window.__frames = [];", "window.__frames = []; window.__bytes = [];")
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    pings: dict[str, list[tuple[float, float]]] = {}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox"])
        try:
            for label, code in (("old", args.old), ("new", ROOT)):
                team = Path(tmp) / label
                make_team(team, args.words, ["a0"])
                trace_path = Path(tmp) / f"{label}.trace"
                port = free_port()
                server = run_server(code, team, port, trace_path)
                try:
                    time.sleep(3.0)  # the server's start and a session started ahead
                    context = browser.new_context(viewport={"width": 1280, "height": 720})
                    context.add_init_script(init)
                    page = context.new_page()
                    page.goto(f"http://127.0.0.1:{port}/a/a0")
                    page.wait_for_function("window.__article !== null", timeout=60000)
                    measured = measure(page, args.keys, args.words)
                    context.close()
                finally:
                    server.terminate()
                    server.wait(30)
                trace = Trace(trace_path)
                results[label] = {}
                for kind in ("label", "cursor"):
                    rows = [hops_of(trace, kd, frame, size) for kd, frame, size in
                            measured[kind]]
                    results[label][kind] = [row for row in rows if row is not None]
                pings[label] = []
                for sent, received in measured["ping"]:
                    pong = trace.after("server_pong", sent - 1_000_000)
                    if pong is not None and pong[0] < received:
                        pings[label].append(((pong[0] - sent) / 1e6,
                                             (received - pong[0]) / 1e6))
        finally:
            browser.close()
    report(results, pings, args)


def report(results: dict[str, dict[str, list[dict[str, float]]]],
           pings: dict[str, list[tuple[float, float]]], args: argparse.Namespace) -> None:
    labels = list(results)
    print(f"reader serve, {args.words:,}-word article, Chromium 1280x720; medians in ms "
          f"(old = {args.old}); a shared 2-core machine, load average "
          f"{os.getloadavg()[0]:.1f} at the end")
    for kind, title in (("label", "label key, to the frame that shows the change"),
                        ("cursor", "cursor key (→/←), to the next frame")):
        counts = ", ".join(f"{label} {len(results[label][kind])}" for label in labels)
        print(f"\n{title} (keys traced: {counts})")
        print(f"  {'hop (wall ms; CPU ms of the app thread)':<42}"
              + "".join(f"{label:>16}" for label in labels))
        for name in [name for name, _, _ in HOPS] + [TOTAL]:
            cells = []
            for label in labels:
                rows = results[label][kind]
                if not rows:
                    cells.append(f"{'-':>16}")
                    continue
                cell = f"{statistics.median(r[name] for r in rows):.2f}"
                if name in CPU_HOPS:
                    cell += f" ({statistics.median(r[name + ' cpu'] for r in rows):.2f})"
                cells.append(f"{cell:>16}")
            print(f"  {name:<42}" + "".join(cells))
    print("\nping (the page's websocket; the server answers, no app)")
    for label in labels:
        rows = pings[label]
        if rows:
            print(f"  {label}: browser -> server {statistics.median(r[0] for r in rows):.2f}, "
                  f"server -> browser {statistics.median(r[1] for r in rows):.2f}, "
                  f"round trip {statistics.median(r[0] + r[1] for r in rows):.2f} "
                  f"({len(rows)} pings)")


if __name__ == "__main__":
    main()
