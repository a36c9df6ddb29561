"""Benchmark of ``reader agreement``'s measures: 10,000 documents × 3 annotators.

Synthetic documents (generated here, not copied from any corpus): about 1,500
characters of words and 20 spans per annotator each, with three relations.  The
first annotator's spans are the base; each other annotator keeps about 75 % of them,
relabels 8 %, shifts a boundary of 8 %, drops the rest and adds a span elsewhere.

Timed, as medians over repeats, all in one process:

- ``compute_agreement`` with every measure (pairwise span F1 in three modes per label
  and micro, with 1,000 bootstrap resamples; token Cohen's κ per pair, each pair on
  its own tokens, and Fleiss' κ; α_U per label and overall; relation F1 in three
  modes; diagnostics and the disagreement counts) — the target is <= 2 s (issue 11);
- the same without the bootstrap;
- with ``--store``, also ``collect_study`` (reading the annotations from a gold store).

Run: ``python benchmarks/agreement.py [--docs N] [--repeats R] [--store]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from annotations.agreement import AgreementStudy, Layer, collect_study, compute_agreement

LABELS = ["PERSON", "ORG", "GPE", "DATE", "MONEY", "NORP"]
ANNOTATORS = ["alice", "bob", "carol"]
TARGET_SECONDS = 2.0


def _words(rng: random.Random, n_chars: int) -> str:
    words = []
    size = 0
    while size < n_chars:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


def _variant(rng: random.Random, base: list[tuple[int, int, str]], length: int
             ) -> list[tuple[int, int, str]]:
    out = []
    for start, end, label in base:
        roll = rng.random()
        if roll < 0.75:
            out.append((start, end, label))
        elif roll < 0.83:
            out.append((start, end, rng.choice([x for x in LABELS if x != label])))
        elif roll < 0.91:
            out.append((start, max(start + 1, end - rng.randint(1, 3)), label))
        else:
            shift = min(length - (end - start), start + 40)
            out.append((shift, shift + (end - start), label))
    out.sort()
    flat: list[tuple[int, int, str]] = []
    for span in out:
        if not flat or span[0] >= flat[-1][1]:
            flat.append(span)
    return flat


def make_study(n_docs: int, spans_per_doc: int, seed: int) -> AgreementStudy:
    rng = random.Random(seed)
    texts: dict[str, str] = {}
    layers: dict[str, dict[str, Layer]] = {name: {} for name in ANNOTATORS}
    for d in range(n_docs):
        text = _words(rng, 1500)
        doc_id = f"doc{d:05d}"
        texts[doc_id] = text
        step = len(text) // spans_per_doc
        base = []
        for i in range(spans_per_doc):
            start = i * step + rng.randint(0, step // 3)
            base.append((start, start + rng.randint(3, step // 2), rng.choice(LABELS)))
        for k, name in enumerate(ANNOTATORS):
            spans = base if k == 0 else _variant(rng, base, len(text))
            keys = [(s, e) for s, e, _ in spans]
            relations = tuple((keys[i], keys[i + 1], "related")
                              for i in range(0, min(6, len(keys) - 1), 2))
            layers[name][doc_id] = Layer(tuple(spans), relations)
    return AgreementStudy(texts=texts, layers=layers)


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds (the CPU time shows what other processes' load adds)."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def write_store(study: AgreementStudy, path: Path) -> None:
    from annotations.models import Annotation, Document, LabelScheme, Relation, Span
    from annotations.store import GoldStore

    with GoldStore(path) as store:
        docs = {doc_id: Document.from_text(text) for doc_id, text in study.texts.items()}
        store.set_labels(LabelScheme().with_entities(LABELS).with_relations(["related"]))
        store.save_annotations([
            Annotation(doc_id=docs[doc_id].id, annotator=name, status="accept",
                       spans=[Span(start=s, end=e, label=lab) for s, e, lab in layer.spans],
                       relations=[Relation(head=h, child=c, label=lab)
                                  for h, c, lab in layer.relations])
            for name, by_doc in study.layers.items() for doc_id, layer in by_doc.items()
        ], documents=docs.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--spans", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--store", action="store_true")
    args = parser.parse_args()
    study = make_study(args.docs, args.spans, seed=1)
    n_spans = sum(len(layer.spans) for by_doc in study.layers.values()
                  for layer in by_doc.values())
    n_chars = sum(len(t) for t in study.texts.values())
    print(f"{args.docs} documents ({n_chars / 1e6:.1f} M characters) x {len(ANNOTATORS)} "
          f"annotators, {n_spans} spans; median of {args.repeats} runs")
    compute_agreement(study, bootstrap=0)  # warm-up: imports, lookup tables
    full, full_cpu = median_time(lambda: compute_agreement(study, bootstrap=1000, seed=0),
                                 args.repeats)
    print(f"all measures, 1,000 bootstrap resamples: {full:.2f} s wall, {full_cpu:.2f} s CPU "
          f"(target <= {TARGET_SECONDS:.0f} s: {full / TARGET_SECONDS:.2f}x of the target)")
    bare, bare_cpu = median_time(lambda: compute_agreement(study, bootstrap=0), args.repeats)
    print(f"all measures, no bootstrap:              {bare:.2f} s wall, {bare_cpu:.2f} s CPU")
    if args.store:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "team.json"
            write_store(study, path)
            from annotations.store import GoldStore

            with GoldStore(path, read_only=True) as store:
                read, read_cpu = median_time(lambda: collect_study(store), args.repeats)
            print(f"collect_study from a gold store:         {read:.2f} s wall, "
                  f"{read_cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
