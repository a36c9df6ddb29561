"""``reader adjudicate``: settle several annotators' versions into the gold annotation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from annotations.gold import ADJUDICATED
from annotations.names import check_name

from .common import DbOption, fail, open_store


def adjudicate(
    db: DbOption,
    annotator: Annotated[list[str] | None, typer.Option(
        "--annotator", "-a", help="An annotator to compare (repeat; default: every "
        "annotator but the adjudicated one).")] = None,
    extractor: Annotated[list[str] | None, typer.Option(
        "--extractor", "-e", help="An extractor's predictions as one more annotator "
        "(repeat).")] = None,
    target: Annotated[str, typer.Option(
        "--as", help="The annotator name the adjudicated annotation is stored under.")
    ] = ADJUDICATED,
    threshold: Annotated[float, typer.Option(
        "--threshold", min=0.01, max=1.0, help="Auto-merge a region when this share of the "
        "annotators marked it the same way (1.0: all of them).")] = 1.0,
    status: Annotated[str, typer.Option(
        "--status", help="Whose annotations count: 'all' (default) or only 'accept'ed "
        "ones.")] = "all",
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file (keymap); default "
        "~/.config/reader-annotator/config.toml.", dir_okay=False)] = None,
) -> None:
    """Settle the annotators' disagreements, one key each; what all agree on is merged."""
    from annotations.adjudication import Adjudication, AdjudicationError
    from reader.app import AdjudicateApp
    from reader.config import load_config

    if status not in ("all", "accept"):
        raise fail(f"--status must be 'all' or 'accept', not {status!r}")
    try:
        check_name(target, "--as")
    except ValueError as err:
        raise fail(str(err)) from None
    settings = load_config(config)
    with open_store(db) as store:
        try:
            session = Adjudication(store, annotator or [], extractors=extractor or [],
                                   target=target, threshold=threshold,
                                   statuses=status)  # type: ignore[arg-type]
        except AdjudicationError as err:
            raise fail(str(err)) from None
        AdjudicateApp(store, session, config=settings).run()


def register(app: typer.Typer) -> None:
    app.command("adjudicate")(adjudicate)
