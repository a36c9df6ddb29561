"""``reader serve``: the annotator in a browser, one process and one store per annotator.

Built on textual-serve (an aiohttp server that runs one process of a command per
browser connection and relays its Textual web driver over a websocket).  What this
module adds around it:

* the annotator's name comes from the link (``/a/NAME``, or the login form at ``/``);
  each name edits its own store ``DIR/NAME.json`` (:mod:`annotations.team`), so
  annotators never wait for each other;
* one session per name, taken when its websocket connects (a page, a link preview or
  a prefetch takes nothing and creates no file): a second connection with a name in
  use is refused, saying so (the store's lock also refuses a writer started
  elsewhere, e.g. ``reader annotate`` in a terminal); names are compared ignoring
  case and spacing, and a folder takes at most ``--max-annotators`` names;
* a token, when required (any host but loopback, or ``--token``): every request
  (page, websocket, static file) carries it as ``?token=`` or in the cookie the
  first page sets (``SameSite=Lax``, so a link clicked in a mail or a chat works);
  without it, a 403 and nothing else;
* on every host, loopback too (DNS rebinding): a request whose ``Host`` is not this
  server's gets a 403 on loopback, and any request (a websocket above all) from a
  page of another origin gets a 403;
* sessions started ahead (``--ready-sessions``): a process that has imported the
  annotator waits for the next connection, which then opens in a fraction of the
  time; each session ends with the server, however the server ends
  (:mod:`reader.web_session`);
* an adjudicator's page (``--adjudicator NAME``): the agreement report over every
  annotator's store, and the adjudication screen when the CLI has one;
* a status display: who is connected and how many documents each has accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import json
import logging
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import WSCloseCode, WSMsgType, web
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text
from textual_serve.app_service import AppService
from textual_serve.server import Server

from annotations.errors import AnnotationsError, StoreLockedError
from annotations.team import MAX_ANNOTATORS, TeamFolder
from annotations.terminal import visible

log = logging.getLogger("reader.serve")

SESSION_DRIVER = "reader.web_driver:SessionDriver"
"""``TEXTUAL_DRIVER`` of every session (:mod:`reader.web_driver`, not imported here:
the server itself runs no app)."""

TOKEN_COOKIE = "reader_token"
STATUS_SECONDS = 2.0
TERMINAL_COLUMNS = (20, 400)
TERMINAL_ROWS = (5, 200)
"""The terminal sizes a browser may ask for (a larger one is streamed at great cost,
a negative one would end the session)."""
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


def host_name(netloc: str) -> str | None:
    """The host of a ``Host`` header or an origin's ``host:port`` (``[::1]:8000`` ->
    ``::1``), lower case, or None when it does not parse."""
    try:
        return urlsplit(f"//{netloc}").hostname
    except ValueError:
        return None


def terminal_size(width: object, height: object) -> tuple[int, int]:
    """The columns and rows a browser asked for, as numbers within
    ``TERMINAL_COLUMNS`` and ``TERMINAL_ROWS`` (80x24 for what is not a number)."""

    def clamp(value: object, default: int, bounds: tuple[int, int]) -> int:
        try:
            number = int(value) if isinstance(value, int | str) else default
        except ValueError:
            number = default
        return max(bounds[0], min(bounds[1], number))

    return clamp(width, 80, TERMINAL_COLUMNS), clamp(height, 24, TERMINAL_ROWS)


def access_token(host: str, token: str | None) -> str | None:
    """The token every request must carry: the one given, a new one for any host but
    loopback, or None (no token) on loopback."""
    if token:
        return token
    return None if is_loopback(host) else secrets.token_urlsafe(24)


@dataclass
class Session:
    """One seat in use (an annotator's name, or the adjudication screen), held by its
    websocket from the moment it connects."""

    websocket: web.WebSocketResponse
    connected: bool = True


@dataclass
class ServeOptions:
    team: TeamFolder
    token: str | None = None
    model: str | None = None
    load_model: bool = True
    config: Path | None = None
    adjudicator: str | None = None
    ready_sessions: int = 1
    """Session processes kept started and waiting (0: one is started per connection)."""
    max_annotators: int = MAX_ANNOTATORS
    allowed_hosts: tuple[str, ...] = ()
    """Host names accepted on a loopback server besides localhost and loopback
    addresses (a name a local proxy passes on)."""
    order_args: tuple[str, ...] = ()
    """``reader annotate``'s queue options (``--order``, ``-e``, ``--seed``) for everyone."""


class SessionService(AppService):
    """textual-serve's process of one session, started by :mod:`reader.web_session`:
    first ``launch`` (the process starts, imports and waits), later ``start`` with
    the command and the browser's size (it runs)."""

    def __init__(self, debug: bool = False, **kwargs: Any) -> None:
        async def nowhere(_data: Any = None) -> None:
            return None

        super().__init__("reader.web_session", write_bytes=nowhere, write_str=nowhere,
                         close=nowhere, debug=debug, **kwargs)
        self.lifeline: int | None = None

    async def launch(self) -> None:
        read_end, self.lifeline = os.pipe()  # neither end is inherited by other children
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "reader.web_session", str(read_end),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=self._build_environment(),
                pass_fds=(read_end,))
        except BaseException:
            self.release()
            raise
        finally:
            os.close(read_end)
        assert self._process.stdin is not None
        self._stdin = self._process.stdin

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        """textual-serve's environment for the session, with our web driver (the app
        starts focused: :mod:`reader.web_driver`)."""
        environment = super()._build_environment(width, height)
        environment["TEXTUAL_DRIVER"] = SESSION_DRIVER
        return environment

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def attach(self, websocket: web.WebSocketResponse) -> None:
        async def close() -> None:
            await websocket.close()

        self.remote_write_bytes = websocket.send_bytes
        self.remote_write_str = websocket.send_str
        self.remote_close = close

    async def start(self, width: int, height: int, argv: list[str] | None = None) -> None:
        if argv is None:
            raise TypeError("SessionService.start needs the command's argv")
        request = {"argv": argv, "width": width, "height": height}
        self.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
        await self.stdin.drain()
        self._task = asyncio.create_task(self.run())

    async def end(self) -> None:
        """Stop the session (if it ran) and wait for its process: its store is closed
        (and its lock gone) only then."""
        try:
            if self._task is not None:
                await self.stop()
            elif self._process is not None and self._process.returncode is None:
                # Never started: it holds no store, and may still be importing the
                # annotator (a second or so before it reads its standard input), which
                # Ctrl+C need not wait for.  SIGTERM ends it at once; one that had been
                # sent a request quits as on Ctrl+C (reader.web_session's lifeline).
                if self._stdin is not None:
                    self._stdin.close()
                with contextlib.suppress(ProcessLookupError):
                    self._process.terminate()
            if self._process is not None:
                await self._process.wait()
        finally:
            self.release()

    def release(self) -> None:
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None


