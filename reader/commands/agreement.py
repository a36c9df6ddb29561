"""``reader agreement``: how far annotators (and extractors, as annotators) agree."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from annotations.agreement import (
    RELATION_AGREEMENT_MODES,
    TOKENISATION,
    AgreementError,
    AgreementResult,
    collect_study,
    compute_agreement,
)
from annotations.agreement.study import MIN_SHARED_DOCUMENTS
from annotations.output import OutputError, output_target
from annotations.terminal import terminal_json, visible

from .common import DbOption, console, err_console, fail, open_store

STATUS_CHOICES = ("accept", "all")


def _pct(value: float | int | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 3) -> str:
    """A figure with ``digits`` decimals (κ and α keep at least two at any width)."""
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _name(value: str) -> Text:
    return Text(visible(value))


def _pair(pair_a: str, pair_b: str) -> Text:
    """Who is compared, always in full (folded onto more lines when narrow, never cut)."""
    return Text(f"{visible(pair_a)} – {visible(pair_b)}", overflow="fold")


def _pair_column(table: Table, result: AgreementResult) -> None:
    widest = max((len(visible(p.a)) + len(visible(p.b)) + 3 for p in result.pairs), default=4)
    table.add_column("pair", justify="left", overflow="fold",
                     min_width=min(widest, 16))


def _number_column(table: Table, name: str, width: int) -> None:
    table.add_column(name, justify="right", no_wrap=True, min_width=width)


def pairs_table(result: AgreementResult) -> Table:
    """One row per pair of annotators: span F1 per mode (its interval below it) and
    Cohen's κ; narrow enough for 80 columns, with both names always shown."""
    interval = (f"; below each F1 its {result.confidence:.0%} bootstrap interval (CI)"
                if result.bootstrap else "")
    table = Table(title=f"Pairwise agreement: span F1 (%){interval}; Cohen's κ on the "
                  "pair's tokens", title_justify="left", box=box.SIMPLE_HEAD)
    _pair_column(table, result)
    _number_column(table, "docs", 4)
    for name in ("exact F1", "overlap F1", "unlabelled F1"):
        table.add_column(name, justify="right", no_wrap=False, min_width=9)
    _number_column(table, "Cohen's κ", 6)
    for pair in result.pairs:
        cells = []
        for mode in ("exact", "overlap", "unlabelled"):
            f1 = pair.spans(mode)["f1"]
            ci = pair.intervals.get(mode)
            if ci:
                cells.append(f"{_pct(f1)}\n{_pct(ci[0])}–{_pct(ci[1])}")
            else:  # one shared document cannot be resampled: no interval, not a point
                cells.append(_pct(f1) + ("\nno CI" if result.bootstrap and f1 is not None
                                         else ""))
        table.add_row(_pair(pair.a, pair.b), str(len(pair.doc_ids)), *cells,
                      _num(pair.kappa.value))
    return table


def relations_table(result: AgreementResult) -> Table | None:
    """Relation F1 per pair and mode, or None when no one marked a relation."""
    if not any(pair.relations(m)["a"] or pair.relations(m)["b"]
               for pair in result.pairs for m in RELATION_AGREEMENT_MODES):
        return None
    table = Table(title="Relation F1 (%) per pair (agreed / a / b)", title_justify="left",
                  box=box.SIMPLE_HEAD)
    _pair_column(table, result)
    for mode in RELATION_AGREEMENT_MODES:
        table.add_column(mode, justify="right", no_wrap=False, min_width=9)
    for pair in result.pairs:
        cells = []
        for mode in RELATION_AGREEMENT_MODES:
            entry = pair.relations(mode)
            cells.append(f"{_pct(entry['f1'])}\n{entry['agreed']}/{entry['a']}/{entry['b']}")
        table.add_row(_pair(pair.a, pair.b), *cells)
    return table


