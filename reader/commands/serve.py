"""``reader serve``: the annotator in browsers, one store per annotator (see reader.web)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from annotations.errors import AnnotationsError
from annotations.team import MAX_ANNOTATORS, TeamFolder, annotator_problem

from .common import check_option_name, fail, open_store
from .queue import OrderChoice, SeedOption


def serve(
    team: Annotated[Path, typer.Option(
        "--team", help="The team folder: team.json (documents and labels, made with "
        "`reader import ARTICLES --db DIR/team.json`) and one NAME.json per annotator.",
        file_okay=False)],
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on; any but loopback requires a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    token: Annotated[str | None, typer.Option(
        "--token", help="The token every request must carry (?token=, then a cookie). "
        "Default: none on loopback, a new random one (printed) on any other host.")
    ] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="spaCy pipeline for suggestions, loaded in each annotator's "
        "session (as in reader annotate).")] = None,
    no_model: Annotated[bool, typer.Option(
        "--no-model", help="Load no model; suggest what team.json's predictions hold "
        "(run `reader extract --db DIR/team.json` once for everyone).")] = False,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file for every session (keymap, labels).",
        dir_okay=False)] = None,
    adjudicator: Annotated[str | None, typer.Option(
        "--adjudicator", help="Offer this person the agreement report and the "
        "adjudication screen at /adjudicator/NAME.")] = None,
    ready_sessions: Annotated[int, typer.Option(
        "--ready-sessions", min=0, max=16, help="Session processes kept started and "
        "waiting, so that a browser's session opens at once (0: start one per "
        "connection).")] = 1,
    max_annotators: Annotated[int, typer.Option(
        "--max-annotators", min=1, help="Refuse a new annotator name once the team "
        "folder holds this many.")] = MAX_ANNOTATORS,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="On loopback, also accept this Host name (one a local "
        "proxy passes on); repeatable.")] = None,
    order: Annotated[OrderChoice | None, typer.Option(
        "--order", help="Every annotator follows a queue (as `reader annotate --order`): "
        "disagreement, differ-first, random, store or estimate. Needs -e A -e B.",
        case_sensitive=False)] = None,
    extractor: Annotated[list[str] | None, typer.Option(
        "--extractor", "-e", help="With --order: the extractors whose disagreement orders "
        "the documents (predictions in team.json).")] = None,
    seed: SeedOption = 0,
) -> None:
    """Serve the annotator to browsers: each annotator edits their own DIR/NAME.json."""
    from reader.web import ServeOptions, TeamServer, access_token

    check_option_name("--adjudicator", adjudicator, "adjudicator name")
    if adjudicator is not None and annotator_problem(adjudicator):
        raise fail(f"--adjudicator: {adjudicator!r:.80} {annotator_problem(adjudicator)}")
    if token is not None and (len(token) < 16 or not token.isprintable() or " " in token):
        raise fail("--token must be at least 16 printable characters without spaces")
    folder = TeamFolder(team)
    try:
        folder.check()
    except AnnotationsError as err:
        raise fail(str(err)) from None
    order_args = _order_args(folder, order, extractor or [], seed)
    options = ServeOptions(team=folder, token=access_token(host, token), model=model,
                           load_model=not no_model, config=config, adjudicator=adjudicator,
                           ready_sessions=ready_sessions, max_annotators=max_annotators,
                           allowed_hosts=tuple(h.lower() for h in allow_host or ()),
                           order_args=order_args)
    TeamServer(options, host=host, port=port).serve()


def _order_args(folder: TeamFolder, order: OrderChoice | None, extractors: list[str],
                seed: int) -> tuple[str, ...]:
    """``reader annotate``'s queue options, the extractors checked against team.json first
    (so a wrong name is said here, not in every browser)."""
    from annotations.queue import check_extractors

    if order is None:
        if extractors:
            raise fail("-e/--extractor orders the documents only with --order (e.g. "
                       "--order disagreement)")
        return ()
    with open_store(folder.team_path, read_only=True) as store:
        try:
            names = check_extractors(store, extractors)
        except AnnotationsError as err:
            raise fail(str(err)) from None
    return ("--order", order.value, *(a for name in names for a in ("-e", name)),
            "--seed", str(seed))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
