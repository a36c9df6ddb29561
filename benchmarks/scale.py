"""Scale benchmark (issue 23): a gold store of 10,000 or 100,000 generated documents,
each with 60 gold spans and two extractors' predictions of 60 spans, through every
command that reads the whole store: time and peak memory, and memory against the size
of the file.

Documents are generated here (not copied from any corpus): about 720 words of made-up
syllable words with 60 entity names of 1-3 words, as Prodigy JSONL (``text``, ``spans``,
``answer``); each extractor's output is the gold spans with a fifth of the labels
changed (a different fifth for each).  For each size and repeat, in a fresh folder:

* ``import gold``: ``reader import gold.jsonl --as-gold --add-labels`` into a new store;
* ``import preds``: ``reader import X.jsonl --as-predictions --extractor X`` (two
  extractors; the median of both imports);
* ``open``: what ``reader annotate`` does before its first screen: open the store for
  writing, build the editing session, find where to resume and open that document;
* ``stats``, ``evaluate`` (``--bootstrap 0``: the scoring, not the resampling) and
  ``export`` (Prodigy JSONL of the gold set);
* ``queue``: ``reader queue -e alpha@1 -e beta@1`` (the disagreement order, its first
  20 rows).

Each step runs in its own process under ``/usr/bin/time -v``: the wall time of the
whole command (interpreter start included), its CPU time (user + system; on a loaded
shared machine the wall time stretches with the load, the CPU time much less) and its
maximum resident set size (for
export, whose workers are forked, the largest single process).  "beyond" is that peak
minus the peak of ``reader stats`` on a store of one short document (the process an
empty store costs: interpreter, imports); "x file" divides it by the store file's
size (for the imports: by the size of the input file); "ms/doc" divides the time by
the number of documents (what a run at one size projects to another).  Medians over
``--repeats``.

    python benchmarks/scale.py                           # 10,000 documents, 3 repeats
    python benchmarks/scale.py --sizes 100000 --repeats 1
    python benchmarks/scale.py --dir /path/on/a/disk     # default: a temporary folder
    python benchmarks/scale.py --sizes 100000 --repeats 1 --skip export
    python benchmarks/scale.py --sizes 100000 --repeats 1 --skip evaluate queue --baseline abcfe73

``--baseline REF`` runs each step with that commit's code too (its ``annotations`` and
``reader``, from ``git archive``), next to this code's (before it in even repeats, after
it in odd ones), on the same inputs: the
imports into a store of its own, every other step on the store this code built (an
older store format than the baseline reads is not supported).  The table then adds
the baseline's median time and this code's as a ratio of it, and the export's output
is compared byte for byte with the baseline's.
"""

from __future__ import annotations

import argparse
import compileall
import filecmp
import io
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LABELS = ["PERSON", "ORG", "GPE", "DATE", "NORP", "LOC", "MONEY", "EVENT"]
SYLLABLES = ["ka", "lo", "mer", "den", "vi", "sto", "ra", "bel", "tor", "an", "quin", "sel",
             "mu", "gar", "ro", "phi", "lan", "dre", "co", "sa", "ne", "ul", "tri", "vo"]
EXTRACTORS = ("alpha@1", "beta@1")
WORDS, SPANS = 720, 60

OPEN_AS_ANNOTATE = """
import sys, time
from annotations.session import EditingSession
from annotations.store import GoldStore
started = time.perf_counter()
store = GoldStore(sys.argv[1])
session = EditingSession(store, annotator="default", scheme=store.labels)
session.open(session.resume_index())
print(f"opened-in {time.perf_counter() - started:.3f}", file=sys.stderr)
store.close()
"""


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables))


def generate(folder: Path, count: int, seed: int = 23) -> dict[str, Path]:
    """gold.jsonl and one JSONL per extractor, written record by record."""
    rng = random.Random(seed)
    paths = {"gold": folder / "gold.jsonl"}
    paths.update({name: folder / f"{name.split('@')[0]}.jsonl" for name in EXTRACTORS})
    files = {key: open(path, "w", encoding="utf-8") for key, path in paths.items()}
    try:
        for number in range(count):
            tokens = [f"Story {number}:"]
            spans: list[dict[str, object]] = []
            offset = len(tokens[0]) + 1
            every, words = WORDS // SPANS, 0
            while words < WORDS:
                if words % every == 3 and len(spans) < SPANS:
                    length = rng.choice((1, 2, 2, 3))
                    token = " ".join(_word(rng, rng.randint(2, 3)).capitalize()
                                     for _ in range(length))
                    spans.append({"start": offset, "end": offset + len(token),
                                  "label": rng.choice(LABELS)})
                    words += length
                else:
                    token = _word(rng, rng.randint(1, 3)) + ("." if rng.random() < 0.07 else "")
                    words += 1
                tokens.append(token)
                offset += len(token) + 1
            text = " ".join(tokens) + "\n"
            meta = {"title": tokens[0], "source": "synthetic"}
            files["gold"].write(json.dumps({"text": text, "meta": meta, "spans": spans,
                                            "answer": "accept"}) + "\n")
            for name in EXTRACTORS:
                guessed = [dict(s, label=rng.choice(LABELS)) if rng.random() < 0.2 else s
                           for s in spans]
                files[name].write(json.dumps({"text": text, "meta": meta, "spans": guessed})
                                  + "\n")
    finally:
        for fh in files.values():
            fh.close()
    return paths


