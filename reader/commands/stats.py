"""``reader stats``: what the gold store holds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from annotations.names import scheme_problems
from annotations.terminal import terminal_json, terminal_text

from .common import DbOption, console, err_console, open_store


def stats(
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Documents, annotations by status, predictions by extractor, and labels."""
    with open_store(db, read_only=True) as store:
        figures = store.stats()
        problems = scheme_problems(store.labels, extractors=store.extractors(),
                                   annotators=store.annotators())
    for problem in problems:
        err_console.print(f"[yellow]warning[/] {terminal_text(problem)} (stored before names "
                          "were checked; rename or re-import it)")
    if as_json:
        print(terminal_json(figures))
        return
    console.print(f"[bold]{terminal_text(figures['path'])}[/]: {figures['documents']} document(s)")
    ann = Table(title="Annotations by status", title_justify="left")
    for name in ("accept", "reject", "ignore", "open"):
        ann.add_column(name, justify="right")
    ann.add_row(*(str(figures["annotations"][k]) for k in ("accept", "reject", "ignore", "open")))
    console.print(ann)
    preds = Table(title="Predictions by extractor", title_justify="left")
    preds.add_column("extractor")
    preds.add_column("documents", justify="right")
    preds.add_column("entities", justify="right")
    for name, entry in figures["predictions"].items():
        preds.add_row(terminal_text(name), str(entry["documents"]), str(entry["spans"]))
    console.print(preds)
    for kind in ("entity", "relation"):
        names = ", ".join(figures[f"{kind}_labels"]) or "none"
        console.print(f"{kind} labels: {terminal_text(names)}")
    console.print(f"gold: {figures['gold_documents']} document(s) with an accepted annotation")
    for kind in ("entities", "relations"):
        counts = figures[f"gold_{kind}_by_label"]
        if counts:
            console.print(f"gold {kind}: " + terminal_text(", ".join(
                f"{k} {v}" for k, v in counts.items())))


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
