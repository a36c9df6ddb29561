"""Options and helpers shared by the commands."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from annotations.errors import StoreError
from annotations.models import Document
from annotations.names import check_name
from annotations.store import AddResult, GoldStore
from annotations.terminal import terminal_text

DbOption = Annotated[
    Path,
    typer.Option("--db", help="The gold store (a TinyDB JSON file). `import` and `annotate` "
                 "create it when they store something; the other commands only read it.",
                 dir_okay=False, resolve_path=False),
]



class Scheme(str, Enum):
    """An entity scheme of ``reader evaluate`` and ``reader compare`` (``--scheme``)."""

    strict = "strict"
    exact = "exact"
    partial = "partial"
    type = "type"


def chosen_schemes(schemes: Sequence[Scheme] | None) -> list[str]:
    """The ``--scheme`` values in canonical order, without repeats (default: all four)."""
    from annotations.evaluation import SCHEMES

    asked = {s.value for s in schemes} if schemes else set(SCHEMES)
    return [s for s in SCHEMES if s in asked]


class UngroundedRule(str, Enum):
    """What an extractor's string that could not be placed on the text counts as."""

    spurious = "spurious"
    ignore = "ignore"


UngroundedOption = Annotated[UngroundedRule, typer.Option(
    "--ungrounded", help="Strings an extractor returned that could not be placed on the "
    "text: 'spurious' counts each as a false positive in every scheme (default), 'ignore' "
    "leaves them out of the scores (they are still reported).")]


def percent(value: float) -> str:
    """A share as a percentage with one decimal, as every score table shows it."""
    return f"{100 * value:.1f}"


console = Console(highlight=False, soft_wrap=True)
# soft_wrap: a message naming a file is never folded in the middle of its path.
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def open_store(path: Path, read_only: bool = False, *, predictions: bool = True
               ) -> GoldStore:
    """Open the store (read-only without its ``predictions``: see ``GoldStore``); errors
    propagate to ``reader.cli.main`` which prints them."""
    return GoldStore(path, read_only=read_only, predictions=predictions)


def add_articles(store: GoldStore, documents: list[Document], new: bool) -> AddResult:
    """Add ``documents``.  A store this command creates, without labels, starts with the
    default news labels, stored in the same transaction as its first documents, so that
    a killed first import leaves no store without labels (a store made by a gold import
    adopts that import's labels instead)."""
    from annotations.default_labels import default_scheme

    scheme = default_scheme() if new and not store.labels.entities else None
    added = store.add_documents(documents, labels=scheme)
    if scheme is not None and added.added:
        console.print(f"[bold]labels:[/] a new store starts with the default news labels "
                      f"({len(scheme.entities)} entity, {len(scheme.relations)} relation "
                      "labels; `reader import --as-gold --add-labels` adds others)")
    return added


def close_committed(store: GoldStore, done: str) -> None:
    """Close ``store`` after a command committed ``done`` (already said to the user):
    if folding the journal fails now, say that ``done`` is safe and what failed."""
    try:
        store.close()
    except StoreError as err:
        raise fail(f"{done} is committed (safe in {store.journal_path.name}, replayed at "
                   f"the next open), but closing failed: {err}") from None


def check_option_name(option: str, value: str | None, what: str) -> None:
    """A name given on the command line, checked by the one rule for names."""
    if value is not None:
        try:
            check_name(value, what)
        except ValueError as err:
            raise fail(f"{option}: {err}") from None


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {terminal_text(message, keep_newlines=True)}")
    return typer.Exit(code)
