"""One browser session's process for ``reader serve`` (``python -m reader.web_session FD``).

The server starts it ahead of need: it imports the annotator (most of the second a
session used to take to open), then waits for one line on standard input, a JSON
object ``{"argv": [...], "width": W, "height": H}``, and runs ``reader ARGV`` in
Textual's web driver (which reads the rest of standard input and writes standard
output in textual-serve's packet protocol).

It ends with its server: ``FD`` is the read end of a pipe whose write end only the
server holds.  When the server goes, however it goes (Ctrl+C, SIGTERM, SIGKILL, the
OOM killer), the pipe reaches end of file; the session is then asked to quit as on
Ctrl+C (SIGTERM: the app quits and the store closes), and if it has not ended
``GRACE_SECONDS`` later it exits at once (every acknowledged edit is already on
disk: the store's journal is fsynced before an edit returns).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

GRACE_SECONDS = 10.0


def watch_lifeline(fd: int) -> None:
    """End this process when the server's end of the pipe ``fd`` closes."""

    def watch() -> None:
        while True:
            try:
                if not os.read(fd, 4096):
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(GRACE_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def warm_up() -> None:
    """Import what a session needs before it is needed."""
    import textual.drivers.web_driver  # noqa: F401
    import textual.widgets
    from textual.widgets import Header, Input, Label, OptionList, Static  # noqa: F401

    import reader.app  # noqa: F401
    import reader.cli  # noqa: F401
    import reader.commands.adjudicate  # noqa: F401
    import reader.commands.annotate  # noqa: F401
    import reader.config  # noqa: F401
    import reader.web_driver  # noqa: F401

    del textual.widgets


def read_request(fd: int = 0) -> dict[str, object] | None:
    """The first line of ``fd``, read byte by byte so that nothing after it is taken
    from the web driver; None at end of file."""
    line = bytearray()
    while not line.endswith(b"\n"):
        try:
            byte = os.read(fd, 1)
        except InterruptedError:
            continue
        if not byte:
            return None
        line += byte
    request = json.loads(line)
    if not isinstance(request, dict):
        raise SystemExit("reader.web_session: the request is not a JSON object")
    return request


def main(argv: list[str]) -> None:
    if len(argv) != 1 or not argv[0].isdigit():
        raise SystemExit("usage: python -m reader.web_session LIFELINE_FD "
                         "(started by reader serve)")
    watch_lifeline(int(argv[0]))
    warm_up()
    request = read_request()
    if request is None:
        return  # the server closed us unused
    args = request.get("argv")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise SystemExit("reader.web_session: the request has no argv list")
    os.environ["COLUMNS"] = str(request.get("width", 80))
    os.environ["ROWS"] = str(request.get("height", 24))
    sys.argv = ["reader", *args]
    from reader.cli import main as reader_main

    reader_main()


if __name__ == "__main__":
    main(sys.argv[1:])
