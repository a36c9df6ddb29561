"""Where a Prodigy export's time goes, per document (issue 23: export of 100,000 documents
in under 60 s): the parts every export must do, each timed alone in one process, beside
the whole export with and without worker processes.

The documents are ``scale.py``'s (about 720 made-up words and 60 spans each), imported
as gold into a fresh store.  Each part runs over the same documents, in this order:

* ``payload``: reading each stored record and building what a writer is handed;
* ``spaCy tokenizer``: ``tokenizer(text)`` alone (spaCy's blank English tokenizer, the
  tokens a Prodigy task carries), then ``to_array`` into offsets;
* ``tokens JSON``: formatting those tokens as the task's ``tokens`` list;
* ``whole line``: the task's JSONL line (tokens, spans, relations, hashes);
* ``export``: ``export_layers`` to a file, in this process (``workers=1``) and with two
  forked workers, wall and CPU time (the workers' included).

Per part: the median over ``--repeats`` passes of milliseconds per document, after one
pass that warms spaCy's tokenizer cache (as a long export's is).  The export rows project
to 100,000 documents as ms/doc x 100 s: on two cores the parts that are the floor
(tokenizer and tokens JSON, which every export of Prodigy's shape must do) bound what
any number of workers can reach.

    python benchmarks/export_floor.py                 # 3,000 documents, 3 repeats
    python benchmarks/export_floor.py --documents 10000
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import generate  # noqa: E402

from annotations.formats import tokens as token_module  # noqa: E402
from annotations.formats.prodigy import _tokens_json, line_of  # noqa: E402
from annotations.formats.transfer import export_layers, import_layers, iter_export_items  # noqa: E402,E501
from annotations.store import GoldStore  # noqa: E402


def _cpu(children: bool = False) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _per_doc(work: Callable[[], object], count: int, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        runs.append((time.perf_counter() - started) / count * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    count = args.documents
    with tempfile.TemporaryDirectory(prefix="export-floor-") as folder:
        base = Path(folder)
        paths = generate(base, count)
        store = GoldStore(base / "store.json")
        import_layers(store, paths["gold"], add_labels=True)
        store.close()
        store = GoldStore(base / "store.json", read_only=True)

        payloads = [item.payload() for item in iter_export_items(store)]
        texts = [p[0] for p in payloads]
        tokenizer = token_module._current_tokenizer()
        from spacy.attrs import IDX, LENGTH, SPACY

        for text in texts:  # warm the tokenizer's cache, as a long export's is
            tokenizer(text)
        columns = [token_module.token_columns(p[0], [s[0] for s in p[2]],
                                              [s[1] for s in p[2]]) for p in payloads]
        rows: list[tuple[str, float]] = [
            ("payload (records to writer input)",
             _per_doc(lambda: [i.payload() for i in iter_export_items(store)], count,
                      args.repeats)),
            ("spaCy tokenizer + to_array", _per_doc(
                lambda: [tokenizer(t).to_array([IDX, LENGTH, SPACY]) for t in texts], count,
                args.repeats)),
            ("tokens JSON", _per_doc(
                lambda: [_tokens_json(t, *c) for t, c in zip(texts, columns, strict=True)],
                count, args.repeats)),
            ("whole line (tokenizer included)",
             _per_doc(lambda: [line_of(p) for p in payloads], count, args.repeats)),
        ]
        for workers in (1, 2):
            walls, cpus = [], []
            for _ in range(args.repeats):
                out = base / f"out-{workers}.jsonl"
                cpu, children = _cpu(), _cpu(children=True)
                started = time.perf_counter()
                export_layers(store, out, workers=workers)
                walls.append((time.perf_counter() - started) / count * 1000)
                cpus.append((_cpu() - cpu + _cpu(children=True) - children) / count * 1000)
                out.unlink()
            rows.append((f"export, workers={workers}: wall", statistics.median(walls)))
            rows.append((f"export, workers={workers}: CPU", statistics.median(cpus)))
        store.close()
    print(f"{count} documents of about 720 words and 60 spans; medians of {args.repeats} "
          "passes")
    print(f"{'part':<38}{'ms/doc':>8}{'s at 100,000':>14}")
    for name, ms in rows:
        print(f"{name:<38}{ms:>8.3f}{ms * 100:>14.1f}")


if __name__ == "__main__":
    main()
