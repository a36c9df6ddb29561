"""Every agreement measure over one set of annotators, from a store or from plain data.

:func:`collect_study` reads the annotations (and, as pseudo-annotators, extractor
predictions) from a :class:`~annotations.store.GoldStore`; :func:`compute_agreement`
turns the resulting :class:`AgreementStudy` into an :class:`AgreementResult`, whose
:meth:`~AgreementResult.to_json` is what ``reader agreement --json`` prints.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import AnnotationsError
from ..evaluation import RelationTuple, SpanTuple, _layer_tuples, bootstrap_weights
from ..gold import ADJUDICATED
from .relations import RELATION_AGREEMENT_MODES, count_relations
from .spans import LABELLED_MODES, SPAN_MODES, count_pair, f1_entry
from .tokens import TOKENISATION, Kappa, TokenTable, cohen_kappa, fleiss_kappa, token_table
from .unitizing import UnitizingAlpha, unitizing_alpha_arrays

if TYPE_CHECKING:
    from ..store import GoldStore

MIN_SHARED_DOCUMENTS = 10
"""Fewer documents than this in common makes a pair's figures a diagnostic, not a finding."""

StatusChoice = Literal["accept", "all"]


class AgreementError(AnnotationsError):
    """Agreement cannot be computed (and no figure is shown)."""


@dataclass(frozen=True)
class Layer:
    spans: tuple[SpanTuple, ...]
    relations: tuple[RelationTuple, ...] = ()


@dataclass
class AgreementStudy:
    """Documents (in store order) and each annotator's layer on the ones they annotated."""

    texts: dict[str, str]
    layers: dict[str, dict[str, Layer]]
    extractors: list[str] = field(default_factory=list)
    """Which of the annotators are extractors taking part as pseudo-annotators."""
    store: str | None = None
    statuses: StatusChoice = "accept"

    @property
    def annotators(self) -> list[str]:
        return list(self.layers)


def collect_study(
    store: GoldStore, *, annotators: Sequence[str] = (), extractors: Sequence[str] = (),
    statuses: StatusChoice = "accept",
) -> AgreementStudy:
    """The annotations to compare: by default every annotator but ``gold`` (the adjudicated
    one), accepted annotations only; ``statuses="all"`` takes every annotation whatever its
    status.  Each extractor in ``extractors`` takes part with its predictions."""
    known = store.annotators()
    chosen = list(dict.fromkeys(annotators)) or [a for a in known if a != ADJUDICATED]
    unknown = [a for a in chosen if a not in known]
    if unknown:
        raise AgreementError(f"{store.path}: no annotations by {', '.join(map(repr, unknown))} "
                             f"(annotators: {', '.join(known) or 'none'})")
    known_extractors = store.extractors()
    for name in extractors:
        if name not in known_extractors:
            raise AgreementError(
                f"{store.path}: unknown extractor {name!r}; predictions exist for: "
                f"{', '.join(known_extractors) or 'none'}")
        if name in chosen:
            raise AgreementError(f"{store.path}: {name!r} is both an annotator and an "
                                 "extractor; leave one of them out")
    layers: dict[str, dict[str, Layer]] = {name: {} for name in chosen}
    texts: dict[str, str] = {}
    wanted = set(chosen)
    for record in store.annotation_records(status="accept" if statuses == "accept" else None):
        name = record["annotator"]
        if name not in wanted:
            continue
        doc_id = record["doc_id"]
        text = texts.get(doc_id)
        if text is None:
            text = texts[doc_id] = store.text(doc_id)
        spans, relations = _layer_tuples(
            record, len(text), f"{store.path}: annotation of document {doc_id} by {name!r}")
        layers[name][doc_id] = Layer(tuple(sorted(spans)), tuple(relations))
    for name in dict.fromkeys(extractors):
        by_doc: dict[str, Layer] = {}
        layers[name] = by_doc
        for doc_id in store.document_ids():
            prediction = store.prediction_record(doc_id, name)
            if prediction is None:
                continue
            text = texts.get(doc_id)
            if text is None:
                text = texts[doc_id] = store.text(doc_id)
            spans, relations = _layer_tuples(
                prediction, len(text), f"{store.path}: extractor {name!r}, document {doc_id}")
            by_doc[doc_id] = Layer(tuple(sorted(spans)), tuple(relations))
    order = {doc_id: i for i, doc_id in enumerate(store.document_ids())}
    texts = dict(sorted(texts.items(), key=lambda kv: order[kv[0]]))
    return AgreementStudy(texts=texts, layers=layers, extractors=list(dict.fromkeys(extractors)),
                          store=str(store.path), statuses=statuses)


