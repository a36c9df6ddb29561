"""Placing strings on the text (annotations.grounding): the cases of issue 19, item 4."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

from typer.testing import CliRunner

from annotations.grounding import StringSpan, align_strings, fold_mapped
from annotations.models import Document
from annotations.store import GoldStore
from reader.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def where(text: str, *items: StringSpan, **options: object) -> list[str]:
    result = align_strings(text, list(items), **options)  # type: ignore[arg-type]
    return [f"{text[s:e]}@{s}" for s, e, _ in result.spans]


def test_a_string_much_longer_than_the_text_is_not_a_fuzzy_match():
    result = align_strings("Paris", [StringSpan("Paris Saint-Germain Football Club", "ORG")])
    assert result.spans == [] and result.counts["ungrounded"] == 1
    result = align_strings("Paris Saint-Germain Football Club won.", [StringSpan("Paris", "GPE")])
    assert result.spans == [(0, 5, "GPE")]  # the short string is found exactly
    assert where("Paris is big.", StringSpan("Paris Saint-Germain Football Club", "ORG")) == []
    # a string inside a much longer word is no match either ("Authori" in "Authoritarian")
    assert where("An Authoritarian state.", StringSpan("Authori", "ORG")) == []


def test_a_typo_still_matches_fuzzily_on_the_whole_window():
    text = "Chair Margaret Liu met the Harbour Trust's lawyers."
    assert where(text, StringSpan("Margret Liu", "PER")) == ["Margaret Liu@6"]


def test_accents_are_ignored_in_composed_and_decomposed_text():
    for form in ("NFC", "NFD"):
        text = unicodedata.normalize(form, "Er wohnt in Zürich an der Hauptstraße.")
        result = align_strings(text, [StringSpan("Zurich", "GPE"),
                                      StringSpan("Hauptstrasse", "LOC")])
        assert [text[s:e] for s, e, _ in result.spans] == [
            unicodedata.normalize(form, "Zürich"), unicodedata.normalize(form, "Hauptstraße")]
        assert result.counts["case"] == 2
    # the other way round: a decomposed answer on composed text, and ß given for ss
    text = "Die Strasse in Zürich."
    assert where(text, StringSpan(unicodedata.normalize("NFD", "ZÜRICH"), "GPE"),
                 StringSpan("Straße", "LOC")) == ["Strasse@4", "Zürich@15"]


def test_the_folded_text_maps_back_to_every_character_of_the_original():
    text = unicodedata.normalize("NFD", "Zürich") + " ﬁne Straße"
    folded = fold_mapped(text)
    assert folded.text == "zurich fine strasse"
    start = folded.text.index("zurich")
    assert text[slice(*folded.original(start, start + 6))] == text[:7]  # mark included
    start = folded.text.index("strasse")
    assert text[slice(*folded.original(start, start + 7))] == "Straße"


def test_padding_is_stripped_and_counted():
    text = "We met in Paris today."
    result = align_strings(text, [StringSpan(" Paris ", "GPE"), StringSpan("Paris\n", "GPE"),
                                  StringSpan("today", "DATE")])
    assert [text[s:e] for s, e, _ in result.spans] == ["Paris", "today"]
    assert result.counts["stripped"] == 2
    assert result.counts["overlapping"] == 1  # the second Paris: only one in the text
    assert result.to_meta()["stripped"] == 2


def test_first_prefers_a_free_occurrence_of_the_whole_mention():
    text = "Angela Merkel spoke. Later Merkel left."
    result = align_strings(text, [StringSpan("Merkel", "PER"),
                                  StringSpan("Angela Merkel", "PER")], policy="first")
    assert [text[s:e] + f"@{s}" for s, e, _ in result.spans] == ["Angela Merkel@0",
                                                                 "Merkel@27"]
    assert result.placed == [[(27, 33)], [(0, 13)]]  # in the answer's order
    assert result.counts["exact"] == 2 and result.counts["overlapping"] == 0
    # without the full name in the answer, the first occurrence is the first
    assert where(text, StringSpan("Merkel", "PER")) == ["Merkel@7"]


def test_an_exact_match_is_never_taken_by_another_strings_fuzzy_one():
    text = "Harbour Trust and Harbor Trust"
    result = align_strings(text, [StringSpan("Harbour Trusts", "ORG"),
                                  StringSpan("Harbor Trust", "ORG")])
    assert result.placed[1] == [(18, 30)] and result.counts["exact"] == 1


def test_all_counts_every_repeat_as_placed():
    text = "Kabul a Kabul b Kabul. Taliban in Kabul."
    items = [StringSpan("Kabul", "GPE")] * 3 + [StringSpan("Taliban", "ORG"),
                                                  StringSpan("Atlantis", "GPE")]
    result = align_strings(text, items, policy="all")
    assert [text[s:e] for s, e, _ in result.spans] == ["Kabul"] * 3 + ["Taliban", "Kabul"]
    assert result.counts["exact"] == 4 and result.counts["ungrounded"] == 1
    assert result.counts["overlapping"] == 0
    assert result.placed[1] == result.placed[0]
    first = align_strings(text, items, policy="first")
    assert first.counts["exact"] == 4 and first.counts["ungrounded"] == 1
    # a repeat of a string found only where other spans are is counted as its first is
    taken = align_strings(text, [StringSpan("Taliban", "ORG")] * 2, policy="all",
                          taken=[(23, 30)])
    assert taken.counts["overlapping"] == 2 and taken.counts["ungrounded"] == 0


def test_the_canned_example_places_as_many_under_all_as_under_first():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from canned_llm import answer
    finally:
        sys.path.remove(str(ROOT / "examples"))
    text = (ROOT / "examples" / "article.txt").read_text(encoding="utf-8")
    items = [StringSpan(s["text"], s["label"]) for s in answer({"id": "x", "text": text})["spans"]]
    placed = {policy: sum(bool(p) for p in align_strings(text, items, policy=policy).placed)
              for policy in ("first", "all")}
    # under "all" a repeated string is placed with its first: never fewer than "first"
    assert placed["all"] >= placed["first"]
    counts = align_strings(text, items, policy="all").counts
    assert counts["exact"] + counts["case"] + counts["fuzzy"] == placed["all"]
    assert counts["ungrounded"] + counts["overlapping"] == len(items) - placed["all"]


def test_an_empty_string_is_ungrounded_not_fatal():
    result = align_strings("We met in Paris.", [StringSpan("", "GPE"), StringSpan("  ", "GPE"),
                                                StringSpan("Paris", "GPE")])
    assert result.spans == [(10, 15, "GPE")]
    assert result.counts["ungrounded"] == 2 and result.counts["stripped"] == 0
    assert [u["reason"] for u in result.ungrounded] == ["empty string"] * 2


def test_extract_counts_an_empty_string_and_stripped_padding(tmp_path: Path):
    db = tmp_path / "gold.json"
    with GoldStore(db) as store:
        store.add_documents([Document.from_text("We met in Paris today.")])
    script = tmp_path / "llm.py"
    script.write_text(
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    doc = json.loads(line)\n"
        "    print(json.dumps({'id': doc['id'], 'spans': [\n"
        "        {'text': '', 'label': 'GPE'}, {'text': ' Paris ', 'label': 'GPE'}]}))\n",
        encoding="utf-8")
    result = runner.invoke(app, ["extract", "--db", str(db), "--command",
                                 f"{sys.executable} {script}", "--extractor", "llm@1"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "2 span(s) given as strings, 1 placed" in out and "1 ungrounded" in out
    assert "1 stripped of surrounding whitespace" in out
    with GoldStore(db, read_only=True) as store:
        (doc_id,) = store.document_ids()
        prediction = store.prediction(doc_id, "llm@1")
        assert prediction is not None
        assert [(s.start, s.end) for s in prediction.spans] == [(10, 15)]
        grounding = prediction.meta["grounding"]
        assert (grounding["exact"], grounding["ungrounded"], grounding["stripped"]) == (1, 1, 1)
        json.dumps(grounding)
