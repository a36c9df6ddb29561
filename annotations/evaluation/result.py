"""The whole evaluation as one value: :func:`run_evaluation` reads the gold and the
predictions from a store, scores every extractor (:func:`evaluate_extractor`), compares
every pair, and returns an :class:`Evaluation` that the terminal, ``--json`` and the HTML
report only print."""

from __future__ import annotations

import heapq
from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import (
    CATEGORIES,
    ENTITY_WIDTH,
    RELATION_MODES,
    SCHEMES,
    STRICT,
    UNGROUNDED_RULES,
    EvalDocument,
)
from .bootstrap import bootstrap_intervals, usable_interval
from .counting import Accumulator, count_eval_document, edge_whitespace_errors
from .documents import GoldDocuments, check_ungrounded_rule
from .provenance import SeededCount, SeededGold
from .schemes import EntityScores, RelationScores, _entity_entry, entity_prf, relation_row

if TYPE_CHECKING:
    from ..significance import PairComparison
    from ..store import GoldStore

UNGROUNDED_SENTENCES = {
    "spurious": "strings an extractor returned that could not be placed on the text are "
                "counted as false positives (spurious) in every scheme",
    "ignore": "strings an extractor returned that could not be placed on the text are left "
              "out of the scores (--ungrounded ignore)",
}
"""The rule for ungrounded strings, as every output states it."""
assert set(UNGROUNDED_SENTENCES) == set(UNGROUNDED_RULES)


@dataclass
class ExtractorResult:
    """Everything ``reader evaluate`` shows about one extractor."""

    extractor: str
    entities: EntityScores
    relations: RelationScores
    intervals: dict[str, tuple[float, float]]
    confusion: Counter[tuple[str | None, str | None]]
    missed: Counter[tuple[str, str]]
    spurious: Counter[tuple[str, str]]
    doc_ids: list[str]
    titles: list[str]
    seeded: SeededGold | None = None
    grounding: dict[str, Any] | None = None
    """String alignment counts of the stored predictions (see ``annotations.grounding``)."""
    ungrounded: Counter[tuple[str, str]] = field(default_factory=Counter)
    """The listed ungrounded strings counted as spurious, ``(text, label)``."""
    ungrounded_spans: int = 0
    """Ungrounded strings counted as spurious (listed or not)."""
    ungrounded_relations: int = 0
    """Relations with an ungrounded end counted as spurious."""
    edge_whitespace: int = 0
    """Predicted spans that are strict errors only for whitespace at their edges
    (``counting.edge_whitespace_errors``); 0 when predictions were trimmed first."""

    def interval(self, key: str) -> tuple[float, float] | None:
        """The bootstrap interval of a micro F1 (a scheme, or ``relations:MODE``), or None
        when there is none that says anything (see ``usable_interval``)."""
        return usable_interval(self.intervals.get(key))

    def worst_documents(self, limit: int = 10, scheme: str = "strict") -> list[dict[str, Any]]:
        f1 = self.entities.document_f1(scheme)
        order = [int(i) for i in np.argsort(f1, kind="stable") if not np.isnan(f1[i])]
        base = SCHEMES.index(scheme) * 5
        out = []
        for i in order[:limit]:
            counts = self.entities.doc_counts[i, base : base + 5]
            out.append({"doc_id": self.doc_ids[i], "title": self.titles[i], "f1": float(f1[i]),
                        **{name: int(n) for name, n in zip(CATEGORIES, counts, strict=True)}})
        return out

    def ungrounded_json(self, rule: str, top: int = 20) -> dict[str, Any]:
        return {"rule": rule, "spurious_spans": self.ungrounded_spans,
                "spurious_relations": self.ungrounded_relations,
                "strings": [{"text": t, "label": label, "count": n}
                            for (t, label), n in self.ungrounded.most_common(top)]}

    def to_json(self, schemes: Sequence[str] = SCHEMES, top: int = 20,
                ungrounded: str = "spurious") -> dict[str, Any]:
        micro = {}
        for scheme in schemes:
            entry = self.entities.micro(scheme)
            ci = self.interval(scheme)
            entry["f1_ci"] = list(ci) if ci else None
            micro[scheme] = entry
        relation_micro = {}
        for mode in RELATION_MODES:
            entry = self.relations.micro(mode)
            ci = self.interval(f"relations:{mode}")
            entry["f1_ci"] = list(ci) if ci else None
            relation_micro[mode] = entry
        labels = sorted(self.entities.label_counts)
        relation_labels = sorted(self.relations.label_counts)
        return {
            "documents": len(self.doc_ids),
            "entities": {
                "micro": micro,
                "macro": {s: vars(self.entities.macro(s)) for s in schemes},
                "by_label": {label: {s: _entity_entry(self.entities.counts(s, label),
                                                      SCHEMES.index(s)) for s in schemes}
                             for label in labels},
            },
            "relations": {
                "micro": relation_micro,
                "by_label": {label: {m: self.relations.by_label(m)[label] for m in RELATION_MODES}
                             for label in relation_labels},
            },
            "confusion": [
                {"gold": gold, "predicted": pred, "count": n}
                for (gold, pred), n in sorted(self.confusion.items(),
                                              key=lambda kv: (-kv[1], str(kv[0])))
            ],
            "missed": [{"text": t, "label": label, "count": n}
                       for (t, label), n in self.missed.most_common(top)],
            "spurious": [{"text": t, "label": label, "count": n}
                         for (t, label), n in self.spurious.most_common(top)],
            "worst_documents": self.worst_documents(top),
            "gold_provenance": self.seeded.to_json() if self.seeded else None,
            "grounding": self.grounding,
            "ungrounded": self.ungrounded_json(ungrounded, top),
            "edge_whitespace_errors": self.edge_whitespace,
        }