# -- results -------------------------------------------------------------------------


@dataclass
class PairResult:
    """Two annotators on the documents both annotated."""

    a: str
    b: str
    doc_ids: list[str]
    span_counts: np.ndarray  # (documents, 9): (agreed, n_a, n_b) per span mode
    span_labels: dict[str, dict[str, list[int]]]  # mode -> label -> [agreed, n_a, n_b]
    relation_counts: np.ndarray  # (documents, 9): (agreed, n_a, n_b) per relation mode
    kappa: Kappa
    intervals: dict[str, tuple[float, float]]

    def spans(self, mode: str) -> dict[str, float | int | None]:
        i = SPAN_MODES.index(mode) * 3
        tp, n_a, n_b = (int(x) for x in self.span_counts[:, i : i + 3].sum(axis=0))
        return f1_entry(tp, n_a, n_b)

    def relations(self, mode: str) -> dict[str, float | int | None]:
        i = RELATION_AGREEMENT_MODES.index(mode) * 3
        tp, n_a, n_b = (int(x) for x in self.relation_counts[:, i : i + 3].sum(axis=0))
        return f1_entry(tp, n_a, n_b)

    def by_label(self, mode: str) -> dict[str, dict[str, float | int | None]]:
        return {label: f1_entry(*counts)
                for label, counts in sorted(self.span_labels[mode].items())}

    def to_json(self) -> dict[str, Any]:
        spans: dict[str, Any] = {}
        for mode in SPAN_MODES:
            ci = self.intervals.get(mode)
            micro: dict[str, Any] = {**self.spans(mode), "f1_ci": list(ci) if ci else None}
            spans[mode] = {"micro": micro}
            if mode in LABELLED_MODES:
                spans[mode]["by_label"] = self.by_label(mode)
        return {
            "a": self.a, "b": self.b, "documents": len(self.doc_ids),
            "spans": spans,
            "relations": {mode: self.relations(mode) for mode in RELATION_AGREEMENT_MODES},
            "cohen_kappa": _kappa_json(self.kappa),
        }


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _kappa_json(kappa: Kappa) -> dict[str, Any]:
    return {"kappa": _number(kappa.value), "observed": _number(kappa.observed),
            "expected": _number(kappa.expected), "tokens": kappa.tokens}


def _alpha_json(alpha: UnitizingAlpha) -> dict[str, float | None]:
    return {"alpha": _number(alpha.alpha), "observed": _number(alpha.observed),
            "expected": _number(alpha.expected)}


@dataclass
class AgreementResult:
    """Everything ``reader agreement`` shows."""

    store: str | None
    statuses: StatusChoice
    annotators: list[str]
    extractors: list[str]
    documents: int
    shared_by_all: int
    pairs: list[PairResult]
    fleiss: Kappa | None
    alpha: UnitizingAlpha | None
    alpha_by_label: dict[str, UnitizingAlpha]
    alpha_length: int
    diagnostics: list[dict[str, Any]]
    disagreements: Counter[tuple[str, str, str]]
    bootstrap: int
    seed: int
    confidence: float = 0.95

    def to_json(self, top: int = 20) -> dict[str, Any]:
        return {
            "format": "reader-agreement",
            "version": 1,
            "store": self.store,
            "statuses": self.statuses,
            "annotators": self.annotators,
            "extractors": self.extractors,
            "documents": {"annotated": self.documents, "shared_by_all": self.shared_by_all},
            "span_modes": list(SPAN_MODES),
            "relation_modes": list(RELATION_AGREEMENT_MODES),
            "tokenisation": TOKENISATION,
            "bootstrap": {"samples": self.bootstrap, "seed": self.seed,
                          "confidence": self.confidence},
            "pairs": [pair.to_json() for pair in self.pairs],
            "fleiss_kappa": (None if self.fleiss is None else
                             {**_kappa_json(self.fleiss), "documents": self.shared_by_all}),
            "alpha_u": (None if self.alpha is None else {
                **_alpha_json(self.alpha), "documents": self.shared_by_all,
                "length": self.alpha_length,
                "by_label": {label: _alpha_json(a) for label, a in self.alpha_by_label.items()},
            }),
            "diagnostics": self.diagnostics,
            "disagreements": [{"text": text, "label": label, "other": other, "count": n}
                              for (text, label, other), n in self.disagreements.most_common(top)],
        }


