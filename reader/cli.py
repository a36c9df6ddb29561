"""The ``reader`` command line (typer): one module per command in ``reader.commands``."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from annotations.errors import AnnotationsError
from annotations.terminal import terminal_text

app = typer.Typer(
    name="reader",
    help="Read news articles, annotate entities and relations into a gold set, "
    "and score extractors against it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# soft_wrap: a message naming a file is never folded in the middle of its path.
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _register() -> None:
    from reader.commands import (
        adjudicate,
        agreement,
        annotate,
        compare,
        evaluate,
        export_cmd,
        extract,
        import_cmd,
        merge,
        queue,
        review,
        serve,
        stats,
    )

    for command in (import_cmd, extract, stats, annotate, evaluate, compare, review,
                    export_cmd, merge, agreement, adjudicate, serve, queue):
        command.register(app)


_register()


def main() -> None:
    try:
        app()
    except AnnotationsError as err:
        # The message may quote file content: never let it be read as markup.
        err_console.print(f"[bold red]error:[/] {terminal_text(err, keep_newlines=True)}",
                          highlight=False)
        sys.exit(1)
    except OSError as err:
        # A full disk, a permission, a vanished file: one line naming the file, no
        # traceback (the store's own writes say what was kept before they get here).
        where = f"{err.filename}: " if err.filename else ""
        err_console.print(f"[bold red]error:[/] {terminal_text(where)}"
                          f"{terminal_text(err.strerror or err)}", highlight=False)
        sys.exit(1)