REPORT_EMPTY_RANK = 2.0
"""Where a document with neither gold nor predicted spans (no F1) ranks among the
documents shown lowest strict F1 first: after every F1 (see :func:`report_order`)."""


def report_order(f1: np.ndarray) -> list[int]:
    """Document indices lowest strict F1 first (ties in document order), documents without
    an F1 last: the order the HTML report shows documents in."""
    return [int(i) for i in np.argsort(np.nan_to_num(f1, nan=REPORT_EMPTY_RANK),
                                       kind="stable")]


def _report_rank(row: Sequence[int]) -> float:
    """One document's place in :func:`report_order` from its flat counts."""
    cor, inc, par, mis, spu = row[STRICT * 5: STRICT * 5 + 5]
    if cor + inc + par + spu == 0 and cor + inc + par + mis == 0:
        return REPORT_EMPTY_RANK
    return entity_prf(row[STRICT * 5: STRICT * 5 + 5], STRICT).f1


class ExtractorTally:
    """One extractor's :class:`ExtractorResult` gathered one document at a time: each
    document added is counted for every scheme, label and relation mode and let go; what
    stays is what the result shows (counts per document as arrays, for the bootstrap and
    the paired tests; counters of labels and error strings) and, for the HTML report, the
    ``keep`` documents with the lowest strict F1 (``None``: every document).

    ``symmetric``: relation labels whose direction is ignored.
    """

    def __init__(self, extractor: str, symmetric: Collection[str] = (),
                 keep: int | None = 0) -> None:
        self.extractor = extractor
        self.symmetric = symmetric
        self.keep = keep
        self.acc = Accumulator()
        self.entity_rows = array("q")
        self.relation_rows = array("q")
        self.relation_labels: dict[str, list[int]] = {}
        self.doc_ids: list[str] = []
        self.titles: list[str] = []
        self.seeded = SeededCount(extractor)
        self.ungrounded_spans = 0
        self.ungrounded_relations = 0
        self.edge_whitespace = 0
        # The documents kept for the report: every one (keep None), or a heap of the
        # ``keep`` lowest in report order, as (-rank, -index, document).
        self._every: dict[int, EvalDocument] = {}
        self._lowest: list[tuple[float, int, EvalDocument]] = []

    def add(self, doc: EvalDocument) -> None:
        index = len(self.doc_ids)
        row = count_eval_document(doc, self.acc, index)
        self.entity_rows.extend(row)
        self.relation_rows.extend(relation_row(doc, self.symmetric, self.relation_labels))
        self.doc_ids.append(doc.doc_id)
        self.titles.append(doc.title)
        self.seeded.add(doc)
        self.ungrounded_spans += len(doc.ungrounded) + doc.ungrounded_unlisted
        self.ungrounded_relations += doc.dropped_relations
        self.edge_whitespace += edge_whitespace_errors(doc)
        if self.keep is None:
            self._every[index] = doc
        elif self.keep > 0:
            entry = (-_report_rank(row), -index, doc)
            if len(self._lowest) < self.keep:
                heapq.heappush(self._lowest, entry)
            elif entry[:2] > self._lowest[0][:2]:
                heapq.heapreplace(self._lowest, entry)

    def kept_documents(self) -> dict[int, EvalDocument]:
        """The documents kept for the report, by index."""
        if self.keep is None:
            return dict(self._every)
        return {-index: doc for _, index, doc in self._lowest}

    def result(self, bootstrap: int = 1000, seed: int = 0) -> ExtractorResult:
        """The result over the documents added (the tally takes no more after this)."""
        acc = self.acc
        n_docs = len(self.doc_ids)
        counts = np.frombuffer(self.entity_rows, dtype=np.int64).reshape(n_docs, ENTITY_WIDTH)
        entities = EntityScores(counts.copy(), acc.finish(), acc.label_documents())
        relations = RelationScores(
            np.frombuffer(self.relation_rows, dtype=np.int64).reshape(n_docs, 6).copy(),
            self.relation_labels)
        intervals = bootstrap_intervals(
            entities.doc_counts, relations.doc_counts if relations.any else None, bootstrap,
            seed)
        return ExtractorResult(
            extractor=self.extractor, entities=entities, relations=relations,
            intervals=intervals,
            confusion=acc.confusion_counts + Counter(
                {(label, label): n for label, n in acc.correct_counts.items()}),
            missed=acc.missed_counts, spurious=acc.spurious_counts, doc_ids=self.doc_ids,
            titles=self.titles, seeded=self.seeded.result(),
            ungrounded=acc.ungrounded_counts, ungrounded_spans=self.ungrounded_spans,
            ungrounded_relations=self.ungrounded_relations,
            edge_whitespace=self.edge_whitespace,
        )


