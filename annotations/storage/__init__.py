"""How the gold store keeps its data, by job: ``files`` (lock, journal, main file),
``tables`` (records and indexes in memory) and ``patch`` (the span-patch journal op).
The public API is :class:`annotations.store.GoldStore`."""

from ..layer import common_run
from ..output import JOURNAL_SUFFIX, LOCK_SUFFIX
from .files import AtomicJSONStorage
from .patch import PATCH_TABLE
from .tables import TABLES, Op, Record

__all__ = [
    "JOURNAL_SUFFIX", "LOCK_SUFFIX", "PATCH_TABLE", "TABLES", "AtomicJSONStorage", "Op",
    "Record", "common_run",
]  # fmt: skip
