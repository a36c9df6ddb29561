"""``reader compare``: is one extractor better than another on the gold set?

Also the comparison and gold-provenance sections that ``reader evaluate`` prints when
it scores two or more extractors.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer
from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from annotations.evaluation import SCHEMES, Evaluation, EvaluationError, evaluate_extractor
from annotations.significance import ALPHA, ROUNDS, PairComparison, compare_all, format_p
from annotations.terminal import visible

from .common import DbOption, console, err_console, fail, open_store
from .evaluate import Scheme, _load, _pct

RoundsOption = Annotated[int, typer.Option(
    "--rounds", min=0, help="Rounds of paired approximate randomization for the p-values "
    "of the comparison (0: no comparison).")]
AlphaOption = Annotated[float, typer.Option(
    "--alpha", min=0.0, max=1.0, help="Significance level of the plain sentences.")]


def _signed(value: float) -> str:
    return f"{100 * value:+.1f}"


def comparison_renderables(
    comparison: PairComparison, by_label: bool = True,
) -> list[RenderableType]:
    """The sentences of one pair (micro per scheme, relations) and, optionally, the
    per-label table with Holm-adjusted p-values."""
    a, b = visible(comparison.a), visible(comparison.b)
    out: list[RenderableType] = [Text(
        f"{b} against {a} on {comparison.documents} gold document(s) "
        f"({comparison.differing_documents} where their counts differ): ΔF1 = F1({b}) − "
        f"F1({a}); {comparison.confidence:.0%} paired bootstrap interval "
        f"({comparison.samples} resamples), p from paired approximate randomization "
        f"({comparison.rounds} rounds, seed {comparison.seed}), significant below "
        f"{comparison.alpha:g}", style="bold")]
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
                ci = (f"{_signed(stat.ci[0])} to {_signed(stat.ci[1])}" if stat.ci else "—")
                table.add_row(Text(visible(label)) if i == 0 else "", scheme,
                              _pct(stat.f1_a), _pct(stat.f1_b), _signed(stat.delta), ci,
                              format_p(stat.p_value).removeprefix("p = "),
                              format_p(stat.p).removeprefix("p = "),
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
                  "to the document; ungrounded strings were not found and are not scored)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("extractor", "strings", "exact", "case", "fuzzy", "ungrounded", "grounded %",
                 "ungrounded examples"):
        table.add_column(name, justify="left" if name in ("extractor", "ungrounded examples")
                         else "right", overflow="fold")
    for name, g in rows:
        examples = ", ".join(f"{e['text']!r} {e['label']}" for e in g.get("examples", [])[:3])
        table.add_row(Text(visible(name)), str(g["spans"]), str(g["exact"]), str(g["case"]),
                      str(g["fuzzy"]), str(g["ungrounded"]), _pct(g["rate"]),
                      Text(visible(examples)))
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


def add_comparisons(evaluation: Evaluation, schemes: Sequence[str], rounds: int,
                    alpha: float) -> None:
    """Compare every pair of the evaluation's extractors (nothing with one, or 0 rounds)."""
    if len(evaluation.results) < 2 or rounds <= 0:
        return
    evaluation.comparisons = compare_all(
        list(evaluation.results.values()), rounds=rounds, samples=evaluation.bootstrap,
        seed=evaluation.seed, confidence=evaluation.confidence, alpha=alpha, schemes=schemes)


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
) -> None:
    """Is B better than A? ΔF1 per scheme, micro and per label, with a paired bootstrap
    interval and a paired approximate-randomization p-value (Holm-adjusted per label)."""
    names = list(dict.fromkeys(extractor))
    if len(names) != 2:
        raise fail("give exactly two different extractors: -e A -e B (for more, "
                   "`reader evaluate -e A -e B -e C` compares every pair)")
    if rounds <= 0:
        raise fail("--rounds must be at least 1")
    schemes = [s.value for s in scheme] if scheme else list(SCHEMES)
    schemes = [s for s in SCHEMES if s in schemes]
    with open_store(db, read_only=True) as store:
        try:
            docs, _gold_counts = _load(store, names, annotator, missing_as_empty)
        except EvaluationError as err:
            raise fail(str(err)) from None
        symmetric = store.labels.symmetric_relations
    results = {name: evaluate_extractor(name, extractor_docs, bootstrap=0, seed=seed,
                                        symmetric=symmetric)
               for name, extractor_docs in docs.items()}
    evaluation = Evaluation(store=str(db), annotator=annotator,
                            documents=len(docs[names[0]]), bootstrap=bootstrap, seed=seed,
                            results=results)
    try:
        add_comparisons(evaluation, schemes, rounds, alpha)
    except EvaluationError as err:
        raise fail(str(err)) from None
    (comparison,) = evaluation.comparisons
    if as_json:
        print(json.dumps({"format": "reader-comparison", "version": 1, "store": str(db),
                          "annotator": annotator, **comparison.to_json(),
                          "gold_provenance": {n: r.seeded.to_json() if r.seeded else None
                                              for n, r in results.items()}},
                         indent=2, ensure_ascii=False))
        print_seeded_warnings(evaluation)
        return
    for renderable in comparison_renderables(comparison):
        console.print(renderable)
    print_seeded_warnings(evaluation, console)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
