"""``reader serve``: the annotator in a browser, one process and one store per annotator.

Built on textual-serve (an aiohttp server that runs one process of a command per
browser connection and relays its Textual web driver over a websocket).  What this
module adds around it:

* the annotator's name comes from the link (``/a/NAME``, or the login form at ``/``);
  each name edits its own store ``DIR/NAME.json`` (:mod:`annotations.team`), so
  annotators never wait for each other;
* one session per name: a second connection with a name in use gets a page saying
  so (the server tracks sessions; the store's lock also refuses a writer started
  elsewhere, e.g. ``reader annotate`` in a terminal);
* a token, when required (any host but loopback, or ``--token``): every request
  (page, websocket, static file) carries it as ``?token=`` or in the cookie the
  first page sets; without it, a 403 and nothing else;
* an adjudicator's page (``--adjudicator NAME``): the agreement report over every
  annotator's store, and the adjudication screen when the CLI has one;
* a status display: who is connected and how many documents each has accepted.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import logging
import secrets
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from aiohttp import WSCloseCode, web
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text
from textual_serve.app_service import AppService
from textual_serve.server import Server

from annotations.errors import AnnotationsError, StoreLockedError
from annotations.team import TeamFolder, annotator_problem
from annotations.terminal import visible

log = logging.getLogger("reader.serve")

TOKEN_COOKIE = "reader_token"
RESERVATION_SECONDS = 60.0  # a page whose websocket never connects frees its name after this
STATUS_SECONDS = 2.0
Seat = tuple[str, str]
ADJUDICATION_SEAT: Seat = ("adjudicate", "the adjudication screen")


def annotator_seat(name: str) -> Seat:
    return ("annotate", name)


def is_loopback(host: str) -> bool:
    """True for a host only this machine can reach (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def access_token(host: str, token: str | None) -> str | None:
    """The token every request must carry: the one given, a new one for any host but
    loopback, or None (no token) on loopback."""
    if token:
        return token
    return None if is_loopback(host) else secrets.token_urlsafe(24)


@dataclass
class Session:
    """One seat in use (an annotator's name, or the adjudication screen): reserved by a
    page, then held by its websocket, which runs ``command``."""

    command: str
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    since: float = field(default_factory=time.monotonic)
    connected: bool = False
    websocket: web.WebSocketResponse | None = None


@dataclass
class ServeOptions:
    team: TeamFolder
    token: str | None = None
    model: str | None = None
    load_model: bool = True
    config: Path | None = None
    adjudicator: str | None = None
    order_args: tuple[str, ...] = ()
    """``reader annotate``'s queue options (``--order``, ``-e``, ``--seed``) for everyone."""


def page(title: str, body: str, status: int = 200) -> web.Response:
    """A small HTML page; ``body`` is HTML the caller escaped."""
    text = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            "</title><style>body{font-family:sans-serif;max-width:40em;margin:3em auto;"
            "line-height:1.5}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{body}</body></html>")
    return web.Response(text=text, status=status, content_type="text/html")


def websocket_url(request: web.Request, path: str) -> str:
    """The absolute websocket address of ``path`` as the browser reached us (behind a
    TLS proxy that sets X-Forwarded-Proto, wss)."""
    return f"{'wss' if is_secure(request) else 'ws'}://{request.host}{path}"


def is_secure(request: web.Request) -> bool:
    """Reached over TLS, directly or through a proxy that says so."""
    return request.secure or request.headers.get("X-Forwarded-Proto") == "https"


def terminal_page(title: str, websocket: str) -> web.Response:
    """textual-serve's terminal page (its static xterm front end), with our websocket
    and no font fetched from the internet."""
    ws = html.escape(websocket, quote=True)
    text = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="stylesheet" href="/static/css/xterm.css">
