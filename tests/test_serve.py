"""``reader serve`` without a browser: the team folder, names, the token, one session
per name (aiohttp's test client against the real server, no process started)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from annotations.errors import StoreLockedError
from annotations.models import Annotation, Document, LabelScheme, Prediction, Span
from annotations.store import GoldStore
from annotations.team import TeamError, TeamFolder, annotator_problem
from reader.web import ServeOptions, TeamServer, access_token, is_loopback

TEXT = "Maria Keller met Aster Rail in Geneva."


@pytest.fixture
def team(tmp_path: Path) -> TeamFolder:
    folder = TeamFolder(tmp_path / "team")
    with GoldStore(folder.team_path) as store:
        store.add_documents([Document.from_text(TEXT)])
        store.set_labels(LabelScheme().with_entities(["PERSON", "ORG"]))
    return folder


@pytest.mark.parametrize("name", ["", "../evil", "a/b", ".hidden", "team", "team-merged",
                                  "bad\x1bname", "x" * 500])
def test_names_that_cannot_be_an_annotators_file_are_refused(name: str) -> None:
    assert annotator_problem(name)


def test_plain_names_are_accepted() -> None:
    assert annotator_problem("alice") is None
    assert annotator_problem("Zoë Ng") is None


def test_a_token_is_required_off_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    assert access_token("127.0.0.1", None) is None
    first, second = access_token("0.0.0.0", None), access_token("0.0.0.0", None)
    assert first and second and first != second and len(first) >= 24
    assert access_token("127.0.0.1", "given-token-123456") == "given-token-123456"


def test_a_folder_without_a_team_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TeamError, match="reader import"):
        TeamFolder(tmp_path).check()


def test_an_annotator_store_is_made_then_topped_up_from_the_team_store(
        team: TeamFolder) -> None:
    path = team.prepare("alice")
    with GoldStore(path) as own:
        (doc_id,) = own.document_ids()
        assert [label.name for label in own.labels.entities] == ["PERSON", "ORG"]
        own.add_entity_labels(["GPE"])
        own.save_annotation(Annotation(doc_id=doc_id, annotator="alice", status="accept",
                                       spans=[Span(start=0, end=12, label="PERSON")]))
    with GoldStore(team.team_path) as store:
        new = store.add_documents([Document.from_text("Aster Rail is in Geneva.")]).added
        store.put_predictions([Prediction(doc_id=new[0], extractor="rules@1",
                                          spans=[Span(start=0, end=10, label="ORG")])])
    team.prepare("alice")
    with GoldStore(path, read_only=True) as own:
        assert own.document_ids() == [doc_id, new[0]]
        assert [label.name for label in own.labels.entities] == ["PERSON", "ORG", "GPE"]
        assert own.prediction(new[0], "rules@1") is not None
        assert own.annotation(doc_id, "alice").status == "accept"
    assert team.annotators() == ["alice"]
    assert team.accepted("alice") == 1 and team.accepted("bob") == 0


def test_a_store_open_for_writing_elsewhere_is_not_prepared(team: TeamFolder) -> None:
    with GoldStore(team.annotator_path("alice")):
        with pytest.raises(StoreLockedError):
            team.prepare("alice")


TOKEN = "a-token-for-the-tests-0123"


def with_client(team: TeamFolder, token: str | None,
                body: Callable[[Any, TeamServer], Awaitable[None]],
                adjudicator: str | None = None) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    server = TeamServer(ServeOptions(team=team, token=token, load_model=False,
                                     adjudicator=adjudicator))

    async def run() -> None:
        app = await server._make_app()
        app.on_startup.clear()  # no banner and no status loop in a test
        async with TestClient(TestServer(app)) as client:
            await body(client, server)

    asyncio.run(run())


def test_every_request_without_the_token_gets_a_403_and_nothing_else(
        team: TeamFolder) -> None:
    async def body(client: Any, server: TeamServer) -> None:
        for path in ("/", "/a/alice", "/static/js/textual.js", "/ws/alice/x",
                     "/a/alice?token=wrong"):
            response = await client.get(path)
            assert response.status == 403, path
            assert await response.text() == "403: forbidden\n"
        assert not team.annotator_path("alice").exists()
        response = await client.get(f"/static/js/textual.js?token={TOKEN}",
                                    allow_redirects=False)
        assert response.status == 302 and response.headers["Location"] == (
            "/static/js/textual.js")
        # Lax: sent when the link is clicked in a page of another site (a mail, a chat).
        cookie = response.headers["Set-Cookie"]
        assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
        response = await client.get("/static/js/textual.js")  # now with the cookie
        assert response.status == 200

    with_client(team, TOKEN, body)


def test_the_printed_links_carry_the_token(team: TeamFolder) -> None:
    team.prepare("alice")
    server = TeamServer(ServeOptions(team=team, token=TOKEN, adjudicator="judge"))
    assert server.links("http://h:1") == [
        ("login page", f"http://h:1/?token={TOKEN}"),
        ("alice", f"http://h:1/a/alice?token={TOKEN}"),
        ("adjudicator judge", f"http://h:1/adjudicator/judge?token={TOKEN}"),
    ]


def test_one_session_per_name(team: TeamFolder) -> None:
    from aiohttp import web

    from reader.web import Session, annotator_seat

    async def body(client: Any, server: TeamServer) -> None:
        first = await client.get("/a/alice")
        assert first.status == 200 and "/ws/a/alice" in await first.text()
        # alice's websocket holds the seat (the process it runs is not started here).
        server.sessions[annotator_seat("alice")] = Session(web.WebSocketResponse())
        second = await client.get("/a/alice")
        assert second.status == 409 and "already connected" in await second.text()
        async with client.ws_connect("/ws/a/alice") as ws:
            assert b"already connected" in (await ws.receive()).data
        assert (await client.get("/a/bob")).status == 200
        bad = await client.get("/a/..%2Fteam")
        assert bad.status == 400
        del server.sessions[annotator_seat("alice")]

    with_client(team, None, body)


def test_a_name_whose_store_is_open_elsewhere_is_refused_and_freed(team: TeamFolder) -> None:
    async def body(client: Any, server: TeamServer) -> None:
        with GoldStore(team.annotator_path("carol")):
            async with client.ws_connect("/ws/a/carol") as ws:
                assert b"open for writing elsewhere" in (await ws.receive()).data
        assert not server.sessions  # freed by the refusal
        assert (await client.get("/a/carol")).status == 200

    with_client(team, None, body)


def test_the_adjudicator_gets_the_agreement_report(team: TeamFolder) -> None:
    doc_id = Document.from_text(TEXT).id
    for name, label in (("alice", "PERSON"), ("bob", "ORG")):
        with GoldStore(team.prepare(name)) as store:
            store.save_annotation(Annotation(doc_id=doc_id, annotator=name, status="accept",
                                             spans=[Span(start=0, end=12, label=label)]))

    async def body(client: Any, server: TeamServer) -> None:
        assert (await client.get("/adjudicator/alice")).status == 404
        index = await client.get("/adjudicator/judge")
        assert index.status == 200 and "/adjudicator/judge/report" in await index.text()
        report = await client.get("/adjudicator/judge/report")
        text = await report.text()
        assert report.status == 200 and "alice" in text and "bob" in text
        assert not team.merged_path.exists()  # the report merges into a temporary store
        # The adjudication screen is offered when this CLI has `reader adjudicate`.
        screen = await client.get("/adjudicator/judge/screen")
        if server.adjudicate_argv() is None:
            assert "no adjudication screen" in await index.text()
            assert screen.status == 404
        else:
            assert screen.status == 200 and "/ws/adjudicator/judge" in await screen.text()
            with GoldStore(team.merged_path, read_only=True) as merged:
                assert merged.annotators() == ["alice", "bob"]

    with_client(team, None, body, adjudicator="judge")
