"""Latency of one durable edit in the gold store at 100, 1,000 and 10,000 documents,
against stock TinyDB ``update()`` (JSONStorage) on the same file, plus the time to open
a store of each size.

Documents are synthetic and generated here (not copied from any corpus): about 700
words each, with a person's annotation of about 60 spans and an extractor's prediction
of about 60 spans.  One "edit" relabels a random span of a random document: read the
annotation, change the span, ``GoldStore.save_annotation`` (validate it against the text
and the label scheme, append one checksummed journal line and fsync it).

Stock TinyDB rewrites the whole file on every update (and does not fsync), so at
10,000 documents a single update takes seconds; it is repeated fewer times there
(see ``--tinydb-repeats``) and the figures say how many.

    python benchmarks/store_edits.py                    # 100, 1,000 and 10,000 documents
    python benchmarks/store_edits.py --sizes 100 1000   # quicker
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tinydb import TinyDB

from annotations.models import Annotation, Document, Prediction, Span
from annotations.store import GoldStore

LABELS = ["PERSON", "ORG", "GPE", "DATE", "NORP", "LOC", "MONEY", "EVENT"]
SYLLABLES = [
    "ka",
    "lo",
    "mer",
    "den",
    "vi",
    "sto",
    "ra",
    "bel",
    "tor",
    "an",
    "quin",
    "sel",
    "mu",
    "gar",
    "ro",
    "phi",
    "lan",
    "dre",
    "co",
    "sa",
    "ne",
    "ul",
    "tri",
    "vo",
]
EXTRACTOR = "spacy:synthetic@1.0"


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables))


def synthetic_document(
    rng: random.Random, number: int, words: int = 700, entities: int = 60
) -> tuple[Document, Annotation, Prediction]:
    """A news-shaped document with a person's annotation and an extractor's prediction."""
    tokens: list[str] = [f"Story {number}:"]
    spans: list[tuple[int, int, str]] = []
    offset = len(tokens[0]) + 1
    entity_every = words // entities
    count = 0
    while count < words:
        if count % entity_every == 3 and len(spans) < entities:
            length = rng.choice((1, 2, 2, 3))
            name = " ".join(_word(rng, rng.randint(2, 3)).capitalize() for _ in range(length))
            spans.append((offset, offset + len(name), rng.choice(LABELS)))
            token, count = name, count + length
        else:
            token, count = _word(rng, rng.randint(1, 3)), count + 1
            if rng.random() < 0.07:
                token += "."
        tokens.append(token)
        offset += len(token) + 1
    doc = Document.from_text(" ".join(tokens) + "\n", {"title": tokens[0], "source": "synthetic"})
    gold = [Span(start=s, end=e, label=label) for s, e, label in spans]
    suggested = [
        Span(
            start=s,
            end=e,
            label=rng.choice(LABELS) if rng.random() < 0.2 else label,
            source=EXTRACTOR,
            state="suggested",
        )
        for s, e, label in spans
    ]
    return (
        doc,
        Annotation(doc_id=doc.id, spans=gold),
        Prediction(doc_id=doc.id, extractor=EXTRACTOR, spans=suggested),
    )


def build_store(path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with GoldStore(path) as store:
        store.add_entity_labels(LABELS)
        for first in range(0, count, 1000):
            batch = [synthetic_document(rng, n) for n in range(first, min(first + 1000, count))]
            store.add_documents([doc for doc, _, _ in batch])
            store.save_annotations([ann for _, ann, _ in batch])
            store.put_predictions([pred for _, _, pred in batch])
    # Leaving the ``with`` checkpointed everything into the TinyDB file.


def relabel(store: GoldStore, doc_id: str, start: int, end: int, label: str) -> None:
    """One edit as an editor makes it: read the annotation, relabel one span, save it."""
    ann = store.annotation(doc_id)
    assert ann is not None
    spans = [
        s.model_copy(update={"label": label}) if s.key == (start, end) else s for s in ann.spans
    ]
    store.save_annotation(ann.model_copy(update={"spans": spans}))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class EditTimer:
    """Times edits on one open store: wall time, the store's own work, the disk's floor.

    The bare append+fsync of the same bytes right after each edit is the disk's floor
    at that moment: on a shared machine fsync latency swings with other processes'
    writes, and that swing is not the store's doing.  The store's own work is timed on
    a second edit of the same span with ``os.fsync`` stubbed out (written, not synced).
    """

    def __init__(self, path: Path, seed: int) -> None:
        self.store = GoldStore(path)
        self.doc_ids = self.store.document_ids()
        self.rng = random.Random(seed)
        self.walls: list[float] = []
        self.works: list[float] = []
        self.floors: list[float] = []
        self.floor_path = path.with_name(path.name + ".floor")
        self.floor_fd = os.open(self.floor_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def edit(self) -> None:
        store, rng = self.store, self.rng
        doc_id = rng.choice(self.doc_ids)
        ann = store.annotation(doc_id)
        assert ann is not None
        span = rng.choice(ann.spans)
        label = rng.choice([name for name in LABELS if name != span.label])
        journal_before = store.journal_path.stat().st_size
        started = time.perf_counter()
        relabel(store, doc_id, span.start, span.end, label)
        self.walls.append(time.perf_counter() - started)
        line = b"x" * (store.journal_path.stat().st_size - journal_before)
        started = time.perf_counter()
        os.write(self.floor_fd, line)
        os.fsync(self.floor_fd)
        self.floors.append(time.perf_counter() - started)
        real_fsync = os.fsync
        os.fsync = _no_fsync
        try:
            started = time.perf_counter()
            relabel(store, doc_id, span.start, span.end, span.label)
            self.works.append(time.perf_counter() - started)
        finally:
            os.fsync = real_fsync

    def close(self) -> float:
        """Close the store; the time of its closing checkpoint (a full atomic rewrite)."""
        os.close(self.floor_fd)
        self.floor_path.unlink()
        started = time.perf_counter()
        self.store.close()
        return time.perf_counter() - started


def _no_fsync(fd: int) -> None:
    pass


def time_tinydb_updates(path: Path, repeats: int, seed: int) -> list[float]:
    """Stock TinyDB: the same relabel as one ``update()`` of the annotation record."""
    rng = random.Random(seed)
    latencies: list[float] = []
    with TinyDB(path) as db:
        table = db.table("annotations")
        keys = list(range(1, len(table) + 1))
        for _ in range(repeats):
            key = rng.choice(keys)
            record = table.get(doc_id=key)
            assert isinstance(record, dict)
            spans = [dict(s) for s in record["spans"]]
            spans[rng.randrange(len(spans))]["label"] = rng.choice(LABELS)
            started = time.perf_counter()
            table.update({"spans": spans}, doc_ids=[key])
            latencies.append(time.perf_counter() - started)
    return latencies


def time_opens(path: Path, repeats: int) -> tuple[list[float], list[float]]:
    reads, writes = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        store = GoldStore(path, read_only=True)
        reads.append(time.perf_counter() - started)
        store.close()
        del store  # freeing the previous store's records is not part of the next open
        started = time.perf_counter()
        store = GoldStore(path)
        writes.append(time.perf_counter() - started)
        store.close()
        del store
    return reads, writes


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--edits", type=int, default=300, help="store edits timed per size")
    parser.add_argument(
        "--tinydb-repeats",
        type=int,
        nargs="+",
        default=[30, 10, 3],
        help="stock TinyDB updates timed per size (fewer at large sizes)",
    )
    parser.add_argument("--opens", type=int, default=5, help="opens timed per size")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where to build the stores (default: a temporary folder)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="store-bench-", dir=args.dir))
    print(f"stores in {workdir} (filesystem of the benchmark matters: fsync cost)")
    rows = []
    try:
        paths = {}
        for size in args.sizes:
            paths[size] = workdir / f"gold-{size}.json"
            started = time.perf_counter()
            build_store(paths[size], size, seed=size)
            megabytes = paths[size].stat().st_size / 1e6
            print(
                f"{size} documents: {megabytes:.1f} MB TinyDB file, "
                f"built in {time.perf_counter() - started:.1f} s"
            )
            rows.append({"size": size, "mb": megabytes})
        os.sync()  # let the builds' writes reach the disk before timing fsyncs
        # Edits go round-robin over the sizes, so that every size sees the same disk
        # weather; timing one size after another compares the disk at different moments.
        timers = {size: EditTimer(path, seed=size) for size, path in paths.items()}
        for _ in range(args.edits):
            for timer in timers.values():
                timer.edit()
        for index, row in enumerate(rows):
            size, path = row["size"], paths[row["size"]]
            timer = timers[size]
            row.update(edits=timer.walls, work=timer.works, floor=timer.floors)
            row["checkpoint"] = timer.close()
            row["open_ro"], row["open_rw"] = time_opens(path, args.opens)
            repeats = args.tinydb_repeats[min(index, len(args.tinydb_repeats) - 1)]
            copy = workdir / f"stock-{size}.json"
            shutil.copy(path, copy)
            row["stock"] = stock = time_tinydb_updates(copy, repeats, seed=2)
            copy.unlink()
            edits, work, floor = row["edits"], row["work"], row["floor"]
            print(f"\n{size} documents")
            print(
                f"  GoldStore edit   n={len(edits):4d} median {ms(statistics.median(edits))} ms"
                f"  p95 {ms(percentile(edits, 0.95))} ms  max {ms(max(edits))} ms"
            )
            print(
                f"  bare append+fsync of the same bytes after each edit: median "
                f"{ms(statistics.median(floor))} ms  p95 {ms(percentile(floor, 0.95))} ms"
            )
            print(
                f"  GoldStore edit without fsync median {ms(statistics.median(work))} ms  "
                f"p95 {ms(percentile(work, 0.95))} ms"
            )
            print(
                f"  stock TinyDB     n={len(stock):4d} median {ms(statistics.median(stock))} ms"
                f"  p95 {ms(percentile(stock, 0.95))} ms  (no fsync)"
            )
            print(
                f"  checkpoint on close (full atomic rewrite; also every 64 MB of journal) "
                f"{ms(row['checkpoint'])} ms"
            )
            reads, writes = row["open_ro"], row["open_rw"]
            print(
                f"  open read-only median {ms(statistics.median(reads))} ms, for writing "
                f"median {ms(statistics.median(writes))} ms (n={len(reads)})"
            )
            path.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nsummary")
    print(
        f"{'documents':>10} {'MB':>7} {'edit med':>9} {'edit p95':>9} {'fsync med':>10} "
        f"{'work med':>8} {'stock med':>10} {'stock/edit':>10} {'open ro':>8}"
    )
    for row in rows:
        med = statistics.median(row["edits"])
        stock = statistics.median(row["stock"])
        print(
            f"{row['size']:>10} {row['mb']:>7.1f} {ms(med):>9}"
            f" {ms(percentile(row['edits'], 0.95)):>9}"
            f" {ms(statistics.median(row['floor'])):>10} {ms(statistics.median(row['work'])):>8}"
            f" {ms(stock):>10} {stock / med:>9.0f}x {statistics.median(row['open_ro']):>7.2f}s"
        )
    for name, key in (("wall", "edits"), ("no-fsync", "work"), ("bare fsync", "floor")):
        p95s = [percentile(row[key], 0.95) for row in rows]
        medians = [statistics.median(row[key]) for row in rows]
        print(
            f"{name:>10} largest/smallest across sizes: p95 {max(p95s) / min(p95s):.2f}x, "
            f"median {max(medians) / min(medians):.2f}x (target for edits: within 1.5x)"
        )
    p95s = [percentile(row["edits"], 0.95) for row in rows]
    print(f"edit p95 at {rows[-1]['size']} documents: {p95s[-1] * 1000:.2f} ms (target <= 5 ms)")
    print(
        f"open at {rows[-1]['size']} documents: "
        f"{statistics.median(rows[-1]['open_ro']):.2f} s read-only, "
        f"{statistics.median(rows[-1]['open_rw']):.2f} s for writing (target <= 2 s)"
    )


if __name__ == "__main__":
    main()
