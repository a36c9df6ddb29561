"""CoNLL documents the way spaCy reads them: ``spacy convert -c ner`` splits documents on
``-DOCSTART- -X- O O`` only, so the export of N articles must give N documents."""

from __future__ import annotations

from pathlib import Path

from spacy.training.converters import conll_ner_to_docs

from annotations.formats.transfer import export_layers, import_layers
from annotations.models import Annotation, Document, LabelScheme, Span
from annotations.store import GoldStore

ARTICLES = [
    "Maria Keller joined Aster Rail in Lisbon.\n\nShe said the deal closed on Monday.",
    "Berlin hosted the summit.\nACME sent two engineers.\n\nNobody from Globex came.",
    "One line with Paris in it.",
    "Tokyo and Osaka.\n\n\nSeoul too.\nAnd Busan.",
]


def _spans(text: str) -> list[Span]:
    names = {"Maria Keller": "PERSON", "Aster Rail": "ORG", "Lisbon": "GPE", "Berlin": "GPE",
             "ACME": "ORG", "Globex": "ORG", "Paris": "GPE", "Tokyo": "GPE", "Osaka": "GPE",
             "Seoul": "GPE", "Busan": "GPE"}
    return [Span(start=text.index(name), end=text.index(name) + len(name), label=label)
            for name, label in names.items() if name in text]


def test_spacy_convert_reads_one_document_per_exported_article(tmp_path: Path) -> None:
    docs = [Document.from_text(text) for text in ARTICLES]
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents(docs)
        store.set_labels(LabelScheme().with_entities(["PERSON", "ORG", "GPE"]))
        store.save_annotations([Annotation(doc_id=d.id, spans=_spans(d.text), status="accept")
                                for d in docs])
        export_layers(store, tmp_path / "out.conll", format_name="conll")
    conll = (tmp_path / "out.conll").read_text()
    # What `python -m spacy convert -c ner` runs, with its default -n 1.
    converted = list(conll_ner_to_docs(conll, n_sents=1, no_print=True))
    assert len(converted) == len(ARTICLES)
    for doc, text in zip(converted, ARTICLES, strict=True):
        assert [(e.text, e.label_) for e in doc.ents] == [
            (text[s.start:s.end], s.label) for s in _spans(text)]
    # The separator the older export wrote still imports.
    old = conll.replace("-DOCSTART- -X- O O", "-DOCSTART- O")
    # ...which spaCy does not split documents on: it groups sentences instead.
    assert len(list(conll_ner_to_docs(old, n_sents=1, no_print=True))) > len(ARTICLES)
    (tmp_path / "old.conll").write_text(old)
    with GoldStore(tmp_path / "again.json") as store:
        store.add_documents(docs)
        store.set_labels(LabelScheme().with_entities(["PERSON", "ORG", "GPE"]))
        summary = import_layers(store, tmp_path / "old.conll", format_name="conll")
        assert summary.records == len(ARTICLES)
        assert {a.doc_id: [s.ref for s in a.spans] for a in store.gold()} == {
            d.id: [s.ref for s in _spans(d.text)] for d in docs}
