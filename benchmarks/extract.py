"""Documents per second of ``reader extract`` against bare spaCy ``nlp.pipe`` on the same
documents, in the same run.

Three ways over the same documents, each timed from loading the pipeline to having
every document's entities (the command also opens the store and saves predictions):

* ``reader extract --force`` (the command's own function, in this process);
* bare spaCy with the same components switched off as the extractor switches off
  (``spacy.load(name, disable=<the extractor's disabled list>)`` + ``nlp.pipe``):
  like for like;
* bare spaCy as most people call it (``spacy.load(name)`` + ``nlp.pipe``), every
  component running.

The documents are the project's example article and any ``.txt`` files in ``--corpus``
(read at run time, never copied), cycled to ``--docs`` documents with a distinct first
line so that each is its own document in the store.  Each way runs ``--repeats``
times, interleaved, and the medians are compared.

    python benchmarks/extract.py
    python benchmarks/extract.py --docs 50 --repeats 1   # quicker
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import spacy

from annotations.extractors import load_extractor, resolve_model
from annotations.models import Document
from annotations.store import GoldStore
from reader.commands import common
from reader.commands.extract import extract

ROOT = Path(__file__).resolve().parents[1]


def load_texts(corpus: Path, count: int) -> list[str]:
    sources = [ROOT / "examples" / "article.txt", *sorted(corpus.glob("*.txt"))]
    texts = [p.read_text(encoding="utf-8") for p in sources if p.is_file()]
    return [f"Item {n}.\n{texts[n % len(texts)]}" for n in range(count)]


def run_command(db: Path, batch_size: int) -> None:
    extract(db, model=None, batch_size=batch_size, force=True)


def run_bare(texts: list[str], batch_size: int, disable: list[str]) -> int:
    nlp = spacy.load(resolve_model(), disable=disable)
    return sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size))


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()

    texts = load_texts(args.corpus, args.docs)
    words = sum(len(t.split()) for t in texts)
    workdir = Path(tempfile.mkdtemp(prefix="extract-bench-"))
    db = workdir / "gold.json"
    with GoldStore(db) as store:
        store.add_documents([Document.from_text(t) for t in texts])
    common.console.quiet = True  # the progress bar is drawn but not printed
    model = resolve_model()
    print(
        f"{args.docs} documents, {words} words, pipeline {model}, "
        f"batch size {args.batch_size}, {args.repeats} repeat(s) each"
    )
    run_bare(texts[:2], args.batch_size, [])  # warm up imports and file caches
    disabled = list(load_extractor().nlp.disabled)
    print(f"the extractor switches off: {', '.join(disabled) or 'nothing'}")

    ways: dict[str, Callable[[], object]] = {
        "reader extract": lambda: run_command(db, args.batch_size),
        "bare nlp.pipe, same components": lambda: run_bare(texts, args.batch_size, disabled),
        "bare nlp.pipe, default spacy.load": lambda: run_bare(texts, args.batch_size, []),
    }
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, action in ways.items():
            seconds[name].append(timed(action))
    common.console.quiet = False

    rates = {name: args.docs / statistics.median(times) for name, times in seconds.items()}
    for name, rate in rates.items():
        runs = ", ".join(f"{s:.2f}" for s in seconds[name])
        print(f"  {name:36s} {rate:7.1f} docs/s  (runs: {runs} s, incl. loading the pipeline)")
    command = rates["reader extract"]
    print(
        f"reader extract / bare, same components: {command / rates[list(ways)[1]]:.2f}x "
        "(target >= 0.9x)"
    )
    print(f"reader extract / bare, default spacy.load: {command / rates[list(ways)[2]]:.2f}x")
    with GoldStore(db, read_only=True) as store:
        print(f"predictions stored: {store.stats()['predictions']}")
    for path in workdir.iterdir():
        path.unlink()
    workdir.rmdir()


if __name__ == "__main__":
    main()