def label_table(result: AgreementResult) -> Table:
    """Span F1 per pair and label: one row each (pairs as rows, as in the pairs table)."""
    table = Table(title="Span F1 (%) per label (counts: spans of a, spans of b)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    _pair_column(table, result)
    table.add_column("label", overflow="fold")
    for name in ("exact F1", "overlap F1"):
        _number_column(table, name, 5)
    _number_column(table, "a", 3)
    _number_column(table, "b", 3)
    for pair in result.pairs:
        exact, overlap = pair.by_label("exact"), pair.by_label("overlap")
        for label in sorted(exact):
            table.add_row(_pair(pair.a, pair.b), _name(label), _pct(exact[label]["f1"]),
                          _pct(overlap[label]["f1"]), str(exact[label]["a"]),
                          str(exact[label]["b"]))
    return table


def overall_table(result: AgreementResult) -> Table:
    table = Table(title=f"All {len(result.annotators)} annotators on the "
                  f"{result.shared_by_all} document(s) they all annotated",
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("measure")
    table.add_column("label")
    table.add_column("value", justify="right")
    table.add_column("observed", justify="right")
    table.add_column("expected", justify="right")
    if result.fleiss is not None:
        f = result.fleiss
        table.add_row("Fleiss κ (tokens)", "all", _num(f.value), _num(f.observed),
                      _num(f.expected))
    if result.alpha is not None:
        a = result.alpha
        table.add_row("Krippendorff α_U (characters)", "all", _num(a.alpha),
                      _num(a.observed, 5), _num(a.expected, 5))
        for label, by_label in result.alpha_by_label.items():
            table.add_row("", _name(label), _num(by_label.alpha), _num(by_label.observed, 5),
                          _num(by_label.expected, 5))
    return table


def disagreement_table(result: AgreementResult, top: int) -> Table:
    table = Table(title="Most frequent disagreements (a span one annotator marked and "
                  "another did not mark the same way)", title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("count", justify="right")
    table.add_column("text")
    table.add_column("label")
    table.add_column("the other marked")
    for text, label, other, n in result.disagreements(top):
        table.add_row(str(n), _name(text), _name(label), _name(other))
    return table


def print_tables(result: AgreementResult, by_label: bool, top: int) -> None:
    who = ", ".join(visible(a) + (" (extractor)" if a in result.extractors else "")
                    for a in result.annotators)
    which = "accepted annotations" if result.statuses == "accept" else "annotations of any status"
    console.print(Text(f"Agreement of {who} on {result.documents} document(s) ({which})",
                       style="bold"))
    console.print(pairs_table(result))
    relations = relations_table(result)
    if relations is not None:
        console.print(relations)
    if by_label:
        console.print(label_table(result))
    if result.fleiss is not None or result.alpha is not None:
        console.print(overall_table(result))
    console.print(Text(f"Tokens: {TOKENISATION}.", style="dim"))
    for diagnostic in result.diagnostics:
        console.print(Text("note: ", style="yellow") + _name(diagnostic["message"]))
    if result.disagreement_counts:
        console.print(disagreement_table(result, top))


def agreement(
    db: DbOption,
    annotator: Annotated[list[str] | None, typer.Option(
        "--annotator", "-a", help="Annotator to compare (repeat; default: every annotator "
        "but the adjudicated 'gold').")] = None,
    extractor: Annotated[list[str] | None, typer.Option(
        "--extractor", "-e", help="Add this extractor's predictions as a pseudo-annotator "
        "(repeat for several).")] = None,
    status: Annotated[str, typer.Option(
        "--status", help="accept: accepted annotations only; all: every annotation "
        "whatever its status.")] = "accept",
    by_label: Annotated[bool, typer.Option("--by-label", help="Also show F1 per label.")
                        ] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON (keys documented in annotations.agreement).")] = False,
    html: Annotated[Path | None, typer.Option(
        "--html", dir_okay=False, help="Write a self-contained HTML report to this file.")
    ] = None,
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", min=0, help="Bootstrap resamples of the documents for the 95% "
        "intervals of span F1 (0: none).")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    min_shared: Annotated[int, typer.Option(
        "--min-shared", min=1, help="Fewer shared documents than this is reported as a "
        "diagnostic.")] = MIN_SHARED_DOCUMENTS,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows in the disagreement list.")
                   ] = 10,
) -> None:
    """Agreement between annotators: pairwise span F1, token κ, unitizing α_U, relation F1."""
    if status not in STATUS_CHOICES:
        raise fail(f"--status must be one of {', '.join(STATUS_CHOICES)}, not {status!r}")
    if html is not None:
        try:
            output_target(html, protected=[db])  # refuse a bad --html before the work
        except OutputError as err:
            raise fail(str(err)) from None
    with open_store(db, read_only=True, predictions=bool(extractor)) as store:
        try:
            study = collect_study(store, annotators=annotator or [], extractors=extractor or [],
                                  statuses=status)  # type: ignore[arg-type]
            result = compute_agreement(study, bootstrap=bootstrap, seed=seed,
                                       min_shared=min_shared)
        except AgreementError as err:
            raise fail(str(err)) from None
    if html is not None:
        from annotations.agreement.report import write_agreement_report

        write_agreement_report(html, result, top=top, protected=[db])
        (err_console if as_json else console).print(
            Text(f"HTML report written to {visible(str(html))}"))
    if as_json:
        print(terminal_json(result.to_json(top)))
    else:
        print_tables(result, by_label, top)


def register(app: typer.Typer) -> None:
    app.command("agreement")(agreement)
