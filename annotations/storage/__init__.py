"""How the gold store keeps its data, by job: ``files`` (lock, journal, main file),
``tables`` (records and indexes in memory) and ``patch`` (the span-patch journal op).
The public API is :class:`annotations.store.GoldStore`; ``AtomicJSONStorage`` is here
for plain TinyDB users (``TinyDB(path, storage=AtomicJSONStorage)``)."""

from .files import AtomicJSONStorage

__all__ = ["AtomicJSONStorage"]
