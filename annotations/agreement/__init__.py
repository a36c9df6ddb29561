"""Agreement between annotators (and extractors taking part as annotators).

Measures (each computed by a module of this package, plain data in, plain data out):

- **Pairwise F1** (Hripcsak & Rothschild 2005), every pair of annotators, in three
  modes: ``exact`` (same start, end and label), ``overlap`` (overlapping spans with
  the same label, matched one to one) and ``unlabelled`` (same start and end); per
  label and micro-averaged, with a seeded percentile bootstrap interval over
  documents (:mod:`.spans`).
- **Cohen's κ** per pair, on the pair's own tokens (cut at the two annotators' span
  boundaries only), and **Fleiss' κ** over all annotators, on tokens cut at every
  annotator's boundaries; the tokenisation is stated in :data:`.tokens.TOKENISATION`
  (:mod:`.tokens`).
- **Krippendorff's α_U** over the character continuum, per label and overall, on the
  documents all annotators share laid end to end (:mod:`.unitizing`).
- **Relation F1** per pair: ``strict``, ``boundaries`` and ``restricted`` to
  relations between spans both annotators marked (:mod:`.relations`); a relation label
  declared symmetric ignores direction.
- **Diagnostics**: too few shared documents, an annotator with nothing marked, a
  label one annotator never uses, and the most frequent disagreements (:mod:`.study`).

By default only accepted annotations take part, and the adjudicated annotator
(``gold``) is left out unless named.

JSON (``AgreementResult.to_json()``, what ``reader agreement --json`` prints).  Stable keys:

- ``format``: ``"reader-agreement"``; ``version``: ``1``; ``store``; ``statuses``:
  ``"accept"`` or ``"all"``; ``annotators`` (extractors included); ``extractors``.
- ``documents``: ``{"annotated", "shared_by_all"}``; ``span_modes``;
  ``relation_modes``; ``tokenisation`` (a sentence); ``bootstrap``:
  ``{"samples", "seed", "confidence"}``.
- ``pairs``: list of ``{"a", "b", "documents", "spans", "relations", "cohen_kappa"}``:

  - ``spans[mode].micro``: ``agreed, a, b, precision, recall, f1, f1_ci`` (``a`` is
    the reference: precision is ``agreed / b``, recall ``agreed / a``; ``f1_ci`` is
    ``[low, high]``, or ``null`` without a bootstrap or with one shared document, which
    cannot be resampled); ``spans.exact.by_label`` and
    ``spans.overlap.by_label``: ``{label: {agreed, a, b, precision, recall, f1}}``.
  - ``relations[mode]``: ``agreed, a, b, precision, recall, f1``.
  - ``cohen_kappa``: ``{"kappa", "observed", "expected", "tokens"}``.
- ``fleiss_kappa``: ``{"kappa", "observed", "expected", "tokens", "documents"}`` or ``null``.
- ``alpha_u``: ``{"alpha", "observed", "expected", "documents", "length", "by_label":
  {label: {"alpha", "observed", "expected"}}}`` or ``null``.
- ``diagnostics``: list of ``{"kind", "annotators", "message", ...}``; kinds:
  ``few_shared_documents`` (with ``documents``), ``nothing_marked``, ``no_documents``,
  ``label_never_used`` (with ``label``), ``no_document_shared_by_all``,
  ``overlapping_layer`` (with ``document``, the title of the first document where the
  annotator's spans overlap or nest: Fleiss' κ, α_U and that annotator's Cohen's κ are
  ``null``; pairwise span F1 (overlap mode as a maximum one-to-one matching) and
  relation F1 are computed).
- ``disagreements``: most frequent ``{"text", "label", "other", "count"}``: a span
  one annotator marked and another did not mark the same way; ``other`` is the
  other's label on the same offsets, ``(other boundaries)`` or ``(not marked)``.

A value that is undefined (κ when every token has the same tag, α_U with nothing
marked, F1 and precision/recall when neither annotator marked anything) is ``null``.
"""

from .continuum import Continuum, build_continuum
from .relations import RELATION_AGREEMENT_MODES
from .spans import (
    SPAN_MODES,
    AlignedGroup,
    AlignedRelation,
    SpanVersion,
    align_relations,
    align_spans,
    f1_entry,
    pair_spans,
)
from .study import (
    ADJUDICATED,
    AgreementError,
    AgreementResult,
    AgreementStudy,
    Layer,
    PairResult,
    collect_study,
    compute_agreement,
    document_layers,
)
from .tokens import (
    TOKENISATION,
    Kappa,
    TokenTable,
    cohen_kappa,
    fleiss_kappa,
    pair_kappa,
    token_table,
)
from .unitizing import UnitizingAlpha, unitizing_alpha

__all__ = [
    "ADJUDICATED", "AgreementError", "AgreementResult", "AgreementStudy", "AlignedGroup",
    "AlignedRelation", "align_relations",
    "Continuum", "Kappa", "Layer", "PairResult", "RELATION_AGREEMENT_MODES", "SPAN_MODES",
    "SpanVersion", "TOKENISATION", "TokenTable", "UnitizingAlpha", "align_spans",
    "build_continuum", "cohen_kappa", "collect_study", "compute_agreement", "document_layers",
    "f1_entry",
    "fleiss_kappa", "pair_kappa", "pair_spans", "token_table", "unitizing_alpha",
]  # fmt: skip
