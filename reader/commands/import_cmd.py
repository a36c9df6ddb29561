"""``reader import``: articles (.txt, .md, folders, JSONL) into the gold store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from annotations.articles import read_articles

from .common import DbOption, console, err_console, fail, open_store


def import_articles(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.")],
    db: DbOption,
) -> None:
    """Import articles: .txt/.md files (one article each), folders (recursively, sorted),
    or JSONL with one {"text": ..., "meta": {...}} per line.

    All or nothing: if any input is bad, nothing is stored and every problem is listed.
    """
    result = read_articles(paths)
    if result.errors:
        for error in result.errors:
            err_console.print(f"[red]rejected[/] {escape(str(error))}")
        raise fail(
            f"{len(result.errors)} input(s) rejected; nothing was imported "
            f"({len(result.documents)} good document(s) were not stored either)"
        )
    if not result.documents:
        raise fail("no articles found in " + ", ".join(str(p) for p in paths))
    with open_store(db) as store:
        added = store.add_documents(result.documents)
        total = len(store)
    console.print(
        f"{len(added.added)} added, {len(added.present)} already present, 0 rejected "
        f"→ {escape(str(db))} holds {total} document(s)"
    )
    for path in result.skipped:
        console.print(f"[dim]skipped {escape(str(path))} (not .txt, .md or .jsonl)[/]")


def register(app: typer.Typer) -> None:
    app.command("import")(import_articles)
