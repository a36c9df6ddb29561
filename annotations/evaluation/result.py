"""The whole evaluation as one value: :func:`run_evaluation` reads the gold and the
predictions from a store, scores every extractor (:func:`evaluate_extractor`), compares
every pair, and returns an :class:`Evaluation` that the terminal, ``--json`` and the HTML
report only print."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import CATEGORIES, RELATION_MODES, SCHEMES, UNGROUNDED_RULES, EvalDocument
from .bootstrap import bootstrap_intervals, usable_interval
from .counting import Accumulator, count_documents, edge_whitespace_errors
from .documents import check_ungrounded_rule, documents_by_extractor
from .provenance import SeededGold, seeded_gold
from .schemes import EntityScores, RelationScores, _entity_entry, score_relations

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


def evaluate_extractor(
    extractor: str, docs: Sequence[EvalDocument], *, bootstrap: int = 1000, seed: int = 0,
    symmetric: Collection[str] = (),
) -> ExtractorResult:
    """Entity and relation scores, bootstrap intervals and error analysis for one extractor;
    ``symmetric``: relation labels whose direction is ignored."""
    acc = Accumulator()
    counts = count_documents(docs, acc)
    entities = EntityScores(counts, acc.finish(), acc.label_documents())
    relations = score_relations(docs, symmetric)
    intervals = bootstrap_intervals(
        entities.doc_counts, relations.doc_counts if relations.any else None, bootstrap, seed)
    return ExtractorResult(
        extractor=extractor, entities=entities, relations=relations, intervals=intervals,
        confusion=Counter(acc.confusion) + Counter(
            {(label, label): n for label, n in acc.correct_counts.items()}),
        missed=Counter(acc.missed_texts),
        spurious=Counter(acc.spurious_texts), doc_ids=[d.doc_id for d in docs],
        titles=[d.title for d in docs], seeded=seeded_gold(extractor, docs),
        ungrounded=Counter(acc.ungrounded_texts),
        ungrounded_spans=sum(len(d.ungrounded) + d.ungrounded_unlisted for d in docs),
        ungrounded_relations=sum(d.dropped_relations for d in docs),
        edge_whitespace=sum(edge_whitespace_errors(d) for d in docs),
    )


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
    scored_documents: dict[str, list[EvalDocument]] = field(default_factory=dict, repr=False)
    """Per extractor, the documents it was scored on (what the HTML report draws)."""
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
) -> Evaluation:
    """Score ``extractors`` (default: every extractor with predictions on gold documents)
    against the gold of ``store`` and compare every pair (A before B in the order given,
    ΔF1 = F1(B) − F1(A)); everything ``reader evaluate`` and ``reader compare`` show.

    ``documents``: the gold documents to score (ids; default every gold document).
    ``bootstrap``/``seed``: resamples of the documents for the intervals (per extractor
    when ``intervals``, and of each pair's ΔF1).  ``rounds``: of the paired permutation
    test (``None``: the default; 0: no comparison).  ``ungrounded``: ``spurious`` or
    ``ignore`` (see ``UNGROUNDED_RULES``).  ``strip_predictions``: trim whitespace at
    the edges of predicted spans before scoring (by default they are scored as stored,
    and each result counts its errors that are edge whitespace only).  Raises
    :class:`EvaluationError`.
    """
    from ..grounding import grounding_summary
    from ..significance import ALPHA, ROUNDS, compare_all

    check_ungrounded_rule(ungrounded)
    schemes = tuple(s for s in SCHEMES if s in schemes)
    docs, gold_counts = documents_by_extractor(
        store, extractors, annotator=annotator, missing_as_empty=missing_as_empty,
        ungrounded=ungrounded, documents=documents, strip_predictions=strip_predictions)
    symmetric = store.labels.symmetric_relations
    results = {name: evaluate_extractor(name, extractor_docs, seed=seed, symmetric=symmetric,
                                        bootstrap=bootstrap if intervals else 0)
               for name, extractor_docs in docs.items()}
    for name, result in results.items():
        result.grounding = grounding_summary(store, name, result.doc_ids)
    evaluation = Evaluation(
        store=str(store.path), annotator=annotator,
        documents=len(next(iter(docs.values()))), bootstrap=bootstrap, seed=seed,
        results=results, gold_annotators=gold_counts, ungrounded=ungrounded,
        schemes=schemes, scored_documents=docs,
        colours={label.name: label.colour for label in store.labels.entities},
        strip_predictions=strip_predictions)
    rounds = ROUNDS if rounds is None else rounds
    if len(results) >= 2 and rounds > 0:
        evaluation.comparisons = compare_all(
            list(results.values()), rounds=rounds, samples=bootstrap, seed=seed,
            confidence=evaluation.confidence, alpha=ALPHA if alpha is None else alpha,
            schemes=schemes)
    return evaluation
