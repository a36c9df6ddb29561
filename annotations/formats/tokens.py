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

from bisect import bisect_right
from collections.abc import Collection
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from spacy.tokenizer import Tokenizer


class Token(NamedTuple):
    start: int
    end: int
    ws: bool
    """Whether one space follows the token (spaCy's ``whitespace_``)."""


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    import spacy

    return spacy.blank("en").tokenizer


def tokenize(
    text: str, span_starts: Collection[int] = (), span_ends: Collection[int] = ()
) -> list[Token]:
    """spaCy tokens of ``text``, split so that each span start and end is a token boundary."""
    cuts = sorted(set(span_starts) | set(span_ends))
    starts = set(span_starts)
    ends = set(span_ends)
    tokens: list[Token] = []
    for tok in _tokenizer()(text):
        start = tok.idx
        end = start + len(tok.text)
        ws = bool(tok.whitespace_)
        at = bisect_right(cuts, start)
        while at < len(cuts) and cuts[at] < end:
            tokens.append(Token(start, cuts[at], False))
            start = cuts[at]
            at += 1
        if ws and (end in starts or end + 1 in ends):
            # A span starts on the trailing space or ends right after it: the
            # space must be a token for the span's edges to be token edges.
            tokens.append(Token(start, end, False))
            tokens.append(Token(end, end + 1, False))
        else:
            tokens.append(Token(start, end, ws))
    return tokens