# -- computing -----------------------------------------------------------------------

NOT_MARKED = "(not marked)"
OTHER_BOUNDARIES = "(other boundaries)"


def _disagreements(text: str, a: Sequence[SpanTuple], b: Sequence[SpanTuple],
                   out: Counter[tuple[str, str, str]]) -> None:
    """Spans of one side the other did not mark the same way: ``(text, label, other)``,
    where ``other`` is the other side's label on the same offsets, ``(other
    boundaries)`` for an overlapping span, or ``(not marked)``."""
    label_b = {(s, e): label for s, e, label in b}
    label_a = {(s, e): label for s, e, label in a}
    for mine, theirs, labels in ((a, b, label_b), (b, a, label_a)):
        theirs_set = set(theirs)
        for span in mine:
            if span in theirs_set:
                continue
            s, e, label = span
            other = labels.get((s, e))
            if other is not None:
                if mine is b:
                    continue  # counted once, from a's side
            elif any(ts < e and s < te for ts, te, _ in theirs):
                other = OTHER_BOUNDARIES
            else:
                other = NOT_MARKED
            out[(text[s:e], label, other)] += 1


def _intervals(rows: np.ndarray, samples: int, seed: int, confidence: float
               ) -> dict[str, tuple[float, float]]:
    if samples <= 0 or len(rows) == 0:
        return {}
    sums = np.vstack([w @ rows for w in bootstrap_weights(len(rows), samples, seed)])
    tail = (1 - confidence) / 2 * 100
    out = {}
    for index, mode in enumerate(SPAN_MODES):
        tp, total = sums[:, 3 * index], sums[:, 3 * index + 1] + sums[:, 3 * index + 2]
        if not (total > 0).any():
            continue  # nothing marked in any resample: no interval
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(total > 0, 2 * tp / total, np.nan)
        low, high = np.nanpercentile(f1, [tail, 100 - tail])
        out[mode] = (float(low), float(high))
    return out