def evaluate_extractor(
    extractor: str, docs: Iterable[EvalDocument], *, bootstrap: int = 1000, seed: int = 0,
    symmetric: Collection[str] = (),
) -> ExtractorResult:
    """Entity and relation scores, bootstrap intervals and error analysis for one extractor;
    ``symmetric``: relation labels whose direction is ignored."""
    tally = ExtractorTally(extractor, symmetric)
    for doc in docs:
        tally.add(doc)
    return tally.result(bootstrap, seed)


@dataclass
class Evaluation:
    """Several extractors scored on the same gold documents."""

    store: str
    annotator: str | None
    documents: int
    bootstrap: int
    seed: int
    results: dict[str, ExtractorResult]
    confidence: float = 0.95
    comparisons: list[PairComparison] = field(default_factory=list)
    gold_annotators: dict[str, int] = field(default_factory=dict)
    """Documents whose gold each annotator gives (``gold``: the adjudicated annotation)."""
    ungrounded: str = "spurious"
    """The rule for ungrounded strings (one of ``UNGROUNDED_RULES``)."""
    schemes: tuple[str, ...] = SCHEMES
    """The entity schemes asked for (the outputs show these)."""
    scored_documents: dict[str, Mapping[int, EvalDocument]] = field(default_factory=dict,
                                                                    repr=False)
    """Per extractor, the documents kept for the HTML report by index among the scored
    ones: those with the lowest strict F1 (``run_evaluation``'s ``keep_documents``)."""
    colours: dict[str, str] = field(default_factory=dict)
    """Entity label colours of the store (for the HTML report)."""
    strip_predictions: bool = False
    """Whether predicted spans were trimmed of edge whitespace before scoring."""

    @property
    def edge_whitespace_sentence(self) -> str:
        """What the edge whitespace figures mean, as every output states it."""
        if self.strip_predictions:
            return ("predicted spans were trimmed of whitespace at their edges before "
                    "scoring (--strip-predictions)")
        return ("predictions are scored as stored; a predicted span with whitespace at an "
                "edge is a boundary error, and these many of the errors are edge "
                "whitespace only (--strip-predictions trims before scoring)")

    def edge_whitespace_lines(self) -> list[tuple[str, int]]:
        """``(extractor, errors that are edge whitespace only)``, per extractor."""
        return [(name, r.edge_whitespace) for name, r in self.results.items()]

    @property
    def ungrounded_sentence(self) -> str:
        return UNGROUNDED_SENTENCES[self.ungrounded]

    def to_json(self, schemes: Sequence[str] | None = None, top: int = 20) -> dict[str, Any]:
        schemes = self.schemes if schemes is None else schemes
        return {
            "format": "reader-evaluation",
            "version": 1,
            "store": self.store,
            "annotator": self.annotator,
            "gold_annotators": dict(sorted(self.gold_annotators.items())),
            "documents": self.documents,
            "schemes": list(schemes),
            "relation_modes": list(RELATION_MODES),
            "bootstrap": {"samples": self.bootstrap, "seed": self.seed,
                          "confidence": self.confidence},
            "ungrounded": {"rule": self.ungrounded, "sentence": self.ungrounded_sentence},
            "strip_predictions": self.strip_predictions,
            "extractors": {name: result.to_json(schemes, top, self.ungrounded)
                           for name, result in self.results.items()},
            "comparisons": [comparison.to_json() for comparison in self.comparisons],
        }

    def comparison_json(self) -> dict[str, Any]:
        """``reader compare --json``: the one comparison of a two-extractor evaluation."""
        (comparison,) = self.comparisons
        return {"format": "reader-comparison", "version": 1, "store": self.store,
                "annotator": self.annotator, **comparison.to_json(),
                "ungrounded": {"rule": self.ungrounded, "sentence": self.ungrounded_sentence,
                               "extractors": {name: r.ungrounded_json(self.ungrounded)
                                              for name, r in self.results.items()}},
                "gold_provenance": {n: r.seeded.to_json() if r.seeded else None
                                    for n, r in self.results.items()}}


