"""Relation labels declared symmetric: direction is ignored when relations are scored."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from annotations.evaluation import EvalDocument, score_relations
from annotations.models import (
    Annotation,
    Document,
    LabelScheme,
    Prediction,
    Relation,
    RelationLabel,
    Span,
    relation_identity,
)
from annotations.store import GoldStore
from reader.cli import app
from reader.config import load_config

TEXT = "Ann met Bob and Cy."
SPANS = [(0, 3, "PER"), (8, 11, "PER"), (16, 18, "PER")]


def doc(gold_rel: list, pred_rel: list) -> EvalDocument:  # type: ignore[type-arg]
    return EvalDocument("d", TEXT, SPANS, SPANS, gold_rel, pred_rel)


def test_relation_identity_orders_the_ends_of_symmetric_labels_only() -> None:
    assert relation_identity((8, 11), (0, 3), "met", {"met"}) == ((0, 3), (8, 11), "met")
    assert relation_identity((8, 11), (0, 3), "boss_of", {"met"}) == ((8, 11), (0, 3),
                                                                      "boss_of")
    assert relation_identity((0, 3), (8, 11), "met", {"met"}) == ((0, 3), (8, 11), "met")


def test_a_reversed_symmetric_relation_is_correct_and_a_directed_one_is_not() -> None:
    gold = [((0, 3), (8, 11), "met"), ((0, 3), (16, 18), "boss_of")]
    pred = [((8, 11), (0, 3), "met"), ((16, 18), (0, 3), "boss_of")]
    directed = score_relations([doc(gold, pred)])
    assert directed.micro("strict")["correct"] == 0
    symmetric = score_relations([doc(gold, pred)], symmetric={"met"})
    for mode in ("strict", "boundaries"):
        assert (symmetric.micro(mode)["correct"], symmetric.micro(mode)["missed"],
                symmetric.micro(mode)["spurious"]) == (1, 1, 1)
    assert symmetric.by_label("strict")["met"]["f1"] == 1.0


def test_symmetric_is_declared_in_the_config_and_the_store(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"relations": [{"name": "met", "symmetric": True}]}))
    scheme = load_config(config).apply_labels(LabelScheme())
    assert scheme.symmetric_relations == frozenset({"met"})
    assert RelationLabel(name="boss_of").symmetric is False

    db = tmp_path / "gold.json"
    document = Document.from_text(TEXT)
    spans = [Span(start=s, end=e, label=label) for s, e, label in SPANS]
    with GoldStore(db) as store:
        store.add_documents([document])
        store.set_labels(LabelScheme(relations=[RelationLabel(name="met", symmetric=True)])
                         .with_entities(["PER"]))
        store.save_annotation(Annotation(doc_id=document.id, spans=spans, status="accept",
                                         relations=[Relation(head=(0, 3), child=(8, 11),
                                                             label="met")]))
        store.put_predictions([Prediction(doc_id=document.id, extractor="x@1", spans=spans,
                                          relations=[Relation(head=(8, 11), child=(0, 3),
                                                              label="met")])])
    result = CliRunner().invoke(app, ["evaluate", "--db", str(db), "--json",
                                      "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    micro = json.loads(result.stdout)["extractors"]["x@1"]["relations"]["micro"]
    assert micro["strict"]["f1"] == 1.0 and micro["boundaries"]["f1"] == 1.0
