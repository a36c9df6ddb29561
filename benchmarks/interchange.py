"""Benchmark: export and re-import of synthetic gold sets in every interchange format.

Documents are generated here: 700 words, 60 entity spans (1-3 words each) and 5
relations per document.  For each size (1,000 and 10,000 documents by default)
a gold store is built once; then each format is exported from it and the export
is imported as gold into a fresh, empty store.  Every export and every import
runs in its own subprocess, so one measurement cannot inherit another's memory.

Memory method: the store keeps every document in memory by design, so what
matters is what export/import needs *beyond* the opened store.  The child opens
the store, collects garbage, reports its resident set size (RSS) as the baseline
and starts; the parent then samples the child's RSS (/proc/PID/statm) every 5 ms
until it exits.  "extra MB" is the highest sample minus the baseline; "workers MB"
is the highest sum of the private memory (smaps_rollup Private_*, sampled every
50 ms) of the child's worker processes, which share the rest with the child.
Sampling from outside keeps the child single-threaded, which is what lets the
exporter fork its workers (it does not fork from a threaded process).  Import
necessarily holds the parsed records until its one all-or-nothing transaction,
and the new documents land in the store, so its extra memory grows with the
input; export's should not.

Seconds are the median over --repeats runs (each in a fresh subprocess).  The
1-minute load average is printed with each row: other work on the machine slows
the figures down, so compare rows measured under similar load.  Prodigy, CoNLL
and spaCy export use --workers processes (default: one per CPU, at most two) at
every size, each holding a bounded number of batches (32 documents; one
1,000-document shard for spaCy).

    python benchmarks/interchange.py                  # 1,000 and 10,000 documents
    python benchmarks/interchange.py --sizes 200 --repeats 1   # quick look
    python benchmarks/interchange.py --sizes 10000 --ops export \
        --formats prodigy label-studio inception hf      # the new formats vs Prodigy
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMATS = {"prodigy": "out.jsonl", "doccano": "out.jsonl", "brat": "out_brat",
           "conll": "out.conll", "spacy": "out_spacy", "label-studio": "out.json",
           "inception": "out_xmi", "hf": "out_hf"}
NEW_FORMATS = ("label-studio", "inception", "hf")
"""Target: each exports 10,000 documents within 2x the time of the Prodigy export."""
LABELS = ["PERSON", "ORG", "GPE", "DATE"]
RELATIONS = ["works_for", "based_in"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


def _rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _private_of(pid: int) -> int:
    """Memory a process does not share (a forked worker shares the parent's pages)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        return 0
    return total


def _children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def synthetic_corpus(n_docs: int, seed: int = 7):  # type: ignore[no-untyped-def]
    """(Document, Annotation) pairs: 700 words, 60 spans, 5 relations each."""
    from annotations.models import Annotation, Document, Relation, Span

    rng = random.Random(seed)
    syllables = ["ka", "lo", "ren", "mi", "sto", "va", "dor", "el", "an", "ti", "ber", "gu"]
    vocab = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3)))
             for _ in range(5000)]
    for d in range(n_docs):
        words = [rng.choice(vocab) for _ in range(700)]
        words = [w.capitalize() if i % 9 == 0 else w for i, w in enumerate(words)]
        pieces, offsets, pos = [], [], 0
        for i, word in enumerate(words):
            offsets.append((pos, pos + len(word)))
            sep = ".\n\n" if i % 97 == 96 else (", " if i % 13 == 12 else " ")
            pieces.append(word + sep)
            pos += len(word) + len(sep)
        text = f"Report {d}\n\n" + "".join(pieces)
        shift = len(f"Report {d}\n\n")
        # 60 spans on disjoint word windows: window k covers words 11k..11k+10.
        spans = []
        for k in range(60):
            first = 11 * k + rng.randint(0, 7)
            last = first + rng.randint(0, 2)
            spans.append(Span(start=offsets[first][0] + shift, end=offsets[last][1] + shift,
                              label=rng.choice(LABELS)))
        pairs = rng.sample(range(60), 10)
        relations = [Relation(head=spans[pairs[2 * i]].key, child=spans[pairs[2 * i + 1]].key,
                              label=rng.choice(RELATIONS)) for i in range(5)]
        doc = Document.from_text(text, {"title": f"Report {d}", "source": "synthetic"})
        yield doc, Annotation(doc_id=doc.id, spans=spans, relations=relations, status="accept")


def build_store(path: Path, n_docs: int) -> None:
    from annotations.models import LabelScheme
    from annotations.store import GoldStore

    pairs = list(synthetic_corpus(n_docs))
    with GoldStore(path) as store:
        store.set_labels(LabelScheme().with_entities(LABELS).with_relations(RELATIONS))
        store.save_annotations([a for _, a in pairs], documents=[d for d, _ in pairs])


