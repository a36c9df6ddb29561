"""Benchmark of annotating where it decides (issue 21): the disagreement-first queue
against random orders, the coverage of the corpus estimate's interval, and the time to
rank a large queue.

A simulated corpus (generated here, not copied from anywhere) of ``--docs`` documents
with gold spans, and two extractors that agree on most documents, as two versions of
one model do: both give the same output (the shared model's errors: missed spans,
wrong labels, spurious spans) except on about ``--differ`` of the documents, where
version B fixes one of those errors with probability 0.75 (where there is one to fix)
and adds one of its own otherwise.
The corpus is put in a real gold store, and the orders come from
``annotations.queue.build_queue``.

1. **Documents needed**: the gold set grows along the queue (the simulated gold of the
   next document is accepted) and, every ``--step`` documents, B is compared with A by
   the paired test of ``reader compare`` (``annotations.significance.compare_results``,
   strict micro F1, ``--rounds`` rounds of approximate randomization); the documents
   needed are the first size at which it is significant (p < 0.05) with B better.
   Disagreement and differ-first orders against random orders, each over ``--seeds``
   seeds (medians); also how often the test was first significant with the wrong sign
   (checking after every step is optional stopping, which any order suffers).
   Target: disagreement-first needs at most half the documents of random orders.
2. **Coverage**: repeated gold sets as the queue builds them, a new seed per repetition,
   over ``--corpora`` corpora: every differing document (``disagreement`` order), or
   half of them drawn at random (``differ-first``), then ``--agree-sample`` agreeing
   ones drawn at random; how often the 95 % interval of
   ``annotations.estimate.stratified_estimate`` (what ``reader estimate`` prints) holds
   the true F1 of the whole corpus, for both extractors.  Target: at least 90 %.
   One repetition per corpus also runs ``estimate_corpus`` on the store end to end and
   checks it gives the same figures.
3. **Ranking time**: ``build_queue`` over ``--rank-docs`` documents with three
   extractors' predictions (median of ``--repeats``, in a fresh process that opened the
   store read-only).  Target: under 5 s.  ``--baseline REF`` times the same with the
   ``annotations`` package of a git revision too (``git archive``), for a ratio.

Run: ``python benchmarks/active.py`` (about 5 minutes; ``--rank-docs 0`` skips part 3,
which spends most of its time building the 100,000-document store).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from scale import git_archive  # noqa: E402

from annotations.estimate import estimate_corpus, strata_of, stratified_estimate
from annotations.evaluation import EvalDocument, evaluate_extractor
from annotations.models import Annotation, Document, Prediction, Span
from annotations.queue import build_queue, disagreements
from annotations.significance import compare_results, entity_columns
from annotations.store import GoldStore

LABELS = ["PER", "ORG", "LOC", "MISC"]
WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
IMPROVES = 0.75
"""Where B's output differs, the chance that it fixes one of A's errors (else it adds one)."""
TARGET_RATIO = 0.5
TARGET_COVERAGE = 0.90
TARGET_SECONDS = 5.0
REPO = Path(__file__).resolve().parent.parent

Layer = list[tuple[int, int, str]]


def make_corpus(n_docs: int, differ: float, seed: int
                ) -> tuple[list[Document], list[Layer], list[Layer], list[Layer]]:
    """Documents, their gold, and the outputs of A and B (see the module docstring)."""
    rng = random.Random(seed)
    docs, gold, out_a, out_b = [], [], [], []
    for i in range(n_docs):
        k = rng.randint(1, 8)
        words = [f"{rng.choice(WORDS)}{j}" for j in range(2 * k + 2)]
        text = " ".join(words) + f" document {seed}-{i}"
        starts, pos = [], 0
        for word in words:
            starts.append((pos, pos + len(word)))
            pos += len(word) + 1
        # Gold on the even words; the odd words are where spurious spans go.
        g = [(*starts[2 * j], rng.choice(LABELS)) for j in range(k)]
        shared: Layer = []
        for s, e, label in g:
            roll = rng.random()
            if roll < 0.80:
                shared.append((s, e, label))
            elif roll < 0.90:
                shared.append((s, e, rng.choice([x for x in LABELS if x != label])))
        for j in range(k):
            if rng.random() < 0.08:
                shared.append((*starts[2 * j + 1], rng.choice(LABELS)))
        b = list(shared)
        if rng.random() < differ:
            gold_set = set(g)
            errors = [span for span in shared if span not in gold_set]
            missed = [span for span in g if span not in set(shared)]
            correct = [span for span in shared if span in gold_set]
            if rng.random() < IMPROVES:
                # B fixes one of the shared errors (none to fix: the outputs agree).
                if missed and (not errors or rng.random() < 0.5):
                    fix = rng.choice(missed)
                    b = [x for x in b if x[:2] != fix[:2]] + [fix]
                elif errors:
                    b.remove(rng.choice(errors))
            elif correct:
                # B breaks a correct span: relabels it or misses it, as often as a fix
                # relabels or adds one, so the score alone does not tell fixes from breaks.
                broken = rng.choice(correct)
                b.remove(broken)
                if rng.random() < 0.5:
                    b.append((*broken[:2], rng.choice([x for x in LABELS if x != broken[2]])))
            else:
                b.append((*starts[-1], rng.choice(LABELS)))
        docs.append(Document.from_text(text))
        gold.append(sorted(g))
        out_a.append(sorted(shared))
        out_b.append(sorted(set(b)))
    return docs, gold, out_a, out_b


def build_store(path: Path, docs: list[Document], layers: dict[str, list[Layer]]) -> None:
    with GoldStore(path) as store:
        store.add_documents(docs)
        store.add_entity_labels(LABELS)
        store.put_predictions(
            Prediction(doc_id=doc.id, extractor=name,
                       spans=[Span(start=s, end=e, label=lab, source=name,
                                   state="suggested") for s, e, lab in out[i]])
            for name, out in layers.items() for i, doc in enumerate(docs))


def eval_docs(docs: list[Document], gold: list[Layer], out: list[Layer]) -> list[EvalDocument]:
    return [EvalDocument(doc_id=d.id, text=d.text, gold=g, pred=p)
            for d, g, p in zip(docs, gold, out, strict=True)]


def documents_needed(order: list[int], ev_a: list[EvalDocument], ev_b: list[EvalDocument],
                     step: int, rounds: int, sign: float) -> tuple[int | None, int | None]:
    """The first gold size along ``order`` at which the paired test finds a significant
    difference (p < 0.05) of the corpus's ``sign`` (B − A), and the first at which it
    found one of the wrong sign, if it did before.  Sizes are checked every ``step``
    documents, and every 5 % once that is coarser."""
    wrong = None
    n = step
    while n <= len(order):
        chosen = order[:n]
        a = evaluate_extractor("A", [ev_a[i] for i in chosen], bootstrap=0)
        b = evaluate_extractor("B", [ev_b[i] for i in chosen], bootstrap=0)
        stat = compare_results(a, b, rounds=rounds, samples=0,
                               schemes=("strict",)).entities["strict"]
        if stat.p_value < 0.05 and stat.delta * sign > 0:
            return n, wrong
        if stat.p_value < 0.05 and wrong is None:
            wrong = n
        n += max(step, n // 20)
    return None, wrong


def median_or_none(values: list[int | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if len(found) == len(values) else None


def part_documents_needed(args: argparse.Namespace, folder: Path) -> None:
    docs, gold, out_a, out_b = make_corpus(args.docs, args.differ, seed=1)
    path = folder / "needed.json"
    build_store(path, docs, {"A": out_a, "B": out_b})
    ev_a, ev_b = eval_docs(docs, gold, out_a), eval_docs(docs, gold, out_b)
    full_a = evaluate_extractor("A", ev_a, bootstrap=0).entities.micro("strict")["f1"]
    full_b = evaluate_extractor("B", ev_b, bootstrap=0).entities.micro("strict")["f1"]
    index = {d.id: i for i, d in enumerate(docs)}
    results: dict[str, list[int | None]] = {"disagreement": [], "differ-first": [],
                                            "random": []}
    wrong: dict[str, list[int | None]] = {order: [] for order in results}
    sign = 1.0 if full_b > full_a else -1.0
    with GoldStore(path, read_only=True) as store:
        n_differ = int(disagreements(store, ["A", "B"]).differ.sum())
        for seed in range(args.seeds):
            for order in results:
                queue = build_queue(store, ["A", "B"], order=order, seed=seed)
                positions = [index[d] for d in queue.doc_ids]
                needed, wrong_sign = documents_needed(positions, ev_a, ev_b, args.step,
                                                      args.rounds, sign)
                results[order].append(needed)
                wrong[order].append(wrong_sign)
    print(f"1. documents needed until `reader compare` finds the corpus's better extractor "
          f"better (strict micro F1, p < 0.05, {args.rounds} rounds), checked every "
          f"{args.step} documents (every 5% beyond {20 * args.step}); corpus of {args.docs} "
          f"documents, {n_differ} where A and B differ; true F1 on the corpus: A "
          f"{100 * full_a:.2f}%, B {100 * full_b:.2f}%")
    for order, values in results.items():
        shown = ", ".join("never" if v is None else str(v) for v in values)
        median = median_or_none(values)
        misled = [w for w in wrong[order] if w is not None]
        at = f" (at {', '.join(map(str, misled))} documents)" if misled else ""
        print(f"   {order:>12} order, seeds 0-{args.seeds - 1}: {shown}; median "
              f"{'n/a (not always significant)' if median is None else median}; "
              f"significant with the wrong sign first in {len(misled)} of {args.seeds}{at}")
    ran = median_or_none(results["random"])
    for order in ("disagreement", "differ-first"):
        first = median_or_none(results[order])
        if first is not None and ran is not None:
            ratio = first / ran
            print(f"   ratio {order} / random (medians): {ratio:.2f} (target <= "
                  f"{TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})")
        else:
            print(f"   no ratio for {order}: an order was not significant within the "
                  "corpus for every seed")


def part_coverage(args: argparse.Namespace, folder: Path) -> None:
    designs = {"all differing": ("disagreement", 1.0),
               "half the differing": ("differ-first", 0.5)}
    hits = {(design, name): 0 for design in designs for name in ("A", "B")}
    widths: dict[str, list[float]] = {design: [] for design in designs}
    reps = 0
    checked = 0
    for corpus in range(args.corpora):
        docs, gold, out_a, out_b = make_corpus(args.docs, args.differ, seed=100 + corpus)
        path = folder / f"coverage{corpus}.json"
        build_store(path, docs, {"A": out_a, "B": out_b})
        columns = {name: entity_columns(evaluate_extractor(
            name, eval_docs(docs, gold, out), bootstrap=0).entities.doc_counts)[:, 0:2]
            for name, out in (("A", out_a), ("B", out_b))}
        truth = {name: 2 * c[:, 0].sum() / c[:, 1].sum() for name, c in columns.items()}
        index = {d.id: i for i, d in enumerate(docs)}
        with GoldStore(path, read_only=True) as store:
            population = strata_of(disagreements(store, ["A", "B"]))
            n_differ = int(np.count_nonzero(population == 0))
            for rep in range(args.repetitions):
                for design, (order, share) in designs.items():
                    queue = build_queue(store, ["A", "B"], order=order, seed=rep)
                    ids = queue.doc_ids  # the differing first, then the agreeing
                    picked = (ids[:round(share * n_differ)]
                              + ids[n_differ:n_differ + args.agree_sample])
                    chosen = np.array([index[d] for d in picked])
                    for name in ("A", "B"):
                        _point, interval = stratified_estimate(
                            columns[name][chosen], population[chosen], population,
                            samples=args.samples, seed=rep)
                        assert interval is not None
                        low, high = interval[0]
                        hits[design, name] += low <= truth[name] <= high
                        widths[design].append(high - low)
                reps += 1
        # End to end once per corpus: the gold in the store, `reader estimate`'s function.
        with GoldStore(path) as store:
            queue = build_queue(store, ["A", "B"], order="disagreement", seed=0)
            # In store order, as estimate_corpus reads the gold (the same resamples).
            chosen = sorted(index[d] for d in queue.doc_ids[:n_differ + args.agree_sample])
            selections = queue.selections()
            store.save_annotations(
                Annotation(doc_id=docs[i].id, status="accept",
                           chosen=selections[docs[i].id],
                           spans=[Span(start=s, end=e, label=lab) for s, e, lab in gold[i]])
                for i in chosen)
            result = estimate_corpus(store, ["A", "B"], samples=args.samples, seed=0)
        for name in ("A", "B"):
            point, interval = stratified_estimate(
                columns[name][chosen], population[chosen], population,
                samples=args.samples, seed=0)
            got = next(r for r in result.results if r.extractor == name)
            assert point is not None and got.estimate is not None
            assert abs(got.estimate - point[0]) < 1e-12 and got.interval == interval[0], \
                (got, point, interval)
            checked += 1
    print(f"2. coverage of the 95% stratified bootstrap interval ({args.samples} resamples) "
          f"of the corpus F1: {args.corpora} corpora x {args.repetitions} gold sets per "
          f"design, each {args.agree_sample} agreeing documents drawn at random and all the "
          "differing ones (disagreement order), or half of them drawn at random "
          "(differ-first order)")
    for (design, name), n in hits.items():
        rate = n / reps
        print(f"   {design:>18}, extractor {name}: {n} of {reps} intervals hold the true "
              f"corpus F1: {100 * rate:.1f}% (target >= {100 * TARGET_COVERAGE:.0f}%: "
              f"{'met' if rate >= TARGET_COVERAGE else 'NOT met'}); median width "
              f"{100 * statistics.median(widths[design]):.2f} points")
    print(f"   estimate_corpus on the store agreed with the computation {checked} of "
          f"{checked} times")


def part_ranking(args: argparse.Namespace, folder: Path) -> None:
    rng = random.Random(5)
    docs, preds = [], []
    for i in range(args.rank_docs):
        text = f"Report {i}: Anna Berg of Aster Rail met Cole Dorn in Geneva on Monday."
        doc = Document.from_text(text)
        docs.append(doc)
        base = [(len(f"Report {i}: "), len(f"Report {i}: Anna Berg"), "PER"),
                (text.index("Aster"), text.index("Aster") + 10, "ORG"),
                (text.index("Cole"), text.index("Cole") + 9, "PER"),
                (text.index("Geneva"), text.index("Geneva") + 6, "LOC")]
        for name in ("A", "B", "C"):
            out = base if rng.random() < 0.9 else base[:2]
            preds.append(Prediction(doc_id=doc.id, extractor=name, spans=[
                Span(start=s, end=e, label=lab, source=name, state="suggested")
                for s, e, lab in out]))
    path = folder / "ranking.json"
    start = time.perf_counter()
    with GoldStore(path) as store:
        store.add_documents(docs)
        store.put_predictions(preds)
    built = time.perf_counter() - start
    del docs, preds
    times, cpu, differing = time_ranking(REPO, path, args.repeats)
    median = statistics.median(times)
    print(f"3. build_queue over {args.rank_docs} documents x 3 extractors (4 spans each, "
          f"{differing} differing): median {median:.2f} s wall of "
          f"{args.repeats} (runs: {', '.join(f'{t:.2f}' for t in times)}), median "
          f"{statistics.median(cpu):.2f} s CPU; target < {TARGET_SECONDS} s: "
          f"{'met' if median < TARGET_SECONDS else 'NOT met'} (store built in {built:.0f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if args.baseline:
        source = git_archive(args.baseline, folder / "baseline", "annotations")
        old, old_cpu, _ = time_ranking(source, path, args.repeats)
        print(f"   baseline {args.baseline} on the same store: median "
              f"{statistics.median(old):.2f} s wall (runs: "
              f"{', '.join(f'{t:.2f}' for t in old)}), median {statistics.median(old_cpu):.2f} "
              f"s CPU; this code takes x{median / statistics.median(old):.2f} of its time")


RANK = """
import annotations, json, sys, time
from annotations.queue import build_queue
from annotations.store import GoldStore
assert annotations.__file__.startswith(sys.argv[3]), annotations.__file__
times, cpu = [], []
with GoldStore(sys.argv[1], read_only=True) as store:
    for _ in range(int(sys.argv[2])):
        start, start_cpu = time.perf_counter(), time.process_time()
        queue = build_queue(store, ["A", "B", "C"], order="disagreement")
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
print(json.dumps([times, cpu, queue.waiting["differ"]]))
"""


def time_ranking(source: Path, path: Path, repeats: int) -> tuple[list[float], list[float], int]:
    """``build_queue`` timed ``repeats`` times in a fresh process that imports
    ``annotations`` from ``source`` (this code, or a baseline's), on the store at ``path``."""
    # Run in ``source``: ``python -c`` puts the working folder first on the path.
    done = subprocess.run([sys.executable, "-c", RANK, str(path), str(repeats), str(source)],
                          cwd=source,
                          env={**os.environ, "PYTHONPATH": str(source)}, check=True,
                          capture_output=True, text=True)
    times, cpu, differing = json.loads(done.stdout)
    return times, cpu, differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--differ", type=float, default=0.1,
                        help="Share of documents where B's output differs from A's.")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--step", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--corpora", type=int, default=4)
    parser.add_argument("--repetitions", type=int, default=100)
    parser.add_argument("--agree-sample", type=int, default=60)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--rank-docs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip", nargs="*", default=[], choices=["needed", "coverage"])
    parser.add_argument("--baseline", metavar="REF",
                        help="Also time part 3 with the annotations package of this git "
                        "revision (e.g. 52121f4, before the streaming queue), on the same "
                        "store, for a ratio.")
    args = parser.parse_args()
    print("Measured on a shared 2-core machine: times are medians and vary with the load.")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "needed" not in args.skip:
            part_documents_needed(args, folder)
        if "coverage" not in args.skip:
            part_coverage(args, folder)
        if args.rank_docs:
            part_ranking(args, folder)


if __name__ == "__main__":
    main()
