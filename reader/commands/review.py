"""``reader review``: walk through the disagreements of one extractor with the gold set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from annotations.evaluation import EvaluationError

from .common import DbOption, fail, open_store


def review(
    db: DbOption,
    extractor: Annotated[str | None, typer.Option(
        "--extractor", "-e", help="The extractor whose predictions to review "
        "(may be left out when the store has predictions of only one).")] = None,
    annotator: Annotated[str | None, typer.Option(
        "--annotator", help="Review this annotator's accepted annotations.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file (keymap, labels); default "
        "~/.config/reader-annotator/config.toml.", dir_okay=False)] = None,
) -> None:
    """Gold and predictions together, worst documents first; fix the gold key by key."""
    from reader.app import ReviewApp
    from reader.config import load_config

    settings = load_config(config)
    with open_store(db) as store:
        if extractor is None:
            known = store.extractors()
            if len(known) != 1:
                raise fail(
                    "choose the extractor to review with --extractor; the store has "
                    + (f"predictions of {len(known)}: {', '.join(known)}" if known
                       else "no predictions (run `reader extract` or import some first)")
                )
            extractor = known[0]
        try:
            app = ReviewApp(store, extractor, annotator=annotator, config=settings)
        except EvaluationError as err:
            raise fail(str(err)) from None
        app.run()


def register(app: typer.Typer) -> None:
    app.command("review")(review)
