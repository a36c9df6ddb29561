"""``reader import``: articles (.txt, .md, folders, JSONL) into the gold store, or, with
``--as-gold`` / ``--as-predictions``, annotated files in an interchange format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from annotations.articles import read_articles
from annotations.errors import InputErrors
from annotations.formats import ALIASES, FORMATS
from annotations.formats.transfer import import_layers
from annotations.models import Status
from annotations.terminal import terminal_text

from .common import (
    DbOption,
    add_articles,
    check_option_name,
    close_committed,
    console,
    err_console,
    fail,
    open_store,
)

ANSWERS = ("accept", "reject", "ignore", "open")


def import_articles(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.")],
    db: DbOption,
    as_gold: Annotated[bool, typer.Option(
        "--as-gold", help="The files hold annotations: import them as gold.")] = False,
    as_predictions: Annotated[bool, typer.Option(
        "--as-predictions", help="The files hold an extractor's output on stored documents.")
    ] = False,
    format_name: Annotated[str | None, typer.Option(
        "--format", help=f"With --as-gold/--as-predictions: {', '.join(FORMATS)}. Default: "
        "from the extension and content (.jsonl with spans -> prodigy, with entities or "
        "label -> doccano; folder of .ann -> brat; .conll/.iob -> conll; .spacy -> spacy; "
        ".json array -> label-studio; .zip, .xmi or a folder of them -> inception; a "
        "save_to_disk folder -> hf).")
    ] = None,
    annotator: Annotated[str | None, typer.Option(
        "--annotator", help="With --as-gold: store as this annotator's (default: the "
        "file's _annotator_id, else 'default').")] = None,
    extractor: Annotated[str | None, typer.Option(
        "--extractor", help="With --as-predictions: the extractor's NAME@VERSION.")] = None,
    add_labels: Annotated[bool, typer.Option(
        "--add-labels", help="Add unknown labels to the label scheme instead of rejecting "
        "them (a store without labels adopts those of its first gold import anyway).")
    ] = False,
    overlapping: Annotated[bool, typer.Option(
        "--overlapping", help="With --as-gold: let the store's layers hold nested and "
        "overlapping spans from now on (a store without labels allows them by itself when "
        "its first gold import has them).")] = False,
    strip_spans: Annotated[bool, typer.Option(
        "--strip-spans", help="Trim whitespace at the start and end of spans (without it, "
        "each such span is reported as a warning and kept as given).")] = False,
    answer: Annotated[str, typer.Option(
        "--answer", help="With --as-gold: the status of records that carry none "
        "(accept, reject, ignore or open).")] = "accept",
) -> None:
    """Import articles: .txt/.md files (one article each), folders (recursively, sorted),
    or JSONL with one {"text": ..., "meta": {...}} per line.

    With --as-gold or --as-predictions, import annotated files instead: Prodigy or doccano
    JSONL, a brat folder, CoNLL IOB (IOB2 or IOB1), spaCy .spacy, a Label Studio JSON
    export (its annotations as gold under their annotators, its predictions under their
    model_version, in the same import), INCEpTION's UIMA CAS XMI or a Hugging Face
    dataset folder.

    All or nothing: if any input is bad, nothing is stored and every problem is listed.
    """
    if as_gold or as_predictions:
        _import_layers(paths, db, as_predictions=as_predictions, format_name=format_name,
                       annotator=annotator, extractor=extractor, add_labels=add_labels,
                       answer=answer, as_gold=as_gold, overlapping=overlapping,
                       strip_spans=strip_spans)
        return
    for name, given in (("--format", format_name), ("--annotator", annotator),
                        ("--extractor", extractor)):
        if given is not None:
            raise fail(f"{name} needs --as-gold or --as-predictions")
    for name, flag in (("--overlapping", overlapping), ("--strip-spans", strip_spans)):
        if flag:
            raise fail(f"{name} needs --as-gold or --as-predictions")
    result = read_articles(paths)
    if result.errors:
        for error in result.errors:
            err_console.print(f"[red]rejected[/] {terminal_text(str(error))}")
        held_back = (f" ({len(result.documents)} good document(s) held back with them)"
                     if result.documents else "")
        raise fail(f"{len(result.errors)} input(s) rejected; nothing was imported{held_back}")
    if not result.documents:
        raise fail("no articles found in " + ", ".join(str(p) for p in paths))
    new = not db.exists()
    with open_store(db) as store:
        added = add_articles(store, result.documents, new)
        console.print(
            f"{len(added.added)} added, {len(added.present)} already present, 0 rejected "
            f"→ {terminal_text(str(db))} holds {len(store)} document(s)"
        )
        close_committed(store, f"the import of {len(added.added)} document(s)")
    for path in result.skipped:
        console.print(f"[dim]skipped {terminal_text(str(path))} (not .txt, .md or .jsonl)[/]")
    for path, count in result.annotated.items():
        err_console.print(
            f"[yellow]note:[/] {count} record(s) of {terminal_text(str(path))} carry annotations "
            "(spans, entities, labels or relations); imported as plain articles they were "
            "kept in meta only. Import them again with --as-gold or --as-predictions "
            "to store them as annotations."
        )


def _import_layers(paths: list[Path], db: Path, *, as_gold: bool, as_predictions: bool,
                   format_name: str | None, annotator: str | None, extractor: str | None,
                   add_labels: bool, answer: str, overlapping: bool = False,
                   strip_spans: bool = False) -> None:
    if as_gold and as_predictions:
        raise fail("choose one of --as-gold and --as-predictions")
    if as_predictions and not extractor:
        raise fail("--as-predictions needs --extractor NAME@VERSION (e.g. my-llm@2026-11)")
    if as_predictions and annotator:
        raise fail("--annotator applies to --as-gold; predictions belong to --extractor")
    if as_gold and extractor:
        raise fail("--extractor applies to --as-predictions")
    if as_predictions and overlapping:
        raise fail("--overlapping applies to --as-gold (predictions may always overlap)")
    if format_name is not None and format_name.lower() not in FORMATS and \
            format_name.lower() not in ALIASES:
        raise fail(f"unknown --format {format_name!r}; choose one of {', '.join(FORMATS)}")
    if answer not in ANSWERS:
        raise fail(f"--answer must be one of {', '.join(ANSWERS)}, not {answer!r}")
    default_status: Status | None = None if answer == "open" else answer  # type: ignore[assignment]
    check_option_name("--annotator", annotator, "annotator name")
    check_option_name("--extractor", extractor, "extractor name")
    with open_store(db) as store:
        try:
            summary = import_layers(
                store, paths, format_name=format_name, as_predictions=as_predictions,
                annotator=annotator, extractor=extractor, add_labels=add_labels,
                default_status=default_status, overlapping=overlapping,
                strip_spans=strip_spans)
        except InputErrors as err:
            for error in err.errors:
                err_console.print(f"[red]rejected[/] {terminal_text(str(error))}")
            raise fail(f"{len(err.errors)} problem(s); nothing was imported") from None
        for warning in summary.warnings:
            err_console.print(f"[yellow]warning[/] {terminal_text(str(warning))}")
        if summary.adopted:
            console.print(f"[bold]labels:[/] {terminal_text(summary.adopted)}")
        kind = f"prediction(s) by {extractor}" if as_predictions else "annotation(s)"
        console.print(
            f"{summary.records} record(s) read ({summary.format}): {summary.added} "
            f"{terminal_text(kind)} "
            f"added, {summary.updated} updated, {summary.skipped} skipped (unchanged); "
            f"{summary.documents_added} document(s) added → {terminal_text(str(db))} holds "
            f"{len(store)} document(s)"
        )
        if any(summary.predictions):
            added, updated, skipped = summary.predictions
            console.print(
                f"and {added} prediction(s) added, {updated} updated, {skipped} skipped by "
                f"{terminal_text(', '.join(summary.extractors))} (the file's predictions)")
        close_committed(store, "the import")


def register(app: typer.Typer) -> None:
    app.command("import")(import_articles)