def run_evaluation(
    store: GoldStore, extractors: Sequence[str] = (), *, annotator: str | None = None,
    documents: Collection[str] | None = None, missing_as_empty: bool = False,
    schemes: Sequence[str] = SCHEMES, bootstrap: int = 1000, seed: int = 0,
    intervals: bool = True, rounds: int | None = None, alpha: float | None = None,
    ungrounded: str = "spurious", strip_predictions: bool = False,
    keep_documents: int | None = 100,
) -> Evaluation:
    """Score ``extractors`` (default: every extractor with predictions on gold documents)
    against the gold of ``store`` and compare every pair (A before B in the order given,
    ΔF1 = F1(B) − F1(A)); everything ``reader evaluate`` and ``reader compare`` show.

    The store is read one gold document at a time (:class:`GoldDocuments`), each counted
    for every extractor (:class:`ExtractorTally`) and let go.

    ``documents``: the gold documents to score (ids; default every gold document).
    ``bootstrap``/``seed``: resamples of the documents for the intervals (per extractor
    when ``intervals``, and of each pair's ΔF1).  ``rounds``: of the paired permutation
    test (``None``: the default; 0: no comparison).  ``ungrounded``: ``spurious`` or
    ``ignore`` (see ``UNGROUNDED_RULES``).  ``strip_predictions``: trim whitespace at
    the edges of predicted spans before scoring (by default they are scored as stored,
    and each result counts its errors that are edge whitespace only).
    ``keep_documents``: per extractor, the documents with the lowest strict F1 kept in
    :attr:`Evaluation.scored_documents` for the HTML report (``None``: all).  Raises
    :class:`EvaluationError`.
    """
    from ..grounding import grounding_summary
    from ..significance import ALPHA, ROUNDS, compare_all

    check_ungrounded_rule(ungrounded)
    schemes = tuple(s for s in SCHEMES if s in schemes)
    stream = GoldDocuments(
        store, extractors, annotator=annotator, missing_as_empty=missing_as_empty,
        ungrounded=ungrounded, documents=documents, strip_predictions=strip_predictions)
    symmetric = store.labels.symmetric_relations
    tallies = [ExtractorTally(name, symmetric, keep_documents) for name in stream.names]
    for docs in stream:
        for tally, doc in zip(tallies, docs, strict=True):
            tally.add(doc)
    names = stream.finish()
    scored = {tally.extractor: tally for tally in tallies if tally.extractor in names}
    results = {name: tally.result(bootstrap if intervals else 0, seed)
               for name, tally in scored.items()}
    for name, result in results.items():
        # Only the predictions that carry grounding add to its summary.
        result.grounding = grounding_summary(store, name, stream.grounded[name])
    evaluation = Evaluation(
        store=str(store.path), annotator=annotator,
        documents=len(next(iter(results.values())).doc_ids), bootstrap=bootstrap, seed=seed,
        results=results, gold_annotators=dict(stream.gold_annotators), ungrounded=ungrounded,
        schemes=schemes,
        scored_documents={name: tally.kept_documents() for name, tally in scored.items()},
        colours={label.name: label.colour for label in store.labels.entities},
        strip_predictions=strip_predictions)
    rounds = ROUNDS if rounds is None else rounds
    if len(results) >= 2 and rounds > 0:
        evaluation.comparisons = compare_all(
            list(results.values()), rounds=rounds, samples=bootstrap, seed=seed,
            confidence=evaluation.confidence, alpha=ALPHA if alpha is None else alpha,
            schemes=schemes)
    return evaluation