def compute_agreement(
    study: AgreementStudy, *, bootstrap: int = 1000, seed: int = 0,
    min_shared: int = MIN_SHARED_DOCUMENTS,
) -> AgreementResult:
    """Every measure over the study's annotators (see the package docstring)."""
    names = study.annotators
    if len(names) < 2:
        raise AgreementError(
            f"{study.store or 'the study'}: agreement needs at least two annotators "
            f"(found: {', '.join(names) or 'none'}); merge their stores with `reader merge`, "
            "or add an extractor with --extractor")
    doc_ids = list(study.texts)
    texts = [study.texts[d] for d in doc_ids]
    labels = sorted({s[2] for by_doc in study.layers.values() for layer in by_doc.values()
                     for s in layer.spans})
    per_rater = [[study.layers[name][d].spans if d in study.layers[name] else None
                  for d in doc_ids] for name in names]
    table: TokenTable = token_table(texts, per_rater, labels)

    disagreements: Counter[tuple[str, str, str]] = Counter()
    diagnostics: list[dict[str, Any]] = []
    pairs: list[PairResult] = []
    for (ia, a), (ib, b) in combinations(enumerate(names), 2):
        layers_a, layers_b = study.layers[a], study.layers[b]
        shared = [d for d in doc_ids if d in layers_a and d in layers_b]
        by_label: dict[str, dict[str, list[int]]] = {"exact": {}, "overlap": {}}
        span_rows = []
        relation_rows = []
        for d in shared:
            la, lb = layers_a[d], layers_b[d]
            span_rows.append(count_pair(la.spans, lb.spans, by_label))
            relation_rows.append(count_relations(la.spans, la.relations, lb.spans, lb.relations))
            if la.spans != lb.spans:
                _disagreements(study.texts[d], la.spans, lb.spans, disagreements)
        span_counts = np.array(span_rows, dtype=np.int64).reshape(len(shared), 9)
        pairs.append(PairResult(
            a=a, b=b, doc_ids=shared, span_counts=span_counts, span_labels=by_label,
            relation_counts=np.array(relation_rows, dtype=np.int64).reshape(len(shared), 9),
            kappa=cohen_kappa(table, ia, ib),
            intervals=_intervals(span_counts.astype(np.float64), bootstrap, seed, 0.95),
        ))
        if len(shared) < min_shared:
            diagnostics.append({
                "kind": "few_shared_documents", "annotators": [a, b], "documents": len(shared),
                "message": f"{a} and {b} annotated only {len(shared)} document(s) in common "
                           f"(fewer than {min_shared}): their figures say little"})

    used: dict[str, set[str]] = {}
    for name in names:
        spans_total = sum(len(layer.spans) for layer in study.layers[name].values())
        used[name] = {s[2] for layer in study.layers[name].values() for s in layer.spans}
        if not study.layers[name]:
            diagnostics.append({"kind": "no_documents", "annotators": [name],
                                "message": f"{name} has no annotations to compare"})
        elif spans_total == 0:
            diagnostics.append({
                "kind": "nothing_marked", "annotators": [name],
                "documents": len(study.layers[name]),
                "message": f"{name} marked nothing on {len(study.layers[name])} document(s)"})
    for name in names:
        if not study.layers[name]:
            continue
        others = set().union(*(used[o] for o in names if o != name))
        for label in sorted(others - used[name]):
            diagnostics.append({
                "kind": "label_never_used", "annotators": [name], "label": label,
                "message": f"{name} never used {label}, which others did"})

    shared_all = [i for i, d in enumerate(doc_ids) if all(d in study.layers[n] for n in names)]
    fleiss = fleiss_kappa(table) if shared_all else None
    alpha: UnitizingAlpha | None = None
    alpha_by_label: dict[str, UnitizingAlpha] = {}
    length = sum(len(texts[i]) for i in shared_all)
    if not shared_all:
        diagnostics.append({
            "kind": "no_document_shared_by_all", "annotators": names,
            "message": "no document was annotated by all of "
                       f"{', '.join(names)}: Fleiss' κ and α_U are left out"})
    elif length > 0:
        alpha, alpha_by_label = _alpha_u(study, names, [doc_ids[i] for i in shared_all], labels)
    return AgreementResult(
        store=study.store, statuses=study.statuses, annotators=names,
        extractors=study.extractors, documents=len(doc_ids), shared_by_all=len(shared_all),
        pairs=pairs, fleiss=fleiss, alpha=alpha, alpha_by_label=alpha_by_label,
        alpha_length=length, diagnostics=diagnostics, disagreements=disagreements,
        bootstrap=bootstrap, seed=seed,
    )


def _alpha_u(study: AgreementStudy, names: list[str], doc_ids: list[str], labels: list[str]
             ) -> tuple[UnitizingAlpha, dict[str, UnitizingAlpha]]:
    """α_U on the documents all annotators share, laid end to end as one continuum."""
    bases = {}
    at = 0
    for d in doc_ids:
        bases[d] = at
        at += len(study.texts[d])
    units = []
    for name in names:
        by_doc = study.layers[name]
        flat = [(bases[d] + s, bases[d] + e, label) for d in doc_ids
                for s, e, label in by_doc[d].spans]
        if flat:
            starts, ends, label_of = zip(*flat, strict=True)
        else:
            starts, ends, label_of = (), (), ()
        start_arr = np.array(starts, dtype=np.int64)
        end_arr = np.array(ends, dtype=np.int64)
        label_arr = np.array(label_of, dtype=object)
        units.append({label: (start_arr[label_arr == label], end_arr[label_arr == label])
                      for label in labels})
    return unitizing_alpha_arrays(units, at)