<script src="/static/js/textual.js"></script>
<style>
body {{ background: #0c181f; margin: 0; }}
.closed-dialog {{ display: none; position: absolute; inset: 0; align-items: center;
  justify-content: center; z-index: 10; color: #eee; font-family: monospace; }}
body.-closed .closed-dialog {{ display: flex; flex-direction: column; }}
body.-closed .textual-terminal {{ opacity: 0.3; }}
#terminal {{ position: absolute; inset: 0; }}
</style>
<script>
// Keys go to the terminal at once, without a click first (textual.js builds it onload).
window.addEventListener("load", () => {{
  const input = document.querySelector(".xterm-helper-textarea");
  if (input) input.focus();
}});
</script>
</head><body>
<div class="closed-dialog"><p>Session ended: every edit is saved.</p>
<button type="button" onclick="location.reload()">Start again</button></div>
<div id="terminal" class="textual-terminal" data-session-websocket-url="{ws}"
  data-font-size="16"></div>
</body></html>"""
    return web.Response(text=text, content_type="text/html")


class TeamServer(Server):
    """textual-serve's server with one command per annotator, sessions and a token."""

    def __init__(self, options: ServeOptions, host: str = "127.0.0.1", port: int = 8000,
                 console: Console | None = None) -> None:
        super().__init__("reader annotate", host=host, port=port, title="reader")
        self.options = options
        self.sessions: dict[Seat, Session] = {}
        if console is not None:
            self.console = console
        self._accepted: dict[str, tuple[tuple[float, ...], int | str]] = {}
        self._status_task: asyncio.Task[None] | None = None

    def initialize_logging(self) -> None:
        """Errors with their tracebacks but without local variables (they may hold the
        token); no access log line per request unless debugging."""
        from rich.logging import RichHandler

        logging.basicConfig(level="DEBUG" if self.debug else "INFO", format="%(message)s",
                            handlers=[RichHandler(show_path=False, show_time=False,
                                                  rich_tracebacks=True,
                                                  console=self.console)])
        if not self.debug:
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    # -- commands ------------------------------------------------------------

    def annotate_command(self, name: str, path: Path) -> str:
        opts = self.options
        args = [sys.executable, "-m", "reader", "annotate", "--db", str(path),
                "--annotator", name]
        if not opts.load_model:
            args.append("--no-model")
        elif opts.model:
            args += ["--model", opts.model]
        if opts.config:
            args += ["--config", str(opts.config)]
        args += opts.order_args
        return shlex.join(args)

    def adjudicate_command(self) -> str | None:
        """``reader adjudicate`` on the merged store, if this CLI has that command (with
        ``--config`` when it takes one)."""
        import inspect

        from reader.cli import app as cli

        command = next((c for c in cli.registered_commands
                        if (c.name or (c.callback.__name__ if c.callback else ""))
                        == "adjudicate"), None)
        if command is None or command.callback is None:
            return None
        args = [sys.executable, "-m", "reader", "adjudicate", "--db",
                str(self.options.team.merged_path)]
        if self.options.config and "config" in inspect.signature(
                command.callback).parameters:
            args += ["--config", str(self.options.config)]
        return shlex.join(args)

    # -- the aiohttp application ---------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.check_token])
        app.add_routes([
            web.get("/", self.handle_login),
            web.get("/a/{name}", self.handle_annotator),
            web.get("/ws/{key}", self.handle_session),
            web.get("/adjudicator/{name}", self.handle_adjudicator),
            web.get("/adjudicator/{name}/report", self.handle_report),
            web.get("/adjudicator/{name}/screen", self.handle_adjudicate_screen),
            web.static("/static", self.statics_path, name="static"),
        ])
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    @web.middleware
    async def check_token(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
        token = self.options.token
        if token is None:
            return await handler(request)
        given = request.query.get("token")
        if given is not None and secrets.compare_digest(given.encode(), token.encode()):
            # Keep it in a cookie, and take it out of the address bar (and history).
            query = {k: v for k, v in request.query.items() if k != "token"}
            target = request.rel_url.with_query(query)
            response = web.HTTPFound(str(target))
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict",
                                path="/", secure=is_secure(request))
            raise response
        cookie = request.cookies.get(TOKEN_COOKIE)
        if cookie is not None and secrets.compare_digest(cookie.encode(), token.encode()):
            return await handler(request)
        return web.Response(status=403, text="403: forbidden\n")

    # -- pages ---------------------------------------------------------------

    async def handle_login(self, request: web.Request) -> web.StreamResponse:
        name = request.query.get("name")
        if name:
            raise web.HTTPFound(f"/a/{quote(name, safe='')}")
        return page("reader: annotate", (
            "<form method='get' action='/'><label>Your name "
            "<input name='name' autofocus required></label> <button>Start</button></form>"
            "<p>Your annotations are saved in your own file as you work.</p>"))

    def _claim(self, seat: Seat, session: Session) -> web.Response | None:
        """Reserve ``seat`` for ``session``, or the page that says it is in use."""
        now = time.monotonic()
        held = self.sessions.get(seat)
        if held and (held.connected or now - held.since < RESERVATION_SECONDS):
            return page("Name in use", (
                f"<p><b>{html.escape(seat[1])}</b> is already connected (another tab or "
                "another person). Only one session per name edits its file at a time.</p>"
                "<p>Close the other session first, or use another name.</p>"), status=409)
        self.sessions[seat] = session
        return None

    async def handle_annotator(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        problem = annotator_problem(name)
        if problem:
            return page("Name not accepted", f"<p>The name {html.escape(repr(name[:80]))} "
                        f"{html.escape(problem)}.</p>", status=400)
        session = Session(self.annotate_command(name, self.options.team.annotator_path(name)))
        refused = self._claim(annotator_seat(name), session)
        if refused:
            return refused
        try:
            await asyncio.to_thread(self.options.team.prepare, name)
        except StoreLockedError as err:
            self.sessions.pop(annotator_seat(name), None)
            return page("Name in use", (
                f"<p><b>{html.escape(name)}</b>'s file is open for writing elsewhere:</p>"
                f"<p><code>{html.escape(visible(str(err)))}</code></p>"), status=409)
        except AnnotationsError as err:
            self.sessions.pop(annotator_seat(name), None)
            return page("Cannot open the store",
                        f"<p><code>{html.escape(visible(str(err)))}</code></p>", status=500)
        return terminal_page(f"reader: {name}",
                             websocket_url(request, f"/ws/{session.key}"))

    def _adjudicator(self, request: web.Request) -> str:
        name = request.match_info["name"]
        if self.options.adjudicator is None or name != self.options.adjudicator:
            raise web.HTTPNotFound(text="404: no such adjudicator\n")
        return name

    async def handle_adjudicator(self, request: web.Request) -> web.StreamResponse:
        name = self._adjudicator(request)
        here = f"/adjudicator/{quote(name, safe='')}"
        screen = (f"<li><a href='{here}/screen'>Adjudicate</a>: merge everyone's work into "
                  f"<code>{html.escape(str(self.options.team.merged_path))}</code> and open "
                  "the adjudication screen on it</li>"
                  if self.adjudicate_command() else
                  "<li>This version of reader has no adjudication screen "
                  "(<code>reader adjudicate</code>).</li>")
        return page(f"reader: adjudicator {name}", (
            f"<ul><li><a href='{here}/report'>Agreement report</a> over every annotator's "
            f"accepted documents, as they are now</li>{screen}</ul>"))

    async def handle_report(self, request: web.Request) -> web.StreamResponse:
        self._adjudicator(request)
        try:
            report = await asyncio.to_thread(self.agreement_report)
        except AnnotationsError as err:
            return page("No agreement report",
                        f"<p>{html.escape(visible(str(err)))}</p>", status=409)
        return web.Response(text=report, content_type="text/html")

    def agreement_report(self) -> str:
        """The agreement report over every annotator's store, merged afresh into a
        temporary store (the annotators' files are only read)."""
        from annotations.agreement import collect_study, compute_agreement
        from annotations.agreement.report import render_agreement_report
        from annotations.store import GoldStore

        with tempfile.TemporaryDirectory(prefix="reader-serve-") as tmp:
            merged = Path(tmp) / "merged.json"
            self.options.team.merge(merged)
            with GoldStore(merged, read_only=True) as store:
                result = compute_agreement(collect_study(store))
        return render_agreement_report(result)

    async def handle_adjudicate_screen(self, request: web.Request) -> web.StreamResponse:
        name = self._adjudicator(request)
        command = self.adjudicate_command()
        if command is None:
            raise web.HTTPNotFound(text="404: no adjudication screen in this version\n")
        session = Session(command)
        refused = self._claim(ADJUDICATION_SEAT, session)
        if refused:
            return refused
        merged = self.options.team.merged_path
        if "as_is" not in request.query or not merged.exists():
            try:
                await asyncio.to_thread(self.options.team.merge)
            except AnnotationsError as err:
                self.sessions.pop(ADJUDICATION_SEAT, None)
                as_is = (f"<p><a href='?as_is=1'>Adjudicate {html.escape(merged.name)} as "
                         "it is</a> (without the annotators' latest work)</p>"
                         if merged.exists() else "")
                return page("Cannot merge", f"<pre>{html.escape(visible(str(err)))}</pre>"
                            f"{as_is}", status=409)
        return terminal_page(f"reader: adjudicate ({name})",
                             websocket_url(request, f"/ws/{session.key}"))

    # -- the websocket: one process per session ------------------------------

    async def handle_session(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        seat, session = next(((seat, session) for seat, session in self.sessions.items()
                              if session.key == key), (ADJUDICATION_SEAT, None))
        if session is None or session.connected:
            raise web.HTTPConflict(text="409: this session is not (or no longer) yours\n")
        command = session.command
        session.connected = True
        websocket = session.websocket = web.WebSocketResponse(heartbeat=15)
        service: AppService | None = None
        try:
            await websocket.prepare(request)
            width = _int(request.query.get("width"), 80)
            height = _int(request.query.get("height"), 24)

            async def close() -> None:
                await websocket.close()

            service = AppService(command, write_bytes=websocket.send_bytes,
                                 write_str=websocket.send_str, close=close,
                                 download_manager=self.download_manager, debug=self.debug)
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # noqa: BLE001 - one session must not stop the server
            log.exception(error)
        finally:
            if service is not None:
                await service.stop()
                process = service._process
                if process is not None:
                    # The store closes (and its lock goes) as the process ends: only
                    # then may the name be used again.
                    await process.wait()
            if self.sessions.get(seat) is session:
                del self.sessions[seat]
        return websocket

    # -- start and status ----------------------------------------------------

    def links(self, public: str) -> list[tuple[str, str]]:
        """(who, URL) to print: the login page, each known annotator, the adjudicator."""
        suffix = f"?token={quote(self.options.token)}" if self.options.token else ""
        rows = [("login page", f"{public}/{suffix}")]
        rows += [(name, f"{public}/a/{quote(name, safe='')}{suffix}")
                 for name in self.options.team.annotators()]
        if self.options.adjudicator:
            rows.append((f"adjudicator {self.options.adjudicator}",
                         f"{public}/adjudicator/{quote(self.options.adjudicator, safe='')}"
                         f"{suffix}"))
        return rows

    async def on_startup(self, app: web.Application) -> None:
        host = "localhost" if is_loopback(self.host) else self.host
        if host in ("0.0.0.0", "::"):
            import socket

            host = socket.gethostname()
        public = f"http://{host}:{self.port}"
        self.console.print(Text(visible(
            f"Serving the team in {self.options.team.folder} on {public}")))
        for who, url in self.links(public):
            self.console.print(Text(f"  {visible(who)}: ") + Text(visible(url), style="bold"),
                               soft_wrap=True)
        self.console.print(Text(
            f"A new annotator opens {public}/a/NAME"
            f"{'?token=…' if self.options.token else ''}; each one's work is saved in "
            f"{visible(str(self.options.team.folder))}/NAME.json. Ctrl+C stops the server."))
        self._status_task = asyncio.create_task(self.show_status())

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every websocket: each session's process quits, closing its store."""
        if self._status_task is not None:
            self._status_task.cancel()
        for session in list(self.sessions.values()):
            if session.websocket is not None:
                await session.websocket.close(code=WSCloseCode.GOING_AWAY,
                                              message=b"the server is stopping")

    def accepted(self, name: str) -> int | str:
        """``name``'s accepted documents, read again only when the store's files changed."""
        path = self.options.team.annotator_path(name)
        stamp = tuple(p.stat().st_mtime if p.exists() else 0.0
                      for p in (path, path.with_name(path.name + ".journal")))
        cached = self._accepted.get(name)
        if cached and cached[0] == stamp:
            return cached[1]
        try:
            value: int | str = self.options.team.accepted(name)
        except AnnotationsError as err:
            value = f"unreadable ({visible(str(err))[:80]})"
        self._accepted[name] = (stamp, value)
        return value

    def status_rows(self) -> list[tuple[str, bool, int | str]]:
        names = sorted(set(self.options.team.annotators())
                       | {name for kind, name in self.sessions if kind == "annotate"})
        connected = {seat[1] for seat, session in self.sessions.items()
                     if seat[0] == "annotate" and session.connected}
        return [(name, name in connected, self.accepted(name)) for name in names]

    def status_line(self, rows: list[tuple[str, bool, int | str]]) -> str:
        parts = [f"{name} ({'connected' if on else 'away'}): {count} accepted"
                 for name, on, count in rows]
        return "status: " + ("; ".join(parts) if parts else "no annotator yet")

    def status_table(self, rows: list[tuple[str, bool, int | str]]) -> Table:
        table = Table(title="Annotators", title_justify="left")
        table.add_column("annotator")
        table.add_column("connected")
        table.add_column("accepted", justify="right")
        for name, on, count in rows:
            table.add_row(Text(visible(name)), "yes" if on else "", Text(str(count)))
        return table

    async def show_status(self) -> None:
        """A live table on a terminal; elsewhere (a log, a test) a line when it changes."""
        last = ""
        live: Live | None = None
        if self.console.is_terminal:
            live = Live(console=self.console, auto_refresh=False)
            live.start()
        try:
            while True:
                rows = await asyncio.to_thread(self.status_rows)
                if live is not None:
                    live.update(self.status_table(rows), refresh=True)
                else:
                    line = self.status_line(rows)
                    if line != last:
                        self.console.print(Text(visible(line)), soft_wrap=True)
                        last = line
                await asyncio.sleep(STATUS_SECONDS)
        finally:
            if live is not None:
                live.stop()


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default
