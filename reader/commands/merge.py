"""``reader merge``: other stores' annotations into one store, under their annotators' names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from annotations.merge import MergeError, MergeSource, merge_stores
from annotations.terminal import visible

from .common import DbOption, console, err_console, fail

KEEP = "-"


def merge(
    sources: Annotated[list[Path], typer.Argument(
        help="Stores to bring in (each opened read-only).", exists=True, dir_okay=False)],
    db: DbOption,
    rename: Annotated[list[str] | None, typer.Option(
        "--as", help="The annotator name for each source, in order (one per source; '-' "
        "keeps a file's names). Renames the file's 'default' annotator, or its only one. "
        "Without --as, 'default' becomes the file's stem (alice.json -> alice) and other "
        "names are kept.")] = None,
    predictions: Annotated[bool, typer.Option(
        "--predictions", help="Bring the sources' extractor predictions too.")] = False,
    add_labels: Annotated[bool, typer.Option(
        "--add-labels", help="Add labels that annotations use but no label scheme "
        "defines (default: refuse).")] = False,
) -> None:
    """Merge annotators' stores into one (all or nothing): documents matched by text,
    conflicts and unknown labels reported, label schemes united."""
    if rename and len(rename) != len(sources):
        raise fail(f"--as is given {len(rename)} time(s) for {len(sources)} source(s); give "
                   f"it once per source, in order ('{KEEP}' keeps a file's names)")
    specs = [MergeSource(path, None if not rename or rename[i] == KEEP else rename[i])
             for i, path in enumerate(sources)]
    try:
        report = merge_stores(db, specs, predictions=predictions, add_labels=add_labels)
    except MergeError as err:
        raise fail(str(err)) from None
    for warning in report.warnings:
        err_console.print(Text("warning ", style="yellow") + Text(visible(warning)))
    for path, names in report.names.items():
        renamed = ", ".join(f"{a} -> {b}" if a != b else a for a, b in names.items())
        console.print(Text(visible(f"{path}: {renamed or 'no annotations'}")))
    added = ", ".join(f"{n} by {name}" for name, n in sorted(report.annotations_added.items()))
    console.print(Text(visible(
        f"Merged into {db}: {report.documents_added} document(s) added; annotations added: "
        f"{added or 'none'}; {report.unchanged} already there unchanged")))
    if report.predictions_added:
        console.print(Text(visible("Predictions added: " + ", ".join(
            f"{n} by {name}" for name, n in sorted(report.predictions_added.items())))))
    if report.labels_added:
        console.print(Text(visible("Labels added: " + ", ".join(report.labels_added))))


def register(app: typer.Typer) -> None:
    app.command("merge")(merge)
