"""``reader serve`` under faults and hostile use: a server killed with SIGKILL while a
session runs, a page that is only fetched (a link preview), a foreign ``Host`` or
``Origin``, absurd terminal sizes, look-alike names.

The requests go through aiohttp's test client against the real server; one test
starts the real ``reader serve`` and a real session, and kills the server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from annotations.models import Document, LabelScheme
from annotations.store import GoldStore
from annotations.team import TeamFolder, annotator_problem, name_key
from reader.web import TERMINAL_COLUMNS, TERMINAL_ROWS, ServeOptions, TeamServer, terminal_size

TEXT = "Maria Keller met Aster Rail in Geneva."


@pytest.fixture
def team(tmp_path: Path) -> TeamFolder:
    folder = TeamFolder(tmp_path / "team")
    with GoldStore(folder.team_path) as store:
        store.add_documents([Document.from_text(TEXT)])
        store.set_labels(LabelScheme().with_entities(["PERSON", "ORG"]))
    return folder


def with_client(team: TeamFolder, body: Callable[[Any, TeamServer], Awaitable[None]],
                **options: Any) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    server = TeamServer(ServeOptions(team=team, load_model=False, **options))

    async def run() -> None:
        app = await server._make_app()
        app.on_startup.clear()  # no banner, no status loop, no session started ahead
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            await body(client, server)

    asyncio.run(run())


# -- a page takes no seat and makes no file (item 11) ---------------------------------


def test_a_plain_get_of_a_name_locks_nobody_out_and_creates_no_file(
        team: TeamFolder) -> None:
    async def body(client: Any, server: TeamServer) -> None:
        for _ in range(3):  # a link preview, a prefetch, the person clicking
            response = await client.get("/a/alice")
            assert response.status == 200 and "/ws/a/alice" in await response.text()
        assert not server.sessions
        assert sorted(p.name for p in team.folder.iterdir()) == ["team.json"]

    with_client(team, body)


@pytest.mark.parametrize("name", ["Team", "TEAM-merged", " alice", "alice ", "ali  ce"])
def test_names_that_differ_from_a_reserved_one_only_by_case_or_spacing_are_refused(
        name: str) -> None:
    assert annotator_problem(name)


def test_a_new_name_like_an_existing_one_but_for_case_or_spacing_is_refused(
        team: TeamFolder) -> None:
    team.prepare("alice")
    assert name_key("ALICE") == name_key("alice") == name_key("Alice")
    assert team.new_name_problem("alice") is None
    problem = team.new_name_problem("Alice")
    assert problem and "'alice'" in problem

    async def body(client: Any, server: TeamServer) -> None:
        # Full-width letters are the same name once normalised (NFKC).
        for path in ("/a/Alice", "/a/ALICE", "/a/" + quote("ａｌｉｃｅ")):
            response = await client.get(path)
            assert response.status == 400 and "too like" in await response.text(), path
        async with client.ws_connect("/ws/a/ALICE") as ws:
            message = await ws.receive()
            assert b"too like the existing annotator" in message.data
        assert not (team.folder / "ALICE.json").exists()

    with_client(team, body)


def test_new_names_are_limited(team: TeamFolder) -> None:
    team.prepare("alice")
    team.prepare("bob")
    assert team.new_name_problem("carol", limit=2)
    assert team.new_name_problem("bob", limit=2) is None  # an existing name still works

    async def body(client: Any, server: TeamServer) -> None:
        response = await client.get("/a/carol")
        assert response.status == 400 and "--max-annotators" in await response.text()
        async with client.ws_connect("/ws/a/carol") as ws:
            assert b"already holds 2" in (await ws.receive()).data
        assert not (team.folder / "carol.json").exists()

    with_client(team, body, max_annotators=2)


def test_a_session_refused_because_the_store_is_open_elsewhere_frees_its_name(
        team: TeamFolder) -> None:
    async def body(client: Any, server: TeamServer) -> None:
        with GoldStore(team.annotator_path("carol")):
            async with client.ws_connect("/ws/a/carol") as ws:
                message = await ws.receive()
                assert b"open for writing elsewhere" in message.data
                assert (await ws.receive()).type.name in ("CLOSE", "CLOSED", "CLOSING")
        assert not server.sessions
        assert (await client.get("/a/carol")).status == 200

    with_client(team, body)


# -- Host and Origin (item 6) -------------------------------------------------------


def test_a_foreign_host_is_refused_on_loopback(team: TeamFolder) -> None:
    async def body(client: Any, server: TeamServer) -> None:
        for host in ("evil.example:8000", "127.0.0.1.evil.example", "localhost.", "[bad"):
            response = await client.get("/a/alice", headers={"Host": host})
            assert response.status == 403, host
            assert "is not this server's" in await response.text()
        for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LocalHost"):
            response = await client.get("/", headers={"Host": host})
            assert response.status == 200, host
        assert not server.sessions

    with_client(team, body)


def test_a_host_allowed_by_name_is_accepted(team: TeamFolder) -> None:
    async def body(client: Any, server: TeamServer) -> None:
        response = await client.get("/", headers={"Host": "annotate.lan:80"})
        assert response.status == 200

    with_client(team, body, allowed_hosts=("annotate.lan",))


def test_a_websocket_from_a_page_of_another_origin_is_refused(team: TeamFolder) -> None:
    import aiohttp

    async def body(client: Any, server: TeamServer) -> None:
        here = f"{client.host}:{client.port}"
        for origin in ("http://evil.example", f"http://{client.host}:1", "null",
                       f"file://{here}"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect("/ws/a/alice", headers={"Origin": origin})
            assert refused.value.status == 403, origin
            response = await client.get("/a/alice", headers={"Origin": origin})
            assert response.status == 403
        assert not server.sessions
        assert not team.annotator_path("alice").exists()
        # The server's own pages may: the browser sends their origin.
        response = await client.get("/", headers={"Origin": f"http://{here}"})
        assert response.status == 200

    with_client(team, body)


# -- the terminal size (item 13) ----------------------------------------------------


@pytest.mark.parametrize(("width", "height", "expected"), [
    ("-5", "-5", (TERMINAL_COLUMNS[0], TERMINAL_ROWS[0])),
    ("3000", "3000", (TERMINAL_COLUMNS[1], TERMINAL_ROWS[1])),
    ("abc", None, (80, 24)),
    (None, "", (80, 24)),
    (120, 40, (120, 40)),
    (1.5, [3], (80, 24)),
])
def test_a_terminal_size_is_kept_within_bounds(width: object, height: object,
                                               expected: tuple[int, int]) -> None:
    assert terminal_size(width, height) == expected


def test_the_sizes_a_browser_sends_reach_the_session_bounded(team: TeamFolder) -> None:
    """The resize messages of a websocket, and messages that do not parse, reach the
    session's process as bounded sizes, or not at all (the session goes on)."""
    sizes: list[tuple[int, int]] = []

    class Recorder:
        async def set_terminal_size(self, width: int, height: int) -> None:
            sizes.append((width, height))

    async def body(client: Any, server: TeamServer) -> None:
        from aiohttp import web

        async def handler(request: web.Request) -> web.WebSocketResponse:
            websocket = web.WebSocketResponse()
            await websocket.prepare(request)
            await server._process_messages(websocket, Recorder())  # type: ignore[arg-type]
            return websocket

        app = web.Application()
        app.router.add_get("/ws", handler)
        from aiohttp.test_utils import TestClient, TestServer

        async with TestClient(TestServer(app)) as inner:
            async with inner.ws_connect("/ws") as ws:
                for message in ('["resize", {"width": -5, "height": -5}]', "not json",
                                "[]", '["resize", 3]', '{"resize": 1}',
                                '["resize", {"width": 3000, "height": 3000}]',
                                '["resize", {"width": 100, "height": 30}]'):
                    await ws.send_str(message)
                await ws.send_str('["ping", "x"]')
                assert (await ws.receive_json()) == ["pong", "x"]
        assert sizes == [(TERMINAL_COLUMNS[0], TERMINAL_ROWS[0]),
                         (TERMINAL_COLUMNS[1], TERMINAL_ROWS[1]), (100, 30)]

    with_client(team, body)


