"""``reader export``: annotations or predictions out to Prodigy, doccano, brat, CoNLL, spaCy,
Label Studio, INCEpTION (UIMA CAS XMI) or Hugging Face datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from annotations.errors import AnnotationsError
from annotations.formats import CONLL_SUFFIXES, FORMATS, get_format
from annotations.formats.transfer import (
    StatusFilter,
    export_layers,
    needs_predictions,
    writes_folder,
)
from annotations.gold import describe_gold, gold_annotator_counts
from annotations.terminal import terminal_text, visible

from .common import DbOption, console, err_console, fail, open_store

STATUS_CHOICES = ("accept", "reject", "ignore", "open", "all")


def format_for_output(out: Path) -> str:
    """The format an output name implies when --format is not given."""
    suffix = out.suffix.lower()
    if suffix in CONLL_SUFFIXES:
        return "conll"
    if suffix == ".spacy":
        return "spacy"
    return "prodigy"


def export(
    db: DbOption,
    out: Annotated[Path, typer.Option(
        "-o", "--output", help="File to write (a folder for brat, inception and hf, and for "
        "spacy unless it ends in .spacy; label-studio writes NAME.label_config.xml beside "
        "it).")],
    format_name: Annotated[str | None, typer.Option(
        "--format", help=f"One of {', '.join(FORMATS)}. Default: from the output name "
        "(.conll/.iob -> conll, .spacy -> spacy), else prodigy.")] = None,
    status: Annotated[str, typer.Option(
        "--status", help="Which annotations: accept (the gold set), reject, ignore, open "
        "(not decided yet) or all.")] = "accept",
    annotator: Annotated[str | None, typer.Option(
        "--annotator", help="Only this annotator's annotations (default: every annotator; "
        "with --status accept, the adjudicated 'gold' annotation where a document has one).")
    ] = None,
    extractor: Annotated[str | None, typer.Option(
        "--extractor", help="Export this extractor's predictions instead of annotations.")
    ] = None,
    flat_only: Annotated[bool, typer.Option(
        "--flat-only", help="CoNLL only: write nested and overlapping layers with their "
        "outermost spans and name every span left out (without it, such a layer is refused).")
    ] = False,
) -> None:
    """Export gold annotations (or an extractor's predictions) to an interchange format."""
    try:
        fmt = get_format(format_name or format_for_output(out))
    except ValueError as err:
        raise fail(str(err)) from None
    if status not in STATUS_CHOICES:
        raise fail(f"--status must be one of {', '.join(STATUS_CHOICES)}, not {status!r}")
    if extractor is not None and (annotator is not None or status != "accept"):
        raise fail("--extractor exports predictions; --status and --annotator apply to "
                   "annotations only")
    folder = writes_folder(fmt, out)
    if out.exists() and out.is_dir() != folder:
        raise fail(f"{out} is a {'folder' if out.is_dir() else 'file'}; {fmt.name} writes a "
                   f"{'folder' if folder else 'file'} there")
    with open_store(db, read_only=True,
                    predictions=needs_predictions(fmt.name, extractor)) as store:
        if extractor is None and status == "accept":
            err_console.print(Text(visible(describe_gold(
                gold_annotator_counts(store, annotator), annotator))))
        status_filter: StatusFilter = status  # type: ignore[assignment]
        try:
            result = export_layers(store, out, format_name=fmt.name, status=status_filter,
                                   annotator=annotator, extractor=extractor,
                                   flat_only=flat_only)
        except AnnotationsError as err:
            raise fail(str(err)) from None
        except OSError as err:  # a full disk, a read-only folder: the file it concerns
            raise fail(f"{err.filename or out}: {err.strerror or err}; nothing was "
                       "exported") from None
    for warning in result.warnings:
        err_console.print(f"[yellow]warning[/] {terminal_text(warning)}")
    what = (f"predictions of {extractor}" if extractor else
            f"annotation(s) with status {status}" + (f" by {annotator}" if annotator else ""))
    files = f" ({result.files} files)" if result.files > 1 else ""
    console.print(f"{result.written} {terminal_text(what)} written as {fmt.name} to "
                  f"{terminal_text(out)}{files}")
    if result.written == 0 and not extractor and status == "accept":
        console.print("[dim]nothing is accepted yet; --status all exports every annotation[/]")


export.__doc__ = (export.__doc__ or "") + "\n\nWhat each format cannot carry: " + "; ".join(
    f"{fmt.name}: {fmt.loses}" for fmt in FORMATS.values()) + "."


def register(app: typer.Typer) -> None:
    app.command("export")(export)