class ReadySessions:
    """Session processes started ahead, ``size`` of them, each taken by the next
    connection.  Starting one takes a core for a second or more, which the sessions
    in use should not feel: a taken one is replaced once its session has had
    ``REFILL_AFTER`` seconds to open and no browser has sent a key for
    ``QUIET_SECONDS`` (or at the latest ``REFILL_AT_MOST`` seconds after)."""

    REFILL_AFTER = 3.0
    QUIET_SECONDS = 2.0
    REFILL_AT_MOST = 30.0

    def __init__(self, size: int, make: Callable[[], SessionService]) -> None:
        self.size = size
        self.make = make
        self.ready: list[SessionService] = []
        self._filling: asyncio.Task[None] | None = None
        self._launching = False
        self.last_input = 0.0
        """When a browser last sent a key (``time.monotonic``)."""

    async def take(self) -> SessionService:
        while self.ready:
            service = self.ready.pop(0)
            if service.alive:
                self.fill(self.REFILL_AFTER)
                return service
            await service.end()
        service = self.make()
        await service.launch()
        self.fill(self.REFILL_AFTER)
        return service

    def fill(self, after: float = 0.0) -> None:
        if self.size and (self._filling is None or self._filling.done()):
            self._filling = asyncio.create_task(self._fill(after))

    async def _fill(self, after: float) -> None:
        await asyncio.sleep(after)
        latest = time.monotonic() + self.REFILL_AT_MOST
        while (time.monotonic() - self.last_input < self.QUIET_SECONDS
               and time.monotonic() < latest):
            await asyncio.sleep(0.25)
        while len(self.ready) < self.size:
            service = self.make()
            self._launching = True
            try:
                await service.launch()
            except OSError as err:
                log.error("cannot start a session process ahead: %s", err)
                return
            finally:
                self._launching = False
            self.ready.append(service)

    async def close(self) -> None:
        self.size = 0
        task = self._filling
        if task is not None and not task.done():
            if not self._launching:  # waiting to start one; a start takes milliseconds
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        while self.ready:
            await self.ready.pop().end()


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
        self.ready = ReadySessions(options.ready_sessions,
                                   lambda: SessionService(debug=self.debug,
                                                          download_manager=self.download_manager))

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

    def annotate_argv(self, name: str, path: Path) -> list[str]:
        """``reader annotate`` arguments (without ``reader``) for ``name``'s session."""
        opts = self.options
        args = ["annotate", "--db", str(path), "--annotator", name]
        if not opts.load_model:
            args.append("--no-model")
        elif opts.model:
            args += ["--model", opts.model]
        if opts.config:
            args += ["--config", str(opts.config)]
        args += opts.order_args
        return args

    def adjudicate_argv(self) -> list[str]:
        """``reader adjudicate`` arguments on the merged store."""
        args = ["adjudicate", "--db", str(self.options.team.merged_path)]
        if self.options.config:
            args += ["--config", str(self.options.config)]
        return args

    # -- the aiohttp application ---------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.check_origin, self.check_token])
        app.add_routes([
            web.get("/", self.handle_login),
            web.get("/a/{name}", self.handle_annotator),
            web.get("/ws/a/{name}", self.handle_annotator_session),
            web.get("/adjudicator/{name}", self.handle_adjudicator),
            web.get("/adjudicator/{name}/report", self.handle_report),
            web.get("/adjudicator/{name}/screen", self.handle_adjudicate_screen),
            web.get("/ws/adjudicator/{name}", self.handle_adjudicate_session),
            web.static("/static", self.statics_path, name="static"),
        ])
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    def host_problem(self, request: web.Request) -> str | None:
        """Why ``request`` may come from a page of another site, or None.

        On loopback, where no token is asked by default, the ``Host`` must be a
        loopback name or address (a DNS-rebinding page reaches us under its own
        name); everywhere, an ``Origin`` (which browsers send with every websocket)
        must be this server's own."""
        if is_loopback(self.host):
            name = host_name(request.host)
            if name is None or not (is_loopback(name) or name in self.options.allowed_hosts):
                return f"the host {request.host[:100]!r} is not this server's"
        origin = request.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or parts.netloc.lower() != (
                    request.host.lower()):
                return f"a page of another site ({origin[:100]!r}) may not use this server"
        return None

    @web.middleware
    async def check_origin(self, request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
        problem = self.host_problem(request)
        if problem:
            log.warning("refused %s %s: %s", request.method, request.path[:100],
                        visible(problem))
            return web.Response(status=403, text=f"403: forbidden ({visible(problem)})\n")
        return await handler(request)

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
            # Lax, not Strict: a link clicked in a mail or a chat is a navigation from
            # another site, on which (and on the redirect after it) a Strict cookie is
            # not sent.  Lax is still not sent with another site's requests for parts
            # of a page (scripts, images, websockets).
            query = {k: v for k, v in request.query.items() if k != "token"}
            target = request.rel_url.with_query(query)
            response = web.HTTPFound(str(target))
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Lax",
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

    def in_use(self, seat: Seat) -> web.Response | None:
        """The page that says ``seat`` is in use, or None."""
        if seat not in self.sessions:
            return None
        return page("Name in use", (
            f"<p><b>{html.escape(seat[1])}</b> is already connected (another tab or "
            "another person). Only one session per name edits its file at a time.</p>"
            "<p>Close the other session first, or use another name.</p>"), status=409)

    async def handle_annotator(self, request: web.Request) -> web.StreamResponse:
        """The page of NAME's session.  It takes no seat and creates no file (a link
        preview or a prefetch must not lock anyone out): its websocket does."""
        name = request.match_info["name"]
        problem = await asyncio.to_thread(self.options.team.new_name_problem, name,
                                          self.options.max_annotators)
        if problem:
            return page("Name not accepted", f"<p>The name {html.escape(repr(name[:80]))} "
                        f"{html.escape(problem)}.</p>", status=400)
        refused = self.in_use(annotator_seat(name))
        if refused:
            return refused
        return terminal_page(f"reader: {name}",
                             websocket_url(request, f"/ws/a/{quote(name, safe='')}"))

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
                  "the adjudication screen on it</li>")
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
        refused = self.in_use(ADJUDICATION_SEAT)
        if refused:
            return refused
        merged = self.options.team.merged_path
        if "as_is" not in request.query or not merged.exists():
            try:
                await asyncio.to_thread(self.options.team.merge)
            except AnnotationsError as err:
                as_is = (f"<p><a href='?as_is=1'>Adjudicate {html.escape(merged.name)} as "
                         "it is</a> (without the annotators' latest work)</p>"
                         if merged.exists() else "")
                return page("Cannot merge", f"<pre>{html.escape(visible(str(err)))}</pre>"
                            f"{as_is}", status=409)
        return terminal_page(f"reader: adjudicate ({name})", websocket_url(
            request, f"/ws/adjudicator/{quote(name, safe='')}"))

    # -- the websocket: one process per session ------------------------------

    async def handle_annotator_session(self, request: web.Request) -> web.StreamResponse:
        """NAME's session: the seat is taken, NAME's store made or topped up, and the
        annotator started, only now."""
        name = request.match_info["name"]
        seat = annotator_seat(name)
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        problem = await asyncio.to_thread(self.options.team.new_name_problem, name,
                                          self.options.max_annotators)
        if problem:
            return await refuse(websocket, f"The name {name[:80]!r} {problem}.")
        if seat in self.sessions:
            return await refuse(websocket, f"{name} is already connected (another tab or "
                                "another person); close the other session first.")
        self.sessions[seat] = Session(websocket)
        try:
            path = await asyncio.to_thread(self.options.team.prepare, name)
        except StoreLockedError as err:
            self._leave(seat, websocket)
            return await refuse(websocket, f"{name}'s file is open for writing "
                                f"elsewhere: {err}")
        except AnnotationsError as err:
            self._leave(seat, websocket)
            return await refuse(websocket, f"Cannot open the store: {err}")
        except BaseException:
            self._leave(seat, websocket)
            raise
        return await self.run_session(request, websocket, seat,
                                      self.annotate_argv(name, path))

    async def handle_adjudicate_session(self, request: web.Request) -> web.StreamResponse:
        self._adjudicator(request)
        argv = self.adjudicate_argv()
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if ADJUDICATION_SEAT in self.sessions:
            return await refuse(websocket, "The adjudication screen is open elsewhere; "
                                "close it there first.")
        self.sessions[ADJUDICATION_SEAT] = Session(websocket)
        return await self.run_session(request, websocket, ADJUDICATION_SEAT, argv)

    def _leave(self, seat: Seat, websocket: web.WebSocketResponse) -> None:
        held = self.sessions.get(seat)
        if held is not None and held.websocket is websocket:
            del self.sessions[seat]

    async def run_session(self, request: web.Request, websocket: web.WebSocketResponse,
                          seat: Seat, argv: list[str]) -> web.StreamResponse:
        """Run ``reader ARGV`` for ``websocket`` (which holds ``seat``) until either
        ends; the seat is free again only when the process has ended (and with it
        its hold on the store)."""
        service: SessionService | None = None
        try:
            width, height = terminal_size(request.query.get("width"),
                                          request.query.get("height"))
            service = await self.ready.take()
            service.attach(websocket)
            await service.start(width, height, argv)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # noqa: BLE001 - one session must not stop the server
            log.exception(error)
        finally:
            if service is not None:
                await service.end()
            self._leave(seat, websocket)
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse,
                                app_service: AppService) -> None:
        """The browser's messages to the session: keys, sizes (within bounds), focus.
        A message that does not parse is dropped, not the session."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                self.ready.last_input = time.monotonic()
                await app_service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(
                    *terminal_size(data.get("width"), data.get("height")))
            elif kind == "ping" and isinstance(data, str):
                await websocket.send_json(["pong", data[:100]])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

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
        self.ready.fill()

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every websocket: each session's process quits, closing its store."""
        if self._status_task is not None:
            self._status_task.cancel()
        for session in list(self.sessions.values()):
            await session.websocket.close(code=WSCloseCode.GOING_AWAY,
                                          message=b"the server is stopping")
        await self.ready.close()

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


async def refuse(websocket: web.WebSocketResponse, message: str) -> web.WebSocketResponse:
    """Show ``message`` in the browser's terminal, then close the websocket."""
    text = visible(message).replace("\n", " ")
    await websocket.send_bytes(f"\r\n  {text}\r\n".encode())
    reason = text.encode("utf-8")[:120].decode("utf-8", "ignore").encode("utf-8")
    await websocket.close(code=WSCloseCode.POLICY_VIOLATION, message=reason)
    return websocket
