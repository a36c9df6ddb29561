"""Tokens for the token-based formats, cut so that every span boundary is a token boundary.

Prodigy tasks, CoNLL files and spaCy ``Doc`` objects describe spans in tokens, but a
span in the store is any character range.  ``tokenize`` runs spaCy's English
tokenizer (``spacy.blank("en")``, no model: fast and deterministic) and then splits
a token wherever a span starts or ends inside it, as Prodigy's ``add_tokens`` does
with ``use_chars``-style splitting.  A span that starts on, or ends just after, the
single trailing space spaCy keeps outside the tokens gets that space as a token of
its own.  The tokens with their ``ws`` flags always rebuild the text exactly, so
``Doc(vocab, words, spaces).char_span(start, end)`` finds every span.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from spacy.tokenizer import Tokenizer


Token = tuple[int, int, bool]
"""``(start, end, ws)``: character offsets and whether one space follows (spaCy's
``whitespace_``).  Plain tuples: an export makes millions of them."""


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    import spacy
    from spacy.tokenizer import Tokenizer

    tokenizer = spacy.blank("en").tokenizer
    assert isinstance(tokenizer, Tokenizer)
    # spaCy remembers the tokens of at most 10,000 distinct chunks (the text between
    # spaces) by default and tokenises every later chunk afresh with its affix
    # regexes: past the first few hundred documents of a corpus that is most chunks,
    # and 4 to 5 times the time per document.  Room for as many as the vocabulary
    # may grow (see VOCAB_GROWTH) keeps the common chunks cached.
    tokenizer.max_cache_size = VOCAB_GROWTH
    return tokenizer


VOCAB_GROWTH = 100_000
"""Entries the tokenizer's vocabulary may gain before a fresh tokenizer (0.1 s to
build) replaces it.  spaCy's vocabulary and cache keep every distinct string they have
seen, about 600 bytes each (measured), so over a long export they grow with the corpus;
the limit keeps a process's share near 60 MB, and a refresh only when new words come
keeps the cache warm over a corpus that repeats its words."""


def _current_tokenizer() -> Tokenizer:
    tokenizer = _tokenizer()
    if len(tokenizer.vocab) > VOCAB_GROWTH:  # a fresh one holds under a thousand
        _tokenizer.cache_clear()
        tokenizer = _tokenizer()
    return tokenizer


def tokenize(
    text: str, span_starts: Collection[int] = (), span_ends: Collection[int] = ()
) -> list[Token]:
    """spaCy tokens of ``text``, split so that each span start and end is a token boundary."""
    return list(zip(*token_columns(text, span_starts, span_ends), strict=True))


def token_columns(
    text: str, span_starts: Collection[int] = (), span_ends: Collection[int] = ()
) -> tuple[list[int], list[int], list[bool]]:
    """The tokens of :func:`tokenize` as three lists: starts, ends and ``ws`` flags
    (what a writer that formats tokens in bulk wants, without a tuple per token)."""
    if not text:
        return [], [], []
    from spacy.attrs import IDX, LENGTH, SPACY

    # to_array avoids building a Python Token object per token (4x faster).
    table = _current_tokenizer()(text).to_array([IDX, LENGTH, SPACY])
    start_column = table[:, 0]
    end_column = start_column + table[:, 1]
    starts: list[int] = start_column.tolist()
    ends: list[int] = end_column.tolist()
    spaces: list[bool] = table[:, 2].astype(bool).tolist()
    if _all_in(start_column, span_starts) and _all_in(end_column, span_ends):
        # Every span edge is a token edge already (the usual case): nothing to cut.
        # No span can start on a token's trailing space or end just after it
        # either, since that space is inside no token.
        return starts, ends, spaces
    tokens = cut_tokens(zip(starts, ends, spaces, strict=True), span_starts, span_ends)
    return [t[0] for t in tokens], [t[1] for t in tokens], [t[2] for t in tokens]


def _all_in(column: NDArray[Any], wanted: Collection[int]) -> bool:
    """Whether every one of ``wanted`` is in ``column`` (increasing, as token starts and
    ends are): looked up by bisection in the array, a third of the time of a set of the
    column in Python."""
    if not wanted:
        return True
    if not len(column):
        return False
    try:  # the column's own type (unsigned): a search never converts the column
        values = np.fromiter(wanted, dtype=column.dtype, count=len(wanted))
    except OverflowError:  # a negative offset: in no column
        return False
    at = column.searchsorted(values)
    return bool((column[np.minimum(at, len(column) - 1)] == values).all())


def cut_tokens(
    rows: Iterable[tuple[int, int, bool]], span_starts: Collection[int],
    span_ends: Collection[int],
) -> list[Token]:
    """Tokens ``rows`` (start, end, ws) split at every span start and end inside one."""
    cuts = sorted(set(span_starts) | set(span_ends))
    starts = set(span_starts)
    ends = set(span_ends)
    tokens: list[Token] = []
    append = tokens.append
    at = 0
    n_cuts = len(cuts)
    for start, end, ws in rows:
        while at < n_cuts and cuts[at] <= start:
            at += 1
        while at < n_cuts and cuts[at] < end:
            append((start, cuts[at], False))
            start = cuts[at]
            at += 1
        if ws and (end in starts or end + 1 in ends):
            # A span starts on the trailing space or ends right after it: the
            # space must be a token for the span's edges to be token edges.
            append((start, end, False))
            append((end, end + 1, False))
        else:
            append((start, end, bool(ws)))
    return tokens


_WORD = re.compile(r"\S+")


def word_runs(text: str, tokens: list[tuple[int, int, bool]]) -> Iterator[tuple[int, int]]:
    """Offsets of the non-whitespace runs of each token (a CoNLL or XMI token cannot hold
    a space)."""
    for start, end, _ in tokens:
        piece = text[start:end]
        parts = piece.split()
        if len(parts) == 1 and len(parts[0]) == len(piece):
            yield start, end
        else:
            for match in _WORD.finditer(text, start, end):
                yield match.span()
