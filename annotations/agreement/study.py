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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import AnnotationsError
from ..evaluation import RelationTuple, SpanTuple, bootstrap_weights, layer_tuples
from ..gold import ADJUDICATED
from ..models import Annotation, Prediction
from .continuum import Continuum, build_continuum
from .relations import RELATION_AGREEMENT_MODES, pair_relations, rater_relations
from .spans import (
    LABELLED_MODES,
    SPAN_MODES,
    PairSpans,
    f1_entry,
    pair_spans,
    pair_spans_nested,
)
from .tokens import (
    TOKENISATION,
    Kappa,
    TokenTable,
    Words,
    continuum_tokens,
    fleiss_kappa,
    pair_kappa,
)
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
    symmetric: frozenset[str] = frozenset()
    """Relation labels without a direction (A -> B is B -> A), from the label scheme."""
    titles: dict[str, str] = field(default_factory=dict)
    """Document titles, where a message may name a document (default: its id)."""

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
    # Read only when asked for: `reader agreement` between annotators opens the store
    # without its predictions.
    known_extractors = store.extractors() if extractors else []
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
        spans, relations = layer_tuples(
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
            spans, relations = layer_tuples(
                prediction, len(text), f"{store.path}: extractor {name!r}, document {doc_id}")
            by_doc[doc_id] = Layer(tuple(sorted(spans)), tuple(relations))
    titles = {doc_id: store.document(doc_id).title for doc_id in texts
              if any(not _flat(by_doc[doc_id].spans) for by_doc in layers.values()
                     if doc_id in by_doc)}
    order = {doc_id: i for i, doc_id in enumerate(store.document_ids())}
    texts = dict(sorted(texts.items(), key=lambda kv: order[kv[0]]))
    return AgreementStudy(texts=texts, layers=layers, extractors=list(dict.fromkeys(extractors)),
                          store=str(store.path), statuses=statuses,
                          symmetric=store.labels.symmetric_relations, titles=titles)


def _flat(spans: Sequence[SpanTuple]) -> bool:
    """Whether no two of ``spans`` (sorted) overlap or share offsets."""
    reach = -1
    for start, end, _ in spans:
        if start < reach:
            return False
        reach = max(reach, end)
    return True


def document_layers(
    store: GoldStore, doc_id: str, annotators: Sequence[str] = (), *,
    extractors: Sequence[str] = (), statuses: StatusChoice = "all",
) -> dict[str, Layer]:
    """Each annotator's (and extractor's) layer on one document, for :func:`align_spans`
    and :func:`align_relations`: by default every annotator but ``gold``, whatever the
    status; an annotator without an annotation of the document (of that status) is
    left out."""
    names = list(annotators) or [a for a in store.annotators() if a != ADJUDICATED]
    out: dict[str, Layer] = {}
    layers: list[tuple[str, Annotation | Prediction | None]] = [
        (name, store.annotation(doc_id, name)) for name in names]
    layers += [(name, store.prediction(doc_id, name)) for name in extractors]
    for name, layer in layers:
        if layer is None or (statuses == "accept" and isinstance(layer, Annotation)
                             and layer.status != "accept"):
            continue
        out[name] = Layer(tuple(sorted((s.start, s.end, s.label) for s in layer.spans)),
                          tuple((r.head, r.child, r.label) for r in layer.relations))
    return out


# -- results -------------------------------------------------------------------------

NOT_MARKED = "(not marked)"
OTHER_BOUNDARIES = "(other boundaries)"
_BOUNDARIES, _NOTHING = -1, -2  # "other" codes besides label ids


@dataclass
class PairResult:
    """Two annotators on the documents both annotated."""

    a: str
    b: str
    doc_ids: list[str]
    span_counts: np.ndarray  # (documents, 9): (agreed, n_a, n_b) per span mode
    span_labels: dict[str, dict[str, tuple[int, int, int]]]  # mode -> label -> counts
    relation_counts: tuple[int, ...]  # (agreed, n_a, n_b) per relation mode
    kappa: Kappa
    intervals: dict[str, tuple[float, float]]

    def spans(self, mode: str) -> dict[str, float | int | None]:
        i = SPAN_MODES.index(mode) * 3
        tp, n_a, n_b = (int(x) for x in self.span_counts[:, i : i + 3].sum(axis=0))
        return f1_entry(tp, n_a, n_b)

    def relations(self, mode: str) -> dict[str, float | int | None]:
        i = RELATION_AGREEMENT_MODES.index(mode) * 3
        return f1_entry(*self.relation_counts[i : i + 3])

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
    disagreement_counts: Counter[tuple[str, int, int]]
    """By ``(text, label id, other)``; read them named with :meth:`disagreements`."""
    bootstrap: int
    seed: int
    confidence: float = 0.95

    labels: list[str] = field(default_factory=list)

    def disagreements(self, top: int) -> list[tuple[str, str, str, int]]:
        """The ``top`` most frequent ``(text, label, other, count)``, most frequent first;
        ``other`` is the other's label, ``(other boundaries)`` or ``(not marked)``."""
        names = {_BOUNDARIES: OTHER_BOUNDARIES, _NOTHING: NOT_MARKED,
                 **{i + 1: name for i, name in enumerate(self.labels)}}
        return [(text, names[label], names[other], n)
                for (text, label, other), n in self.disagreement_counts.most_common(top)]

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
                              for text, label, other, n in self.disagreements(top)],
        }