# -- a server killed with SIGKILL ends its sessions (item 4) ----------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_session_ends_when_its_server_is_killed(
        team: TeamFolder, process_alive: Callable[[int], bool]) -> None:
    import aiohttp

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "reader", "serve", "--team", str(team.folder), "--port",
         str(port), "--no-model"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    others: set[int] = set()
    try:
        async def connect_and_kill() -> None:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                deadline = time.monotonic() + 20
                while True:
                    try:
                        async with http.get(f"{base}/a/alice") as page:
                            assert page.status == 200
                            break
                    except aiohttp.ClientConnectionError:
                        assert time.monotonic() < deadline and server.poll() is None
                        await asyncio.sleep(0.2)
                assert not team.annotator_path("alice").exists()
                async with http.ws_connect(f"{base}/ws/a/alice?width=80&height=24") as ws:
                    # The app draws its first screen: the session holds alice's store.
                    first = await asyncio.wait_for(ws.receive(), 20)
                    assert first.type == aiohttp.WSMsgType.BINARY
                    async with http.get(f"{base}/a/alice") as again:
                        assert again.status == 409
                    others.update(descendants(server.pid))
                    assert others
                    os.kill(server.pid, signal.SIGKILL)
                    server.wait(10)

        asyncio.run(connect_and_kill())
        deadline = time.monotonic() + 15
        while any(process_alive(pid) for pid in others) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(process_alive(pid) for pid in others), "a session outlived its server"
        with GoldStore(team.annotator_path("alice")):  # the lock is free
            pass
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for pid in others:
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)


# -- sessions started ahead ------------------------------------------------------------


def test_a_session_is_started_ahead_only_while_no_browser_is_typing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting a process takes a core for a second: not while someone types."""
    from reader.web import ReadySessions

    launched: list[object] = []

    class FakeService:
        alive = True

        async def launch(self) -> None:
            launched.append(self)

        async def end(self) -> None:
            pass

    monkeypatch.setattr(ReadySessions, "QUIET_SECONDS", 0.3)
    monkeypatch.setattr(ReadySessions, "REFILL_AT_MOST", 20.0)

    async def run() -> None:
        ready = ReadySessions(1, FakeService)  # type: ignore[arg-type]
        ready.last_input = time.monotonic()
        ready.fill()
        for _ in range(4):  # keys keep coming: nothing is started
            await asyncio.sleep(0.1)
            ready.last_input = time.monotonic()
        assert launched == []
        for _ in range(200):  # quiet: one is started
            if launched:
                break
            await asyncio.sleep(0.05)
        assert len(launched) == 1 and ready.ready == launched
        assert await ready.take() is launched[0]
        await ready.close()

    asyncio.run(run())
