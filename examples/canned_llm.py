#!/usr/bin/env python3
"""A stand-in for an LLM extractor, offline: answers like a prompt-based model would.

Speaks the ``reader extract --command`` protocol: reads documents as JSONL on stdin
(``{"id", "text", "meta"}``) and writes one prediction per document as JSONL on
stdout.  Like an LLM it returns entities as strings, without offsets, and sometimes
gets them slightly wrong: a name with another case or a typo, and one entity that is
not in the text at all.  ``reader extract`` places the strings on the text and counts
what it cannot place; ``reader evaluate`` shows that grounding rate.

Its "responses" are canned: a small gazetteer stands in for the model, so the loop
runs without a network or an API key::

    reader import examples/article.txt --db gold.json
    reader extract --db gold.json --command "python examples/canned_llm.py" \\
        --extractor canned-llm@1
    reader extract --db gold.json            # a spaCy pipeline, to compare with
    reader annotate --db gold.json           # correct and accept the gold
    reader evaluate --db gold.json           # both scored, compared, grounding shown
"""

from __future__ import annotations

import json
import re
import sys

# What the "model" knows; deliberately imperfect, as a prompt's answer would be.
GAZETTEER = {
    "PERSON": ["Helena Okafor", "Dmitri Vasquez", "Vasquez", "Margaret Liu"],
    "ORG": ["Calder & Finch Engineering", "Harbour Trust", "High Court",
            "Department of Transport"],
    "GPE": ["Port Ellery", "Glasgow", "Wellington"],
    "FAC": ["Wren Harbour", "City Hall"],
    "DATE": ["Thursday", "September", "2028"],
}
# An LLM paraphrases: these come back changed (case, a typo), and one is made up.
REWRITES = {"Harbour Trust": "harbour trust", "Margaret Liu": "Margret Liu"}
HALLUCINATED = {"text": "Ellery Bridge Authority", "label": "ORG"}


def answer(document: dict) -> dict:
    text = document["text"]
    spans = []
    for label, names in GAZETTEER.items():
        for name in names:
            for _ in re.finditer(rf"\b{re.escape(name)}\b", text):
                spans.append({"text": REWRITES.get(name, name), "label": label})
    if spans:
        spans.append(dict(HALLUCINATED))
    return {"id": document["id"], "spans": spans}


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(answer(json.loads(line)), ensure_ascii=False))


if __name__ == "__main__":
    main()
