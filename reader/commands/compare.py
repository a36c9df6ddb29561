"""``reader compare``: is one extractor better than another on the gold set?

Also the comparison and gold-provenance sections that ``reader evaluate`` prints when
it scores two or more extractors.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from annotations.evaluation import Evaluation, EvaluationError, run_evaluation
from annotations.significance import ALPHA, ROUNDS, DeltaF1, PairComparison, format_p
from annotations.terminal import visible

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

RoundsOption = Annotated[int, typer.Option(
    "--rounds", min=0, help="Rounds of paired approximate randomization for the p-values "
    "of the comparison (0: no comparison).")]
AlphaOption = Annotated[float, typer.Option(
    "--alpha", min=0.0, max=1.0, help="Significance level of the plain sentences.")]


def _signed(value: float) -> str:
    return f"{100 * value:+.1f}"


def label_interval(stat: DeltaF1) -> str:
    """The interval cell of a per-label row: ``+0.8 to +3.4``, or why there is none."""
    return stat.interval().split(" CI ", 1)[1] if stat.ci else stat.interval()


def label_p(stat: DeltaF1, alpha: float) -> tuple[str, str]:
    """The p and Holm p cells of a per-label row; ``not testable`` where no test could
    reach ``alpha`` on the documents where the label's counts differ."""
    if not stat.testable(alpha):
        return "not testable", "—"
    return (format_p(stat.p_value).removeprefix("p = "),
            format_p(stat.p).removeprefix("p = "))


def comparison_renderables(
    comparison: PairComparison, by_label: bool = True,
) -> list[RenderableType]:
    """The sentences of one pair (micro per scheme, relations) and, optionally, the
    per-label table with Holm-adjusted p-values.  When the documents where the two
    differ are too few for any test to reach alpha, that comes first."""
    a, b = visible(comparison.a), visible(comparison.b)
    out: list[RenderableType] = []
    warning = comparison.warning()
    if warning:
        out.append(Text("warning: ", style="bold yellow") + Text(visible(warning)))
    out.append(Text(visible(comparison.method()), style="bold"))
    for stat in [*comparison.entities.values(), *comparison.relations.values()]:
        sentence = stat.sentence(a, b, comparison.alpha, comparison.confidence)
        out.append(Text("  " + sentence,
                        style="green" if stat.significant(comparison.alpha) else ""))
    if by_label and any(comparison.by_label.values()):
        # Extractor names are data: Text, never markup.
        table = Table(title=Text(f"{b} − {a}, per label (p Holm-adjusted over the labels of "
                                 "each scheme)"), title_justify="left", box=box.SIMPLE_HEAD)
        for name in ("label", "scheme", f"F1 {a} %", f"F1 {b} %", "Δ points", "interval",
                     "p", "p Holm", ""):
            table.add_column(Text(name), justify="left" if name in ("label", "scheme")
                             else "right", overflow="fold")
        labels = sorted({label for by in comparison.by_label.values() for label in by})
        for label in labels:
            for i, (scheme, by) in enumerate(comparison.by_label.items()):
                stat = by[label]
                table.add_row(Text(visible(label)) if i == 0 else "", scheme,
                              _pct(stat.f1_a), _pct(stat.f1_b), _signed(stat.delta),
                              label_interval(stat), *label_p(stat, comparison.alpha),
                              "*" if stat.significant(comparison.alpha) else "")
        out.append(table)
    return out


def seeded_warnings(evaluation: Evaluation) -> list[str]:
    """Sentences for the extractors scored on gold that is largely their own suggestions."""
    return [warning for name, result in evaluation.results.items()
            if result.seeded and (warning := result.seeded.warning(name))]


