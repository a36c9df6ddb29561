"""CoNLL exports of gold and of a prediction pair line by line (issue 19, item 9): the
tokens of one document are cut at the span edges of every layer the store holds for
it, so conlleval (here seqeval, which scores the same way) can read the two files'
tags side by side."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from annotations.models import Annotation, Document, LabelScheme, Prediction, Span
from annotations.store import GoldStore
from reader.cli import app

runner = CliRunner()
TEXTS = ["EpoR. binds Jak2. It also binds Stat5 in cells.",
         "Maria Keller-Smith met Aster Rail's CEO in Lisbon."]


def at(text: str, words: str, label: str) -> Span:
    start = text.index(words)
    return Span(start=start, end=start + len(words), label=label)


GOLD = [[("EpoR", "PROT"), ("Jak2", "PROT"), ("Stat5", "PROT")],
        [("Maria Keller-Smith", "PER"), ("Aster Rail", "ORG"), ("Lisbon", "GPE")]]
PRED = [[("EpoR.", "PROT"), ("Jak2.", "PROT"), ("Stat5", "PROT")],
        [("Maria Keller", "PER"), ("Aster Rail's", "ORG"), ("Lisbon", "GPE")]]


def conll_columns(path: Path) -> list[list[tuple[str, str]]]:
    """Per document: (token, tag) of each token line."""
    docs: list[list[tuple[str, str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            docs.append([])
        elif line.strip():
            token, tag = line.split()
            docs[-1].append((token, tag))
    return docs


def test_gold_and_prediction_exports_share_their_tokens_and_score_as_spans(tmp_path: Path):
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    db = tmp_path / "gold.json"
    docs = [Document.from_text(t) for t in TEXTS]
    with GoldStore(db) as store:
        store.add_documents(docs)
        store.set_labels(LabelScheme().with_entities(["PROT", "PER", "ORG", "GPE"]))
        store.save_annotations([
            Annotation(doc_id=d.id, status="accept",
                       spans=[at(d.text, w, label) for w, label in gold])
            for d, gold in zip(docs, GOLD, strict=True)])
        store.put_predictions([
            Prediction(doc_id=d.id, extractor="model@1",
                       spans=[at(d.text, w, label) for w, label in pred])
            for d, pred in zip(docs, PRED, strict=True)], add_labels=True)
    for name, extra in (("gold.conll", []), ("pred.conll", ["--extractor", "model@1"])):
        result = runner.invoke(app, ["export", "--db", str(db), "-o", str(tmp_path / name),
                                     *extra])
        assert result.exit_code == 0, result.output
    gold, pred = conll_columns(tmp_path / "gold.conll"), conll_columns(tmp_path / "pred.conll")
    assert len(gold) == len(pred) == 2
    for g, p in zip(gold, pred, strict=True):
        assert [token for token, _ in g] == [token for token, _ in p]  # paired line by line
    assert ("EpoR", "B-PROT") in gold[0] and (".", "O") in gold[0]
    assert ("EpoR", "B-PROT") in pred[0] and (".", "I-PROT") in pred[0]
    # conlleval's entity F1 (seqeval, strict IOB2) on the paired tags equals exact span
    # matching on character offsets
    gold_tags = [[tag for _, tag in doc] for doc in gold]
    pred_tags = [[tag for _, tag in doc] for doc in pred]
    gold_set = {(i, w, label) for i, spans in enumerate(GOLD) for w, label in spans}
    pred_set = {(i, w, label) for i, spans in enumerate(PRED) for w, label in spans}
    expected = 2 * len(gold_set & pred_set) / (len(gold_set) + len(pred_set))
    assert f1_score(gold_tags, pred_tags, mode="strict", scheme=IOB2) == expected


def test_a_layer_exported_alone_is_still_cut_at_the_other_layers_edges(tmp_path: Path):
    db = tmp_path / "gold.json"
    doc = Document.from_text(TEXTS[0])
    with GoldStore(db) as store:
        store.add_documents([doc])
        store.set_labels(LabelScheme().with_entities(["PROT"]))
        store.save_annotations([
            Annotation(doc_id=doc.id, annotator="bob", status="accept",
                       spans=[at(doc.text, "EpoR.", "PROT")]),
            Annotation(doc_id=doc.id, annotator="carol", status=None,
                       spans=[at(doc.text, "EpoR", "PROT")])])
    result = runner.invoke(app, ["export", "--db", str(db), "-o", str(tmp_path / "b.conll"),
                                 "--annotator", "bob"])
    assert result.exit_code == 0, result.output
    (tokens,) = conll_columns(tmp_path / "b.conll")
    # alone, bob's "EpoR." is one token; carol's (open) annotation cuts it as in hers
    assert tokens[:2] == [("EpoR", "B-PROT"), (".", "I-PROT")]