# -- computing -----------------------------------------------------------------------



def _disagreements(continuum: Continuum, pair: PairSpans, out: Counter[tuple[str, int, int]]
                   ) -> None:
    """Spans of one side the other did not mark the same way, counted by ``(text, label
    id, other)``: ``other`` is the other side's label id on the same offsets, or
    ``_BOUNDARIES`` for an overlapping span, or ``_NOTHING``.  A relabelled span is
    counted once, from ``a``'s side."""
    joined = continuum.joined
    a, b = pair.a, pair.b
    other = np.where(a.overlapped_by(b), _BOUNDARIES, _NOTHING)
    same = pair.same_offsets_a
    other[same] = b.label[b.index_of(a.start[same], a.end[same])]
    picked_a = ~pair.exact_a
    picked_b = ~pair.same_offsets_b
    other_b = np.where(b.overlapped_by(a), _BOUNDARIES, _NOTHING)
    for side, picked, others in ((a, picked_a, other), (b, picked_b, other_b)):
        texts = [joined[s:e] for s, e in zip(side.start[picked].tolist(),
                                              side.end[picked].tolist(), strict=True)]
        out.update(zip(texts, side.label[picked].tolist(), others[picked].tolist(),
                       strict=True))


def _intervals(rows: list[np.ndarray], samples: int, seed: int, confidence: float
               ) -> list[dict[str, tuple[float, float]]]:
    """Percentile intervals of each pair's micro F1 per span mode.  Pairs with the same
    number of documents share the resamples (they are the same for a given seed)."""
    out: list[dict[str, tuple[float, float]]] = [{} for _ in rows]
    if samples <= 0:
        return out
    tail = (1 - confidence) / 2 * 100
    by_size: dict[int, list[int]] = {}
    for index, pair_rows in enumerate(rows):
        if len(pair_rows) > 1:  # one document: every resample is that one, no interval
            by_size.setdefault(len(pair_rows), []).append(index)
    for size, members in by_size.items():
        sums: dict[int, list[np.ndarray]] = {i: [] for i in members}
        for weights in bootstrap_weights(size, samples, seed):
            for i in members:
                sums[i].append(weights @ rows[i])
        for i in members:
            stacked = np.vstack(sums[i])
            for index, mode in enumerate(SPAN_MODES):
                tp = stacked[:, 3 * index]
                total = stacked[:, 3 * index + 1] + stacked[:, 3 * index + 2]
                if not (total > 0).any():
                    continue  # nothing marked in any resample: no interval
                with np.errstate(divide="ignore", invalid="ignore"):
                    f1 = np.where(total > 0, 2 * tp / total, np.nan)
                low, high = np.nanpercentile(f1, [tail, 100 - tail])
                out[i][mode] = (float(low), float(high))
    return out