def provenance_table(evaluation: Evaluation) -> Table:
    """Per extractor: how many gold spans are its own suggestions, and what became of them."""
    table = Table(title="Gold spans each extractor suggested itself (Span.source); a score "
                  "on unchanged own suggestions is inflated", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for name in ("extractor", "gold spans", "unreviewed", "confirmed as is", "changed",
                 "unchanged %"):
        table.add_column(name, justify="left" if name == "extractor" else "right",
                         overflow="fold")
    for name, result in evaluation.results.items():
        s = result.seeded
        if s is None or not s.known:
            table.add_row(Text(visible(name)), "—", "—", "—", "—", "unknown")
            continue
        table.add_row(Text(visible(name)), str(s.gold_spans), str(s.unreviewed),
                      str(s.confirmed), str(s.changed),
                      Text(_pct(s.share), style="bold red" if s.inflated else ""))
    return table


def grounding_table(evaluation: Evaluation) -> Table | None:
    """Per extractor with string-only output: how many strings were found in the text."""
    rows = [(name, r.grounding) for name, r in evaluation.results.items() if r.grounding]
    if not rows:
        return None
    table = Table(title="Grounding of string-only predictions (spans given as text, aligned "
                  f"to the document); {evaluation.ungrounded_sentence}",
                  title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("extractor", "strings", "exact", "case", "fuzzy", "ungrounded", "grounded %",
                 "counted spurious", "ungrounded examples"):
        table.add_column(name, justify="left" if name in ("extractor", "ungrounded examples")
                         else "right", overflow="fold")
    for name, g in rows:
        examples = ", ".join(f"{e['text']!r} {e['label']}" for e in g.get("examples", [])[:3])
        result = evaluation.results[name]
        table.add_row(Text(visible(name)), str(g["spans"]), str(g["exact"]), str(g["case"]),
                      str(g["fuzzy"]), str(g["ungrounded"]), _pct(g["rate"]),
                      str(result.ungrounded_spans), Text(visible(examples)))
    return table


def print_comparison_sections(evaluation: Evaluation, by_label: bool) -> None:
    """What ``reader evaluate`` adds to its tables: comparisons, grounding, provenance."""
    for comparison in evaluation.comparisons:
        for renderable in comparison_renderables(comparison, by_label):
            console.print(renderable)
    table = grounding_table(evaluation)
    if table is not None:
        console.print(table)
    console.print(provenance_table(evaluation))
    print_seeded_warnings(evaluation, console)


def print_seeded_warnings(evaluation: Evaluation, target: Console | None = None) -> None:
    """The seeded-gold warnings, on stderr unless another console is given."""
    out = target if target is not None else err_console
    for warning in seeded_warnings(evaluation):
        out.print(Text("warning: ", style="bold yellow") + Text(visible(warning)))


def compare(
    db: DbOption,
    extractor: Annotated[list[str], typer.Option(
        "--extractor", "-e", help="The two extractors to compare: -e A -e B (ΔF1 = B − A).")],
    scheme: Annotated[list[Scheme] | None, typer.Option(
        "--scheme", help="Entity scheme(s) to compare (default: all four).")] = None,
    rounds: RoundsOption = ROUNDS,
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", min=0, help="Paired bootstrap resamples for the interval of ΔF1 "
        "(0: none).")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the resampling.")] = 0,
    alpha: AlphaOption = ALPHA,
    annotator: Annotated[str | None, typer.Option(
        "--annotator", help="Use this annotator's accepted annotations as gold.")] = None,
    missing_as_empty: Annotated[bool, typer.Option(
        "--missing-as-empty", help="Score a gold document an extractor did not predict as "
        "if it predicted nothing (default: refuse).")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the comparison as JSON.")] = False,
    ungrounded: UngroundedOption = UngroundedRule.spurious,
) -> None:
    """Is B better than A? ΔF1 = F1(B) − F1(A) per scheme, micro and per label, with a
    paired bootstrap interval and a paired permutation p-value (exact when the documents
    where they differ are few; Holm-adjusted per label)."""
    names = list(dict.fromkeys(extractor))
    if len(names) != 2:
        raise fail("give exactly two different extractors: -e A -e B (for more, "
                   "`reader evaluate -e A -e B -e C` compares every pair)")
    if rounds <= 0:
        raise fail("--rounds must be at least 1")
    with open_store(db, read_only=True) as store:
        try:
            evaluation = run_evaluation(
                store, names, annotator=annotator, missing_as_empty=missing_as_empty,
                schemes=chosen_schemes(scheme), bootstrap=bootstrap, seed=seed,
                intervals=False, rounds=rounds, alpha=alpha, ungrounded=ungrounded.value,
                keep_documents=0)
        except EvaluationError as err:
            raise fail(str(err)) from None
    if as_json:
        print(json.dumps(evaluation.comparison_json(), indent=2, ensure_ascii=False))
        print_seeded_warnings(evaluation)
        return
    (comparison,) = evaluation.comparisons
    for renderable in comparison_renderables(comparison):
        console.print(renderable)
    console.print(Text(f"Ungrounded strings ({evaluation.ungrounded}): "
                       f"{evaluation.ungrounded_sentence}."))
    console.print(Text(
        f"The paired test conditions on these {evaluation.documents} gold document(s): it "
        "answers 'is B better than A on them?' however they were chosen (a disagreement "
        "queue included); F1 on the whole store is `reader estimate`'s.", style="dim"))
    table = grounding_table(evaluation)
    if table is not None:
        console.print(table)
    print_seeded_warnings(evaluation, console)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
