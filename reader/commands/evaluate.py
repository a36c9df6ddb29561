"""``reader evaluate``: score extractors against the gold set (tables, JSON, HTML report).

The evaluation itself is :func:`annotations.evaluation.run_evaluation`; this module
only prints it."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from annotations.errors import AnnotationsError
from annotations.evaluation import (
    RELATION_MODES,
    Evaluation,
    EvaluationError,
    ExtractorResult,
    interval_text,
    run_evaluation,
)
from annotations.gold import describe_gold
from annotations.output import output_target
from annotations.significance import ALPHA, ROUNDS
from annotations.terminal import terminal_json, terminal_text, visible

from .common import (
    DbOption,
    Scheme,
    UngroundedOption,
    UngroundedRule,
    chosen_schemes,
    console,
    err_console,
    fail,
    open_store,
)
from .common import percent as _pct
from .compare import print_comparison_sections, print_seeded_warnings


def _best(values: list[float]) -> float | None:
    """The value to mark: the maximum, unless there is nothing to compare (one row, all tied)."""
    return max(values) if len(set(values)) > 1 else None


def _mark(value: float, best: float | None) -> Text:
    if best is not None and value == best:
        return Text(_pct(value) + "*", style="bold green")
    return Text(_pct(value) + " ")


def comparison_table(evaluation: Evaluation, schemes: list[str], width: int = 200) -> Table:
    """Rows: extractors; columns: P/R/F1 per scheme; the best value per column starred.

    When P, R and F1 of every scheme cannot fit in ``width`` columns, only F1 is shown
    per scheme (the counts tables below still give P and R).
    """
    keys: tuple[str, ...] = ("precision", "recall", "f1")
    name_width = max((len(visible(n)) for n in evaluation.results), default=9)
    if name_width + 1 + len(schemes) * len(keys) * 8 > width:
        keys = ("f1",)
    shown = "P/R/F1" if len(keys) == 3 else "F1 only (narrow terminal; see the counts below)"
    table = Table(title=f"Entities, micro-averaged {shown} (%) on {evaluation.documents} gold "
                  "document(s); * best per column", title_justify="left",
                  box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("extractor", no_wrap=True, overflow="fold")
    micro = {name: {s: r.entities.micro(s) for s in schemes}
             for name, r in evaluation.results.items()}
    columns = [(s, k) for s in schemes for k in keys]
    for scheme, key in columns:
        table.add_column(f"{scheme}\n{dict(precision='P', recall='R', f1='F1')[key]}",
                         justify="right", no_wrap=True)
    best = {col: _best([m[col[0]][col[1]] for m in micro.values()]) for col in columns}
    for name, m in micro.items():
        table.add_row(Text(visible(name)), *(_mark(m[s][k], best[(s, k)]) for s, k in columns))
    return table


def interval_table(evaluation: Evaluation, schemes: list[str]) -> Table:
    """One row per extractor and scheme: micro F1 and its bootstrap interval."""
    table = Table(title=f"Micro F1 (%) with {evaluation.confidence:.0%} bootstrap interval "
                  f"({evaluation.bootstrap} resamples of the documents, seed {evaluation.seed})",
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("extractor", no_wrap=True, overflow="fold")
    table.add_column("scheme", no_wrap=True)
    table.add_column("F1", justify="right", no_wrap=True)
    table.add_column("interval", justify="right", no_wrap=True)
    for name, result in evaluation.results.items():
        for i, scheme in enumerate(schemes):
            ci = result.interval(scheme)
            table.add_row(Text(visible(name)) if i == 0 else "", scheme,
                          _pct(result.entities.micro(scheme)["f1"]),
                          f"{_pct(ci[0])}–{_pct(ci[1])}" if ci else interval_text(None))
    return table


def relation_table(evaluation: Evaluation) -> Table:
    table = Table(title="Relations, micro-averaged (%); strict: argument spans, their labels "
                  "and the relation label; boundaries: argument spans and relation label",
                  title_justify="left")
    table.add_column("extractor")
    columns = [(m, k) for m in RELATION_MODES for k in ("precision", "recall", "f1")]
    for mode, key in columns:
        table.add_column(f"{mode} {dict(precision='P', recall='R', f1='F1')[key]}",
                         justify="right")
    micro = {name: {m: r.relations.micro(m) for m in RELATION_MODES}
             for name, r in evaluation.results.items()}
    best = {col: _best([m[col[0]][col[1]] for m in micro.values()]) for col in columns}
    for name, m in micro.items():
        table.add_row(Text(visible(name)), *(_mark(m[c][k], best[(c, k)]) for c, k in columns))
    return table


def counts_table(result: ExtractorResult, schemes: list[str]) -> Table:
    table = Table(title=f"{terminal_text(result.extractor)}: counts per scheme",
                  title_justify="left")
    for name in ("scheme", "COR", "INC", "PAR", "MIS", "SPU", "P %", "R %", "F1 %",
                 "macro F1 %"):
        table.add_column(name, justify="left" if name == "scheme" else "right")
    for scheme in schemes:
        e = result.entities.micro(scheme)
        table.add_row(scheme, *(str(e[k]) for k in
                                ("correct", "incorrect", "partial", "missed", "spurious")),
                      _pct(e["precision"]), _pct(e["recall"]), _pct(e["f1"]),
                      _pct(result.entities.macro(scheme).f1))
    return table


def label_table(result: ExtractorResult, scheme: str) -> Table:
    table = Table(title=f"{terminal_text(result.extractor)}: {scheme}, per label",
                  title_justify="left")
    for name in ("label", "gold", "COR", "INC", "PAR", "MIS", "SPU", "P %", "R %", "F1 %"):
        table.add_column(name, justify="left" if name == "label" else "right")
    for label, e in result.entities.by_label(scheme).items():
        table.add_row(Text(visible(label)), str(e["possible"]), *(str(e[k]) for k in (
            "correct", "incorrect", "partial", "missed", "spurious")),
            _pct(e["precision"]), _pct(e["recall"]), _pct(e["f1"]))
    macro = result.entities.macro(scheme)
    table.add_row(Text("(macro)", style="italic"), "", "", "", "", "", "",
                  _pct(macro.precision), _pct(macro.recall), _pct(macro.f1))
    return table


def relation_label_table(result: ExtractorResult) -> Table:
    table = Table(title=f"{terminal_text(result.extractor)}: relations per label",
                  title_justify="left")
    table.add_column("label")
    for mode in RELATION_MODES:
        for name in ("COR", "MIS", "SPU", "F1 %"):
            table.add_column(f"{mode} {name}", justify="right")
    labels = sorted(result.relations.label_counts)
    by_mode = {m: result.relations.by_label(m) for m in RELATION_MODES}
    for label in labels:
        cells = []
        for mode in RELATION_MODES:
            e = by_mode[mode][label]
            cells += [str(e["correct"]), str(e["missed"]), str(e["spurious"]), _pct(e["f1"])]
        table.add_row(Text(visible(label)), *cells)
    return table


def confusion_table(result: ExtractorResult) -> Table:
    """Gold label (rows) by predicted label (columns) over overlapping spans."""
    gold_labels = sorted({g for g, _ in result.confusion if g is not None})
    pred_labels = sorted({p for _, p in result.confusion if p is not None})
    table = Table(title=f"{terminal_text(result.extractor)}: label confusion over overlapping "
                  "spans (rows gold, columns predicted; — none)", title_justify="left")
    table.add_column("gold \\ predicted")
    for label in [*pred_labels, None]:
        table.add_column(terminal_text(label) if label else "—", justify="right")
    for gold in [*gold_labels, None]:
        cells = []
        for pred in [*pred_labels, None]:
            n = result.confusion.get((gold, pred), 0)
            style = "" if not n else ("green" if gold == pred else "red")
            cells.append(Text(str(n) if n else "·", style=style))
        table.add_row(Text(visible(gold) if gold else "—"), *cells)
    return table


def error_tables(result: ExtractorResult, top: int) -> list[Table]:
    tables = []
    for title, counter in (("most frequent missed (strict MIS)", result.missed),
                           ("most frequent spurious (strict SPU)", result.spurious)):
        table = Table(title=f"{terminal_text(result.extractor)}: {title}", title_justify="left")
        table.add_column("count", justify="right")
        table.add_column("label")
        table.add_column("text")
        for (text, label), n in counter.most_common(top):
            table.add_row(str(n), Text(visible(label)), Text(visible(text)))
        tables.append(table)
    worst = Table(title=f"{terminal_text(result.extractor)}: documents with the lowest strict F1",
                  title_justify="left")
    for name in ("F1 %", "COR", "INC", "MIS", "SPU", "document", "title"):
        worst.add_column(name, justify="right" if name not in ("document", "title") else "left")
    for row in result.worst_documents(top):
        worst.add_row(_pct(row["f1"]), str(row["correct"]), str(row["incorrect"]),
                      str(row["missed"]), str(row["spurious"]), row["doc_id"],
                      Text(visible(row["title"][:60])))
    tables.append(worst)
    return tables


def print_tables(evaluation: Evaluation, schemes: list[str], by_label: bool, top: int) -> None:
    who = f", annotator {evaluation.annotator}" if evaluation.annotator else ""
    console.print(Text(f"Gold: {evaluation.documents} accepted document(s) in "
                       f"{visible(evaluation.store)}{visible(who)}", style="bold"))
    console.print(Text(f"Ungrounded strings ({evaluation.ungrounded}): "
                       f"{evaluation.ungrounded_sentence}."))
    console.print(Text(f"Edge whitespace: {evaluation.edge_whitespace_sentence}."))
    console.print(comparison_table(evaluation, schemes, width=console.width))
    if evaluation.bootstrap > 0:
        console.print(interval_table(evaluation, schemes))
    if any(r.relations.any for r in evaluation.results.values()):
        console.print(relation_table(evaluation))
    for result in evaluation.results.values():
        console.print(counts_table(result, schemes))
        if not evaluation.strip_predictions:
            console.print(Text(f"{visible(result.extractor)}: {result.edge_whitespace} "
                               "predicted span(s) are errors only for whitespace at their "
                               "edges"))
        if by_label:
            for scheme in schemes:
                console.print(label_table(result, scheme))
            if result.relations.label_counts:
                console.print(relation_label_table(result))
        console.print(confusion_table(result))
        for table in error_tables(result, top):
            console.print(table)
    print_comparison_sections(evaluation, by_label)


class EstimateChoice(str, Enum):
    corpus = "corpus"


def evaluate(
    db: DbOption,
    extractor: Annotated[list[str] | None, typer.Option(
        "--extractor", "-e", help="Extractor to score (repeat for several; default: every "
        "extractor with predictions on gold documents).")] = None,
    scheme: Annotated[list[Scheme] | None, typer.Option(
        "--scheme", help="Entity scheme(s) to show (default: all four).")] = None,
    by_label: Annotated[bool, typer.Option(
        "--by-label", help="Also show per-label scores.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON (keys documented in annotations.evaluation).")] = False,
    html: Annotated[Path | None, typer.Option(
        "--html", dir_okay=False, help="Write a self-contained HTML report to this file.")] = None,
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", min=0, help="Bootstrap resamples for the 95% intervals (0: none).")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    annotator: Annotated[str | None, typer.Option(
        "--annotator", help="Use this annotator's accepted annotations as gold.")] = None,
    missing_as_empty: Annotated[bool, typer.Option(
        "--missing-as-empty", help="Score a gold document an extractor did not predict as "
        "if it predicted nothing (default: refuse).")] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows in the error lists.")] = 10,
    html_documents: Annotated[int, typer.Option(
        "--html-documents", min=0, help="Documents per extractor shown in the HTML report, "
        "lowest F1 first (0: all).")] = 100,
    rounds: Annotated[int, typer.Option(
        "--rounds", min=0, help="With two or more extractors: rounds of paired approximate "
        "randomization for the comparison of every pair (exact when the documents where "
        "two differ are few; 0: no comparison).")] = ROUNDS,
    alpha: Annotated[float, typer.Option(
        "--alpha", min=0.0, max=1.0, help="Significance level of the comparison sentences.")
    ] = ALPHA,
    ungrounded: UngroundedOption = UngroundedRule.spurious,
    estimate: Annotated[EstimateChoice | None, typer.Option(
        "--estimate", help="corpus: also estimate each extractor's F1 on all documents of "
        "the store from this gold set, stratified by where the extractors differ (as "
        "`reader estimate`; needs two or more extractors and the queue's records).",
        case_sensitive=False)] = None,
    strip_predictions: Annotated[bool, typer.Option(
        "--strip-predictions", help="Trim whitespace at the edges of predicted spans before "
        "scoring (default: score them as stored and count the errors that are edge "
        "whitespace only).")] = False,
) -> None:
    """Score extractors against the gold set (accepted annotations)."""
    schemes = chosen_schemes(scheme)
    if html is not None:
        output_target(html, protected=[db])  # refuse a bad --html before the work
    with open_store(db, read_only=True) as store:
        try:
            evaluation = run_evaluation(
                store, extractor or [], annotator=annotator, missing_as_empty=missing_as_empty,
                schemes=schemes, bootstrap=bootstrap, seed=seed, rounds=rounds, alpha=alpha,
                ungrounded=ungrounded.value, strip_predictions=strip_predictions,
                keep_documents=(html_documents or None) if html is not None else 0)
        except EvaluationError as err:
            raise fail(str(err)) from None
        corpus = None
        if estimate is not None:
            from annotations.estimate import estimate_corpus

            try:
                corpus = estimate_corpus(
                    store, list(evaluation.results), annotator=annotator,
                    scheme="strict" if "strict" in schemes else schemes[0],
                    samples=bootstrap, seed=seed, missing_as_empty=missing_as_empty)
            except AnnotationsError as err:
                raise fail(str(err)) from None
    err_console.print(Text(visible(describe_gold(evaluation.gold_annotators, annotator))))
    if html is not None:
        from annotations.report import write_report

        write_report(html, evaluation, max_documents=html_documents or None, protected=[db])
        (err_console if as_json else console).print(
            Text(f"HTML report written to {visible(str(html))}"))
    if as_json:
        out = evaluation.to_json(schemes, top)
        if corpus is not None:
            out["estimate"] = corpus.to_json()
        print(terminal_json(out))
        print_seeded_warnings(evaluation)
        for warning in corpus.warnings if corpus is not None else ():
            err_console.print(Text("warning: ", style="bold yellow") + Text(visible(warning)))
    else:
        print_tables(evaluation, schemes, by_label, top)
        if corpus is not None:
            from .queue import print_estimate

            print_estimate(corpus, db)



def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