def measure(args: list[str], cwd: Path, inner: list[float] | None = None,
            code: Path | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (bytes) and CPU seconds (user + system: what a loaded,
    shared machine changes least) of one command, under /usr/bin/time -v (and, in
    ``inner``, the seconds the command reports itself as ``opened-in S``); with the
    code in ``code`` (a baseline's) first on the path rather than this one."""
    # This code's folder on the path too, as the baseline's is on its path: each import
    # then looks in one more folder in both (50 to 70 ms a command at interpreter start).
    env = {**os.environ, "PYTHONPATH": str(REPO if code is None else code)}
    done = subprocess.run(["/usr/bin/time", "-v", *args], cwd=cwd, capture_output=True,
                          text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    def field(pattern: str) -> str:
        found = re.search(pattern, done.stderr)
        if found is None:
            raise SystemExit(f"{' '.join(args)}: no {pattern!r} in its output:\n"
                             f"{done.stderr[-2000:]}")
        return found[1]

    peak = int(field(r"Maximum resident set size \(kbytes\): (\d+)"))
    clock = field(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)")
    if inner is not None:
        inner.append(float(field(r"opened-in ([\d.]+)")))
    cpu = sum(float(field(rf"{kind} time \(seconds\): ([\d.]+)")) for kind in ("User", "System"))
    seconds = 0.0
    for part in clock.split(":"):
        seconds = seconds * 60 + float(part)
    # Each step as it ends (a run at 100,000 documents takes long).
    shown = "open" if "-c" in args else " ".join(Path(a).name for a in args[2:5])
    print(f"  {'' if code is None else 'baseline '}{shown}: {seconds:.1f} s, {cpu:.1f} s CPU, "
          f"{peak / 1024:.0f} MB", file=sys.stderr, flush=True)
    return seconds, peak * 1024, cpu


def reader(*args: str) -> list[str]:
    return [sys.executable, "-m", "reader", *args]


def _compiled(root: Path) -> None:
    """The byte code of the packages under ``root`` written beside them, so that no
    command compiles them at its start (where PYTHONDONTWRITEBYTECODE is set, every
    command would, and the code most recently changed or extracted would pay most)."""
    for package in ("annotations", "reader"):
        compileall.compile_dir(root / package, quiet=1)


def git_archive(ref: str, folder: Path, *paths: str) -> Path:
    """``paths`` (folders of this repository) as commit ``ref`` has them, extracted
    into ``folder``, made here (a baseline's code for ``--baseline``)."""
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, *paths],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def baseline_code(ref: str, base: Path) -> Path:
    """The ``annotations`` and ``reader`` packages of commit ``ref``, in a folder of
    ``base``; checked to be what a process with it on its path imports."""
    source = git_archive(ref, base / "baseline", "annotations", "reader")
    _compiled(source)
    where = subprocess.run(
        [sys.executable, "-c", "import annotations, reader; print(annotations.__file__); "
         "print(reader.__file__)"], cwd=base, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(source)}).stdout.split()
    if not all(path.startswith(str(source)) for path in where):
        raise SystemExit(f"the baseline's code is not what its processes import: {where}")
    return source


def run_size(count: int, repeats: int, base: Path, skip: frozenset[str] = frozenset(),
             old: Path | None = None) -> None:
    folder = base / f"n{count}"
    folder.mkdir(parents=True, exist_ok=True)
    inputs = generate(folder, count)
    sizes = {key: path.stat().st_size for key, path in inputs.items()}

    empty = folder / "empty.json"
    (folder / "one.txt").write_text("A short article about Maria Keller.\n", encoding="utf-8")
    subprocess.run(reader("import", "one.txt", "--db", str(empty)), cwd=folder, check=True,
                   capture_output=True)
    baseline = statistics.median(
        measure(reader("stats", "--db", str(empty)), folder)[1] for _ in range(3))

    results: dict[str, list[tuple[float, int, float]]] = {}
    baseline_results: dict[str, list[tuple[float, int, float]]] = {}
    opened: list[float] = []
    store_size = 0
    same_export: list[bool] = []

    def step(name: str, args: list[str], old_args: list[str] | None = None,
             inner: list[float] | None = None) -> None:
        """One step, and the baseline's (``old_args``: its own, where they differ) before
        it in even repeats and after it in odd ones (neither always first, when a cache
        is coldest)."""
        def baseline_step() -> None:
            if old is not None:
                baseline_results.setdefault(name, []).append(
                    measure(old_args or args, folder, code=old))
        if repeat % 2 == 0:
            baseline_step()
        results.setdefault(name, []).append(measure(args, folder, inner))
        if repeat % 2 == 1:
            baseline_step()

    for repeat in range(repeats):
        db = folder / f"store{repeat}.json"
        old_db = folder / f"baseline{repeat}.json"
        step("import gold", *_imports(inputs["gold"], ["--as-gold", "--add-labels"], db, old_db))
        for name in EXTRACTORS:
            step("import preds", *_imports(inputs[name], [
                "--as-predictions", "--extractor", name], db, old_db))
        old_db.unlink(missing_ok=True)
        store_size = db.stat().st_size
        step("open", [sys.executable, "-c", OPEN_AS_ANNOTATE, str(db)], inner=opened)
        step("stats", reader("stats", "--db", str(db)))
        if "evaluate" not in skip:
            step("evaluate", reader("evaluate", "--db", str(db), "--bootstrap", "0"))
        if "queue" not in skip:
            step("queue", reader("queue", "--db", str(db), *(f"-e{n}" for n in EXTRACTORS)))
        if "export" not in skip:
            out, old_out = folder / "export.jsonl", folder / "baseline-export.jsonl"
            step("export", reader("export", "--db", str(db), "-o", str(out)),
                 old_args=reader("export", "--db", str(db), "-o", str(old_out)))
            if old is not None:
                same_export.append(filecmp.cmp(out, old_out, shallow=False))
                old_out.unlink()
            out.unlink()
        if repeat < repeats - 1:
            db.unlink()
        print(f"  repeat {repeat + 1}/{repeats} done", file=sys.stderr, flush=True)

    mb = 1024 * 1024
    load = os.getloadavg()[0]
    print(f"\n{count:,} documents x {SPANS} spans x (gold + {len(EXTRACTORS)} predictions): "
          f"store file {store_size / mb:.1f} MB; gold input {sizes['gold'] / mb:.1f} MB, "
          f"each prediction input {sizes[EXTRACTORS[0]] / mb:.1f} MB; empty-store process "
          f"{baseline / mb:.0f} MB; load average {load:.1f} (shared 2-core machine)")
    compared = "" if old is None else f"{'base s':>9}{'base MB':>9}{'x base':>8}"
    print(f"{'step':<14}{'median s':>10}{'CPU s':>8}{'peak MB':>10}{'beyond MB':>11}"
          f"{'x file':>8}{'ms/doc':>8}{'CPU ms/doc':>12}{compared}")
    for name, runs in results.items():
        seconds = statistics.median(run[0] for run in runs)
        peak = statistics.median(run[1] for run in runs)
        cpu = statistics.median(run[2] for run in runs)
        against = (sizes["gold"] if name == "import gold" else
                   sizes[EXTRACTORS[0]] if name == "import preds" else store_size)
        if old is not None:
            old_seconds = statistics.median(run[0] for run in baseline_results[name])
            old_peak = statistics.median(run[1] for run in baseline_results[name])
            compared = f"{old_seconds:>9.2f}{old_peak / mb:>9.0f}{seconds / old_seconds:>8.2f}"
        print(f"{name:<14}{seconds:>10.2f}{cpu:>8.2f}{peak / mb:>10.0f}"
              f"{(peak - baseline) / mb:>11.0f}{(peak - baseline) / against:>8.2f}"
              f"{seconds / count * 1000:>8.2f}{cpu / count * 1000:>12.3f}{compared}")
    print(f"open, inside the process (imports excluded): median {statistics.median(opened):.2f} s")
    if same_export:
        print(f"export: {sum(same_export)} of {len(same_export)} the same bytes as the "
              "baseline's")
    for name in sorted(skip):
        print(f"{name:<14}  skipped (--skip)")


def _imports(source: Path, options: list[str], db: Path, old_db: Path
             ) -> tuple[list[str], list[str]]:
    """An import's command, for this code into ``db`` and for the baseline into
    ``old_db`` (its own store, so that this code's steps read only what it wrote)."""
    def command(store: Path) -> list[str]:
        return reader("import", str(source), *options, "--db", str(store))
    return command(db), command(old_db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None,
                        help="Where to build the stores (default: a temporary folder).")
    parser.add_argument("--keep", action="store_true", help="Keep the generated files.")
    parser.add_argument("--skip", nargs="*", default=[], choices=["evaluate", "queue", "export"],
                        help="Steps not to run (at 100,000 documents, to save time).")
    parser.add_argument("--baseline", metavar="REF",
                        help="Also run each step with this commit's code, alternating, and "
                        "print its times and the ratio.")
    args = parser.parse_args()
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    # Absolute: each step runs in the size's folder.
    base = Path(tempfile.mkdtemp(prefix="scale-", dir=args.dir)).resolve()
    try:
        _compiled(REPO)
        old = None if args.baseline is None else baseline_code(args.baseline, base)
        for count in args.sizes:
            run_size(count, args.repeats, base, frozenset(args.skip), old)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
