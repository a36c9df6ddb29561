"""The ``reader`` command line (typer): one module per command in ``reader.commands``."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
import typer.core
import typer.main
from rich.console import Console

from annotations.errors import AnnotationsError
from annotations.terminal import terminal_text

# Every command: its module in ``reader.commands`` and the one line ``reader --help``
# shows.  A command's module (and the domain code it needs: the store, numpy, spaCy) is
# imported only when that command runs or shows its own help, so ``reader --help`` and a
# mistyped command answer at once.  tests/test_layering.py checks each line against the
# command's own docstring.
COMMANDS: dict[str, tuple[str, str]] = {
    "import": ("import_cmd", "Import articles: .txt/.md files (one article each), folders "
               "(recursively, sorted), or JSONL with one {\"text\": ..., \"meta\": {...}} "
               "per line."),
    "extract": ("extract", "Pre-annotate documents: store an extractor's entities as its "
                "predictions."),
    "stats": ("stats", "Documents, annotations by status, predictions by extractor, and "
              "labels."),
    "annotate": ("annotate", "Annotate entities and relations; every edit is saved at once "
                 "(quit any time)."),
    "evaluate": ("evaluate", "Score extractors against the gold set (accepted annotations)."),
    "compare": ("compare", "Is B better than A? ΔF1 = F1(B) − F1(A) per scheme, micro and "
                "per label, with a paired bootstrap interval and a paired permutation p-value "
                "(exact when the documents where they differ are few; Holm-adjusted per "
                "label)."),
    "review": ("review", "Gold and predictions together, worst documents first; fix the gold "
               "key by key."),
    "export": ("export_cmd", "Export gold annotations (or an extractor's predictions) to an "
               "interchange format."),
    "merge": ("merge", "Merge annotators' stores into one (all or nothing): documents matched "
              "by text, conflicts and unknown labels reported, label schemes united."),
    "agreement": ("agreement", "Agreement between annotators: pairwise span F1, token κ, "
                  "unitizing α_U, relation F1."),
    "adjudicate": ("adjudicate", "Settle the annotators' disagreements, one key each; what "
                   "all agree on is merged."),
    "serve": ("serve", "Serve the annotator to browsers: each annotator edits their own "
              "DIR/NAME.json."),
    "queue": ("queue", "The documents not yet annotated, ranked by how much the extractors' "
              "outputs differ."),
    "estimate": ("queue", "Each extractor's F1 on all documents of the store, estimated "
                 "from the gold set stratified by where the extractors differ, with a "
                 "stratified bootstrap interval."),
}


def load_command(name: str) -> Any:
    """The (click) command ``name``, built from its module's ``register`` (imports it)."""
    module = importlib.import_module(f"reader.commands.{COMMANDS[name][0]}")
    holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                         rich_markup_mode=None)
    module.register(holder)
    group = typer.main.get_group(holder)
    command = group.commands.get(name)
    if command is None:  # a module that registers under another name is a bug here
        raise LookupError(f"reader.commands.{COMMANDS[name][0]} registers no {name!r}")
    return command


class LazyCommands(typer.core.TyperGroup):
    """The ``reader`` group: lists the commands from :data:`COMMANDS` and builds one
    only when it is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands[cmd_name]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # As click lists commands, from the lines above instead of the loaded commands.
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, typer.core.TyperCommand(name, help=line).get_short_help_str(limit))
                for name, (_module, line) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="reader",
    cls=LazyCommands,
    help="Read news articles, annotate entities and relations into a gold set, "
    "and score extractors against it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    pass  # the group's help is the Typer's; a callback keeps ``reader`` a group


# soft_wrap: a message naming a file is never folded in the middle of its path.
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


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
