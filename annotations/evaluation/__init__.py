"""Scores of extractors against the gold set: pure functions over plain data.

Like ``spacy/scorer.py``, everything here takes plain values (offsets, labels,
texts) and returns plain values, so the CLI, the HTML report, the review screen
and tests all call the same code.  :func:`run_evaluation` is the whole evaluation
of a store (what ``reader evaluate`` and ``reader compare`` print): it reads the store one
gold document at a time (:class:`GoldDocuments`, the one bridge from a
:class:`~annotations.store.GoldStore`) and counts each for every extractor
(:class:`ExtractorTally`), so its memory grows with the documents' counts, not their spans.

The package, one job per module: ``base`` (tuples, indices, :class:`EvalDocument`),
``counting`` (nervaluate's matching, counts per document and label), ``schemes``
(precision, recall, F1; relations), ``bootstrap`` (resamples and intervals),
``provenance`` (gold the extractor seeded), ``verdicts`` (one document's
disagreements), ``documents`` (from the store) and ``result`` (one extractor, the
whole evaluation).

Entities
    Scored under nervaluate's four schemes (``strict``, ``exact``, ``partial``,
    ``type``; nervaluate calls the last ``ent_type``) with the same
    COR/INC/PAR/MIS/SPU counts and the same formulas, reproducing nervaluate
    1.2's greedy matching including its default overlap threshold (an overlap
    counts when it covers at least 1 % of the gold span).  Offsets are ours
    (end exclusive); nervaluate's end is inclusive.  Precision is
    ``COR / ACT`` and recall ``COR / POS`` with ``ACT = COR+INC+PAR+SPU`` and
    ``POS = COR+INC+PAR+MIS``; under ``partial`` and ``type`` a partial match
    counts half.  *Per label* is nervaluate's: the evaluation restricted to the
    gold and predicted spans of that label.  *Micro* is the evaluation over all
    spans; *macro* the unweighted mean of the per-label precision, recall and F1
    over every label seen in gold or prediction.  Strict equals exact
    ``(start, end, label)`` set matching.

    Gold and predictions may nest and overlap (an overlapping store's gold, any
    extractor's output; identical offsets with two labels are two spans).  Both
    are sorted by ``(start, end, label)`` before matching: nervaluate's greedy
    matching depends on the order of its input, so the counts equal nervaluate's
    run on the spans in that order.

Relations
    Scored as in Taillé et al. 2020: ``strict`` (both argument spans with their
    entity labels, and the relation label, match) and ``boundaries`` (argument
    spans and relation label match, entity labels ignored); per relation label
    and micro.  For a relation label declared symmetric (``RelationLabel.symmetric``)
    direction is ignored: A -> B matches B -> A (``models.relation_identity``).

Ungrounded strings
    A string an extractor returned without offsets that could not be placed on the
    text (``annotations.grounding``: not found, or only where other spans are) is a
    false positive: SPU in every scheme, overall and under its label, and listed; a
    relation on such a string is a spurious relation.  With the rule ``ignore``
    (``--ungrounded ignore``) they are left out of the scores and only reported.

Confidence
    A seeded bootstrap over documents (the same resamples for every extractor,
    so the intervals are paired) gives a 95 % percentile interval of each micro F1.
    An interval that cannot be estimated (zero width: one document, or every resample
    alike) is not given (``null``; "no interval (too few documents)").

JSON (``Evaluation.to_json()``, what ``reader evaluate --json`` prints).  Stable keys:

- ``format``: ``"reader-evaluation"``; ``version``: ``1``.
- ``store``: path of the gold store, ``annotator``: the annotator whose accepted
  annotations are gold (``null`` = the adjudicated ``gold`` where it exists, else the
  one accepted annotation), ``gold_annotators``: ``{annotator: documents}`` saying whose
  annotation was the gold of how many documents, ``documents``: number of gold documents.
- ``schemes``: entity schemes in the output; ``relation_modes``: ``["strict", "boundaries"]``.
- ``bootstrap``: ``{"samples", "seed", "confidence"}`` (``samples`` 0 = no intervals).
- ``ungrounded``: ``{"rule", "sentence"}``: ``spurious`` or ``ignore``, and the rule in words.
- ``strip_predictions``: whether predicted spans were trimmed of edge whitespace before
  scoring (``--strip-predictions``; by default they are scored as stored).
- ``extractors``: ``{name: result}``, each result:

  - ``documents``: documents scored (the gold documents).
  - ``entities.micro[scheme]`` and ``entities.by_label[label][scheme]``:
    ``correct, incorrect, partial, missed, spurious, actual, possible,
    precision, recall, f1``; ``micro`` also ``f1_ci``: ``[low, high]`` or ``null`` (no
    bootstrap, or no interval that says anything).
  - ``entities.macro[scheme]``: ``precision, recall, f1``.
  - ``relations.micro[mode]`` and ``relations.by_label[label][mode]``:
    ``correct, missed, spurious, precision, recall, f1`` (``micro`` also ``f1_ci``).
  - ``confusion``: list of ``{"gold", "predicted", "count"}`` over overlapping
    gold/predicted spans (in a nested layer, a span with one of the other side at its
    offsets pairs with that one only); ``gold`` is ``null`` for a prediction that
    overlaps no gold span, ``predicted`` is ``null`` for a gold span that no prediction
    overlaps.
  - ``missed`` / ``spurious``: most frequent ``{"text", "label", "count"}`` of
    the spans counted MIS / SPU under ``strict``.
  - ``worst_documents``: ``{"doc_id", "title", "f1", "correct", "incorrect",
    "partial", "missed", "spurious"}`` (strict), lowest F1 first; documents with
    neither gold nor predicted spans are left out.
  - ``gold_provenance``: ``{"gold_spans", "unreviewed", "confirmed_unchanged",
    "changed", "share_unchanged", "warning_share", "inflated", "known"}``: gold spans
    that are this extractor's own suggestions (see :class:`SeededGold`).
  - ``grounding``: ``null``, or for string-only predictions ``{"spans", "grounded",
    "exact", "case", "fuzzy", "ungrounded", "rate", "examples"}`` (see
    ``annotations.grounding``).
  - ``ungrounded``: ``{"rule", "spurious_spans", "spurious_relations", "strings"}``:
    the ungrounded strings (and relations on them) counted as spurious under the rule
    (0 under ``ignore``), ``strings`` the most frequent ``{"text", "label", "count"}``.
  - ``edge_whitespace_errors``: predicted spans that are strict errors only for the
    whitespace at their edges (a gold span once trimmed, ``annotations.edges``); the
    terminal and the HTML report give the same figure.

- ``comparisons``: one entry per pair of extractors (``a`` before ``b`` in the order
  scored), ΔF1 = F1(b) − F1(a) with paired bootstrap interval and paired permutation
  p-value (exact when the documents where they differ are few), and whether the test
  could reach ``alpha`` at all (keys in ``annotations.significance.PairComparison.to_json``).

Scores are floats in [0, 1]; a score with nothing to score (no gold and no
predicted spans) is 0, as in nervaluate, and counts are always given beside it.
"""

