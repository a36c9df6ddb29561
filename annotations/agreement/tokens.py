"""Token-level agreement: Cohen's κ for two annotators, Fleiss' κ for all.

Tokenisation (stated in every report): whitespace-separated tokens (runs of
characters for which Python's ``str.isspace`` is false, i.e. the regex ``\\S+``),
each further cut at every span boundary that a compared annotator drew on that
document, so a token lies wholly inside or wholly outside every span.  Who is
compared depends on the measure: Cohen's κ of a pair cuts at the two annotators'
boundaries only (a pair's κ does not change when a third annotator joins the study),
Fleiss' κ at every annotator's.  Each token
gets one tag per annotator: the label of the span that covers it, or ``O`` outside
every span (label per token, not IOB: two adjacent spans of one label are not told
apart).  Only documents both annotators (for Fleiss: all annotators) annotated count.

The work is done on whole arrays: all texts are joined into one continuum, cut into
*pieces* between consecutive span boundaries, and a piece's tokens all have the
same tags, so a piece is counted once with its number of tokens as its weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..evaluation import SpanTuple
from .continuum import Continuum, build_continuum

TOKENISATION = (
    "whitespace-separated tokens (regex \\S+), cut at every span boundary of the compared "
    "annotators (for Cohen's κ the two of the pair, for Fleiss' κ all of them); one tag per "
    "token: the label of the covering span, O outside spans (not IOB)"
)
OUTSIDE = "O"
MISSING = -1  # the annotator did not annotate the document
SPACE_LIMIT = 0x3001  # U+3000 IDEOGRAPHIC SPACE is the highest code point str.isspace accepts


@lru_cache(maxsize=1)
def _space_table() -> np.ndarray:
    """``table[c]`` is True when ``chr(c).isspace()``, for every ``c`` up to SPACE_LIMIT
    (whose entry, False, stands for every code point above)."""
    return np.array([chr(c).isspace() for c in range(SPACE_LIMIT + 1)], dtype=bool)


def _is_space(text: str) -> np.ndarray:
    """One flag per code point of ``text``: is it white space."""
    table = _space_table()
    if text.isascii():  # one byte per character: a quarter of the memory traffic
        return table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return table[np.minimum(codes, SPACE_LIMIT)]


@dataclass
class TokenTable:
    """The pieces of all documents: tokens in each, its document, and each annotator's tag.

    ``tags[r][k]`` is ``0`` for O, ``i + 1`` for ``labels[i]``, or ``-1`` when
    annotator ``r`` did not annotate the piece's document.
    """

    labels: list[str]
    tokens: np.ndarray  # int64, tokens per piece
    doc: np.ndarray  # int64, document index per piece
    tags: list[np.ndarray]

    def expand(self, rater: int) -> list[str | None]:
        """One tag per token (``None`` for a document the annotator did not annotate):
        what an independent implementation is checked against."""
        names = [OUTSIDE, *self.labels]
        return [names[t] if t >= 0 else None
                for t in np.repeat(self.tags[rater], self.tokens).tolist()]


def token_table(
    texts: Sequence[str], spans: Sequence[Sequence[Sequence[SpanTuple] | None]],
    labels: Sequence[str] | None = None,
) -> TokenTable:
    """Cut ``texts`` into pieces and tag them (see :func:`~.continuum.build_continuum`
    for ``spans`` and ``labels``)."""
    return continuum_tokens(build_continuum(texts, spans, labels))


@dataclass
class Words:
    """Where the whitespace-separated tokens of a continuum start (computed once, shared
    by every token table cut from it)."""

    word: np.ndarray  # bool per character: not white space
    natural: np.ndarray  # bool per character: a token starts here
    natural_starts: np.ndarray

    @classmethod
    def of(cls, continuum: Continuum) -> Words:
        space = _is_space(continuum.joined)
        word = ~space
        natural = word.copy()
        if len(space) > 1:
            natural[1:] &= space[:-1]
        return cls(word, natural, np.flatnonzero(natural))


def continuum_tokens(continuum: Continuum, raters: Sequence[int] | None = None,
                     words: Words | None = None) -> TokenTable:
    """The pieces of a continuum cut at the span boundaries of ``raters`` (default: all),
    with the tag of each of those raters on each (``tags[i]`` for ``raters[i]``)."""
    chosen = list(range(len(continuum.raters))) if raters is None else list(raters)
    words = words or Words.of(continuum)
    bases, lengths = continuum.bases, continuum.lengths
    word, natural, natural_starts = words.word, words.natural, words.natural_starts
    size = len(word)
    doc_ends = bases + lengths

    # Cuts: every document's start and end and every span boundary of the chosen raters.
    at_cut = np.zeros(size + 1, dtype=bool)
    at_cut[bases] = True
    at_cut[doc_ends] = True
    for r in chosen:
        at_cut[continuum.raters[r].start] = True
        at_cut[continuum.raters[r].end] = True
    cuts = np.flatnonzero(at_cut)

    # A token starts where a non-space follows a space (or the start of the text), and
    # at a cut inside a run of non-spaces.  Counted per piece by bisection over the
    # natural starts (a prefix sum over every character is 30x slower).
    # Pieces run from one cut to the next; the one from a document's end to the next
    # document's start is the joining newline, not a piece.
    is_doc_end = np.zeros(size + 1, dtype=bool)
    is_doc_end[doc_ends] = True
    piece_start = cuts[:-1]
    keep = ~is_doc_end[piece_start]
    piece_start, piece_end = piece_start[keep], cuts[1:][keep]
    tokens = (np.searchsorted(natural_starts, piece_end)
              - np.searchsorted(natural_starts, piece_start))
    inside = piece_start < size
    forced = np.zeros(len(piece_start), dtype=bool)
    forced[inside] = word[piece_start[inside]] & ~natural[piece_start[inside]]
    tokens += forced
    doc = np.searchsorted(bases, piece_start, side="right") - 1

    tags = []
    for r in chosen:
        rater = continuum.raters[r]
        index = np.searchsorted(rater.start, piece_start, side="right") - 1
        covered = index >= 0
        covered[covered] = rater.end[index[covered]] > piece_start[covered]
        tag = np.zeros(len(piece_start), dtype=np.int64)
        tag[covered] = rater.label[index[covered]]
        tag[~rater.present[doc]] = MISSING
        tags.append(tag)
    return TokenTable(list(continuum.labels), tokens, doc, tags)


def pair_kappa(continuum: Continuum, a: int, b: int, words: Words | None = None) -> Kappa:
    """Cohen's κ of raters ``a`` and ``b`` on their own tokens: cut at their span
    boundaries only, whoever else is in the continuum."""
    return cohen_kappa(continuum_tokens(continuum, (a, b), words), 0, 1)


@dataclass(frozen=True)
class Kappa:
    value: float
    """NaN when chance agreement is 1 (every token has one tag): κ is undefined then."""
    observed: float
    expected: float
    tokens: int


def cohen_kappa(table: TokenTable, a: int, b: int) -> Kappa:
    """Cohen's κ of annotators ``a`` and ``b`` over the tokens of the documents both annotated."""
    tag_a, tag_b = table.tags[a], table.tags[b]
    mask = (tag_a >= 0) & (tag_b >= 0)
    size = len(table.labels) + 1
    confusion = np.bincount(tag_a[mask] * size + tag_b[mask], weights=table.tokens[mask],
                            minlength=size * size).reshape(size, size)
    total = float(confusion.sum())
    if total == 0:
        return Kappa(math.nan, math.nan, math.nan, 0)
    observed = float(np.trace(confusion)) / total
    expected = float(confusion.sum(axis=1) @ confusion.sum(axis=0)) / (total * total)
    value = math.nan if expected == 1 else (observed - expected) / (1 - expected)
    return Kappa(value, observed, expected, int(total))


def fleiss_kappa(table: TokenTable, raters: Sequence[int] | None = None) -> Kappa:
    """Fleiss' κ of ``raters`` (default: all) over the tokens of documents all annotated."""
    chosen = list(range(len(table.tags))) if raters is None else list(raters)
    n = len(chosen)
    if n < 2:
        raise ValueError("Fleiss' κ needs at least two annotators")
    mask = np.ones(len(table.tokens), dtype=bool)
    for r in chosen:
        mask &= table.tags[r] >= 0
    weights = table.tokens[mask].astype(np.float64)
    total = float(weights.sum())
    if total == 0:
        return Kappa(math.nan, math.nan, math.nan, 0)
    size = len(table.labels) + 1
    counts = np.zeros((int(mask.sum()), size), dtype=np.float64)
    rows = np.arange(len(counts))
    for r in chosen:
        counts[rows, table.tags[r][mask]] += 1  # one cell per row: no repeated index
    agreement = ((counts * counts).sum(axis=1) - n) / (n * (n - 1))
    observed = float(agreement @ weights) / total
    shares = (weights @ counts) / (total * n)
    expected = float(shares @ shares)
    value = math.nan if expected == 1 else (observed - expected) / (1 - expected)
    return Kappa(value, observed, expected, int(total))