def compute_agreement(
    study: AgreementStudy, *, bootstrap: int = 1000, seed: int = 0,
    min_shared: int = MIN_SHARED_DOCUMENTS,
) -> AgreementResult:
    """Every measure over the study's annotators (see the package docstring)."""
    names = study.annotators
    where = study.store or "the study"
    if len(names) < 2:
        raise AgreementError(
            f"{where}: agreement needs at least two annotators "
            f"(found: {', '.join(names) or 'none'}); merge their stores with `reader merge`, "
            "or add an extractor with --extractor")
    doc_ids = list(study.texts)
    texts = [study.texts[d] for d in doc_ids]
    layers = [[study.layers[name].get(d) for d in doc_ids] for name in names]
    try:
        continuum = build_continuum(
            texts, [[layer.spans if layer else None for layer in by_doc] for by_doc in layers],
            overlapping=True)
        relations = rater_relations(
            continuum, [[layer.relations if layer else None for layer in by_doc]
                        for by_doc in layers], study.symmetric)
    except ValueError as err:
        raise AgreementError(f"{where}: {err}") from None
    label_names = continuum.labels
    shared_all = np.logical_and.reduce([r.present for r in continuum.raters])
    n_shared_all = int(shared_all.sum())
    length = int(continuum.lengths[shared_all].sum())
    diagnostics: list[dict[str, Any]] = []
    # Token κ and α_U need flat layers; pairwise F1 and relation agreement do not.
    nested: set[int] = set()
    for r, name in enumerate(names):
        at = continuum.raters[r].first_overlap()
        if at is None:
            continue
        nested.add(r)
        title = study.titles.get(doc_ids[at], doc_ids[at])
        diagnostics.append({
            "kind": "overlapping_layer", "annotators": [name], "document": title,
            "message": f"{name}'s spans overlap or nest in {title!r}: token κ and α_U need "
                       f"flat layers, so Fleiss' κ, α_U and Cohen's κ of every pair with "
                       f"{name} are left out (span and relation F1 are computed)"})
    # The token table and α_U are whole-array numpy work, which releases the GIL: a
    # second thread does them while this one counts the pairs (mostly Python).
    pool = ThreadPoolExecutor(max_workers=1)
    words = Words.of(continuum)
    table_job = (pool.submit(continuum_tokens, continuum, None, words) if not nested
                 else None)
    alpha_job = (pool.submit(_alpha_u, continuum, shared_all)
                 if n_shared_all and length > 0 and not nested else None)
    pool.shutdown(wait=False)

    disagreement_ids: Counter[tuple[str, int, int]] = Counter()
    pairs: list[PairResult] = []
    for (ia, a), (ib, b) in combinations(enumerate(names), 2):
        counts = (pair_spans_nested(continuum, ia, ib) if {ia, ib} & nested
                  else pair_spans(continuum, ia, ib))
        both = continuum.raters[ia].present & continuum.raters[ib].present
        shared = [doc_ids[i] for i in counts.shared.tolist()]
        by_label = {mode: {label_names[k - 1]: (int(row[0]), int(row[1]), int(row[2]))
                           for k, row in enumerate(matrix.tolist()) if k and (row[1] or row[2])}
                    for mode, matrix in counts.labels.items()}
        _disagreements(continuum, counts, disagreement_ids)
        pairs.append(PairResult(
            a=a, b=b, doc_ids=shared, span_counts=counts.doc_rows, span_labels=by_label,
            relation_counts=pair_relations(continuum, relations, ia, ib, both),
            kappa=Kappa(math.nan, math.nan, math.nan, 0), intervals={},
        ))
        if len(shared) < min_shared:
            diagnostics.append({
                "kind": "few_shared_documents", "annotators": [a, b], "documents": len(shared),
                "message": f"{a} and {b} annotated only {len(shared)} document(s) in common "
                           f"(fewer than {min_shared}): their figures say little"})

    intervals = _intervals([p.span_counts.astype(np.float64) for p in pairs], bootstrap, seed,
                           0.95)
    for pair, interval in zip(pairs, intervals, strict=True):
        pair.intervals = interval
    table: TokenTable | None = table_job.result() if table_job is not None else None
    index = {name: i for i, name in enumerate(names)}
    for pair in pairs:  # each pair on its own tokens (see .tokens)
        if not {index[pair.a], index[pair.b]} & nested:
            pair.kappa = pair_kappa(continuum, index[pair.a], index[pair.b], words)

    used: dict[str, set[str]] = {}
    for r, name in enumerate(names):
        rater = continuum.raters[r]
        used[name] = {label_names[k - 1] for k in np.unique(rater.label).tolist()}
        n_docs = int(rater.present.sum())
        if not n_docs:
            diagnostics.append({"kind": "no_documents", "annotators": [name],
                                "message": f"{name} has no annotations to compare"})
        elif len(rater.start) == 0:
            diagnostics.append({
                "kind": "nothing_marked", "annotators": [name], "documents": n_docs,
                "message": f"{name} marked nothing on {n_docs} document(s)"})
    for r, name in enumerate(names):
        if not continuum.raters[r].present.any():
            continue
        others = set().union(*(used[o] for o in names if o != name))
        for label in sorted(others - used[name]):
            diagnostics.append({
                "kind": "label_never_used", "annotators": [name], "label": label,
                "message": f"{name} never used {label}, which others did"})

    fleiss = fleiss_kappa(table) if n_shared_all and table is not None else None
    alpha: UnitizingAlpha | None = None
    alpha_by_label: dict[str, UnitizingAlpha] = {}
    if not n_shared_all:
        diagnostics.append({
            "kind": "no_document_shared_by_all", "annotators": names,
            "message": "no document was annotated by all of "
                       f"{', '.join(names)}: Fleiss' κ and α_U are left out"})
    elif alpha_job is not None:
        alpha, alpha_by_label = alpha_job.result()
    return AgreementResult(
        store=study.store, statuses=study.statuses, annotators=names,
        extractors=study.extractors, documents=len(doc_ids), shared_by_all=n_shared_all,
        pairs=pairs, fleiss=fleiss, alpha=alpha, alpha_by_label=alpha_by_label,
        alpha_length=length, diagnostics=diagnostics, disagreement_counts=disagreement_ids,
        bootstrap=bootstrap, seed=seed, labels=label_names,
    )


def _alpha_u(continuum: Continuum, shared: np.ndarray
             ) -> tuple[UnitizingAlpha, dict[str, UnitizingAlpha]]:
    """α_U on the documents all annotators share, laid end to end (no separator)."""
    lengths = np.where(shared, continuum.lengths, 0)
    alpha_bases = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    shift = alpha_bases - continuum.bases
    units = []
    for rater in continuum.raters:
        keep = shared[rater.doc]
        start = rater.start[keep] + shift[rater.doc[keep]]
        end = rater.end[keep] + shift[rater.doc[keep]]
        label = rater.label[keep]
        units.append({name: (start[label == k + 1], end[label == k + 1])
                      for k, name in enumerate(continuum.labels)})
    return unitizing_alpha_arrays(units, int(lengths.sum()))
