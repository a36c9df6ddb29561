"""The fast paths of the export: tokens without cuts, Prodigy lines assembled from
pieces, the tokenizer refreshed by vocabulary size, the gold counts from statuses.
Each must give exactly what the plain way gives."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import srsly

from annotations.formats import prodigy, tokens
from annotations.formats.tokens import _tokenizer, cut_tokens, token_columns, tokenize
from annotations.gold import gold_annotator_counts, iter_gold_records
from annotations.models import Annotation, Document, LabelScheme, Span
from annotations.store import GoldStore

PIECES = ["Anna", "Berlin", "x", "42", ".", ",", "'s", "-", "(", ")", "e\u0301", "😀", "👍🏽",
          "中文", " ", "  ", "\t", "\n", "\r\n", "\u00a0", '"q"', "back\\slash", "a/b", "\x7f",
          "café", "’s", "U.S.", "don't", "http://x.org/a?b=1", "\u2028", "<b>&amp;</b>",
          "\x1b[31m", "\x00"]


def _texts(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) + rng.choice(["", " "])
                    for _ in range(rng.randint(1, 30))) for _ in range(count)]


def _slow(text: str, starts: list[int], ends: list[int]) -> list[tuple[int, int, bool]]:
    """The tokens the way every document took before: spaCy's, then cut at each edge."""
    rows = [(t.idx, t.idx + len(t), bool(t.whitespace_)) for t in _tokenizer()(text)]
    return cut_tokens(rows, starts, ends)


def test_tokens_equal_the_cut_tokens_with_edges_anywhere_or_on_token_edges() -> None:
    rng = random.Random(11)
    for text in _texts(60):
        n = len(text)
        anywhere = [rng.randint(0, n) for _ in range(rng.randint(0, 6))]
        # spans on token edges take the path without cuts
        edges = [(t.idx, t.idx + len(t)) for t in _tokenizer()(text)]
        on_edges = rng.sample(edges, min(len(edges), 4))
        for starts, ends in ((anywhere, anywhere[::-1]),
                             ([s for s, _ in on_edges], [e for _, e in on_edges])):
            assert tokenize(text, starts, ends) == _slow(text, starts, ends)


def test_a_span_on_a_trailing_space_still_gets_that_space_as_a_token() -> None:
    # "a b": the space at 1 is "a"'s trailing space; a span starting there (a token
    # end, not a token start) must not take the path without cuts.
    assert tokenize("a b", [1], [3]) == [(0, 1, False), (1, 2, False), (2, 3, False)]
    assert token_columns("", [0], [0]) == ([], [], [])


def _payloads() -> list[prodigy.Payload]:
    rng = random.Random(3)
    out = []
    for text in _texts(120, seed=9):
        edges = sorted({rng.randint(0, len(text)) for _ in range(6)})
        spans = sorted({(a, b, rng.choice(["PER", "ORG"]), rng.choice(["human", "llm@1"]),
                         rng.choice(["confirmed", "suggested"]))
                        for a, b in zip(edges[::2], edges[1::2], strict=False) if b > a})
        relations = [(*spans[0][:3], *spans[-1][:3], "rel")] if len(spans) > 1 else []
        meta = {"title": text[:8], "q": 'x"\\y\u00e9'}
        out.append((text, meta, spans, relations, rng.choice(["accept", None]),
                    rng.choice(["default", None]), rng.choice(["llm@1", None])))
    return out


def test_a_prodigy_line_is_what_srsly_writes_for_the_same_task() -> None:
    for payload in _payloads():
        line = prodigy.line_of(payload)
        assert line.endswith("}\n") and "\n" not in line[:-1]
        task = json.loads(line)  # key order kept: srsly writes the dict as it reads
        assert srsly.json_dumps(task) + "\n" == line
        text = payload[0]
        assert "".join(t["text"] + " " * t["ws"] for t in task["tokens"]) == text
        assert [t["id"] for t in task["tokens"]] == list(range(len(task["tokens"])))
        for span in task["spans"]:
            first, last = task["tokens"][span["token_start"]], task["tokens"][span["token_end"]]
            assert (first["start"], last["end"]) == (span["start"], span["end"])


def test_tokens_past_the_cached_numbers_are_what_srsly_writes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Offsets and ids are looked up in a cache of formatted numbers up to a limit;
    # a text that reaches past it (or past what the cache holds so far) formats them.
    monkeypatch.setattr(prodigy, "_NUMBERS", [])
    monkeypatch.setattr(prodigy, "_MAX_CACHED", 300)
    texts = ["Ann é\"q\\ " * 5, "Ann é\"q\\ " * 40, "x", "Ann é\"q\\ " * 20]
    for text in texts:
        starts, ends, spaces = token_columns(text)
        want = srsly.json_dumps([
            {"text": text[s:e], "start": s, "end": e, "id": i, "ws": w}
            for i, (s, e, w) in enumerate(zip(starts, ends, spaces, strict=True))])
        assert prodigy._tokens_json(text, starts, ends, spaces) == want
    assert len(prodigy._NUMBERS) <= 301
    # Growing makes a new list: a thread still formatting with the old one (or growing
    # it at the same moment) never sees numbers appended twice.
    small = prodigy._numbers(3)
    before = list(small)
    grown = prodigy._numbers(len(small) + 50)
    assert grown is not small and small == before
    assert grown == [str(i) for i in range(len(grown))]


def test_a_fresh_tokenizer_replaces_one_whose_vocabulary_grew_past_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts(40, seed=21)
    expected = [tokenize(text) for text in texts]
    _tokenizer.cache_clear()
    monkeypatch.setattr(tokens, "VOCAB_GROWTH", len(_tokenizer().vocab) + 100)
    try:
        first = _tokenizer()
        assert [tokenize(text) for text in texts] == expected
        assert _tokenizer() is not first
        assert len(_tokenizer().vocab) <= tokens.VOCAB_GROWTH + 100  # one text's worth
    finally:
        _tokenizer.cache_clear()  # the next test gets a tokenizer of the usual size


def test_gold_counts_from_statuses_match_the_gold_records(tmp_path: Path) -> None:
    docs = [Document.from_text(f"Text number {i} about Anna.") for i in range(6)]
    with GoldStore(tmp_path / "g.json") as store:
        store.add_documents(docs)
        store.set_labels(LabelScheme().with_entities(["PER"]))
        span = [Span(start=0, end=4, label="PER")]
        plan = {0: [("default", "accept")], 1: [("default", "accept"), ("gold", "accept")],
                2: [("bob", "accept"), ("default", "accept")], 3: [("gold", "reject"),
                ("bob", "accept")], 4: [("default", None)], 5: []}
        store.save_annotations([
            Annotation(doc_id=docs[i].id, annotator=name, status=status, spans=span)
            for i, layers in plan.items() for name, status in layers])
        for annotator in (None, "bob", "gold", "nobody"):
            from_records: dict[str, int] = {}
            for _, records in iter_gold_records(store, annotator):
                for record in records:
                    from_records[record["annotator"]] = from_records.get(
                        record["annotator"], 0) + 1
            assert dict(gold_annotator_counts(store, annotator)) == from_records
        assert dict(gold_annotator_counts(store)) == {"default": 2, "gold": 1, "bob": 2}
