"""Benchmark of entity evaluation: this project's scorer against nervaluate, same data, same run.

10,000 synthetic documents with 60 gold and 60 predicted spans each (about 75 %
exact, 8 % relabelled, 8 % with a shifted boundary, 9 % missed and replaced by
a spurious prediction).  Times, as medians over repeats:

- ``evaluate_extractor`` (what ``reader evaluate`` runs per extractor: all four
  schemes, per label, micro and macro, relations, error analysis) without a
  bootstrap, and with 1,000 bootstrap samples;
- ``nervaluate.Evaluator(...).evaluate()`` (all four schemes and per label) on the same spans.

With ``--store``, also ``reader evaluate --json`` end to end (a new process, reading a
gold store of the same documents: accepted annotations and one extractor's predictions).

Run: ``python benchmarks/evaluate.py [--docs N] [--repeats R] [--store]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nervaluate import Evaluator

from annotations.evaluation import SCHEMES, EvalDocument, evaluate_extractor

LABELS = ["PERSON", "ORG", "GPE", "DATE", "MONEY", "NORP"]
NERVALUATE_NAMES = {"strict": "strict", "exact": "exact", "partial": "partial", "type": "ent_type"}


def make_documents(n_docs: int, spans_per_doc: int, seed: int) -> list[EvalDocument]:
    rng = random.Random(seed)
    letters = string.ascii_lowercase + "     "
    docs = []
    for d in range(n_docs):
        gold: list[tuple[int, int, str]] = []
        pos = 0
        for _ in range(spans_per_doc):
            start = pos + rng.randint(4, 9)  # a gap of >= 4 leaves room for the edits below
            end = start + rng.randint(1, 14)
            gold.append((start, end, rng.choice(LABELS)))
            pos = end
        text = "".join(rng.choice(letters) for _ in range(pos + 5))
        pred: list[tuple[int, int, str]] = []
        for start, end, label in gold:
            roll = rng.random()
            if roll < 0.75:
                pred.append((start, end, label))
            elif roll < 0.83:
                pred.append((start, end, rng.choice([x for x in LABELS if x != label])))
            elif roll < 0.91:
                if end - start > 1 and rng.random() < 0.5:
                    pred.append((start + 1, end, label))
                else:
                    pred.append((start - 1, end + rng.randint(0, 1), label))
            else:
                # Missed; a spurious span in the gap after it keeps 60 predictions.
                pred.append((end + 2, end + 3, rng.choice(LABELS)))
        docs.append(EvalDocument(doc_id=f"d{d}", text=text, gold=gold, pred=sorted(pred)))
    return docs


def median_seconds(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def build_store(path: Path, docs: list[EvalDocument]) -> None:
    from annotations.models import Annotation, Document, Prediction, Span
    from annotations.store import GoldStore

    with GoldStore(path) as store:
        documents = [Document.from_text(d.text) for d in docs]
        store.add_documents(documents)
        store.add_entity_labels(LABELS)
        store.save_annotations([
            Annotation(doc_id=doc.id, status="accept",
                       spans=[Span(start=s, end=e, label=lab) for s, e, lab in d.gold])
            for doc, d in zip(documents, docs, strict=True)])
        store.put_predictions([
            Prediction(doc_id=doc.id, extractor="bench@1",
                       spans=[Span(start=s, end=e, label=lab, source="bench@1",
                                   state="suggested") for s, e, lab in d.pred])
            for doc, d in zip(documents, docs, strict=True)])


def command_seconds(args: list[str], repeats: int) -> float:
    def run() -> None:
        subprocess.run([sys.executable, "-m", "reader", *args], check=True,
                       stdout=subprocess.DEVNULL)
    return median_seconds(run, repeats)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--spans", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--nervaluate-repeats", type=int, default=3)
    parser.add_argument("--store", action="store_true",
                        help="Also time `reader evaluate` end to end on a gold store.")
    args = parser.parse_args()

    docs = make_documents(args.docs, args.spans, seed=7)
    print(f"{args.docs} documents x {args.spans} gold and {args.spans} predicted spans")

    ours, result = median_seconds(
        lambda: evaluate_extractor("bench", docs, bootstrap=0), args.repeats)
    ours_boot, _ = median_seconds(
        lambda: evaluate_extractor("bench", docs, bootstrap=1000, seed=0), args.repeats)

    true = [[{"label": lab, "start": s, "end": e - 1} for s, e, lab in d.gold] for d in docs]
    pred = [[{"label": lab, "start": s, "end": e - 1} for s, e, lab in d.pred] for d in docs]
    theirs, reference = median_seconds(
        lambda: Evaluator(true, pred, tags=LABELS, loader="dict").evaluate(),
        args.nervaluate_repeats)

    # The benchmark is only meaningful if both give the same counts.
    overall = reference["overall"]  # type: ignore[index]
    for scheme in SCHEMES:
        got = result.entities.counts(scheme)  # type: ignore[attr-defined]
        r = overall[NERVALUATE_NAMES[scheme]]
        expected = (r.correct, r.incorrect, r.partial, r.missed, r.spurious)
        if got != expected:
            raise SystemExit(f"counts differ under {scheme}: ours {got}, nervaluate {expected}")
        for label, by_scheme in reference["entities"].items():  # type: ignore[index]
            r = by_scheme[NERVALUATE_NAMES[scheme]]
            expected = (r.correct, r.incorrect, r.partial, r.missed, r.spurious)
            got = result.entities.counts(scheme, label)  # type: ignore[attr-defined]
            if got != expected:
                raise SystemExit(f"{label} counts differ under {scheme}: ours {got}, "
                                 f"nervaluate {expected}")
    print("counts identical to nervaluate under all four schemes, overall and per label")

    print(f"reader evaluate core, 4 schemes, no bootstrap  : {ours:7.3f} s "
          f"(median of {args.repeats})")
    print(f"reader evaluate core, 4 schemes, 1,000 bootstrap: {ours_boot:7.3f} s "
          f"(median of {args.repeats})")
    print(f"nervaluate 1.2 Evaluator.evaluate()             : {theirs:7.3f} s "
          f"(median of {args.nervaluate_repeats})")
    print(f"speed-up vs nervaluate: {theirs / ours:.1f}x without bootstrap, "
          f"{theirs / ours_boot:.1f}x with 1,000 bootstrap samples")

    if args.store:
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "gold.json"
            build_store(db, docs)
            size = db.stat().st_size / 1e6
            plain = command_seconds(["evaluate", "--db", str(db), "--json", "--bootstrap", "0"],
                                    args.nervaluate_repeats)
            boot = command_seconds(["evaluate", "--db", str(db), "--json", "--bootstrap",
                                    "1000"], args.nervaluate_repeats)
        print(f"reader evaluate --json end to end ({size:.0f} MB store), no bootstrap: "
              f"{plain:7.3f} s; 1,000 bootstrap: {boot:7.3f} s "
              f"(median of {args.nervaluate_repeats}; includes start-up and store loading)")

if __name__ == "__main__":
    main()
