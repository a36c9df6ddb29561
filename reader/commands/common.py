"""Options and helpers shared by the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from annotations.store import GoldStore

DbOption = Annotated[
    Path,
    typer.Option("--db", help="The gold store (a TinyDB JSON file); created if missing.",
                 dir_okay=False, resolve_path=False),
]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def open_store(path: Path, read_only: bool = False) -> GoldStore:
    """Open the store; errors propagate to ``reader.cli.main`` which prints them."""
    return GoldStore(path, read_only=read_only)


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)
