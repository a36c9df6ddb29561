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
    from reader.commands import extract, import_cmd, stats

    import_cmd.register(app)
    extract.register(app)
    stats.register(app)
    for optional in ("annotate", "evaluate", "review", "export_cmd"):
        # Commands of later features register themselves when their module exists.
        try:
            module = __import__(f"reader.commands.{optional}", fromlist=["register"])
        except ModuleNotFoundError as err:
            if err.name != f"reader.commands.{optional}":
                raise
            continue
        module.register(app)


_register()


def main() -> None:
    try:
        app()
    except AnnotationsError as err:
        # The message may quote file content: never let it be read as markup.
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
        sys.exit(1)
