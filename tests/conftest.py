"""Shared fixtures: a fresh gold store in a temporary folder, and a small document."""

from __future__ import annotations

import gc
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import textual._wait as textual_wait
from textual._styles_cache import StylesCache

from annotations.models import Document, LabelScheme
from annotations.store import GoldStore

SAMPLE_TEXT = (
    "Maria Keller, the mayor of Lindenfeld, met engineers from Aster Rail on Monday.\n"
    "The talks in Geneva ended without a deal, Keller said.\n"
)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def process_alive() -> Callable[[int], bool]:
    """Whether a process runs, read from Linux's /proc (for tests of killed processes)."""
    return _alive


@pytest.fixture
def gold_path(tmp_path: Path) -> Path:
    """Where a test's gold store lives (not created yet)."""
    return tmp_path / "gold.json"


@pytest.fixture
def sample_document() -> Document:
    return Document.from_text(SAMPLE_TEXT, {"title": "Sample"})


@pytest.fixture
def store(gold_path: Path, sample_document: Document) -> Iterator[GoldStore]:
    """A writable store holding ``sample_document`` and the labels PERSON, ORG, GPE, DATE
    and the relation label works_for; closed (checkpointed) after the test."""
    gold = GoldStore(gold_path)
    gold.add_documents([sample_document])
    gold.set_labels(
        LabelScheme().with_entities(["PERSON", "ORG", "GPE", "DATE"]).with_relations(["works_for"])
    )
    try:
        yield gold
    finally:
        gold.close()


def pytest_configure(config: pytest.Config) -> None:
    # The suite starts many Python processes (test workers, the CLI, the app in tmux and
    # in the browser, crash workers): let them keep the compiled modules of this checkout
    # rather than compile them again each time, even where PYTHONDONTWRITEBYTECODE is set.
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    # A store fsyncs every edit, and the tests make thousands of edits in temporary
    # folders: on the team's machine /tmp is a disk and each fsync waited on it (875 of
    # them took 3.3 s of one round-trip test). Temporary folders (tmp_path, tempfile,
    # and those of the processes the tests start: the environment is inherited) go to
    # /dev/shm, a tmpfs, when there is one and TMPDIR is not chosen. What the tests
    # check is the same: a process killed with SIGKILL leaves the same page cache;
    # only the wait for the disk goes.
    if not os.environ.get("TMPDIR") and os.path.isdir("/dev/shm") and os.access(
            "/dev/shm", os.W_OK | os.X_OK):
        os.environ["TMPDIR"] = "/dev/shm"
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    # Textual's Pilot waits for the process to be idle after every key, in steps of 20 ms
    # (textual._wait.SLEEP_GRANULARITY); steps of 4 ms keep its rule (idle: under 1/20 of
    # a step of CPU time in a step) and make a key cost its work, not 40 ms of sleep.
    textual_wait.SLEEP_GRANULARITY = 0.004
    textual_wait.SLEEP_IDLE = textual_wait.SLEEP_GRANULARITY / 20


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # Textual caches StylesCache.get_inner_outer with functools.lru_cache on the method
    # (textual/_styles_cache.py), so the cache's keys hold up to 1,024 StylesCache
    # instances of apps long closed, each with its widget's rendered lines (Strips and
    # their caches): after the app tests a worker kept ~180,000 such objects alive, which
    # every full garbage collection walked again (at the worker's end pytest runs five).
    # The cached values are pure (two colours -> two styles): emptying it drops nothing.
    StylesCache.get_inner_outer.cache_clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    # After the last test pytest collects garbage five times in a row (the unraisable-
    # exception plugin's cleanup, which runs after this hook) so that finalisers that
    # raise are reported; each pass walks every object a worker still holds (the test
    # modules, Textual, spaCy, Hypothesis), 1.5 to 2.4 s per worker in all, paid by each
    # worker at the end of the run. One pass here runs the finalisers of the garbage the
    # tests left (what those passes are for), then freezing what is left moves it out of
    # the collector's sight, so pytest's passes only look at what that one freed.
    gc.collect()
    gc.freeze()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (pyproject's addopts): one worker more than the cores this process may
    use.  About a third of the suite's time is spent waiting on other processes (the app
    in tmux, the browser and its sessions, CLI runs, workers killed on purpose), time in
    which a third worker on two cores runs tests (measured on the shared 2-core machine,
    alternating: 3 workers 63 and 65 s, 2 workers 70 and 77 s; 4 workers 70 and 72 s).
    PYTEST_XDIST_AUTO_NUM_WORKERS still decides when it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (
        (os.cpu_count() or 1) + 1)


# The files whose tests take longest (seconds of wall time each, mostly waiting on other
# processes), with their share of a run: measured with 3 workers on the 2-core machine
# (per-test wall time, summed by file, median of three runs).  They start first, dealt
# between the workers so that each starts with a like share.  The tests run with xdist's
# work-stealing scheduler (pyproject.toml): each worker is sent an equal run of
# consecutive tests at the start, and a worker that runs out takes half of what the
# busiest one has left.  Before, with load scheduling and the long files at the head of
# the list, all of them went to the first worker, which finished 4 to 5 s after the
# others; and with them dealt, one worker was still left with a queue of its own
# (sent as the list ran short) for up to 6 s after the others had finished.
LONG_FILES = {
    "test_cli_foundation.py": 27.0,
    "test_serve_browser.py": 15.6,
    "test_tmux_annotate.py": 10.9,
    "test_store_crash.py": 9.7,
    "test_tmux_budget.py": 4.3,
    "test_tmux_hostile.py": 2.8,  # with -n 0, after its review test was added
    "test_tmux_adjudicate.py": 1.6,
}


def deal_long_files_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """``items`` reordered so that each of the ``workers`` runs of consecutive tests that
    xdist's work-stealing scheduler sends at the start begins with a like share of
    ``LONG_FILES``, each file kept whole (a file's module fixtures then run in one
    worker, once).  The order within each file and among the other tests is kept."""
    by_file: dict[str, list[pytest.Item]] = {}
    rest: list[pytest.Item] = []
    for item in items:
        (by_file.setdefault(item.path.name, []) if item.path.name in LONG_FILES
         else rest).append(item)  # fmt: skip
    if workers < 2:
        return [item for name in LONG_FILES for item in by_file.get(name, [])] + rest
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for name in sorted(by_file, key=lambda name: -LONG_FILES[name]):
        least = loads.index(min(loads))  # longest file to the least loaded worker
        shares[least] += by_file[name]
        loads[least] += LONG_FILES[name]
    ordered: list[pytest.Item] = []
    left = len(items)
    for i, share in enumerate(shares):
        size = left // (workers - i)  # xdist.scheduler.worksteal: check_schedule
        fill = max(size - len(share), 0)
        ordered += share + rest[:fill]
        rest = rest[fill:]
        left -= len(share) + fill
    return ordered + rest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    items[:] = deal_long_files_first(items, workers)