def child(args: argparse.Namespace) -> None:
    from annotations.formats.tokens import tokenize
    from annotations.formats.transfer import export_layers, import_layers
    from annotations.models import LabelScheme
    from annotations.store import GoldStore

    # Warm the tokenizer and spaCy imports so the figures are the work, not the loading.
    tokenize("warm up")
    if args.op == "export":
        store = GoldStore(args.store, read_only=True)
    else:
        store = GoldStore(args.store)
        store.set_labels(LabelScheme().with_entities(LABELS).with_relations(RELATIONS))
    gc.collect()
    print(json.dumps({"baseline": _rss()}), flush=True)
    start = time.perf_counter()
    if args.op == "export":
        result = export_layers(store, Path(args.out), format_name=args.format,
                               workers=args.workers)
        count = result.written
    else:
        summary = import_layers(store, Path(args.out), format_name=args.format)
        count = summary.added
    seconds = time.perf_counter() - start
    store.close()
    print(json.dumps({"seconds": seconds, "count": count,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_child(op: str, store: Path, fmt: str, out: Path, workers: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", op, "--store", str(store), "--format", fmt,
           "--out", str(out), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    baseline = json.loads(first)["baseline"] if first.startswith("{") else 0
    peak, workers_peak, ticks = baseline, 0, 0
    while proc.poll() is None:
        peak = max(peak, _rss_of(proc.pid))
        if ticks % 10 == 0:  # smaps_rollup costs more to read; every 50 ms is enough
            workers_peak = max(workers_peak,
                               sum(_private_of(c) for c in _children_of(proc.pid)))
        ticks += 1
        time.sleep(0.005)
    rest, errors = proc.stdout.read(), proc.stderr.read()
    if proc.returncode != 0 or not baseline:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{errors}")
    result = json.loads(rest.strip().splitlines()[-1])
    result.update(extra_mb=(peak - baseline) / 2**20, baseline_mb=baseline / 2**20,
                  workers_mb=workers_peak / 2**20)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ops", nargs="+", choices=["export", "import"],
                        default=["export", "import"])
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="export worker processes (Prodigy, CoNLL), the same for every "
                        "size so that sizes compare like with like")
    parser.add_argument("--child", choices=["export", "import"])
    parser.add_argument("--store")
    parser.add_argument("--format")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        args.op = args.child
        child(args)
        return
    rows: dict[tuple[str, str, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="interchange-bench-") as tmp:
        root = Path(tmp)
        for size in args.sizes:
            store = root / f"gold-{size}.json"
            t0 = time.perf_counter()
            build_store(store, size)
            print(f"built a store of {size} documents in {time.perf_counter() - t0:.1f} s "
                  f"({store.stat().st_size / 2**20:.0f} MB)", flush=True)
            for fmt in args.formats:
                out = root / f"{size}-{FORMATS[fmt]}"
                for op in args.ops:
                    runs = []
                    for repeat in range(args.repeats):
                        fresh = root / f"in-{size}-{fmt}-{repeat}.json"
                        target = store if op == "export" else fresh
                        runs.append(run_child(op, target, fmt, out, args.workers))
                        if op == "import":
                            for leftover in root.glob(f"in-{size}-{fmt}-{repeat}.json*"):
                                leftover.unlink()
                    row = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                    load = os.getloadavg()[0]
                    rows[(fmt, op, size)] = row
                    print(f"{size:>6} docs  {fmt:<8} {op:<6} {row['seconds']:7.2f} s  "
                          f"extra {row['extra_mb']:7.1f} MB  workers {row['workers_mb']:5.0f} MB"
                          f"  (store open {row['baseline_mb']:4.0f} MB, process peak "
                          f"{row['maxrss_mb']:5.0f} MB)  n={row['count']:.0f}  load {load:.1f}",
                          flush=True)
            store.unlink()
    for size in args.sizes:
        prodigy = rows.get(("prodigy", "export", size))
        if prodigy is None:
            continue
        for fmt in NEW_FORMATS:
            row = rows.get((fmt, "export", size))
            if row is not None:
                ratio = row["seconds"] / prodigy["seconds"]
                print(f"target: {fmt} export of {size:,} documents within 2x Prodigy's: "
                      f"{row['seconds']:.2f} s vs {prodigy['seconds']:.2f} s = x{ratio:.2f} "
                      f"({'met' if ratio <= 2 else 'not met'})")
    if len(args.sizes) >= 2 and args.ops == ["export", "import"]:
        small, large = min(args.sizes), max(args.sizes)
        print(f"\nratios {large:,} vs {small:,} documents (seconds; extra memory):")
        for fmt in args.formats:
            for op in ("export", "import"):
                a, b = rows[(fmt, op, small)], rows[(fmt, op, large)]
                print(f"  {fmt:<8} {op:<6} time x{b['seconds'] / a['seconds']:5.1f}   "
                      f"extra memory x{b['extra_mb'] / max(a['extra_mb'], 0.1):5.2f}")
        prodigy = rows.get(("prodigy", "export", large))
        if prodigy:
            ratio = prodigy["extra_mb"] / max(rows[("prodigy", "export", small)]["extra_mb"], 0.1)
            print(f"\ntarget: Prodigy JSONL export of {large:,} documents <= 10 s: "
                  f"{prodigy['seconds']:.1f} s; extra memory {large:,} vs {small:,} within "
                  f"1.5x: x{ratio:.2f}")


if __name__ == "__main__":
    main()
