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
from collections.abc import Collection, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokenizer import Tokenizer


Token = tuple[int, int, bool]
"""``(start, end, ws)``: character offsets and whether one space follows (spaCy's
``whitespace_``).  Plain tuples: an export makes millions of them."""


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    import spacy

    return spacy.blank("en").tokenizer


# spaCy's vocab and tokenizer cache keep every distinct string they have seen, so
# over a long export they grow with the corpus; a fresh tokenizer every so many
# texts (0.2 s to build) keeps memory flat.
REFRESH_EVERY = 5000
_texts_since_refresh = 0


def _current_tokenizer() -> Tokenizer:
    global _texts_since_refresh
    _texts_since_refresh += 1
    if _texts_since_refresh > REFRESH_EVERY:
        _texts_since_refresh = 1
        _tokenizer.cache_clear()
    return _tokenizer()


def tokenize(
    text: str, span_starts: Collection[int] = (), span_ends: Collection[int] = ()
) -> list[Token]:
    """spaCy tokens of ``text``, split so that each span start and end is a token boundary."""
    from spacy.attrs import IDX, LENGTH, SPACY

    cuts = sorted(set(span_starts) | set(span_ends))
    starts = set(span_starts)
    ends = set(span_ends)
    # to_array avoids building a Python Token object per token (4x faster).
    rows = _current_tokenizer()(text).to_array([IDX, LENGTH, SPACY]).tolist() if text else []
    tokens: list[Token] = []
    append = tokens.append
    at = 0
    n_cuts = len(cuts)
    for start, length, ws in rows:
        end = start + length
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
