"""The ``reader`` command line (typer): one module per command in ``reader.commands``."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from annotations.errors import AnnotationsError

app = typer.Typer(
    name="reader",
    help="Read news articles, annotate entities and relations into a gold set, "
    "and score extractors against it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

err_console = Console(stderr=True, highlight=False)


def _register() -> None:
    from reader.commands import (
        agreement,
        annotate,
        evaluate,
        export_cmd,
        extract,
        import_cmd,
        merge,
        review,
        stats,
    )

    for command in (import_cmd, extract, stats, annotate, evaluate, review, export_cmd,
                    merge, agreement):
        command.register(app)


_register()


def main() -> None:
    try:
        app()
    except AnnotationsError as err:
        # The message may quote file content: never let it be read as markup.
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
        sys.exit(1)
