"""Which accepted annotation is the gold of a document: the one rule that evaluation,
export and review share.

Per document: with an annotator named (``--annotator``), that annotator's accepted
annotation; otherwise the adjudicated annotation (annotator ``gold``) when it is
accepted; otherwise every accepted annotation of the document (evaluation refuses a
document with several, export writes them all).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .store import GoldStore

ADJUDICATED = "gold"
"""The annotator name under which adjudication stores its annotation."""

Record = dict[str, Any]
T = TypeVar("T")


def gold_records_by_document(store: GoldStore, annotator: str | None = None
                             ) -> dict[str, list[Record]]:
    """Accepted annotation records chosen as gold, by document id in document order."""
    return dict(iter_gold_records(store, annotator))


def iter_gold_records(store: GoldStore, annotator: str | None = None,
                      doc_ids: Iterable[str] | None = None
                      ) -> Iterator[tuple[str, list[Record]]]:
    """Each document's gold records (see :func:`gold_records_by_document`), one document
    at a time in document order (or that of ``doc_ids``): a bulk reader holds one
    document's records at once."""
    # The store yields a document's records together, in document order.
    for doc_id, group in groupby(store.gold_records(annotator, doc_ids),
                                 key=itemgetter("doc_id")):
        yield doc_id, _chosen(list(group), itemgetter("annotator"), annotator)


def _chosen(accepted: list[T], annotator_of: Callable[[T], str], annotator: str | None
            ) -> list[T]:
    """Of one document's accepted annotations, those that are its gold."""
    if annotator is None and len(accepted) > 1:
        adjudicated = [a for a in accepted if annotator_of(a) == ADJUDICATED]
        if adjudicated:
            return adjudicated
    return accepted


def gold_annotator_counts(store: GoldStore, annotator: str | None = None) -> Counter[str]:
    """How many documents' gold each annotator gives, from the statuses the store keeps
    (no annotation is read: at 100,000 documents reading them all takes many seconds)."""
    names = [annotator] if annotator is not None else store.annotators()
    counts: Counter[str] = Counter()
    for doc_id in store.document_ids():
        accepted = [name for name in names
                    if store.annotation_status(doc_id, name) == "accept"]
        counts.update(_chosen(accepted, str, annotator))
    return counts


def describe_gold(counts: Mapping[str, int], annotator: str | None) -> str:
    """One line saying whose annotations are the gold (documents per annotator)."""
    remaining = {name: n for name, n in counts.items() if n}
    if not remaining:
        return "gold: no accepted annotations" + (f" by {annotator}" if annotator else "")
    if annotator is not None:
        return f"gold: annotator {annotator} (--annotator) on {remaining.get(annotator, 0)} " \
               "document(s)"
    parts = []
    if ADJUDICATED in remaining:
        parts.append(f"the adjudicated annotation ({ADJUDICATED}) on "
                     f"{remaining.pop(ADJUDICATED)} document(s)")
    parts += [f"annotator {name} on {n}" for name, n in sorted(remaining.items())]
    return "gold: " + "; ".join(parts)