from .base import (
    CATEGORIES,
    COR,
    ENTITY_WIDTH,
    EXACT,
    INC,
    MIN_OVERLAP_PERCENT,
    MIS,
    PAR,
    PARTIAL,
    RELATION_MODES,
    SCHEMES,
    SPU,
    STRICT,
    TYPE,
    UNGROUNDED_RULES,
    EvalDocument,
    EvaluationError,
    RelationTuple,
    SpanTuple,
)
from .bootstrap import (
    NO_INTERVAL,
    bootstrap_intervals,
    bootstrap_weights,
    interval_text,
    usable_interval,
)
from .counting import LabelDocumentCounts, greedy
from .documents import (
    GoldDocuments,
    GoldLayer,
    Ungrounded,
    collect_documents,
    gold_annotations,
    layer_tuples,
    ungrounded_of,
)
from .provenance import SEEDED_WARNING_SHARE, SeededGold, seeded_gold
from .result import (
    UNGROUNDED_SENTENCES,
    Evaluation,
    ExtractorResult,
    ExtractorTally,
    evaluate_extractor,
    report_order,
    run_evaluation,
)
from .schemes import (
    PRF,
    EntityScores,
    RelationScores,
    entity_prf,
    relation_prf,
    score_entities,
    score_relations,
)
from .verdicts import VERDICTS, SpanGroup, Verdict, compare_spans, overlapping_runs

__all__ = [
    "CATEGORIES", "COR", "ENTITY_WIDTH", "EXACT", "EntityScores", "EvalDocument", "Evaluation",
    "EvaluationError", "ExtractorResult", "ExtractorTally", "GoldDocuments", "GoldLayer", "INC",
    "LabelDocumentCounts", "MIN_OVERLAP_PERCENT", "MIS", "NO_INTERVAL", "PAR", "PARTIAL", "PRF",
    "RELATION_MODES", "RelationScores", "RelationTuple", "SCHEMES", "SEEDED_WARNING_SHARE",
    "SPU", "STRICT", "SeededGold", "SpanGroup", "SpanTuple", "TYPE", "UNGROUNDED_RULES",
    "UNGROUNDED_SENTENCES", "Ungrounded", "VERDICTS", "Verdict", "bootstrap_intervals",
    "bootstrap_weights", "collect_documents", "compare_spans", "entity_prf",
    "evaluate_extractor", "gold_annotations", "greedy", "interval_text", "layer_tuples",
    "overlapping_runs", "relation_prf", "report_order", "run_evaluation", "score_entities",
    "score_relations", "seeded_gold", "ungrounded_of", "usable_interval"
]
