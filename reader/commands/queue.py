"""``reader queue``: which documents to annotate next (the documents where the extractors
differ first), and ``reader estimate``: each extractor's F1 on the whole store from such
a gold set.  The work is in ``annotations.queue`` and ``annotations.estimate``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from annotations.errors import AnnotationsError
from annotations.terminal import terminal_json, terminal_text, visible

from .common import DbOption, Scheme, check_option_name, console, err_console, fail, open_store

if TYPE_CHECKING:
    from annotations.estimate import CorpusEstimate


class OrderChoice(str, Enum):
    disagreement = "disagreement"
    differ_first = "differ-first"
    random = "random"
    store = "store"
    estimate = "estimate"


ExtractorsOption = Annotated[list[str], typer.Option(
    "--extractor", "-e", help="The extractors to choose between: -e A -e B [-e C ...]; "
    "documents where their outputs differ come first.")]
OrderOption = Annotated[OrderChoice, typer.Option(
    "--order", help="disagreement: most different first, then the rest at random; "
    "differ-first: the differing documents first, each group at random; random; "
    "store: import order; estimate: what narrows the corpus estimate most (after the "
    "differing documents).", case_sensitive=False)]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the random orders and "
                                         "tie-breaks.")]
AnnotatorOption = Annotated[str | None, typer.Option(
    "--annotator", help="Whose gold counts as done (default: the gold evaluation uses).")]
MissingOption = Annotated[bool, typer.Option(
    "--missing-as-empty", help="Count a document an extractor did not predict as an empty "
    "output (default: refuse).")]
SchemeOption = Annotated[Scheme, typer.Option(
    "--scheme", help="Entity scheme of the estimate.", case_sensitive=False)]


def queue(
    db: DbOption,
    extractor: ExtractorsOption,
    order: OrderOption = OrderChoice.disagreement,
    seed: SeedOption = 0,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=0, help="Show the first N documents (default: 20 in the table, all "
        "in --json; 0: all).")] = None,
    annotator: AnnotatorOption = None,
    missing_as_empty: MissingOption = False,
    scheme: SchemeOption = Scheme.strict,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object per line and document: id, meta, rank, score, "
        "stratum, probability, group, reason.")] = False,
) -> None:
    """The documents not yet annotated, ranked by how much the extractors' outputs differ."""
    from annotations.queue import build_queue, listed

    check_option_name("--annotator", annotator, "annotator name")
    with open_store(db, read_only=True) as store:
        try:
            found = build_queue(store, extractor, order=order.value, seed=seed,
                                annotator=annotator, missing_as_empty=missing_as_empty,
                                scheme=scheme.value)
        except AnnotationsError as err:
            raise fail(str(err)) from None
        if limit is None:
            limit = 0 if as_json else 20
        count = len(found) if limit == 0 else min(limit, len(found))
        entries = found.entries(count)
        documents = [store.document(entry.doc_id) for entry in entries]
    if as_json:
        for entry, document in zip(entries, documents, strict=True):
            # ASCII escapes: nothing from the data reaches the terminal live.
            print(json.dumps({"id": entry.doc_id, "meta": document.meta, "rank": entry.rank,
                              "score": entry.score, "stratum": entry.stratum,
                              "probability": entry.probability,
                              "group": found.groups[entry.rank - 1] if found.groups else None,
                              "reason": entry.reason}, ensure_ascii=True))
        return
    names = listed(found.extractors)
    console.print(
        f"[bold]{len(found)} document(s) to annotate[/] in {terminal_text(db)} "
        f"({found.order} order, seed {found.seed}): {found.waiting['differ']} where "
        f"{terminal_text(names)} differ, {found.waiting['agree']} where they agree; "
        f"{found.annotated} already gold, {found.excluded} rejected or ignored")
    for name, missing in found.missing.items():
        console.print(f"[yellow]note:[/] {missing} document(s) have no prediction of "
                      f"{terminal_text(name)}, counted as empty (--missing-as-empty)")
    if not entries:
        console.print("nothing left to annotate")
        return
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("rank", justify="right")
    table.add_column("title", overflow="fold", ratio=2)
    table.add_column("why", overflow="fold", ratio=3)
    for entry, document in zip(entries, documents, strict=True):
        why = entry.reason
        if entry.probability is not None:
            group = found.groups[entry.rank - 1] if found.groups else entry.stratum
            why += (f" (drawn at random among {round(1 / entry.probability)} left in stratum "
                    f"{group})")
        table.add_row(str(entry.rank), Text(visible(document.title)), Text(visible(why)))
    console.print(table)
    if len(entries) < len(found):
        console.print(f"… and {len(found) - len(entries)} more (--limit N, or --limit 0 for "
                      "all)")


def estimate(
    db: DbOption,
    extractor: ExtractorsOption,
    annotator: AnnotatorOption = None,
    scheme: SchemeOption = Scheme.strict,
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", min=0, help="Stratified bootstrap resamples for the interval "
        "(0: none).")] = 1000,
    seed: SeedOption = 0,
    missing_as_empty: MissingOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each extractor's F1 on all documents of the store, estimated from the gold set
    stratified by where the extractors differ, with a stratified bootstrap interval."""
    from annotations.estimate import estimate_corpus

    check_option_name("--annotator", annotator, "annotator name")
    with open_store(db, read_only=True) as store:
        try:
            result = estimate_corpus(store, extractor, annotator=annotator,
                                     scheme=scheme.value, samples=bootstrap, seed=seed,
                                     missing_as_empty=missing_as_empty)
        except AnnotationsError as err:
            raise fail(str(err)) from None
    if as_json:
        print(terminal_json(result.to_json()))
        for warning in result.warnings:
            err_console.print(Text("warning: ", style="bold yellow") + Text(visible(warning)))
        return
    print_estimate(result, db)


def print_estimate(result: CorpusEstimate, db: Path) -> None:
    """The corpus estimate as tables, its warnings and notes (``reader estimate`` and
    ``reader evaluate --estimate corpus``)."""
    console.print(f"[bold]F1 on all {result.documents} document(s) of {terminal_text(db)}"
                  f"[/], estimated from {result.annotated} gold document(s)")
    strata = Table(title="Strata", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("stratum", "documents", "gold", "drawn at random", "taken by rank",
                 "no record"):
        strata.add_column(name, justify="left" if name == "stratum" else "right")
    for s in result.strata:
        strata.add_row(Text(s.name), str(s.size),
                       f"{s.annotated} (all)" if s.census else str(s.annotated),
                       str(s.drawn_at_random), str(s.by_rank), str(s.unrecorded))
    console.print(strata)
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("extractor", "statistic", "store F1 %", f"{result.confidence:.0%} interval",
                 "plain gold F1 %"):
        table.add_column(name, justify="left" if name in ("extractor", "statistic")
                         else "right", overflow="fold")
    for r in result.results:
        point = "—" if r.estimate is None else f"{100 * r.estimate:.1f}"
        interval = ("—" if r.interval is None
                    else f"{100 * r.interval[0]:.1f} to {100 * r.interval[1]:.1f}")
        table.add_row(Text(visible(r.extractor)), r.statistic, point, interval,
                      f"{100 * r.plain:.1f}")
    console.print(table)
    for warning in result.warnings:
        console.print(Text("warning: ", style="bold yellow") + Text(visible(warning)))
    for note in result.notes:
        console.print(Text("note: ", style="dim") + Text(visible(note)))


def register(app: typer.Typer) -> None:
    app.command("queue")(queue)
    app.command("estimate")(estimate)
